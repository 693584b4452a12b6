// Runs the standalone gateway until SIGTERM/SIGINT.
#pragma once

#include <map>
#include <string>

#include "lib/server/server.h"

namespace argonaut::gateway {

struct GatewayOptions {
  std::string bind_address;
  // gRPC and REST share this port.
  int port = 2746;
  // Service name -> "host:port".
  std::map<std::string, std::string> services;
};

int RunGateway(const GatewayOptions& options);

}  // namespace argonaut::gateway
