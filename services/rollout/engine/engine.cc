#include "services/rollout/engine/engine.h"

namespace argonaut::rollout::engine {

absl::StatusOr<RolloutOutput> Reconcile(const RolloutInput& in) {
  RolloutOutput out;
  out.status = in.rollout.contains("status") ? in.rollout["status"] : nlohmann::json::object();
  return out;
}

}  // namespace argonaut::rollout::engine
