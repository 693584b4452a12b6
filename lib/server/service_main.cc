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
  if (service == "cluster") return 7005;
  return 7000;
}

std::string ServiceDataDir(const std::string& service) {
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  return data_dir.empty() ? absl::StrCat("data/", service) : data_dir;
}

int RunServiceMain(int argc, char** argv, const std::string& service,
                   resource::Validator validator) {
  return RunServiceMain(argc, argv, service, ServiceMainOptions{.validator = std::move(validator)});
}

int RunServiceMain(int argc, char** argv, const std::string& service, ServiceMainOptions options) {
  BlockShutdownSignals();
  absl::SetProgramUsageMessage(absl::StrCat("Argonaut ", service, " service"));
  absl::ParseCommandLine(argc, argv);
  int grpc_port = absl::GetFlag(FLAGS_grpc_port);
  if (grpc_port == -2) grpc_port = DefaultGrpcPort(service);
  int http_port = absl::GetFlag(FLAGS_http_port);
  if (http_port == -2) http_port = grpc_port > 0 ? grpc_port + 1000 : 0;
  const std::string data_dir = ServiceDataDir(service);

  metrics::MetricsRegistry registry;
  auto bundle =
      resource::ServiceBundle::Open(service, data_dir, &registry, std::move(options.validator));
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
  StopFn stop;
  if (options.setup) {
    absl::StatusOr<StopFn> started = options.setup(**bundle, server, registry);
    if (!started.ok()) {
      std::cerr << service << ": " << started.status().message() << "\n";
      return 1;
    }
    stop = std::move(*started);
  }
  if (absl::Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    if (stop) stop();
    return 1;
  }
  int sig = WaitForShutdownSignal();
  LogInfo(service, "shutting down", {{"signal", absl::StrCat(sig)}});
  if (stop) stop();
  server.Shutdown(absl::Seconds(10));
  // What setup started may report to the registry and read the store: gone
  // before either.
  stop = nullptr;
  return 0;
}

}  // namespace argonaut::server
