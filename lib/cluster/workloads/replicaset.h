// ReplicaSet controller decision: keep spec.replicas active pods, pick deletion victims the
// way Kubernetes ranks them, and compute the ReplicaSet status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/pod_template.h"

namespace argonaut::cluster::workloads {

struct ReplicaSetDecision {
  std::vector<Json> pods_to_create;
  std::vector<std::string> pods_to_delete;  // pod names
  Json status;                              // the complete new .status
  // Set when a ready pod will become available (minReadySeconds) and the status should be
  // recomputed then.
  std::optional<absl::Duration> requeue_after;
};

// `pods`: pods in the ReplicaSet's namespace; only those controlled by `rs` (ownerReference
// uid) and matching spec.selector count. Pods being deleted and finished pods (Succeeded or
// Failed) are not active, so they are replaced. A ReplicaSet being deleted creates nothing.
// At most kMaxPodChangesPerSync pods are created or deleted per call.
absl::StatusOr<ReplicaSetDecision> ReconcileReplicaSet(const Json& rs,
                                                       const std::vector<Json>& pods,
                                                       absl::Time now, const RandomSource& rand);

// Kubernetes' order for scale-down victims, best victim first: unscheduled before scheduled,
// Pending < Unknown < Running, not ready before ready, lower pod-deletion-cost first, more
// recently ready first, more restarts first, newer first (then by name, for determinism).
std::vector<const Json*> RankForDeletion(std::vector<const Json*> pods);

// Names of the first `n` pods of RankForDeletion(pods).
std::vector<std::string> ChooseVictims(const std::vector<const Json*>& pods, int n);

}  // namespace argonaut::cluster::workloads
