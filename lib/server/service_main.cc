#include "lib/server/service_main.h"

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/server.h"

ABSL_FLAG(int, grpc_port, -2, "gRPC port (default: the service's own, e.g. 7001 for workflow)");
ABSL_FLAG(int, http_port, -2, "HTTP port for /healthz, /readyz, /metrics (default: gRPC + 1000)");
ABSL_FLAG(std::string, bind, "127.0.0.1", "address to listen on (0.0.0.0 in a cluster)");
ABSL_FLAG(std::string, data_dir, "", "directory of the service's RocksDB (default ./data/NAME)");

namespace argonaut::server {

int DefaultGrpcPort(const std::string& service) {
  if (service == "workflow") return 7001;
  if (service == "rollout") return 7002;
  if (service == "events") return 7003;
  if (service == "cd") return 7004;
  return 7000;
}

int RunServiceMain(int argc, char** argv, const std::string& service,
                   resource::Validator validator) {
  BlockShutdownSignals();
  absl::SetProgramUsageMessage(absl::StrCat("Argonaut ", service, " service"));
  absl::ParseCommandLine(argc, argv);
  int grpc_port = absl::GetFlag(FLAGS_grpc_port);
  if (grpc_port == -2) grpc_port = DefaultGrpcPort(service);
  int http_port = absl::GetFlag(FLAGS_http_port);
  if (http_port == -2) http_port = grpc_port > 0 ? grpc_port + 1000 : 0;
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) data_dir = absl::StrCat("data/", service);

  metrics::MetricsRegistry registry;
  auto bundle = resource::ServiceBundle::Open(service, data_dir, &registry, std::move(validator));
  if (!bundle.ok()) {
    std::cerr << service << ": " << bundle.status().message() << "\n";
    return 1;
  }
  Server server({.name = service,
                 .bind_address = absl::GetFlag(FLAGS_bind),
                 .grpc_port = grpc_port,
                 .http_port = http_port,
                 .metrics_text = [&registry] { return registry.Serialize(); }});
  server.AddService(&(*bundle)->grpc_service());
  server.OnShutdown([&] {
    if (absl::Status s = (*bundle)->store().Flush(); !s.ok()) {
      LogError(service, "flush failed", {{"error", std::string(s.message())}});
    }
  });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  int sig = WaitForShutdownSignal();
  LogInfo(service, "shutting down", {{"signal", absl::StrCat(sig)}});
  server.Shutdown(absl::Seconds(10));
  return 0;
}

}  // namespace argonaut::server
