// Deployment controller decision: which ReplicaSets to create, scale and garbage-collect,
// following Kubernetes' RollingUpdate and Recreate algorithms, and the Deployment status with
// its Available and Progressing conditions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

inline constexpr int32_t kDefaultRevisionHistoryLimit = 10;
inline constexpr int32_t kDefaultProgressDeadlineSeconds = 600;

struct DeploymentDecision {
  // New ReplicaSets (complete objects; the store fills uid and creationTimestamp).
  std::vector<Json> replica_sets_to_create;
  // Existing ReplicaSets whose spec.replicas, spec.minReadySeconds or annotations changed
  // (complete updated objects).
  std::vector<Json> replica_sets_to_update;
  // ReplicaSet name -> spec.replicas, for every created or updated ReplicaSet whose size
  // is set or changed by this decision.
  std::map<std::string, int32_t> scale;
  std::vector<std::string> replica_sets_to_delete;  // beyond revisionHistoryLimit
  Json status;                                      // the complete new .status
  // The Deployment's deployment.kubernetes.io/revision annotation (empty: leave unchanged).
  std::string revision;
  // Re-run at this delay to notice a progress deadline passing.
  std::optional<absl::Duration> requeue_after;
};

// Resolved rolling-update fenceposts for a Deployment of spec.replicas replicas.
struct RollingParams {
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
};

// Reads spec.strategy. RollingUpdate defaults both values to "25%"; maxSurge rounds up and
// maxUnavailable down; explicit zero for both, negative values, maxUnavailable above 100%,
// or rollingUpdate with type Recreate are errors naming the field path. For Recreate both
// are 0. If both resolve to 0 through rounding, maxUnavailable becomes 1 (as Kubernetes).
absl::StatusOr<RollingParams> ResolveRollingParams(const Json& deployment);

// `replica_sets`: ReplicaSets in the namespace (only those controlled by the Deployment are
// considered; the rest only matter for name collisions). `pods`: pods of those ReplicaSets;
// only consulted by Recreate, which waits until no old pod is still running.
absl::StatusOr<DeploymentDecision> ReconcileDeployment(const Json& deployment,
                                                       const std::vector<Json>& replica_sets,
                                                       const std::vector<Json>& pods,
                                                       absl::Time now);

}  // namespace argonaut::cluster::workloads
