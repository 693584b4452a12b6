// Retention decisions for finished workflows and their pods: Argo's
// `spec.ttlStrategy`, `spec.podGC` and the workflow archive's "archive before
// deleting" rule, as one pure function of the workflow, its pods, the
// controller's configuration and the current instant. The retention
// controller (gc_controller.h) does the I/O.
//
//   ASSIGN_OR_RETURN(RetentionConfig config, ParseControllerConfigMap(configmap, defaults));
//   ASSIGN_OR_RETURN(RetentionActions a, DecideRetention(wf, pods, config, clock->Now()));
//
// Semantics (Argo v4):
// - TTL: a completed workflow with status.finishedAt is deleted at finishedAt + N seconds, N being
//   secondsAfterFailure (phase Failed or Error) or secondsAfterSuccess (Succeeded) when set, else
//   secondsAfterCompletion; no value, no deletion. Spec fields win over the controller's
//   workflowDefaults field by field. While the archive still has to take a copy, deletion waits.
// - podGC: OnPodCompletion deletes the pod of a node once the workflow's status records the node
//   completed; OnPodSuccess once it records it Succeeded; OnWorkflowCompletion every pod once the
//   workflow completed; OnWorkflowSuccess every pod once it Succeeded. Only pods matching
//   labelSelector (matchLabels/matchExpressions; empty: all). deleteDelayDuration postpones each
//   deletion, measured from the node's finishedAt (pod strategies) or the workflow's
//   (workflow strategies), so a decision taken twice at the same instant is the same. Nodes keep
//   their status: only pods go.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::gc {

// Argo's label recording the archive's progress on a live workflow.
inline constexpr char kArchivingStatusLabel[] = "workflows.argoproj.io/workflow-archiving-status";
inline constexpr char kArchived[] = "Archived";

struct RetentionConfig {
  // Defaults merged under the workflow's own fields (workflowDefaults.spec in the controller
  // ConfigMap, or the server's flags): a ttlStrategy and a podGC object, or null.
  nlohmann::json default_ttl_strategy;
  nlohmann::json default_pod_gc;
  // persistence.archive / archiveLabelSelector / archiveTTL.
  bool archive = false;
  nlohmann::json archive_label_selector;  // metav1.LabelSelector; null or {}: every workflow
  absl::Duration archive_ttl = absl::ZeroDuration();  // zero: archived copies are kept
};

struct TtlStrategy {
  std::optional<int64_t> seconds_after_completion;
  std::optional<int64_t> seconds_after_success;
  std::optional<int64_t> seconds_after_failure;
};

struct PodGcPolicy {
  std::string strategy;  // empty: pods are never deleted
  nlohmann::json label_selector;
  absl::Duration delete_delay = absl::ZeroDuration();
};

// The effective strategies; INVALID_ARGUMENT naming the field for a malformed one.
absl::StatusOr<TtlStrategy> EffectiveTtl(const nlohmann::json& workflow,
                                         const nlohmann::json& default_ttl_strategy);
absl::StatusOr<PodGcPolicy> EffectivePodGc(const nlohmann::json& workflow,
                                           const nlohmann::json& default_pod_gc);

// When the workflow is due for deletion; nullopt when never (not finished, no TTL).
std::optional<absl::Time> TtlDueAt(const nlohmann::json& workflow, const TtlStrategy& ttl);

struct PodGcDecision {
  std::vector<std::string> delete_now;  // pod names, in the order given
  std::optional<absl::Time> next;       // the earliest postponed deletion
};
// `pods`: the workflow's pods (label workflows.argoproj.io/workflow), as manifests.
absl::StatusOr<PodGcDecision> DecidePodGc(const nlohmann::json& workflow,
                                          const std::vector<nlohmann::json>& pods,
                                          const PodGcPolicy& policy, absl::Time now);

// Whether the archive must (still) take a copy of this workflow.
absl::StatusOr<bool> NeedsArchiving(const nlohmann::json& workflow, const RetentionConfig& config);

struct RetentionActions {
  bool archive = false;          // copy into the archive, then label it Archived
  bool delete_workflow = false;  // TTL expired (and archived when it had to be)
  std::vector<std::string> delete_pods;
  std::optional<absl::Time> next;  // reconcile again at this instant
};
absl::StatusOr<RetentionActions> DecideRetention(const nlohmann::json& workflow,
                                                 const std::vector<nlohmann::json>& pods,
                                                 const RetentionConfig& config, absl::Time now);

// The controller ConfigMap (workflow-controller-configmap): `persistence` (YAML: archive,
// archiveTTL, archiveLabelSelector) and `workflowDefaults` (YAML Workflow: spec.ttlStrategy,
// spec.podGC). Keys the ConfigMap lacks keep the values of `base` (the server's flags).
absl::StatusOr<RetentionConfig> ParseControllerConfigMap(const nlohmann::json& configmap,
                                                         RetentionConfig base);

// A node or workflow phase that no longer changes (Succeeded Failed Error Skipped Omitted). Kept
// here rather than taken from the engine so that retention builds apart from it.
bool PhaseCompleted(std::string_view phase);

// Argo's archiveTTL: Go duration units plus "d" for days ("7d", "12h").
absl::StatusOr<absl::Duration> ParseArchiveTtl(std::string_view text);

}  // namespace argonaut::workflow::gc
