// The I/O half of a sync step: carries out the engine's SyncActions through
// the destination cluster, and keeps status.history.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "lib/cluster/cluster.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/sync_step.h"

namespace argonaut::cd {

// kubectl's annotation holding what was last applied: the engine's diff is
// three-way against it, so an apply records it as `kubectl apply` does.
inline constexpr char kLastAppliedAnnotation[] = "kubectl.kubernetes.io/last-applied-configuration";

// One action: apply (with the last-applied annotation), create, replace
// (create when absent), delete (already gone is success).
absl::Status ExecuteAction(cluster::Cluster& cluster, const engine::SyncAction& action);

// Every action in order. A failed one is recorded in `operation_state`
// (engine::RecordActionFailure) and the rest still run, as the tasks of one
// wave do in Argo CD. Returns how many failed.
int ExecuteActions(cluster::Cluster& cluster, const std::vector<engine::SyncAction>& actions,
                   nlohmann::json& operation_state);

// spec.revisionHistoryLimit, default 10 (Argo CD's).
int HistoryLimit(const nlohmann::json& app);

// Appends `entry` to status.history with id = the largest id so far + 1, then
// drops the oldest entries beyond `limit`.
void AppendHistory(nlohmann::json& status, nlohmann::json entry, int limit);

}  // namespace argonaut::cd
