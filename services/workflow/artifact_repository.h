// Artifact repository resolution as Argo's controller does it
// (workflow/artifactrepositories): which repository a workflow's artifacts go
// to, recorded once in status.artifactRepositoryRef.
//
// Without spec.artifactRepositoryRef: the `artifact-repositories` ConfigMap of
// the workflow's namespace, at the key its
// `workflows.argoproj.io/default-artifact-repository` annotation names; if
// that ConfigMap or key is missing, the controller's default (`artifactRepository`
// of `workflow-controller-configmap` in the controller's namespace), recorded
// as {default: true}. With a ref {configMap (default "artifact-repositories"),
// key (default: the annotation)}: that ConfigMap in the workflow's namespace,
// else in the controller's namespace; neither is an error naming both.
//
//   ASSIGN_OR_RETURN(json ref, ResolveArtifactRepositoryRef(wf, "argo", getter));
//   // {"namespace": "argo", "configMap": "artifact-repositories", "key": "default-v1",
//   //  "artifactRepository": {"s3": {...}}}   or   {"default": true, ...}
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/cluster/cluster.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow {

inline constexpr char kControllerConfigMap[] = "workflow-controller-configmap";
inline constexpr char kArtifactRepositoriesConfigMap[] = "artifact-repositories";
inline constexpr char kDefaultArtifactRepositoryAnnotation[] =
    "workflows.argoproj.io/default-artifact-repository";
// Argo installs its controller (and so its ConfigMap) in `argo`.
inline constexpr char kDefaultControllerNamespace[] = "argo";

// A ConfigMap object by namespace and name; NotFound when there is none.
using ConfigMapGetter =
    std::function<absl::StatusOr<nlohmann::json>(const std::string& ns, const std::string& name)>;

// The controller's default repository from its ConfigMap object: the YAML of
// data.artifactRepository (or of `artifactRepository` inside data.config, the
// older single-key layout); null when it names none. InvalidArgument names the
// ConfigMap key when the YAML is bad.
absl::StatusOr<nlohmann::json> ControllerDefaultRepository(const nlohmann::json& configmap);

// The status.artifactRepositoryRef for `workflow` (its metadata.namespace and
// spec.artifactRepositoryRef, else that of `template_spec`, the spec of the
// WorkflowTemplate its workflowTemplateRef names, when given). FailedPrecondition /
// InvalidArgument: the workflow's own error (missing ConfigMap or key, bad
// YAML), named; any other error is the getter's (a transient read failure: try
// again).
absl::StatusOr<nlohmann::json> ResolveArtifactRepositoryRef(
    const nlohmann::json& workflow, const std::string& controller_ns, const ConfigMapGetter& get,
    const nlohmann::json* template_spec = nullptr);

// For the controller: when `in.workflow` has no status.artifactRepositoryRef
// yet and has not completed, resolves it from the cluster's ConfigMaps into
// in.artifact_repository_ref (or in.artifact_repository_error). Errors are the
// transient ones only.
absl::Status ResolveArtifactRepositoryInto(cluster::Cluster& cluster,
                                           const std::string& controller_ns,
                                           engine::EngineInput& in);

}  // namespace argonaut::workflow
