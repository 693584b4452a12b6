// The user's verbs on a Rollout, as pure JSON-in/JSON-out transformations of the stored object,
// patching exactly what `kubectl argo rollouts` patches (pkg/kubectl-argo-rollouts/cmd: promote,
// abort, retry, undo, pause, restart, set image). The controller acts on the result; the service
// writes spec changes with an update and status changes through the status subresource.
//
//   ASSIGN_OR_RETURN(json promoted, Promote(rollout, {.full = false}));
//   ASSIGN_OR_RETURN(json undone, Undo(rollout, replica_sets, /*revision=*/0));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::api {

inline constexpr char kRevisionAnnotation[] = "rollout.argoproj.io/revision";
inline constexpr char kPodTemplateHashLabel[] = "rollouts-pod-template-hash";

struct PromoteOptions {
  // Skip every remaining step, pause and analysis (status.promoteFull).
  bool full = false;
};

// Unpauses spec.paused. Full: status.promoteFull=true unless already fully promoted
// (currentPodHash == stableRS). Otherwise: an inconclusive step analysis that paused the rollout
// clears pauseConditions and controllerPause and moves to the next step; other pause conditions
// are cleared; a canary waiting on a step (analysis, experiment) moves to the next step, capped at
// the number of steps.
absl::StatusOr<nlohmann::json> Promote(nlohmann::json rollout, const PromoteOptions& options);
// status.abort=true.
absl::StatusOr<nlohmann::json> Abort(nlohmann::json rollout);
// status.abort=false: the update restarts from step 0.
absl::StatusOr<nlohmann::json> Retry(nlohmann::json rollout);
// Argo's `retry experiment`: the experiment's status is cleared, so its controller starts it
// again (templates scaled up, analyses re-run under new names). INVALID_ARGUMENT unless the
// object is an Experiment.
absl::StatusOr<nlohmann::json> RetryExperiment(nlohmann::json experiment);
// `terminate experiment|analysisrun`: spec.terminate=true.
absl::StatusOr<nlohmann::json> Terminate(nlohmann::json object);
// spec.paused = paused.
absl::StatusOr<nlohmann::json> Pause(nlohmann::json rollout, bool paused = true);
// spec.restartAt = `at`, RFC 3339 to the second, UTC.
absl::StatusOr<nlohmann::json> Restart(nlohmann::json rollout, absl::Time at);
// Sets the image of the container named `container` ("*": every container) among initContainers,
// containers and ephemeralContainers of spec.template. NOT_FOUND naming the container when none
// matches.
absl::StatusOr<nlohmann::json> SetImage(nlohmann::json rollout, std::string_view container,
                                        std::string_view image);
// spec.template = the template of the ReplicaSet of `revision` (annotation
// rollout.argoproj.io/revision; 0: the revision before the newest), without the
// rollouts-pod-template-hash label. `replica_sets` are the ReplicaSets the rollout owns. A
// template that already matches is left as is. NOT_FOUND when the revision is not in history.
absl::StatusOr<nlohmann::json> Undo(nlohmann::json rollout,
                                    const std::vector<nlohmann::json>& replica_sets,
                                    int64_t revision);

// "Canary", "BlueGreen", or "" without a strategy.
std::string StrategyOf(const nlohmann::json& rollout);
// The revision number of a ReplicaSet (its rollout.argoproj.io/revision annotation), 0 when
// absent or malformed.
int64_t RevisionOf(const nlohmann::json& replica_set);

}  // namespace argonaut::rollout::api
