// The whole main() of a standalone Argonaut service binary: flags, store,
// gRPC and HTTP servers, and an orderly shutdown on SIGTERM/SIGINT.
//
//   int main(int argc, char** argv) { return RunServiceMain(argc, argv, "rollout"); }
//
// A service that runs more than its resource API (the workflow controller,
// the cluster runtime) passes a `setup` that adds its gRPC services and
// starts its controllers once the store is open.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/server.h"

namespace argonaut::server {

// What a service's setup hands back. It is called on shutdown before the
// server stops taking calls (controllers stop first), and it should own what
// setup made: it is destroyed after the server has stopped, while the store
// and the metrics registry are still there.
using StopFn = std::function<void()>;

struct ServiceMainOptions {
  resource::Validator validator;
  // Runs after the store opens and before the server starts. Flags are
  // parsed by then, so it may read the binary's own flags.
  std::function<absl::StatusOr<StopFn>(resource::ServiceBundle& bundle, Server& server,
                                       metrics::MetricsRegistry& registry)>
      setup;
};

// Flags (dashes or underscores): --grpc_port (default per service),
// --http_port, --bind, --data_dir; authentication (see auth_setup.h):
// --auth-mode client|server (default client: every gRPC call needs a bearer
// token), --auth-file (default DATA_DIR/auth/tokens.json), --rbac-policy,
// --rbac-default-role, --service-token-file (the token this service sends to
// others); TLS: --tls-cert/--tls-key (the gRPC port), --tls-ca or
// --insecure-skip-tls-verify (calls to other services). One-shot:
// --create-token-file PATH [--create-token-account A] mints a token
// (default account system:service) in the --auth-file store, writes it to
// PATH (0600) and exits. /healthz, /readyz and /metrics stay open.
int RunServiceMain(int argc, char** argv, const std::string& service, ServiceMainOptions options);
int RunServiceMain(int argc, char** argv, const std::string& service,
                   resource::Validator validator = {});

// Default ports of the standalone services, so that the gateway finds them
// without configuration: workflow 7001/8001, rollout 7002/8002, events
// 7003/8003, cd 7004/8004, cluster 7005/8005.
int DefaultGrpcPort(const std::string& service);

// argv with every flag name's dashes made underscores (--auth-mode as well as --auth_mode, as
// Argo's flags are spelled; absl flags take underscores only). `storage` owns the strings.
std::vector<char*> Underscored(int argc, char** argv, std::vector<std::string>& storage);

// The directory given by --data_dir, or data/<service> (after parsing).
std::string ServiceDataDir(const std::string& service);

// The token store given by --auth-file, or <data dir>/auth/tokens.json.
std::string ServiceAuthFile(const std::string& service);

}  // namespace argonaut::server
