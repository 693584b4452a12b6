// The whole main() of a standalone Argonaut service binary: flags, store,
// gRPC and HTTP servers, and an orderly shutdown on SIGTERM/SIGINT.
//
//   int main(int argc, char** argv) { return RunServiceMain(argc, argv, "workflow"); }
#pragma once

#include <string>

#include "lib/resource/resource_api.h"

namespace argonaut::server {

// Flags: --grpc_port (default per service), --http_port, --bind, --data_dir.
int RunServiceMain(int argc, char** argv, const std::string& service,
                   resource::Validator validator = {});

// Default ports of the standalone services, so that the gateway finds them
// without configuration: workflow 7001/8001, rollout 7002/8002, events
// 7003/8003, cd 7004/8004.
int DefaultGrpcPort(const std::string& service);

}  // namespace argonaut::server
