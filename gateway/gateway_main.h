// Runs the standalone gateway until SIGTERM/SIGINT: the generic
// ResourceService routed by kind, and, as `argonaut up` serves them,
// WorkflowService (with Argo Server's workflow REST paths) to the workflow
// service and ClusterService.PodLogs to the cluster service.
#pragma once

#include <map>
#include <string>

#include "lib/server/server.h"

namespace argonaut::gateway {

struct GatewayOptions {
  std::string bind_address;
  // gRPC and REST share this port.
  int port = 2746;
  // Service name ("workflow", "cluster", ...) -> "host:port". A service left
  // out answers UNAVAILABLE ("not connected").
  std::map<std::string, std::string> services;
};

int RunGateway(const GatewayOptions& options);

}  // namespace argonaut::gateway
