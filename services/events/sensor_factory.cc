// SensorRunnerFactory: the sensor runner (services/events/sensors) behind the
// controller's Runner interface, with Secrets read through the cluster.
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "services/events/events_server.h"
#include "services/events/sensors/sensor_runner.h"

namespace argonaut::events {
namespace {

class SensorRunnerAdapter : public Runner {
 public:
  explicit SensorRunnerAdapter(std::unique_ptr<sensors::SensorRunner> runner)
      : runner_(std::move(runner)) {}
  nlohmann::json Status() const override { return runner_->Status(); }
  void Stop() override { runner_->Stop(); }
  absl::Status Replay(const bus::StoredEvent& event) override { return runner_->Replay(event); }

 private:
  std::unique_ptr<sensors::SensorRunner> runner_;
};

}  // namespace

RunnerFactory SensorRunnerFactory(const EventsServerOptions& options) {
  cluster::Cluster* cluster = options.cluster;
  auto secret = [cluster](std::string_view ns, std::string_view name,
                          std::string_view key) -> absl::StatusOr<std::string> {
    if (cluster == nullptr) return absl::FailedPreconditionError("no cluster to read Secrets from");
    ASSIGN_OR_RETURN(nlohmann::json s, cluster->Get("Secret", ns, name));
    const std::string k(key);
    if (s.contains("stringData") && s["stringData"].is_object() && s["stringData"].contains(k) &&
        s["stringData"][k].is_string()) {
      return s["stringData"][k].get<std::string>();
    }
    if (s.contains("data") && s["data"].is_object() && s["data"].contains(k) &&
        s["data"][k].is_string()) {
      std::string decoded;
      if (!absl::Base64Unescape(s["data"][k].get<std::string>(), &decoded)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Secret ", std::string(ns), "/", std::string(name), " data.", k, ": not base64"));
      }
      return decoded;
    }
    return absl::NotFoundError(
        absl::StrCat("Secret ", std::string(ns), "/", std::string(name), " has no key ", k));
  };
  return [options, secret](const nlohmann::json& object,
                           bus::EventBus* bus) -> absl::StatusOr<std::unique_ptr<Runner>> {
    ASSIGN_OR_RETURN(
        std::unique_ptr<sensors::SensorRunner> runner,
        sensors::SensorRunner::Start(object, bus,
                                     sensors::TriggerContext{.cluster = options.cluster,
                                                             .workflows = options.workflows,
                                                             .rollouts = options.rollouts,
                                                             .clock = options.clock,
                                                             .metrics = options.metrics,
                                                             .secret = secret}));
    return std::make_unique<SensorRunnerAdapter>(std::move(runner));
  };
}

}  // namespace argonaut::events
