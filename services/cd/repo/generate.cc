#include "services/cd/repo/generate.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/yaml.h"
#include "services/cd/repo/tools.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool HasBlock(const json& source, const char* key) {
  return source.is_object() && source.contains(key) && source[key].is_object();
}

absl::StatusOr<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.filename().string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One manifest file of a Directory source, as Argo CD's findManifests reads it: a YAML file that
// does not parse as Kubernetes objects is skipped unless it looks like one (apiVersion:, kind:
// and metadata: all present), in which case it is an error.
absl::Status ReadManifestFile(const fs::path& file, const std::string& rel,
                              std::vector<json>& out) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(file));
  const bool is_json = absl::EndsWith(rel, ".json");
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  std::vector<json> objects;
  absl::Status problem = docs.status();
  if (docs.ok()) {
    for (size_t i = 0; i < docs->size() && problem.ok(); ++i) {
      const json& d = (*docs)[i];
      if (!d.is_object() || !d.contains("kind") || !d["kind"].is_string() ||
          d["kind"].get<std::string>().empty()) {
        problem = absl::InvalidArgumentError(
            absl::StrCat("document ", i + 1, ": Object 'Kind' is missing"));
      } else {
        objects.push_back(d);
      }
    }
  }
  if (!problem.ok()) {
    const bool looks_like_resource = absl::StrContains(text, "apiVersion:") &&
                                     absl::StrContains(text, "kind:") &&
                                     absl::StrContains(text, "metadata:");
    if (is_json || !objects.empty() || looks_like_resource) {
      return absl::FailedPreconditionError(
          absl::StrCat("Failed to unmarshal \"", rel, "\": ", problem.message()));
    }
    return absl::OkStatus();  // some other YAML file (values, config) beside the manifests
  }
  for (const json& obj : objects) RETURN_IF_ERROR(AppendFlattened(obj, out, rel));
  return absl::OkStatus();
}

bool IsManifestFile(const std::string& name) {
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json") || absl::EndsWith(name, ".jsonnet");
}

struct DirectoryWalk {
  const RenderRequest& request;
  fs::path app_dir;
  bool recurse = false;
  std::string include, exclude;
  json jsonnet;
  std::vector<json> out;

  absl::Status Walk(const fs::path& dir) {
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
    if (ec) return absl::InternalError(absl::StrCat("listing ", dir.string(), ": ", ec.message()));
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& e : entries) {
      const std::string name = e.path().filename().string();
      if (e.is_directory(ec) && !e.is_symlink(ec)) {
        // Hidden directories (.git, .github) are never manifests.
        if (recurse && !absl::StartsWith(name, ".")) RETURN_IF_ERROR(Walk(e.path()));
        continue;
      }
      if (!e.is_regular_file(ec) || !IsManifestFile(name)) continue;
      const std::string rel = e.path().lexically_relative(app_dir).string();
      if (!exclude.empty() && GlobMatch(exclude, rel)) continue;
      if (!include.empty() && !GlobMatch(include, rel)) continue;
      if (absl::EndsWith(name, ".jsonnet")) {
        absl::StatusOr<json> value =
            EvaluateJsonnet(e.path(), app_dir, request.repo_root, jsonnet, BuildEnv(request));
        if (!value.ok() && absl::StartsWith(value.status().message(), "source.")) {
          return value.status();  // a bad option, not a bad file
        }
        if (!value.ok()) {
          return absl::FailedPreconditionError(
              absl::StrCat("Failed to evaluate jsonnet \"", rel, "\": ", value.status().message()));
        }
        if (value->is_array()) {
          for (const json& item : *value) RETURN_IF_ERROR(AppendFlattened(item, out, rel));
        } else {
          RETURN_IF_ERROR(AppendFlattened(*value, out, rel));
        }
      } else {
        RETURN_IF_ERROR(ReadManifestFile(e.path(), rel, out));
      }
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<std::vector<json>> RenderDirectory(const RenderRequest& request,
                                                  const fs::path& app_dir) {
  DirectoryWalk walk{.request = request, .app_dir = app_dir};
  if (HasBlock(request.source, "directory")) {
    const json& d = request.source["directory"];
    if (d.contains("recurse") && !d["recurse"].is_null()) {
      if (!d["recurse"].is_boolean()) {
        return absl::InvalidArgumentError("source.directory.recurse: expected a boolean");
      }
      walk.recurse = d["recurse"].get<bool>();
    }
    for (const char* key : {"include", "exclude"}) {
      if (!d.contains(key) || d[key].is_null()) continue;
      if (!d[key].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("source.directory.", key, ": expected a string"));
      }
      (absl::string_view(key) == "include" ? walk.include : walk.exclude) =
          d[key].get<std::string>();
    }
    if (d.contains("jsonnet") && d["jsonnet"].is_object()) walk.jsonnet = d["jsonnet"];
  }
  RETURN_IF_ERROR(walk.Walk(app_dir));
  return std::move(walk.out);
}

}  // namespace

absl::Status AppendFlattened(const json& obj, std::vector<json>& out, const std::string& where) {
  if (!obj.is_object()) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": a manifest must be an object, got ", obj.type_name()));
  }
  const std::string kind =
      obj.contains("kind") && obj["kind"].is_string() ? obj["kind"].get<std::string>() : "";
  if (kind.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": Object 'Kind' is missing"));
  }
  if (absl::EndsWith(kind, "List") && obj.contains("items") && !obj.contains("spec")) {
    const json& items = obj["items"];
    if (items.is_null()) return absl::OkStatus();
    if (items.is_array()) {
      for (const json& item : items) RETURN_IF_ERROR(AppendFlattened(item, out, where));
      return absl::OkStatus();
    }
  }
  out.push_back(obj);
  return absl::OkStatus();
}

absl::StatusOr<std::string> DetectSourceType(const json& source, const fs::path& app_dir) {
  std::vector<std::string> explicit_types;
  if (HasBlock(source, "helm") ||
      (source.is_object() && source.contains("chart") && source["chart"].is_string() &&
       !source["chart"].get<std::string>().empty())) {
    explicit_types.push_back("Helm");
  }
  if (HasBlock(source, "kustomize")) explicit_types.push_back("Kustomize");
  if (HasBlock(source, "directory")) explicit_types.push_back("Directory");
  if (HasBlock(source, "plugin")) explicit_types.push_back("Plugin");
  if (explicit_types.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("source: multiple application sources defined: ",
                                                   absl::StrJoin(explicit_types, ", ")));
  }
  if (explicit_types.size() == 1) {
    if (explicit_types[0] == "Plugin") {
      return absl::UnimplementedError("source.plugin: config management plugins are not supported");
    }
    return explicit_types[0];
  }
  std::error_code ec;
  for (const char* name : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
    if (fs::is_regular_file(app_dir / name, ec)) return std::string("Kustomize");
  }
  if (fs::is_regular_file(app_dir / "Chart.yaml", ec)) return std::string("Helm");
  return std::string("Directory");
}

absl::StatusOr<Rendered> Render(const RenderRequest& request) {
  ASSIGN_OR_RETURN(fs::path app_dir, ResolveInside(request.repo_root, request.path, "source.path"));
  std::error_code ec;
  if (!fs::is_directory(app_dir, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "source.path: ", request.path.empty() ? "." : request.path, ": app path does not exist"));
  }
  Rendered rendered;
  ASSIGN_OR_RETURN(rendered.source_type, DetectSourceType(request.source, app_dir));
  if (rendered.source_type == "Directory") {
    ASSIGN_OR_RETURN(rendered.manifests, RenderDirectory(request, app_dir));
  } else if (rendered.source_type == "Kustomize") {
    ASSIGN_OR_RETURN(rendered.manifests, RenderKustomize(request, app_dir));
  } else {
    ASSIGN_OR_RETURN(rendered.manifests, RenderHelm(request, app_dir));
  }
  return rendered;
}

}  // namespace argonaut::cd::repo
