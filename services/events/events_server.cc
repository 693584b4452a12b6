#include "services/events/events_server.h"

#include <utility>

#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "services/events/sources/source.h"

namespace argonaut::events {
namespace {

class SourceRunnerAdapter : public Runner {
 public:
  explicit SourceRunnerAdapter(std::unique_ptr<sources::EventSourceRunner> runner)
      : runner_(std::move(runner)) {}
  nlohmann::json Status() const override { return runner_->Status(); }
  void Stop() override { runner_->Stop(); }

 private:
  std::unique_ptr<sources::EventSourceRunner> runner_;
};

}  // namespace

RunnerFactory EventSourceRunnerFactory(const EventsServerOptions& options) {
  return [options](const nlohmann::json& object,
                   bus::EventBus* bus) -> absl::StatusOr<std::unique_ptr<Runner>> {
    ASSIGN_OR_RETURN(std::unique_ptr<sources::EventSourceRunner> runner,
                     sources::EventSourceRunner::Start(
                         object, [bus](CloudEvent event) { return bus->Publish(event).status(); },
                         sources::SourceContext{.cluster = options.cluster,
                                                .clock = options.clock,
                                                .metrics = options.metrics,
                                                .webhook_host = options.webhook_host}));
    return std::make_unique<SourceRunnerAdapter>(std::move(runner));
  };
}

EventsServer::EventsServer(resource::ResourceApi* store, EventsServerOptions options)
    : store_(store), options_(std::move(options)), buses_(store, options_.data_dir) {}

EventsServer::~EventsServer() { Stop(); }

absl::Status EventsServer::Start() {
  if (options_.data_dir.empty()) {
    return absl::InvalidArgumentError("events server: data_dir is required (the embedded bus)");
  }
  RETURN_IF_ERROR(buses_.EnsureDefault());
  sources_ = std::make_unique<RunnerController>(
      store_, &buses_,
      RunnerControllerOptions{.kind = "EventSource",
                              .start = EventSourceRunnerFactory(options_),
                              .clock = options_.clock,
                              .status_period = options_.status_period});
  RETURN_IF_ERROR(sources_->Start());
  sensors_ = std::make_unique<RunnerController>(
      store_, &buses_,
      RunnerControllerOptions{.kind = "Sensor",
                              .start = SensorRunnerFactory(options_),
                              .clock = options_.clock,
                              .status_period = options_.status_period});
  return sensors_->Start();
}

void EventsServer::Stop() {
  // Sensors first: they may still be firing on events the sources sent.
  if (sensors_) sensors_->Stop();
  if (sources_) sources_->Stop();
}

}  // namespace argonaut::events
