// rollout (Argonaut's own, beyond Argo): drive a release from an event.
// spec: {operation, name, namespace, image, container}; parameters may set
// any of them from the event (dest: name, image, ...).
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {

absl::StatusOr<std::string> ExecuteRollout(const FireRequest& request, const nlohmann::json& spec,
                                           const TriggerContext& ctx) {
  if (ctx.rollouts == nullptr)
    return absl::FailedPreconditionError("rollout: no rollout service configured");
  std::string op = spec.value("operation", "");
  std::string name = spec.value("name", "");
  std::string ns = spec.value("namespace", request.ns);
  if (name.empty()) return absl::InvalidArgumentError("rollout.name is required");
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  rollout::v1::RolloutReply reply;
  grpc::Status s;
  rollout::v1::RolloutNameRequest by_name;
  by_name.set_namespace_(ns);
  by_name.set_name(name);
  if (op == "promote" || op == "promote-full") {
    rollout::v1::PromoteRolloutRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    req.set_full(op == "promote-full");
    s = ctx.rollouts->PromoteRollout(&cc, req, &reply);
  } else if (op == "abort") {
    s = ctx.rollouts->AbortRollout(&cc, by_name, &reply);
  } else if (op == "retry") {
    s = ctx.rollouts->RetryRollout(&cc, by_name, &reply);
  } else if (op == "pause" || op == "resume") {
    rollout::v1::PauseRolloutRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    req.set_paused(op == "pause");
    s = ctx.rollouts->PauseRollout(&cc, req, &reply);
  } else if (op == "set-image") {
    std::string image = spec.value("image", "");
    if (image.empty()) return absl::InvalidArgumentError("rollout.image is required for set-image");
    rollout::v1::SetImageRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    req.set_container(spec.value("container", "*"));
    req.set_image(image);
    s = ctx.rollouts->SetRolloutImage(&cc, req, &reply);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("rollout.operation \"", op,
                     "\" must be promote, promote-full, abort, retry, pause, resume or set-image"));
  }
  if (!s.ok())
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat("rollout ", op, " ", ns, "/", name, ": ", s.error_message()));
  return absl::StrCat("rollout ", ns, "/", name, " ", op);
}

}  // namespace argonaut::events::sensors
