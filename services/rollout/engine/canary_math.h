// Argo Rollouts' weight -> replica arithmetic (utils/replicaset/canary.go), exact: the
// rounding of a weight into canary/stable counts for a basic canary, the rolling-update limits
// (maxSurge/maxUnavailable) that clamp each sync's move, and the traffic-routed counts.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::engine {

// maxSurge / maxUnavailable as Argo resolves them: integers as is; any string is a percentage
// ("25%" and "25" alike), surge rounded up and unavailable down. If both are 0, unavailable
// is 1; unavailable is capped at `replicas`. A missing value is the default "25%". Errors name
// `path` (negative numbers, unparseable strings).
struct RollingLimits {
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
};
absl::StatusOr<RollingLimits> ResolveRollingLimits(const nlohmann::json& max_surge,
                                                   const nlohmann::json& max_unavailable,
                                                   int32_t replicas, const char* path);

// (canary, stable) closest to `weight` of `max_weight` for `replicas` pods, allowing one surge
// pod when `max_surge` > 0 (approximateWeightedCanaryStableReplicaCounts).
std::pair<int32_t, int32_t> ApproximateWeightedCounts(int32_t replicas, int32_t weight,
                                                      int32_t max_weight, int32_t max_surge);

// Observed size of one ReplicaSet for the rolling limits.
struct RsSize {
  int32_t spec = 0;
  int32_t available = 0;
};

struct BasicCanaryInput {
  int32_t replicas = 1;
  int32_t weight = 0;
  int32_t max_weight = 100;
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
  std::optional<RsSize> canary;  // nullopt: not created yet
  std::optional<RsSize> stable;  // nullopt: no stable ReplicaSet (first deployment)
  int32_t others_spec = 0;       // sum of spec.replicas of every other ReplicaSet
};
// This sync's (canary, stable) spec.replicas (CalculateReplicaCountsForBasicCanary).
std::pair<int32_t, int32_t> BasicCanaryCounts(const BasicCanaryInput& in);

// ceil(weight * replicas / max_weight) (trafficWeightToReplicas).
int32_t TrafficWeightToReplicas(int32_t replicas, int32_t weight, int32_t max_weight);

struct TrafficRoutedInput {
  int32_t replicas = 1;
  int32_t weight = 0;
  int32_t max_weight = 100;
  std::optional<int32_t> canary_scale_replicas;  // setCanaryScale.replicas in effect
  int32_t min_pods_per_rs = 0;
  bool dynamic_stable_scale = false;
  bool aborted = false;
  // status.canary.weights as last written (dynamicStableScale only).
  std::optional<int32_t> actual_canary_weight, actual_stable_weight;
};
// (canary, stable) for a traffic-routed canary (CalculateReplicaCountsForTrafficRoutedCanary).
std::pair<int32_t, int32_t> TrafficRoutedCounts(const TrafficRoutedInput& in);

}  // namespace argonaut::rollout::engine
