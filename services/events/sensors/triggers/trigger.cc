#include "services/events/sensors/triggers/trigger.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace argonaut::events::sensors {

absl::StatusOr<std::string> TriggerType(const nlohmann::json& tmpl) {
  static const char* const kSupported[] = {"argoWorkflow", "k8s",  "http", "log",
                                           "rollout",      "nats", "amqp", "awsLambda"};
  static const char* const kArgoOnly[] = {"custom",         "kafka",  "slack", "openWhisk",
                                          "azureEventHubs", "pulsar", "email", "azureServiceBus"};
  if (!tmpl.is_object()) return absl::InvalidArgumentError("trigger template must be an object");
  for (const char* t : kSupported)
    if (tmpl.contains(t) && tmpl[t].is_object()) return std::string(t);
  for (const char* t : kArgoOnly)
    if (tmpl.contains(t))
      return absl::UnimplementedError(absl::StrCat("trigger type \"", t, "\" is not supported"));
  return absl::InvalidArgumentError(
      "trigger template sets no trigger type (argoWorkflow, k8s, http, awsLambda, log, rollout, "
      "nats, "
      "amqp)");
}

absl::StatusOr<std::string> ExecuteTrigger(const FireRequest& request, const TriggerContext& ctx) {
  if (!request.trigger.contains("template"))
    return absl::InvalidArgumentError("trigger.template is required");
  const nlohmann::json& tmpl = request.trigger["template"];
  auto type = TriggerType(tmpl);
  if (!type.ok()) return type.status();
  // Type-level parameters rewrite the type's own spec (argoWorkflow/k8s apply
  // theirs to the resource instead, inside their executors).
  nlohmann::json spec = tmpl[*type];
  if (*type == "http" || *type == "log" || *type == "rollout" || *type == "nats" ||
      *type == "amqp" || *type == "awsLambda") {
    if (absl::Status s =
            ApplyParameters(spec.value("parameters", nlohmann::json()), request.events, spec);
        !s.ok())
      return s;
  }
  if (*type == "log") return ExecuteLog(request, spec);
  if (*type == "http") return ExecuteHttp(request, spec, ctx);
  if (*type == "argoWorkflow") return ExecuteWorkflow(request, spec, ctx);
  if (*type == "k8s") return ExecuteK8s(request, spec, ctx);
  if (*type == "nats") return ExecuteNats(request, spec, ctx);
  if (*type == "amqp") return ExecuteAmqp(request, spec, ctx);
  if (*type == "awsLambda") return ExecuteLambda(request, spec, ctx);
  return ExecuteRollout(request, spec, ctx);
}

}  // namespace argonaut::events::sensors
