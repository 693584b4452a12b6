// EventsServer: everything the events service runs beside its resource API
// (the EventSource, Sensor and EventBus store) — the event source and sensor
// controllers with their runners and buses — wired once, so that `argonaut
// up` (gateway/platform.cc) and the standalone binary (main.cc) run the same
// parts. The caller owns the store and the gRPC server.
//
//   EventsServer ev(&bundle.api(), {.data_dir = dir, .cluster = cluster,
//                                   .workflows = wf_stub, .metrics = &registry});
//   RETURN_IF_ERROR(ev.Start());
//   ...
//   ev.Stop();
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "services/events/controller.h"

namespace argonaut::events {

struct EventsServerOptions {
  // The embedded bus lives under <data_dir>/eventbus. Required.
  std::string data_dir;
  // Resource sources watch it, k8s triggers write to it, Secrets are read
  // from it. May be null: those refuse with a reason.
  cluster::Cluster* cluster = nullptr;
  // argoWorkflow and rollout triggers call these services. May be null.
  workflow::v1::WorkflowService::StubInterface* workflows = nullptr;
  rollout::v1::RolloutService::StubInterface* rollouts = nullptr;
  metrics::MetricsRegistry* metrics = nullptr;
  controller::Clock* clock = nullptr;  // null: the real clock
  // Where webhook listeners bind.
  std::string webhook_host = "127.0.0.1";
  // How often the controllers refresh a running object's status (and so
  // its log lines).
  absl::Duration status_period = absl::Seconds(2);
};

class EventsServer {
 public:
  // `store` (the events service's resource API) and the options' pointers
  // must outlive the server.
  EventsServer(resource::ResourceApi* store, EventsServerOptions options);
  ~EventsServer();

  // Creates the default EventBus if there is none and starts the
  // controllers.
  absl::Status Start();
  // Stops every runner. Idempotent.
  void Stop();

  BusRegistry* buses() { return &buses_; }
  RunnerController* event_sources() { return sources_.get(); }
  RunnerController* sensors() { return sensors_.get(); }

 private:
  resource::ResourceApi* const store_;
  const EventsServerOptions options_;
  BusRegistry buses_;
  std::unique_ptr<RunnerController> sources_;
  std::unique_ptr<RunnerController> sensors_;
};

// The factories of the real runners (sources/source.h, sensors/sensor_runner.h).
RunnerFactory EventSourceRunnerFactory(const EventsServerOptions& options);
RunnerFactory SensorRunnerFactory(const EventsServerOptions& options);

}  // namespace argonaut::events
