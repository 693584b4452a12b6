#include "gateway/gateway_main.h"

#include <iostream>
#include <memory>

#include "gateway/cd_rest.h"
#include "gateway/cd_router.h"
#include "gateway/cluster_router.h"
#include "gateway/events_rest.h"
#include "gateway/events_router.h"
#include "gateway/port_mux.h"
#include "gateway/rest.h"
#include "gateway/rollout_rest.h"
#include "gateway/rollout_router.h"
#include "gateway/router.h"
#include "gateway/workflow_rest.h"
#include "gateway/workflow_router.h"
#include "httplib.h"
#include "lib/metrics/metrics.h"

namespace argonaut::gateway {

int RunGateway(const GatewayOptions& options) {
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  grpc::ChannelArguments args;
  // Lists of pods or workflows exceed gRPC's 4 MB default; the services
  // send up to this much.
  args.SetMaxReceiveMessageSize(64 << 20);
  // A restarted service is found again within seconds, not after gRPC's
  // default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  for (const auto& [name, address] : options.services) {
    if (address.empty()) continue;
    channels[name] = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  metrics::MetricsRegistry registry;
  ResourceRouter router(channels);
  // The services' own APIs, routed as Platform routes them in process.
  std::unique_ptr<ClusterRouter> cluster_router;
  if (auto it = channels.find("cluster"); it != channels.end()) {
    cluster_router = std::make_unique<ClusterRouter>(it->second);
  }
  std::unique_ptr<WorkflowRouter> workflow_router;
  if (auto it = channels.find("workflow"); it != channels.end()) {
    workflow_router = std::make_unique<WorkflowRouter>(it->second);
  }
  std::unique_ptr<RolloutRouter> rollout_router;
  if (auto it = channels.find("rollout"); it != channels.end()) {
    rollout_router = std::make_unique<RolloutRouter>(it->second);
  }
  std::unique_ptr<EventsRouter> events_router;
  if (auto it = channels.find("events"); it != channels.end()) {
    events_router = std::make_unique<EventsRouter>(it->second);
  }
  std::unique_ptr<CdRouter> cd_router;
  if (auto it = channels.find("cd"); it != channels.end()) {
    cd_router = std::make_unique<CdRouter>(it->second);
  }
  std::unique_ptr<cd::v1::ApplicationService::Stub> cd_app_stub;
  std::unique_ptr<cd::v1::RepositoryService::Stub> cd_repo_stub;
  std::unique_ptr<cd::v1::ProjectService::Stub> cd_project_stub;
  std::unique_ptr<api::v1::ResourceService::Stub> rest_stub;
  std::unique_ptr<events::v1::EventSourceService::Stub> event_source_stub;
  std::unique_ptr<events::v1::SensorService::Stub> sensor_stub;
  std::unique_ptr<rollout::v1::RolloutService::Stub> rollout_stub;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> workflow_stub;
  server::Server server(
      {.name = "gateway", .grpc_port = 0, .http_port = 0, .metrics_text = [&registry] {
         return registry.Serialize();
       }});
  server.AddService(&router);
  if (cluster_router) server.AddService(cluster_router.get());
  if (workflow_router) server.AddService(workflow_router.get());
  if (rollout_router) server.AddService(rollout_router.get());
  if (events_router) events_router->AddTo(server);
  if (cd_router) {
    for (grpc::Service* s : cd_router->services()) server.AddService(s);
  }
  server.ConfigureHttp([&](httplib::Server& http) {
    http.set_payload_max_length(16 << 20);
    rest_stub = api::v1::ResourceService::NewStub(server.InProcessChannel());
    if (workflow_router) {
      workflow_stub = workflow::v1::WorkflowService::NewStub(server.InProcessChannel());
      // Before the generic routes: the first matching route wins.
      RegisterWorkflowRestRoutes(http, workflow_stub.get());
    }
    if (rollout_router) {
      rollout_stub = rollout::v1::RolloutService::NewStub(server.InProcessChannel());
      RegisterRolloutRestRoutes(http, rollout_stub.get());
    }
    if (events_router) {
      event_source_stub = events::v1::EventSourceService::NewStub(server.InProcessChannel());
      sensor_stub = events::v1::SensorService::NewStub(server.InProcessChannel());
      RegisterEventsRestRoutes(http, event_source_stub.get(), sensor_stub.get());
    }
    if (cd_router) {
      cd_app_stub = cd::v1::ApplicationService::NewStub(server.InProcessChannel());
      cd_repo_stub = cd::v1::RepositoryService::NewStub(server.InProcessChannel());
      cd_project_stub = cd::v1::ProjectService::NewStub(server.InProcessChannel());
      RegisterCdRestRoutes(http, {cd_app_stub.get(), cd_repo_stub.get(), cd_project_stub.get()});
    }
    RegisterRestRoutes(http, rest_stub.get());
  });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  PortMux mux({.bind_address = options.bind_address,
               .port = options.port,
               .http2_backend_port = server.BoundGrpcPort(),
               .http1_backend_port = server.BoundHttpPort()});
  if (absl::Status s = mux.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  server::WaitForShutdownSignal();
  mux.Stop();
  server.Shutdown(absl::Seconds(10));
  return 0;
}

}  // namespace argonaut::gateway
