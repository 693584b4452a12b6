#include "gateway/gateway_main.h"

#include <iostream>

#include "gateway/port_mux.h"
#include "gateway/rest.h"
#include "gateway/router.h"
#include "httplib.h"
#include "lib/metrics/metrics.h"

namespace argonaut::gateway {

int RunGateway(const GatewayOptions& options) {
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  for (const auto& [name, address] : options.services) {
    channels[name] = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  metrics::MetricsRegistry registry;
  ResourceRouter router(std::move(channels));
  std::unique_ptr<api::v1::ResourceService::Stub> rest_stub;
  server::Server server(
      {.name = "gateway", .grpc_port = 0, .http_port = 0, .metrics_text = [&registry] {
         return registry.Serialize();
       }});
  server.AddService(&router);
  server.ConfigureHttp([&](httplib::Server& http) {
    http.set_payload_max_length(16 << 20);
    rest_stub = api::v1::ResourceService::NewStub(server.InProcessChannel());
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
