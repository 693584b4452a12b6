// Trigger execution: one call runs one trigger template once, with its
// type-level parameters and payload resolved from the firing round's events.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"
#include "services/events/sensors/params.h"

namespace argonaut::events::sensors {

// What triggers may reach. Every pointer except clock may be null; a trigger
// that needs a missing one fails with a reason naming it.
struct TriggerContext {
  cluster::Cluster* cluster = nullptr;
  workflow::v1::WorkflowService::StubInterface* workflows = nullptr;
  rollout::v1::RolloutService::StubInterface* rollouts = nullptr;
  controller::Clock* clock = nullptr;  // null: the real clock
  metrics::MetricsRegistry* metrics = nullptr;
  // Reads key `key` of Secret `secret` in namespace `ns` (secureHeaders).
  std::function<absl::StatusOr<std::string>(std::string_view ns, std::string_view secret,
                                            std::string_view key)>
      secret;
};

struct FireRequest {
  std::string sensor;      // the Sensor's name (labels on created objects)
  std::string ns;          // the Sensor's namespace (default for objects)
  nlohmann::json trigger;  // the whole Trigger (template, policy, ...), trigger.parameters applied
  EventsByDependency events;
};

// Runs the one type set in trigger.template; the result is a short
// description ("http POST http://... 200", "workflow default/wf-abc created").
// A failure (including a status outside policy.status.allow) is an error.
absl::StatusOr<std::string> ExecuteTrigger(const FireRequest& request, const TriggerContext& ctx);

// The type key set in a trigger template (argoWorkflow, k8s, http, log,
// rollout, ...), or an error naming the unsupported one.
absl::StatusOr<std::string> TriggerType(const nlohmann::json& tmpl);

// Per type (triggers/<type>.cc).
absl::StatusOr<std::string> ExecuteLog(const FireRequest& request, const nlohmann::json& spec);
absl::StatusOr<std::string> ExecuteHttp(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteWorkflow(const FireRequest& request, const nlohmann::json& spec,
                                            const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteK8s(const FireRequest& request, const nlohmann::json& spec,
                                       const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteNats(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteAmqp(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteLambda(const FireRequest& request, const nlohmann::json& spec,
                                          const TriggerContext& ctx);
absl::StatusOr<std::string> ExecuteRollout(const FireRequest& request, const nlohmann::json& spec,
                                           const TriggerContext& ctx);

}  // namespace argonaut::events::sensors
