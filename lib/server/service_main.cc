#include "lib/server/service_main.h"

#include <algorithm>
#include <iostream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/auth_setup.h"
#include "lib/server/server.h"

ABSL_FLAG(int, grpc_port, -2, "gRPC port (default: the service's own, e.g. 7001 for workflow)");
ABSL_FLAG(int, http_port, -2, "HTTP port for /healthz, /readyz, /metrics (default: gRPC + 1000)");
ABSL_FLAG(std::string, bind, "127.0.0.1", "address to listen on (0.0.0.0 in a cluster)");
ABSL_FLAG(std::string, data_dir, "", "directory of the service's RocksDB (default ./data/NAME)");
ABSL_FLAG(std::string, auth_mode, "client",
          "client: every gRPC call needs a bearer token; server: no authentication");
ABSL_FLAG(std::string, auth_file, "",
          "token store shared by the deployment's processes (default DATA_DIR/auth/tokens.json)");
ABSL_FLAG(std::string, rbac_policy, "", "policy.csv (Argo CD's RBAC); default: built-in only");
ABSL_FLAG(std::string, rbac_default_role, "", "role of every authenticated account");
ABSL_FLAG(std::string, service_token_file, "",
          "file holding the system:service token this service sends to other services");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate of the gRPC port (with --tls-key: TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "",
          "calls to other services use TLS, verifying their certificate with this CA file");
ABSL_FLAG(bool, insecure_skip_tls_verify, false,
          "calls to other services use TLS without verifying the certificate");
ABSL_FLAG(std::string, create_token_file, "",
          "mint a token for --create-token-account in --auth-file, write it to this new file "
          "(0600) and exit");
ABSL_FLAG(std::string, create_token_account, "system:service", "see --create-token-file");

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

std::vector<char*> Underscored(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (std::string& a : storage) {
    if (a.rfind("--", 0) != 0) continue;
    const size_t end = std::min(a.find('='), a.size());
    for (size_t i = 2; i < end; ++i) {
      if (a[i] == '-') a[i] = '_';
    }
  }
  std::vector<char*> out;
  for (std::string& a : storage) out.push_back(a.data());
  return out;
}

std::string ServiceAuthFile(const std::string& service) {
  std::string file = absl::GetFlag(FLAGS_auth_file);
  return file.empty() ? ServiceDataDir(service) + "/auth/tokens.json" : file;
}

int RunServiceMain(int argc, char** argv, const std::string& service, ServiceMainOptions options) {
  BlockShutdownSignals();
  absl::SetProgramUsageMessage(absl::StrCat("Argonaut ", service, " service"));
  std::vector<std::string> storage;
  std::vector<char*> args = Underscored(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (const std::string out = absl::GetFlag(FLAGS_create_token_file); !out.empty()) {
    const std::string account = absl::GetFlag(FLAGS_create_token_account);
    if (absl::Status s = CreateTokenFile(ServiceAuthFile(service), account, out); !s.ok()) {
      std::cerr << service << ": " << s.message() << "\n";
      return 1;
    }
    std::cerr << "a token for " << account << " was written to " << out << "\n";
    return 0;
  }
  int grpc_port = absl::GetFlag(FLAGS_grpc_port);
  if (grpc_port == -2) grpc_port = DefaultGrpcPort(service);
  int http_port = absl::GetFlag(FLAGS_http_port);
  if (http_port == -2) http_port = grpc_port > 0 ? grpc_port + 1000 : 0;
  const std::string data_dir = ServiceDataDir(service);

  metrics::MetricsRegistry registry;
  // Before setup: the controllers' channels to other services carry the
  // service identity set here.
  absl::StatusOr<std::unique_ptr<AuthSetup>> auth =
      AuthSetup::Create({.mode = absl::GetFlag(FLAGS_auth_mode),
                         .auth_file = ServiceAuthFile(service),
                         .rbac_policy = absl::GetFlag(FLAGS_rbac_policy),
                         .rbac_default_role = absl::GetFlag(FLAGS_rbac_default_role),
                         .service_token_file = absl::GetFlag(FLAGS_service_token_file),
                         .tls_ca = absl::GetFlag(FLAGS_tls_ca),
                         .insecure_skip_tls_verify = absl::GetFlag(FLAGS_insecure_skip_tls_verify)},
                        &registry);
  if (!auth.ok()) {
    std::cerr << service << ": " << auth.status().message() << "\n";
    return 1;
  }
  if ((*auth)->authorizer() != nullptr && absl::GetFlag(FLAGS_service_token_file).empty()) {
    LogInfo(service, "no --service-token-file: calls to other services carry no token", {});
  }
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
                 .metrics_text = [&registry] { return registry.Serialize(); },
                 .authorizer = (*auth)->authorizer(),
                 .tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert),
                         .key_file = absl::GetFlag(FLAGS_tls_key)}});
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
