// The standalone events service: the resource API for EventSource, Sensor and
// EventBus (checked by the events validator), the events API (api/) and the
// event source and sensor controllers (the same EventsServer `argonaut up` runs). Resource sources
// and k8s triggers use the cluster service at --cluster; argoWorkflow and
// rollout triggers call the services at --workflow and --rollout. Other
// flags: see lib/server/service_main.h.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "grpcpp/grpcpp.h"
#include "lib/auth/channel.h"
#include "lib/cluster/remote_cluster.h"
#include "lib/server/service_main.h"
#include "services/events/api/events_service.h"
#include "services/events/events_server.h"
#include "services/events/validation/validate.h"

ABSL_FLAG(std::string, cluster, "",
          "host:port of the cluster service (e.g. 127.0.0.1:7005): resource sources, k8s "
          "triggers, Secrets");
ABSL_FLAG(std::string, workflow, "",
          "host:port of the workflow service (e.g. 127.0.0.1:7001) for argoWorkflow triggers");
ABSL_FLAG(std::string, rollout, "",
          "host:port of the rollout service (e.g. 127.0.0.1:7002) for rollout triggers");
ABSL_FLAG(std::string, webhook_host, "0.0.0.0", "address webhook event sources listen on");

namespace {

// Destroyed in reverse: the runners before the clients they call.
struct Parts {
  std::unique_ptr<argonaut::cluster::RemoteCluster> remote;
  std::unique_ptr<argonaut::workflow::v1::WorkflowService::Stub> workflows;
  std::unique_ptr<argonaut::rollout::v1::RolloutService::Stub> rollouts;
  std::unique_ptr<argonaut::events::EventsServer> events;
  std::unique_ptr<argonaut::events::api::EventsApi> api;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace argonaut;  // NOLINT: a main of wiring only
  return server::RunServiceMain(
      argc, argv, "events",
      server::ServiceMainOptions{
          .validator = events::validation::EventsValidator(),
          .setup = [](resource::ServiceBundle& bundle, server::Server& srv,
                      metrics::MetricsRegistry& registry) -> absl::StatusOr<server::StopFn> {
            auto parts = std::make_shared<Parts>();
            if (const std::string a = absl::GetFlag(FLAGS_cluster); !a.empty()) {
              parts->remote = cluster::RemoteCluster::Connect(a);
            }
            if (const std::string a = absl::GetFlag(FLAGS_workflow); !a.empty()) {
              parts->workflows = workflow::v1::WorkflowService::NewStub(auth::ServiceChannel(a));
            }
            if (const std::string a = absl::GetFlag(FLAGS_rollout); !a.empty()) {
              parts->rollouts = rollout::v1::RolloutService::NewStub(auth::ServiceChannel(a));
            }
            parts->events = std::make_unique<events::EventsServer>(
                &bundle.api(),
                events::EventsServerOptions{.data_dir = server::ServiceDataDir("events"),
                                            .cluster = parts->remote.get(),
                                            .workflows = parts->workflows.get(),
                                            .rollouts = parts->rollouts.get(),
                                            .metrics = &registry,
                                            .webhook_host = absl::GetFlag(FLAGS_webhook_host)});
            parts->api =
                std::make_unique<events::api::EventsApi>(&bundle.api(), parts->events.get());
            srv.AddService(parts->api->event_sources());
            srv.AddService(parts->api->sensors());
            srv.AddService(parts->api->events());
            if (absl::Status s = parts->events->Start(); !s.ok()) return s;
            return [parts] { parts->events->Stop(); };
          }});
}
