// Artifacts in the engine (Argo workflow/common/util.go ProcessArgs for artifacts, operator.go
// resolveArtifact / getTemplateOutputsFromScope / global artifacts): input artifacts take their
// location from `from` (a step/task/input/workflow output artifact) or from the argument, outputs
// of container/script pods come from argoexec's report, steps/dag outputs from `from` over their
// scope, and pods that move artifacts get the local artifact repository mounted.
//
// An artifact reference `{{steps.X.outputs.artifacts.Y}}` renders to the artifact as compact
// JSON (the scope holds artifacts as JSON values), so `from` arrives here as a JSON object text.
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

// Argo's location kinds; "local" is this runtime's repository.
constexpr const char* kLocationKeys[] = {"local", "raw", "s3",          "gcs",  "azure", "oss",
                                         "hdfs",  "git", "artifactory", "http", "plugin"};
constexpr const char* kForeignKeys[] = {"s3",  "gcs",  "azure",       "oss",   "hdfs",
                                        "git", "http", "artifactory", "plugin"};

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
                       ": this artifact location is not supported; only raw artifacts, artifacts "
                       "passed with from and the local artifact repository are"));
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
            absl::StrCat(afield, ".fromExpression: not supported; use from"));
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
    if (!a.is_object() || Str(a, "name").empty() || !a.contains("local")) continue;
    json entry = {{"name", Str(a, "name")}, {"local", a["local"]}};
    if (a.contains("path")) entry["path"] = a["path"];
    if (a.contains("archive")) entry["archive"] = a["archive"];
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

bool UsesArtifacts(const json& t) {
  for (const char* side : {"inputs", "outputs"}) {
    auto s = t.find(side);
    if (s == t.end() || !s->is_object()) continue;
    auto l = s->find("artifacts");
    if (l != s->end() && l->is_array() && !l->empty()) return true;
  }
  return false;
}

void Operator::SetArchiveLocation(json& t, const std::string& pod_name) const {
  if (in_.artifact_repository.empty() || !UsesArtifacts(t)) return;
  // Argo's default key format: {{workflow.name}}/{{pod.name}}.
  t["archiveLocation"] = {{"local", {{"key", absl::StrCat(wf_name_, "/", pod_name)}}}};
}

void Operator::AttachArtifactRepository(json& pod_spec, const json& t) const {
  if (in_.artifact_repository.empty() || !UsesArtifacts(t)) return;
  if (!pod_spec.contains("containers") || !pod_spec["containers"].is_array() ||
      pod_spec["containers"].empty()) {
    return;
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
  json& env = main["env"];
  if (!env.is_array()) env = json::array();
  env.push_back({{"name", "ARGONAUT_ARTIFACT_REPO"}, {"value", kArtifactRepoMountPath}});
  env.push_back({{"name", "ARGONAUT_ARTIFACT_REPO_HOST"}, {"value", in_.artifact_repository}});
  json& mounts = main["volumeMounts"];
  if (!mounts.is_array()) mounts = json::array();
  mounts.push_back({{"name", kArtifactRepoVolume}, {"mountPath", kArtifactRepoMountPath}});
  json& volumes = pod_spec["volumes"];
  if (!volumes.is_array()) volumes = json::array();
  volumes.push_back(
      {{"name", kArtifactRepoVolume}, {"hostPath", {{"path", in_.artifact_repository}}}});
}

}  // namespace argonaut::workflow::engine::internal
