// The standalone gateway: gRPC and REST in front of the services, which it
// reaches at --workflow, --rollout, --events, --cd and --cluster (an empty
// address leaves that service out). Flags may be written with dashes
// (--auth-file) or underscores.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

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
ABSL_FLAG(std::string, data_dir, "data/gateway",
          "directory of the default token store and of the self-signed certificate");
ABSL_FLAG(std::string, auth_mode, "client",
          "client: every call needs a bearer token; server: no authentication");
ABSL_FLAG(std::string, auth_file, "",
          "token store shared with the services (default DATA_DIR/auth/tokens.json)");
ABSL_FLAG(std::string, rbac_policy, "", "policy.csv (Argo CD's RBAC); default: built-in only");
ABSL_FLAG(std::string, rbac_default_role, "", "role of every authenticated account");
ABSL_FLAG(std::string, service_token_file, "",
          "the system:service token, for webhooks (and every call in --auth-mode server)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate of the public port (default: self-signed when --bind is not loopback)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "", "calls to the services use TLS verified with this CA file");
ABSL_FLAG(bool, insecure_skip_tls_verify, false,
          "calls to the services use TLS without verifying the certificate");

int main(int argc, char** argv) {
  argonaut::server::BlockShutdownSignals();
  // --auth-file as well as --auth_file: absl flags take underscores only.
  std::vector<std::string> storage(argv, argv + argc);
  for (std::string& a : storage) {
    if (a.rfind("--", 0) != 0) continue;
    const size_t end = std::min(a.find('='), a.size());
    std::replace(a.begin() + 2, a.begin() + static_cast<std::ptrdiff_t>(end), '-', '_');
  }
  std::vector<char*> args;
  for (std::string& a : storage) args.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::string auth_file = absl::GetFlag(FLAGS_auth_file);
  if (auth_file.empty()) auth_file = data_dir + "/auth/tokens.json";
  return argonaut::gateway::RunGateway(
      {.bind_address = absl::GetFlag(FLAGS_bind),
       .port = absl::GetFlag(FLAGS_port),
       .services = {{"workflow", absl::GetFlag(FLAGS_workflow)},
                    {"rollout", absl::GetFlag(FLAGS_rollout)},
                    {"events", absl::GetFlag(FLAGS_events)},
                    {"cd", absl::GetFlag(FLAGS_cd)},
                    {"cluster", absl::GetFlag(FLAGS_cluster)}},
       .auth = {.mode = absl::GetFlag(FLAGS_auth_mode),
                .auth_file = auth_file,
                .rbac_policy = absl::GetFlag(FLAGS_rbac_policy),
                .rbac_default_role = absl::GetFlag(FLAGS_rbac_default_role),
                .service_token_file = absl::GetFlag(FLAGS_service_token_file),
                .tls_ca = absl::GetFlag(FLAGS_tls_ca),
                .insecure_skip_tls_verify = absl::GetFlag(FLAGS_insecure_skip_tls_verify)},
       .tls_cert_file = absl::GetFlag(FLAGS_tls_cert),
       .tls_key_file = absl::GetFlag(FLAGS_tls_key),
       .data_dir = data_dir});
}
