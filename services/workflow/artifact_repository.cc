#include "services/workflow/artifact_repository.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/yaml.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

const json* Field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string StrField(const json& obj, const char* key) {
  const json* v = Field(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

absl::StatusOr<json> ParseYamlObject(const std::string& text, const std::string& what) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  if (!docs.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", docs.status().message()));
  if (docs->empty() || (*docs)[0].is_null()) return json(nullptr);
  if (!(*docs)[0].is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not a map"));
  return (*docs)[0];
}

// The repository at `key` of a ConfigMap object; NotFound when the key is missing (Argo then
// tries the next candidate).
absl::StatusOr<json> RepositoryAt(const json& cm, const std::string& ns, const std::string& name,
                                  const std::string& key) {
  const json* data = Field(cm, "data");
  const json* value = data != nullptr ? Field(*data, key.c_str()) : nullptr;
  if (value == nullptr || !value->is_string()) {
    return absl::NotFoundError(absl::StrCat("ConfigMap \"", name, "\" in namespace \"", ns,
                                            "\" has no key \"", key, "\""));
  }
  ASSIGN_OR_RETURN(json repo,
                   ParseYamlObject(value->get<std::string>(),
                                   absl::StrCat("ConfigMap \"", name, "\" in namespace \"", ns,
                                                "\" key \"", key, "\"")));
  if (!repo.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("ConfigMap \"", name, "\" in namespace \"", ns,
                                                   "\" key \"", key, "\": empty"));
  }
  return repo;
}

// One candidate: ConfigMap `name` in `ns`, at `key` or its default annotation's key.
absl::StatusOr<json> Candidate(const ConfigMapGetter& get, const std::string& ns,
                               const std::string& name, const std::string& key) {
  absl::StatusOr<json> cm = get(ns, name);
  if (absl::IsNotFound(cm.status())) {
    return absl::NotFoundError(
        absl::StrCat("ConfigMap \"", name, "\" not found in namespace \"", ns, "\""));
  }
  if (!cm.ok()) return cm.status();
  std::string k = key;
  if (k.empty()) {
    const json* meta = Field(*cm, "metadata");
    k = meta != nullptr
            ? StrField(Field(*meta, "annotations") != nullptr ? (*meta)["annotations"] : json(),
                       kDefaultArtifactRepositoryAnnotation)
            : "";
  }
  ASSIGN_OR_RETURN(json repo, RepositoryAt(*cm, ns, name, k));
  // The complete ref, so the status says where the repository came from even if the annotation
  // changes later.
  return json{{"namespace", ns}, {"configMap", name}, {"key", k}, {"artifactRepository", repo}};
}

}  // namespace

absl::StatusOr<json> ControllerDefaultRepository(const json& configmap) {
  const json* data = Field(configmap, "data");
  if (data == nullptr || !data->is_object()) return json(nullptr);
  if (const json* v = Field(*data, "artifactRepository"); v != nullptr && v->is_string()) {
    return ParseYamlObject(v->get<std::string>(), absl::StrCat("ConfigMap \"", kControllerConfigMap,
                                                               "\" key \"artifactRepository\""));
  }
  if (const json* v = Field(*data, "config"); v != nullptr && v->is_string()) {
    ASSIGN_OR_RETURN(json config, ParseYamlObject(v->get<std::string>(),
                                                  absl::StrCat("ConfigMap \"", kControllerConfigMap,
                                                               "\" key \"config\"")));
    if (const json* repo = Field(config, "artifactRepository"); repo != nullptr) {
      if (!repo->is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("ConfigMap \"", kControllerConfigMap,
                         "\" key \"config\": artifactRepository is not a map"));
      }
      return *repo;
    }
  }
  return json(nullptr);
}

absl::StatusOr<json> ResolveArtifactRepositoryRef(const json& workflow,
                                                  const std::string& controller_ns,
                                                  const ConfigMapGetter& get,
                                                  const json* template_spec) {
  const json* meta = Field(workflow, "metadata");
  std::string wf_ns = meta != nullptr ? StrField(*meta, "namespace") : "";
  if (wf_ns.empty()) wf_ns = "default";
  const json* spec = Field(workflow, "spec");
  const json* ref = spec != nullptr ? Field(*spec, "artifactRepositoryRef") : nullptr;
  // The workflow's own spec wins over its WorkflowTemplate's, as in Argo's merged spec.
  if ((ref == nullptr || ref->is_null()) && template_spec != nullptr) {
    ref = Field(*template_spec, "artifactRepositoryRef");
  }
  if (ref != nullptr && !ref->is_null()) {
    if (!ref->is_object()) {
      return absl::InvalidArgumentError("spec.artifactRepositoryRef: not an object");
    }
    std::string name = StrField(*ref, "configMap");
    if (name.empty()) name = kArtifactRepositoriesConfigMap;
    const std::string key = StrField(*ref, "key");
    std::vector<std::string> misses;
    std::vector<std::string> namespaces = {wf_ns};
    if (controller_ns != wf_ns) namespaces.push_back(controller_ns);
    for (const std::string& ns : namespaces) {
      absl::StatusOr<json> found = Candidate(get, ns, name, key);
      if (found.ok() || !absl::IsNotFound(found.status())) return found;
      misses.push_back(std::string(found.status().message()));
    }
    std::string why;
    for (const std::string& m : misses) absl::StrAppend(&why, why.empty() ? "" : "; ", m);
    return absl::FailedPreconditionError(
        absl::StrCat("spec.artifactRepositoryRef {configMap: ", name,
                     ", key: ", key.empty() ? "(default)" : key, "}: ", why));
  }
  absl::StatusOr<json> found = Candidate(get, wf_ns, kArtifactRepositoriesConfigMap, "");
  if (found.ok() || !absl::IsNotFound(found.status())) return found;
  json out = {{"default", true}};
  absl::StatusOr<json> cm = get(controller_ns, kControllerConfigMap);
  if (absl::IsNotFound(cm.status())) return out;
  if (!cm.ok()) return cm.status();
  ASSIGN_OR_RETURN(json repo, ControllerDefaultRepository(*cm));
  if (repo.is_object()) out["artifactRepository"] = std::move(repo);
  return out;
}

absl::Status ResolveArtifactRepositoryInto(cluster::Cluster& cluster,
                                           const std::string& controller_ns,
                                           engine::EngineInput& in) {
  const json* status = Field(in.workflow, "status");
  if (status != nullptr && (Field(*status, "artifactRepositoryRef") != nullptr ||
                            engine::PhaseCompleted(StrField(*status, "phase")))) {
    return absl::OkStatus();
  }
  ConfigMapGetter get = [&cluster](const std::string& ns,
                                   const std::string& name) -> absl::StatusOr<json> {
    return cluster.Get("ConfigMap", ns, name);
  };
  // A workflowTemplateRef's template may carry the ref.
  std::optional<json> tmpl;
  const json* spec = Field(in.workflow, "spec");
  const json* wtr = spec != nullptr ? Field(*spec, "workflowTemplateRef") : nullptr;
  if (wtr != nullptr && wtr->is_object() && in.lookup) {
    const bool cluster_scope =
        Field(*wtr, "clusterScope") != nullptr && (*wtr)["clusterScope"] == json(true);
    tmpl = in.lookup(cluster_scope ? "ClusterWorkflowTemplate" : "WorkflowTemplate",
                     StrField(*wtr, "name"));
  }
  const json* template_spec = tmpl.has_value() ? Field(*tmpl, "spec") : nullptr;
  absl::StatusOr<json> ref = ResolveArtifactRepositoryRef(
      in.workflow, controller_ns.empty() ? kDefaultControllerNamespace : controller_ns, get,
      template_spec);
  if (ref.ok()) {
    in.artifact_repository_ref = *std::move(ref);
  } else if (absl::IsFailedPrecondition(ref.status()) || absl::IsInvalidArgument(ref.status())) {
    in.artifact_repository_error = std::string(ref.status().message());
  } else {
    return ref.status();
  }
  return absl::OkStatus();
}

}  // namespace argonaut::workflow
