// Runs the standalone gateway until SIGTERM/SIGINT: the generic
// ResourceService routed by kind, and, as `argonaut up` serves them,
// WorkflowService (with Argo Server's workflow REST paths) to the workflow
// service and ClusterService.PodLogs to the cluster service, plus the
// AccountService over the shared token store. Authenticated as `argonaut up`
// is (auth proxy, REST guard), with TLS on the public port when asked or when
// it binds beyond loopback.
#pragma once

#include <map>
#include <string>

#include "lib/server/auth_setup.h"
#include "lib/server/server.h"

namespace argonaut::gateway {

struct GatewayOptions {
  std::string bind_address;
  // gRPC and REST share this port.
  int port = 2746;
  // Service name ("workflow", "cluster", ...) -> "host:port". A service left
  // out answers UNAVAILABLE ("not connected").
  std::map<std::string, std::string> services;
  // Token store, policy, and how calls to the services are made. In client
  // mode every call needs a token, and the gateway relays the caller's token
  // to the service (which checks it again); the service token is used only
  // for git hosts' webhooks (no token; the cd service checks their
  // signature) and, in server mode, for every call.
  server::AuthConfig auth;
  // The public port's TLS pair. Neither given and bind_address not loopback:
  // a self-signed pair in data_dir/tls.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string data_dir = "data/gateway";
};

int RunGateway(const GatewayOptions& options);

}  // namespace argonaut::gateway
