// The standalone gateway: gRPC and REST in front of the services, which it
// reaches at --workflow, --rollout, --events, --cd and --cluster (an empty
// address leaves that service out).
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "gateway/gateway_main.h"

ABSL_FLAG(int, port, 2746, "port serving gRPC and REST (/api/v1, /metrics, /healthz)");
ABSL_FLAG(std::string, bind, "127.0.0.1", "address to listen on");
ABSL_FLAG(std::string, workflow, "127.0.0.1:7001", "workflow service address");
ABSL_FLAG(std::string, rollout, "127.0.0.1:7002", "rollout service address");
ABSL_FLAG(std::string, events, "127.0.0.1:7003", "events service address");
ABSL_FLAG(std::string, cd, "127.0.0.1:7004", "cd service address");
ABSL_FLAG(std::string, cluster, "127.0.0.1:7005",
          "cluster service address (pods, Services, Deployments, pod logs)");

int main(int argc, char** argv) {
  argonaut::server::BlockShutdownSignals();
  absl::ParseCommandLine(argc, argv);
  return argonaut::gateway::RunGateway({.bind_address = absl::GetFlag(FLAGS_bind),
                                        .port = absl::GetFlag(FLAGS_port),
                                        .services = {{"workflow", absl::GetFlag(FLAGS_workflow)},
                                                     {"rollout", absl::GetFlag(FLAGS_rollout)},
                                                     {"events", absl::GetFlag(FLAGS_events)},
                                                     {"cd", absl::GetFlag(FLAGS_cd)},
                                                     {"cluster", absl::GetFlag(FLAGS_cluster)}}});
}
