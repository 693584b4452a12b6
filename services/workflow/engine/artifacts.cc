// Artifacts in the engine (Argo workflow/common/util.go ProcessArgs for artifacts, operator.go
// resolveArtifact / getTemplateOutputsFromScope / global artifacts): input artifacts take their
// location from `from` (a step/task/input/workflow output artifact) or from the argument, outputs
// of container/script pods come from argoexec's report, steps/dag outputs from `from` over their
// scope, and pods that move artifacts get the local artifact repository mounted.
//
// An artifact reference `{{steps.X.outputs.artifacts.Y}}` renders to the artifact as compact
// JSON (the scope holds artifacts as JSON values), so `from` arrives here as a JSON object text.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

// Argo's location kinds; "local" is this runtime's repository.
constexpr const char* kLocationKeys[] = {"local", "raw", "s3",          "gcs",  "azure", "oss",
                                         "hdfs",  "git", "artifactory", "http", "plugin"};
// Kinds no driver moves (lib/artifacts): refused before a pod starts, naming the field.
constexpr const char* kForeignKeys[] = {"gcs", "azure", "oss", "hdfs", "artifactory", "plugin"};
// Repository kinds: the location field and the field of its config that holds the key
// template, and the location field it fills (Argo's ArtifactRepository.ToArtifactLocation).
struct RepoKind {
  const char* kind;
  const char* format;  // keyFormat & co. in the repository config
  const char* key;     // where the expanded format goes in the location
};
constexpr RepoKind kRepoKinds[] = {
    {"s3", "keyFormat", "key"},     {"gcs", "keyFormat", "key"},
    {"oss", "keyFormat", "key"},    {"azure", "blobNameFormat", "blob"},
    {"hdfs", "pathFormat", "path"}, {"artifactory", "keyFormat", "url"}};
// The field that makes a location complete: without it, it is key-only (docs/key-only-artifacts).
const char* CompletingField(const std::string& kind) {
  if (kind == "azure") return "container";
  if (kind == "artifactory") return "url";
  if (kind == "hdfs") return "addresses";
  return "bucket";
}
constexpr char kDefaultKeyFormat[] = "{{workflow.name}}/{{pod.name}}";

bool HasLocation(const json& a) {
  for (const char* k : kLocationKeys) {
    if (a.contains(k)) return true;
  }
  return false;
}

// Copies the location (and how it is stored) of `src` onto `dst`.
void CopyLocation(const json& src, json& dst) {
  for (const char* k : kLocationKeys) dst.erase(k);
  for (const char* k : kLocationKeys) {
    if (src.contains(k)) dst[k] = src[k];
  }
  if (src.contains("archive")) dst["archive"] = src["archive"];
}

// `from` after rendering: the artifact object, or an error naming `field`.
absl::StatusOr<json> ParseFrom(const json& from, const std::string& field) {
  if (!from.is_string()) return absl::InvalidArgumentError(absl::StrCat(field, ": not a string"));
  const std::string& text = from.get_ref<const std::string&>();
  if (absl::StrContains(text, "{{")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": unable to resolve artifact reference \"", text, "\""));
  }
  json a = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (a.is_discarded() || !a.is_object() || !HasLocation(a)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", text, "\" is not an artifact reference"));
  }
  return a;
}

absl::Status CheckSupported(const json& a, const std::string& field) {
  for (const char* k : kForeignKeys) {
    if (a.contains(k)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".", k,
                       ": this artifact location is not supported; s3, http, git, raw and the "
                       "local artifact repository are"));
    }
  }
  return absl::OkStatus();
}

const json* FindByName(const json& list, const std::string& name) {
  if (!list.is_array()) return nullptr;
  for (const json& a : list) {
    if (a.is_object() && Str(a, "name") == name) return &a;
  }
  return nullptr;
}

}  // namespace

absl::Status Operator::ResolveInputArtifacts(json& inputs, const json& args) {
  if (!inputs.contains("artifacts")) return absl::OkStatus();
  json& list = inputs["artifacts"];
  if (!list.is_array()) return absl::InvalidArgumentError("inputs.artifacts: not a list");
  const json none = json::array();
  const json& arg_list = args.is_object() && args.contains("artifacts") ? args["artifacts"] : none;
  for (json& a : list) {
    if (!a.is_object())
      return absl::InvalidArgumentError("inputs.artifacts: entry is not an object");
    const std::string name = Str(a, "name");
    const std::string field = absl::StrCat("inputs.artifacts.", name);
    std::optional<json> src;
    if (const json* arg = FindByName(arg_list, name); arg != nullptr) {
      const std::string afield = absl::StrCat("arguments.artifacts.", name);
      if (arg->contains("from")) {
        absl::StatusOr<json> f = ParseFrom((*arg)["from"], afield + ".from");
        if (!f.ok()) return f.status();
        src = *std::move(f);
      } else if (arg->contains("fromExpression")) {
        return absl::InvalidArgumentError(
            absl::StrCat(afield, ".fromExpression: only a step's or task's arguments may use it"));
      } else if (HasLocation(*arg)) {
        src = *arg;
      }
      if (src.has_value() && arg->contains("subPath")) (*src)["subPath"] = (*arg)["subPath"];
      if (src.has_value()) RETURN_IF_ERROR(CheckSupported(*src, afield));
    }
    if (!src.has_value() && a.contains("from")) {
      absl::StatusOr<json> f = ParseFrom(a["from"], field + ".from");
      if (!f.ok()) return f.status();
      src = *std::move(f);
    }
    if (!src.has_value()) {
      if (HasLocation(a)) {
        RETURN_IF_ERROR(CheckSupported(a, field));
        continue;
      }
      if (a.value("optional", json(false)) == json(true)) continue;
      return absl::InvalidArgumentError(absl::StrCat(field, " was not supplied"));
    }
    RETURN_IF_ERROR(CheckSupported(*src, field));
    CopyLocation(*src, a);
    a.erase("from");
    if (src->contains("subPath") && !a.contains("subPath")) a["subPath"] = (*src)["subPath"];
  }
  return absl::OkStatus();
}

void Operator::AddArtifactsToScope(tmpl::Scope& scope, const json& t) const {
  auto each = [&](const char* side, const char* kind, auto&& fn) {
    auto s = t.find(side);
    if (s == t.end() || !s->is_object()) return;
    auto l = s->find(kind);
    if (l == s->end() || !l->is_array()) return;
    for (const json& a : *l) {
      if (a.is_object() && !Str(a, "name").empty()) fn(a);
    }
  };
  each("inputs", "artifacts", [&](const json& a) {
    const std::string prefix = "inputs.artifacts." + Str(a, "name");
    if (HasLocation(a)) scope.SetJson(prefix, a);
    if (!Str(a, "path").empty()) scope.Set(prefix + ".path", Str(a, "path"));
  });
  each("outputs", "artifacts", [&](const json& a) {
    if (!Str(a, "path").empty()) {
      scope.Set(absl::StrCat("outputs.artifacts.", Str(a, "name"), ".path"), Str(a, "path"));
    }
  });
  each("outputs", "parameters", [&](const json& p) {
    auto vf = p.find("valueFrom");
    if (vf != p.end() && vf->is_object() && !Str(*vf, "path").empty()) {
      scope.Set(absl::StrCat("outputs.parameters.", Str(p, "name"), ".path"), Str(*vf, "path"));
    }
  });
}

void AddNodeArtifactsToScope(tmpl::Scope& scope, const std::string& prefix, const json& outputs) {
  if (!outputs.is_object() || !outputs.contains("artifacts") || !outputs["artifacts"].is_array()) {
    return;
  }
  for (const json& a : outputs["artifacts"]) {
    if (a.is_object() && !Str(a, "name").empty() && HasLocation(a)) {
      scope.SetJson(absl::StrCat(prefix, ".outputs.artifacts.", Str(a, "name")), a);
    }
  }
}

namespace {

// `from: "{{steps.X.outputs.artifacts.Y}}"`, rendered in `scope`.
absl::StatusOr<json> ArtifactFrom(const json& from, const tmpl::Scope& scope,
                                  const std::string& field) {
  if (!from.is_string()) return absl::InvalidArgumentError(absl::StrCat(field, ": not a string"));
  absl::StatusOr<std::string> rendered = tmpl::RenderString(from.get<std::string>(), scope);
  if (!rendered.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", rendered.status().message()));
  }
  return ParseFrom(json(*rendered), field);
}

// The expression env holds an artifact's fields as strings; Argo's typed location fields get
// their JSON types back so the location reaches argoexec as the producer reported it.
void RestoreFieldTypes(json& v) {
  static const char* const kBools[] = {"insecure",          "useSDKCreds",  "insecureIgnoreHostKey",
                                       "disableSubmodules", "singleBranch", "insecureSkipTLS",
                                       "enableEncryption",  "recurseMode",  "optional",
                                       "archiveLogs",       "deleted",      "useDefault"};
  static const char* const kInts[] = {"depth", "compressionLevel", "mode"};
  if (!v.is_object()) return;
  for (auto it = v.begin(); it != v.end(); ++it) {
    json& f = it.value();
    if (f.is_object()) {
      RestoreFieldTypes(f);
      continue;
    }
    if (!f.is_string()) continue;
    const std::string& text = f.get_ref<const std::string&>();
    for (const char* b : kBools) {
      if (it.key() == b && (text == "true" || text == "false")) f = text == "true";
    }
    for (const char* n : kInts) {
      int64_t i = 0;
      if (it.key() == n && absl::SimpleAtoi(text, &i)) f = i;
    }
  }
}

// `fromExpression`: an expr-lang expression over the same variables whose
// value is an artifact (e.g. a ternary choosing one step's output).
absl::StatusOr<json> ArtifactFromExpression(const json& expression, const tmpl::Scope& scope,
                                            const std::string& field) {
  if (!expression.is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a string"));
  }
  absl::StatusOr<expr::ExprProgram> prog =
      expr::ExprProgram::Compile(expression.get<std::string>());
  if (!prog.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", prog.status().message()));
  }
  absl::StatusOr<json> v = prog->Eval(scope.ToEnv());
  if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", v.status().message()));
  if (!v->is_object() || !HasLocation(*v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": evaluated to ", v->is_null() ? "nil" : v->type_name(), ", not an artifact"));
  }
  RestoreFieldTypes(*v);
  return *std::move(v);
}

}  // namespace

absl::StatusOr<json> ArtifactOutputsFromScope(const json& t, const tmpl::Scope& scope) {
  auto outs = t.find("outputs");
  if (outs == t.end() || !outs->is_object() || !outs->contains("artifacts") ||
      !(*outs)["artifacts"].is_array()) {
    return json(nullptr);
  }
  json result = json::array();
  for (const json& o : (*outs)["artifacts"]) {
    if (!o.is_object()) continue;
    const std::string name = Str(o, "name");
    const std::string field = absl::StrCat("outputs.artifacts.", name);
    const bool optional = o.value("optional", json(false)) == json(true);
    if (!o.contains("from") && !o.contains("fromExpression")) {
      if (optional) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": a steps or dag template's output needs from or fromExpression"));
    }
    absl::StatusOr<json> a = o.contains("from") ? ArtifactFrom(o["from"], scope, field + ".from")
                                                : ArtifactFromExpression(o["fromExpression"], scope,
                                                                         field + ".fromExpression");
    if (!a.ok()) {
      if (optional) continue;
      return a.status();
    }
    json out = {{"name", name}};
    CopyLocation(*a, out);
    if (a->contains("path")) out["path"] = (*a)["path"];
    if (o.contains("globalName")) out["globalName"] = o["globalName"];
    result.push_back(std::move(out));
  }
  return result;
}

json PodArtifactOutputs(const json& report, const json* tmpl) {
  json out = json::array();
  if (!report.is_object() || !report.contains("artifacts") || !report["artifacts"].is_array()) {
    return out;
  }
  const json none = json::array();
  const json* declared = &none;
  if (tmpl != nullptr && tmpl->contains("outputs") && (*tmpl)["outputs"].is_object() &&
      (*tmpl)["outputs"].contains("artifacts")) {
    declared = &(*tmpl)["outputs"]["artifacts"];
  }
  for (const json& a : report["artifacts"]) {
    // argoexec reports each saved output with its complete location (any kind).
    if (!a.is_object() || Str(a, "name").empty() || !HasLocation(a)) continue;
    json entry = {{"name", Str(a, "name")}};
    CopyLocation(a, entry);
    if (a.contains("path")) entry["path"] = a["path"];
    if (const json* d = FindByName(*declared, Str(a, "name")); d != nullptr) {
      if (d->contains("globalName")) entry["globalName"] = (*d)["globalName"];
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void Operator::PublishGlobalArtifacts(const json& outputs) {
  if (!outputs.is_object() || !outputs.contains("artifacts") || !outputs["artifacts"].is_array()) {
    return;
  }
  for (const json& a : outputs["artifacts"]) {
    if (!a.is_object() || Str(a, "globalName").empty() || !HasLocation(a)) continue;
    json entry = a;
    entry["name"] = Str(a, "globalName");
    entry.erase("globalName");
    json& list = status_["outputs"]["artifacts"];
    if (!list.is_array()) list = json::array();
    bool found = false;
    for (json& e : list) {
      if (Str(e, "name") == Str(entry, "name")) {
        e = entry;
        found = true;
      }
    }
    if (!found) list.push_back(entry);
    globals_.SetJson("workflow.outputs.artifacts." + Str(entry, "name"), entry);
  }
}

void Operator::RestoreGlobalArtifacts() {
  if (!status_.contains("outputs") || !status_["outputs"].is_object()) return;
  const json& list = status_["outputs"].value("artifacts", json::array());
  if (!list.is_array()) return;
  for (const json& a : list) {
    if (a.is_object() && !Str(a, "name").empty()) {
      globals_.SetJson("workflow.outputs.artifacts." + Str(a, "name"), a);
    }
  }
}

absl::Status ResolveArtifactArgumentExpressions(json& step, const tmpl::Scope& scope) {
  if (!step.contains("arguments") || !step["arguments"].is_object() ||
      !step["arguments"].contains("artifacts") || !step["arguments"]["artifacts"].is_array()) {
    return absl::OkStatus();
  }
  for (json& a : step["arguments"]["artifacts"]) {
    if (!a.is_object() || !a.contains("fromExpression")) continue;
    ASSIGN_OR_RETURN(json v,
                     ArtifactFromExpression(
                         a["fromExpression"], scope,
                         absl::StrCat("arguments.artifacts.", Str(a, "name"), ".fromExpression")));
    CopyLocation(v, a);
    if (v.contains("subPath") && !a.contains("subPath")) a["subPath"] = v["subPath"];
    a.erase("fromExpression");
  }
  return absl::OkStatus();
}

}  // namespace argonaut::workflow::engine::internal

namespace argonaut::workflow::engine {

using internal::kDefaultKeyFormat;
using internal::kRepoKinds;
using internal::RepoKind;
using nlohmann::json;

absl::StatusOr<json> RepositoryLocation(
    const json& repository,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& render) {
  for (const RepoKind& k : kRepoKinds) {
    auto it = repository.find(k.kind);
    if (it == repository.end()) continue;
    if (!it->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("artifactRepository.", k.kind, ": not an object"));
    }
    json loc = *it;
    const std::string field = absl::StrCat("artifactRepository.", k.kind, ".", k.format);
    std::string format = kDefaultKeyFormat;
    if (auto f = loc.find(k.format); f != loc.end()) {
      if (!f->is_string()) return absl::InvalidArgumentError(field + ": not a string");
      if (!f->get_ref<const std::string&>().empty()) format = f->get<std::string>();
    }
    absl::StatusOr<std::string> key = render(format);
    if (!key.ok())
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", key.status().message()));
    if (std::string(k.kind) == "s3" && !Str(loc, "keyPrefix").empty()) {
      // The deprecated keyPrefix joins in front, as a path.
      std::string prefix = Str(loc, "keyPrefix");
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      *key = absl::StrCat(prefix, "/", *key);
    }
    if (std::string(k.kind) == "artifactory") {
      std::string base = Str(loc, "repoURL");
      while (!base.empty() && base.back() == '/') base.pop_back();
      *key = absl::StrCat(base, "/", *key);
      loc.erase("repoURL");
    }
    loc.erase(k.format);
    loc.erase("keyPrefix");
    loc[k.key] = *key;
    return json{{k.kind, std::move(loc)}};
  }
  return absl::InvalidArgumentError(
      "artifactRepository: names no location (s3, gcs, azure, oss, hdfs or artifactory)");
}

}  // namespace argonaut::workflow::engine

namespace argonaut::workflow::engine::internal {

namespace {

// Argo's IsArchiveLogs: the repository's archiveLogs when on, else the workflow's, else the
// template's archiveLocation.archiveLogs.
bool ArchiveLogs(const json& repository, const json& spec, const json& t) {
  if (repository.is_object() && repository.value("archiveLogs", json(false)) == json(true)) {
    return true;
  }
  bool on = spec.value("archiveLogs", json(false)) == json(true);
  if (auto al = t.find("archiveLocation"); al != t.end() && al->is_object()) {
    if (auto v = al->find("archiveLogs"); v != al->end() && v->is_boolean()) on = v->get<bool>();
  }
  return on;
}

// Calls fn(artifact) for every inputs/outputs artifact of `t`.
template <typename J, typename Fn>
void EachArtifact(J& t, Fn&& fn) {
  for (const char* side : {"inputs", "outputs"}) {
    auto s = t.find(side);
    if (s == t.end() || !s->is_object()) continue;
    auto l = s->find("artifacts");
    if (l == s->end() || !l->is_array()) continue;
    for (auto& a : *l) {
      if (a.is_object()) fn(a);
    }
  }
}

// A location of a kind the repository has but without its bucket (or container, url...):
// Argo's key-only artifact.
bool KeyOnly(const json& a, const json& repository) {
  for (const RepoKind& k : kRepoKinds) {
    if (!a.contains(k.kind) || !a[k.kind].is_object()) continue;
    return Str(a[k.kind], CompletingField(k.kind)).empty() && repository.is_object() &&
           repository.contains(k.kind);
  }
  return false;
}

bool IsSecretName(const std::string& n) {
  if (n.empty() || n.size() > 253 || n == "." || n == "..") return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

// Secret references ({name, key} under a field named *Secret) anywhere in a location.
absl::Status CollectSecrets(const json& v, const std::string& field,
                            std::vector<std::string>& names) {
  if (!v.is_object()) return absl::OkStatus();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_object()) continue;
    const std::string sub = absl::StrCat(field, ".", it.key());
    if (absl::EndsWith(it.key(), "Secret") && it.value().contains("name")) {
      const std::string name = Str(it.value(), "name");
      if (!IsSecretName(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(sub, ".name: \"", name, "\" is not a valid Secret name"));
      }
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      continue;
    }
    RETURN_IF_ERROR(CollectSecrets(it.value(), sub, names));
  }
  return absl::OkStatus();
}

bool UsesLocal(const json& t) {
  bool local = false;
  if (auto al = t.find("archiveLocation"); al != t.end() && al->is_object()) {
    local = al->contains("local");
  }
  EachArtifact(t, [&](const json& a) { local = local || a.contains("local"); });
  return local;
}

// A repository key as path components, or empty when it is not a clean relative path (argoexec
// refuses those itself).
std::vector<std::string> KeyParts(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= key.size()) {
    const size_t end = std::min(key.find('/', start), key.size());
    std::string part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) {
      return {};
    }
    parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

// What of the local repository a pod of `workflow` running template `t` mounts: `<workflow>`
// read-write first, then, read-only, the directory of each local input key kept outside it (a
// key's first component is the workflow that wrote it).
struct ArtifactRepoMount {
  std::string dir;  // relative to the repository
  bool read_only = false;
};

std::vector<ArtifactRepoMount> ArtifactRepoMounts(const json& t, const std::string& workflow) {
  std::vector<ArtifactRepoMount> out = {{workflow, false}};
  auto add = [&](const std::string& dir) {
    for (const ArtifactRepoMount& m : out) {
      if (m.dir == dir) return;
    }
    out.push_back({dir, true});
  };
  auto s = t.find("inputs");
  if (s == t.end() || !s->is_object() || !s->contains("artifacts") ||
      !(*s)["artifacts"].is_array()) {
    return out;
  }
  for (const json& a : (*s)["artifacts"]) {
    if (!a.is_object() || !a.contains("local") || !a["local"].is_object()) continue;
    const std::vector<std::string> parts = KeyParts(Str(a["local"], "key"));
    if (parts.empty() || parts[0] == workflow) continue;
    // The directory holding the key (the producing pod's, with Argo's layout): it exists when
    // the key does, where a missing key itself would be made a directory by the kubelet.
    std::string dir = parts[0];
    for (size_t i = 1; i + 1 < parts.size(); ++i) absl::StrAppend(&dir, "/", parts[i]);
    add(parts.size() == 1 ? parts[0] : dir);
  }
  return out;
}

}  // namespace

absl::Status Operator::SetArchiveLocation(json& t, const std::string& pod_name) const {
  const bool archive_logs = ArchiveLogs(repository_, *spec_, t);
  bool need = archive_logs;
  bool key_only = false;
  EachArtifact(t, [&](json& a) {
    if (!HasLocation(a)) need = true;
    if (KeyOnly(a, repository_)) key_only = need = true;
  });
  json* own = nullptr;
  if (auto al = t.find("archiveLocation"); al != t.end() && al->is_object()) own = &*al;
  // A template's own location wins, as in Argo; but not a local one: a step writes only below
  // the key the controller gives it, so the author cannot write over other workflows' files.
  bool own_location = false;
  if (own != nullptr) {
    for (const char* k : kLocationKeys) {
      own_location = own_location || (std::string(k) != "local" && own->contains(k));
    }
  }
  if (!need && !own_location) return absl::OkStatus();
  if (repository_.is_object()) {
    tmpl::Scope scope = globals_;
    scope.Set("pod.name", pod_name);
    auto render = [&](const std::string& text) { return tmpl::RenderString(text, scope); };
    ASSIGN_OR_RETURN(json loc, RepositoryLocation(repository_, render));
    if (key_only) {
      // Key-only artifacts take the repository's bucket, endpoint and credentials.
      const std::string kind = loc.begin().key();
      EachArtifact(t, [&](json& a) {
        if (!KeyOnly(a, repository_)) return;
        json merged = loc[kind];
        for (const char* drop : {"key", "blob", "path", "url"}) merged.erase(drop);
        for (auto it = a[kind].begin(); it != a[kind].end(); ++it) merged[it.key()] = it.value();
        a[kind] = std::move(merged);
      });
    }
    if (own_location) return absl::OkStatus();
    loc["archiveLogs"] = archive_logs;
    t["archiveLocation"] = std::move(loc);
    return absl::OkStatus();
  }
  if (own_location || in_.artifact_repository.empty()) return absl::OkStatus();
  // Argo's default key format: {{workflow.name}}/{{pod.name}}.
  t["archiveLocation"] = {{"local", {{"key", absl::StrCat(wf_name_, "/", pod_name)}}}};
  if (archive_logs) t["archiveLocation"]["archiveLogs"] = true;
  return absl::OkStatus();
}

absl::Status Operator::AttachArtifactRepository(json& pod_spec, const json& t) const {
  std::vector<std::string> secrets;
  if (auto al = t.find("archiveLocation"); al != t.end()) {
    RETURN_IF_ERROR(CollectSecrets(*al, "archiveLocation", secrets));
  }
  absl::Status collected = absl::OkStatus();
  EachArtifact(t, [&](const json& a) {
    if (collected.ok()) {
      collected = CollectSecrets(a, absl::StrCat("artifacts.", Str(a, "name")), secrets);
    }
  });
  RETURN_IF_ERROR(collected);
  const bool local = !in_.artifact_repository.empty() && UsesLocal(t);
  if (!local && secrets.empty()) return absl::OkStatus();
  if (!pod_spec.contains("containers") || !pod_spec["containers"].is_array() ||
      pod_spec["containers"].empty()) {
    return absl::OkStatus();
  }
  // Only the container named main moves artifacts (containerSet); else the first one.
  json* found = &pod_spec["containers"][0];
  for (json& c : pod_spec["containers"]) {
    if (c.is_object() && Str(c, "name") == "main") {
      found = &c;
      break;
    }
  }
  json& main = *found;
  json& mounts = main["volumeMounts"];
  if (!mounts.is_array()) mounts = json::array();
  json& volumes = pod_spec["volumes"];
  if (!volumes.is_array()) volumes = json::array();
  if (local) {
    json& env = main["env"];
    if (!env.is_array()) env = json::array();
    env.push_back({{"name", "ARGONAUT_ARTIFACT_REPO"}, {"value", kArtifactRepoMountPath}});
    env.push_back({{"name", "ARGONAUT_ARTIFACT_REPO_HOST"}, {"value", in_.artifact_repository}});
    // Not the whole repository: the workflow's own part read-write (every key the controller
    // gives its pods starts with its name), and the inputs kept elsewhere read-only.
    for (const ArtifactRepoMount& m : ArtifactRepoMounts(t, wf_name_)) {
      const std::string name = m.read_only
                                   ? absl::StrCat(kArtifactRepoVolume, "-in-", volumes.size())
                                   : std::string(kArtifactRepoVolume);
      json mount = {{"name", name},
                    {"mountPath", absl::StrCat(kArtifactRepoMountPath, "/", m.dir)}};
      if (m.read_only) mount["readOnly"] = true;
      mounts.push_back(std::move(mount));
      volumes.push_back(
          {{"name", name},
           {"hostPath", {{"path", absl::StrCat(in_.artifact_repository, "/", m.dir)}}}});
    }
  }
  // Each Secret read-only where argoexec's SecretResolver reads it; the values never enter the
  // template or the pod spec.
  for (size_t i = 0; i < secrets.size(); ++i) {
    const std::string volume = absl::StrCat("argo-art-", i);
    mounts.push_back({{"name", volume},
                      {"mountPath", absl::StrCat(kArtifactSecretMountRoot, "/", secrets[i])},
                      {"readOnly", true}});
    volumes.push_back({{"name", volume}, {"secret", {{"secretName", secrets[i]}}}});
  }
  return absl::OkStatus();
}

}  // namespace argonaut::workflow::engine::internal
