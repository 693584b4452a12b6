#include "services/cd/repo/tools.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "services/cd/repo/util.h"

extern "C" {
#include <libjsonnet.h>
}

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsWithin(const fs::path& root, const fs::path& p) {
  auto rel = p.lexically_normal().lexically_relative(root.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

absl::StatusOr<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Jsonnet

struct ImportContext {
  JsonnetVm* vm;
  fs::path root;                 // canonical repository root
  std::vector<fs::path> jpaths;  // searched last to first, as go-jsonnet does
};

char* CopyOut(JsonnetVm* vm, absl::string_view s) {
  char* buf = jsonnet_realloc(vm, nullptr, s.size() + 1);
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return buf;
}

char* ImportCallback(void* ctx, const char* base, const char* rel, char** found_here,
                     int* success) {
  auto* c = static_cast<ImportContext*>(ctx);
  *success = 0;
  fs::path wanted(rel);
  std::vector<fs::path> candidates;
  if (wanted.is_absolute()) {
    candidates.push_back(wanted);
  } else {
    candidates.push_back(fs::path(base) / wanted);
    for (auto it = c->jpaths.rbegin(); it != c->jpaths.rend(); ++it) {
      candidates.push_back(*it / wanted);
    }
  }
  for (const fs::path& candidate : candidates) {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) continue;
    fs::path real = fs::canonical(candidate, ec);
    if (ec || !IsWithin(c->root, real)) {
      return CopyOut(c->vm, absl::StrCat("import ", rel, " is outside the repository"));
    }
    absl::StatusOr<std::string> text = ReadText(real);
    if (!text.ok()) continue;
    *found_here = CopyOut(c->vm, candidate.lexically_normal().string());
    *success = 1;
    return CopyOut(c->vm, *text);
  }
  return CopyOut(c->vm, absl::StrCat("couldn't open import \"", rel,
                                     "\": no match locally or in "
                                     "the Jsonnet library paths"));
}

struct JsonnetVar {
  std::string name, value;
  bool code = false;
};

absl::StatusOr<std::vector<JsonnetVar>> ReadVars(const json& options, const char* key) {
  std::vector<JsonnetVar> vars;
  if (!options.is_object() || !options.contains(key) || options[key].is_null()) return vars;
  const json& list = options[key];
  const std::string field = absl::StrCat("source.directory.jsonnet.", key);
  if (!list.is_array()) return absl::InvalidArgumentError(absl::StrCat(field, ": expected a list"));
  for (size_t i = 0; i < list.size(); ++i) {
    const json& v = list[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (!v.is_object() || !v.contains("name") || !v["name"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".name: required"));
    }
    JsonnetVar var{.name = v["name"].get<std::string>()};
    if (v.contains("value")) {
      if (!v["value"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".value: expected a string"));
      }
      var.value = v["value"].get<std::string>();
    }
    if (v.contains("code") && v["code"].is_boolean()) var.code = v["code"].get<bool>();
    vars.push_back(std::move(var));
  }
  return vars;
}

}  // namespace

std::map<std::string, std::string> BuildEnv(const RenderRequest& r) {
  std::map<std::string, std::string> env = {
      {"ARGOCD_APP_NAME", r.app_name},
      {"ARGOCD_APP_NAMESPACE", r.dest_namespace},
      {"ARGOCD_APP_REVISION", r.revision},
      {"ARGOCD_APP_REVISION_SHORT", r.revision.substr(0, 7)},
      {"ARGOCD_APP_REVISION_SHORT_8", r.revision.substr(0, 8)},
      {"ARGOCD_APP_SOURCE_PATH", r.path},
      {"ARGOCD_APP_SOURCE_REPO_URL", RedactUrl(r.repo_url)},
      {"ARGOCD_APP_SOURCE_TARGET_REVISION", r.target_revision},
  };
  if (std::getenv("HOME") == nullptr) env["HOME"] = r.scratch_dir.string();
  return env;
}

std::string Envsubst(const std::string& text, const std::map<std::string, std::string>& env) {
  auto lookup = [&env](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  auto is_name = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {
      out.push_back('$');
      ++i;
    } else if (next == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string::npos) {
        out.append(text, i, std::string::npos);
        break;
      }
      out += lookup(text.substr(i + 2, close - i - 2));
      i = close;
    } else if (is_name(next)) {
      size_t j = i + 1;
      while (j < text.size() && is_name(text[j])) ++j;
      out += lookup(text.substr(i + 1, j - i - 1));
      i = j - 1;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

absl::StatusOr<json> EvaluateJsonnet(const fs::path& file, const fs::path& app_dir,
                                     const fs::path& repo_root, const json& options,
                                     const std::map<std::string, std::string>& env) {
  ASSIGN_OR_RETURN(std::vector<JsonnetVar> tlas, ReadVars(options, "tlas"));
  ASSIGN_OR_RETURN(std::vector<JsonnetVar> ext_vars, ReadVars(options, "extVars"));
  std::error_code ec;
  ImportContext ctx{.vm = nullptr, .root = fs::canonical(repo_root, ec)};
  if (ec) return absl::NotFoundError("repository checkout missing");
  ctx.jpaths.push_back(app_dir);
  if (options.is_object() && options.contains("libs") && options["libs"].is_array()) {
    const json& libs = options["libs"];
    for (size_t i = 0; i < libs.size(); ++i) {
      const std::string field = absl::StrCat("source.directory.jsonnet.libs[", i, "]");
      if (!libs[i].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": expected a string"));
      }
      // Library paths are relative to the repository root, not to the app path.
      ASSIGN_OR_RETURN(fs::path lib, ResolveInside(repo_root, libs[i].get<std::string>(), field));
      ctx.jpaths.push_back(lib);
    }
  }
  JsonnetVm* vm = jsonnet_make();
  absl::Cleanup destroy = [vm] { jsonnet_destroy(vm); };
  ctx.vm = vm;
  jsonnet_import_callback(vm, ImportCallback, &ctx);
  for (const JsonnetVar& v : tlas) {
    (v.code ? jsonnet_tla_code : jsonnet_tla_var)(vm, v.name.c_str(),
                                                  Envsubst(v.value, env).c_str());
  }
  for (const JsonnetVar& v : ext_vars) {
    (v.code ? jsonnet_ext_code : jsonnet_ext_var)(vm, v.name.c_str(),
                                                  Envsubst(v.value, env).c_str());
  }
  int error = 0;
  char* out = jsonnet_evaluate_file(vm, file.c_str(), &error);
  std::string text = out != nullptr ? out : "";
  if (out != nullptr) jsonnet_realloc(vm, out, 0);
  if (error != 0) {
    // The VM prints paths of the private checkout; the repository-relative form reads better.
    std::string root = ctx.root.string() + "/";
    size_t p;
    while ((p = text.find(root)) != std::string::npos) text.erase(p, root.size());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return absl::InvalidArgumentError(text);
  }
  return manifest::ParseJsonText(text);
}

// ---------------------------------------------------------------------------------------------
// Kustomize

namespace {

absl::Status ExpectString(const json& v, const std::string& field) {
  if (!v.is_string()) return absl::InvalidArgumentError(absl::StrCat(field, ": expected a string"));
  return absl::OkStatus();
}

// `kustomize edit set image` syntax: name=newName:tag, name=newName@digest, name:tag,
// name@digest, name=newName.
json ParseImageOverride(absl::string_view spec) {
  json image = json::object();
  absl::string_view name_part = spec, target = spec;
  bool renamed = false;
  if (size_t eq = spec.find('='); eq != spec.npos) {
    name_part = spec.substr(0, eq);
    target = spec.substr(eq + 1);
    renamed = true;
  }
  absl::string_view base = target;
  if (size_t at = target.find('@'); at != target.npos) {
    image["digest"] = std::string(target.substr(at + 1));
    base = target.substr(0, at);
  } else {
    size_t colon = target.rfind(':');
    size_t slash = target.rfind('/');
    if (colon != target.npos && (slash == target.npos || colon > slash)) {
      image["newTag"] = std::string(target.substr(colon + 1));
      base = target.substr(0, colon);
    }
  }
  if (renamed) {
    image["name"] = std::string(name_part);
    if (!base.empty()) image["newName"] = std::string(base);
  } else {
    image["name"] = std::string(base);
  }
  return image;
}

bool HasOverrides(const json& o) {
  if (!o.is_object()) return false;
  for (const char* key : {"namePrefix", "nameSuffix", "namespace"}) {
    if (o.contains(key) && o[key].is_string() && !o[key].get<std::string>().empty()) return true;
  }
  for (const char* key :
       {"images", "replicas", "components", "patches", "commonLabels", "commonAnnotations"}) {
    if (o.contains(key) && !o[key].is_null() && !o[key].empty()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<json> ApplyKustomizeOverrides(json k, const json& o) {
  if (!k.is_object()) return absl::InvalidArgumentError("kustomization: expected a mapping");
  if (!o.is_object()) return k;
  for (const char* key : {"namePrefix", "nameSuffix", "namespace"}) {
    if (!o.contains(key) || o[key].is_null()) continue;
    RETURN_IF_ERROR(ExpectString(o[key], absl::StrCat("source.kustomize.", key)));
    if (!o[key].get<std::string>().empty()) k[key] = o[key];
  }
  if (o.contains("images") && o["images"].is_array()) {
    if (!k.contains("images") || !k["images"].is_array()) k["images"] = json::array();
    for (size_t i = 0; i < o["images"].size(); ++i) {
      const json& spec = o["images"][i];
      RETURN_IF_ERROR(ExpectString(spec, absl::StrCat("source.kustomize.images[", i, "]")));
      json image = ParseImageOverride(spec.get<std::string>());
      bool merged = false;
      for (json& existing : k["images"]) {
        if (!existing.is_object() || existing.value("name", "") != image["name"]) continue;
        if (image.contains("digest")) existing.erase("newTag");
        if (image.contains("newTag")) existing.erase("digest");
        existing.update(image);
        merged = true;
      }
      if (!merged) k["images"].push_back(image);
    }
  }
  if (o.contains("replicas") && o["replicas"].is_array()) {
    if (!k.contains("replicas") || !k["replicas"].is_array()) k["replicas"] = json::array();
    for (size_t i = 0; i < o["replicas"].size(); ++i) {
      const json& r = o["replicas"][i];
      const std::string at = absl::StrCat("source.kustomize.replicas[", i, "]");
      if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".name: required"));
      }
      int64_t count = 0;
      const json c = r.value("count", json());
      if (c.is_number_integer()) {
        count = c.get<int64_t>();
      } else if (c.is_string() && absl::SimpleAtoi(c.get<std::string>(), &count)) {
      } else {
        return absl::InvalidArgumentError(absl::StrCat(at, ".count: expected an integer"));
      }
      json entry = {{"name", r["name"]}, {"count", count}};
      bool merged = false;
      for (json& existing : k["replicas"]) {
        if (existing.is_object() && existing.value("name", "") == r["name"]) {
          existing = entry;
          merged = true;
        }
      }
      if (!merged) k["replicas"].push_back(entry);
    }
  }
  for (const char* key : {"commonLabels", "commonAnnotations"}) {
    if (!o.contains(key) || !o[key].is_object()) continue;
    if (!k.contains(key) || !k[key].is_object()) k[key] = json::object();
    for (const auto& [name, value] : o[key].items()) {
      RETURN_IF_ERROR(ExpectString(value, absl::StrCat("source.kustomize.", key, ".", name)));
      k[key][name] = value;
    }
  }
  if (o.contains("components") && o["components"].is_array()) {
    if (!k.contains("components") || !k["components"].is_array()) k["components"] = json::array();
    for (const json& c : o["components"]) {
      if (std::find(k["components"].begin(), k["components"].end(), c) == k["components"].end()) {
        k["components"].push_back(c);
      }
    }
  }
  if (o.contains("patches") && o["patches"].is_array()) {
    if (!k.contains("patches") || !k["patches"].is_array()) k["patches"] = json::array();
    for (const json& p : o["patches"]) k["patches"].push_back(p);
  }
  return k;
}

namespace {

absl::StatusOr<std::vector<json>> RunAndParse(const std::vector<std::string>& argv,
                                              const RenderRequest& request, const fs::path& dir,
                                              absl::string_view tool) {
  ASSIGN_OR_RETURN(ExecResult result,
                   Exec(argv, dir.string(), BuildEnv(request), request.exec_timeout));
  if (result.exit_code != 0) {
    std::string err = result.stderr_text;
    // Tool messages name the private checkout; show repository-relative paths.
    for (const std::string& prefix :
         {request.scratch_dir.string() + "/tree/", request.repo_root.string() + "/"}) {
      size_t p;
      while ((p = err.find(prefix)) != std::string::npos) err.erase(p, prefix.size());
    }
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return absl::FailedPreconditionError(
        absl::StrCat(tool, " failed (exit ", result.exit_code, "): ", err));
  }
  ASSIGN_OR_RETURN(std::vector<json> docs, manifest::ParseDocuments(result.stdout_text));
  std::vector<json> out;
  for (const json& d : docs) RETURN_IF_ERROR(AppendFlattened(d, out, std::string(tool)));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<json>> RenderKustomize(const RenderRequest& request,
                                                  const fs::path& app_dir) {
  std::vector<std::string> argv;
  std::string tool;
  if (std::string k = FindOnPath("kustomize"); !k.empty()) {
    argv = {k, "build"};
    tool = "kustomize build";
  } else if (std::string kubectl = FindOnPath("kubectl"); !kubectl.empty()) {
    argv = {kubectl, "kustomize"};
    tool = "kubectl kustomize";
  } else {
    return absl::FailedPreconditionError(
        "kustomize source type needs a kustomize or kubectl binary on PATH");
  }
  json overrides = request.source.is_object() ? request.source.value("kustomize", json()) : json();
  fs::path build_dir = app_dir;
  if (HasOverrides(overrides)) {
    // The checkout is shared by concurrent requests: edit a private copy of it.
    fs::path tree = request.scratch_dir / "tree";
    std::error_code ec;
    fs::remove_all(tree, ec);
    fs::copy(request.repo_root, tree, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             ec);
    if (ec) return absl::InternalError(absl::StrCat("copying the checkout: ", ec.message()));
    build_dir = tree / app_dir.lexically_relative(request.repo_root);
    fs::path file;
    for (const char* name : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
      if (fs::is_regular_file(build_dir / name, ec)) {
        file = build_dir / name;
        break;
      }
    }
    json kustomization = json::object();
    if (!file.empty()) {
      ASSIGN_OR_RETURN(std::string text, ReadText(file));
      ASSIGN_OR_RETURN(std::vector<json> docs, manifest::ParseDocuments(text));
      if (!docs.empty()) kustomization = docs[0];
    } else {
      file = build_dir / "kustomization.yaml";
    }
    ASSIGN_OR_RETURN(kustomization, ApplyKustomizeOverrides(std::move(kustomization), overrides));
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << manifest::ToYaml(kustomization);
    if (!out) return absl::InternalError("writing the kustomization failed");
  }
  argv.push_back(build_dir.string());
  return RunAndParse(argv, request, build_dir, tool);
}

// ---------------------------------------------------------------------------------------------
// Helm

absl::StatusOr<std::vector<json>> RenderHelm(const RenderRequest& request,
                                             const fs::path& app_dir) {
  const json& source = request.source;
  if (source.is_object() && source.contains("chart") && source["chart"].is_string() &&
      !source["chart"].get<std::string>().empty()) {
    return absl::UnimplementedError(
        "source.chart: charts from a Helm repository are not supported; point path at a chart "
        "in git");
  }
  const std::string helm = FindOnPath("helm");
  if (helm.empty()) {
    return absl::FailedPreconditionError("helm source type needs a helm binary on PATH");
  }
  json h = source.is_object() ? source.value("helm", json::object()) : json::object();
  if (!h.is_object()) return absl::InvalidArgumentError("source.helm: expected an object");
  std::string release = h.value("releaseName", "");
  if (release.empty()) release = request.app_name.empty() ? "release" : request.app_name;
  std::string ns = h.value("namespace", "");
  if (ns.empty()) ns = request.dest_namespace;
  std::vector<std::string> argv = {helm, "template", ".", "--name-template", release};
  if (!ns.empty()) argv.insert(argv.end(), {"--namespace", ns});
  const bool ignore_missing = h.value("ignoreMissingValueFiles", false);
  if (h.contains("valueFiles") && h["valueFiles"].is_array()) {
    for (size_t i = 0; i < h["valueFiles"].size(); ++i) {
      const json& f = h["valueFiles"][i];
      const std::string field = absl::StrCat("source.helm.valueFiles[", i, "]");
      RETURN_IF_ERROR(ExpectString(f, field));
      fs::path rel = (fs::path(request.path.empty() ? "." : request.path) / f.get<std::string>());
      ASSIGN_OR_RETURN(fs::path file, ResolveInside(request.repo_root, rel.string(), field));
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        if (ignore_missing) continue;
        return absl::NotFoundError(absl::StrCat(field, ": ", f.get<std::string>(), " not found"));
      }
      argv.insert(argv.end(), {"--values", file.string()});
    }
  }
  std::string inline_values;
  if (h.contains("valuesObject") && h["valuesObject"].is_object()) {
    inline_values = manifest::ToYaml(h["valuesObject"]);
  } else if (h.contains("values") && h["values"].is_string()) {
    inline_values = h["values"].get<std::string>();
  }
  if (!inline_values.empty()) {
    fs::path values = request.scratch_dir / "values.yaml";
    std::ofstream out(values, std::ios::binary | std::ios::trunc);
    out << inline_values;
    if (!out) return absl::InternalError("writing helm values failed");
    argv.insert(argv.end(), {"--values", values.string()});
  }
  if (h.contains("parameters") && h["parameters"].is_array()) {
    for (const json& p : h["parameters"]) {
      if (!p.is_object() || !p.contains("name")) continue;
      const bool force_string = p.value("forceString", false);
      argv.push_back(force_string ? "--set-string" : "--set");
      argv.push_back(absl::StrCat(p.value("name", ""), "=", p.value("value", "")));
    }
  }
  argv.push_back(h.value("skipCrds", false) ? "--skip-crds" : "--include-crds");
  if (h.contains("kubeVersion") && h["kubeVersion"].is_string()) {
    argv.insert(argv.end(), {"--kube-version", h["kubeVersion"].get<std::string>()});
  }
  if (h.contains("apiVersions") && h["apiVersions"].is_array()) {
    for (const json& v : h["apiVersions"]) {
      if (v.is_string()) argv.insert(argv.end(), {"--api-versions", v.get<std::string>()});
    }
  }
  return RunAndParse(argv, request, app_dir, "helm template");
}

}  // namespace argonaut::cd::repo
