#include "gateway/gateway_main.h"

#include <iostream>
#include <memory>
#include <tuple>

#include "absl/strings/match.h"
#include "gateway/account_service.h"
#include "gateway/archive_rest.h"
#include "gateway/argo_server_rest.h"
#include "gateway/cd_rest.h"
#include "gateway/cd_router.h"
#include "gateway/cluster_router.h"
#include "gateway/events_rest.h"
#include "gateway/events_router.h"
#include "gateway/port_mux.h"
#include "gateway/rest.h"
#include "gateway/rest_guard.h"
#include "gateway/rollout_rest.h"
#include "gateway/rollout_router.h"
#include "gateway/router.h"
#include "gateway/workflow_rest.h"
#include "gateway/workflow_router.h"
#include "httplib.h"
#include "lib/auth/channel.h"
#include "lib/auth/tls.h"
#include "lib/base/log.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"

namespace argonaut::gateway {

namespace {

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || absl::StartsWith(address, "127.");
}

}  // namespace

int RunGateway(const GatewayOptions& options) {
  metrics::MetricsRegistry registry;
  server::AuthConfig auth_config = options.auth;
  // In client mode the services judge each caller by the caller's own token;
  // a call that somehow lost it must fail there, not run as the gateway.
  auth_config.send_service_token = auth_config.mode == "server";
  absl::StatusOr<std::unique_ptr<server::AuthSetup>> auth =
      server::AuthSetup::Create(auth_config, &registry);
  if (!auth.ok()) {
    std::cerr << "gateway: " << auth.status().message() << "\n";
    return 1;
  }
  auth::Authorizer* authorizer = (*auth)->authorizer();

  std::string cert = options.tls_cert_file, key = options.tls_key_file;
  if (cert.empty() != key.empty()) {
    std::cerr << "gateway: --tls-cert and --tls-key: give both or neither\n";
    return 1;
  }
  if (cert.empty() && !IsLoopback(options.bind_address)) {
    auto pair = auth::EnsureSelfSignedCert(options.data_dir + "/tls", {options.bind_address});
    if (!pair.ok()) {
      std::cerr << "gateway: " << pair.status().message() << "\n";
      return 1;
    }
    std::tie(cert, key) = *pair;
    LogInfo("gateway", "serving TLS with a self-signed certificate", {{"cert", cert}});
  }

  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  grpc::ChannelArguments args;
  // A restarted service is found again within seconds, not after gRPC's
  // default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  for (const auto& [name, address] : options.services) {
    if (address.empty()) continue;
    // Lists of pods or workflows exceed gRPC's 4 MB default: 64 MiB.
    channels[name] = auth::ServiceChannel(address, args);
  }
  ResourceRouter router(channels);
  // The services' own APIs, routed as Platform routes them in process.
  std::unique_ptr<ClusterRouter> cluster_router;
  if (auto it = channels.find("cluster"); it != channels.end()) {
    cluster_router = std::make_unique<ClusterRouter>(it->second);
  }
  std::unique_ptr<WorkflowRouter> workflow_router;
  std::unique_ptr<ArchiveRouter> archive_router;
  if (auto it = channels.find("workflow"); it != channels.end()) {
    workflow_router = std::make_unique<WorkflowRouter>(it->second);
    archive_router = std::make_unique<ArchiveRouter>(it->second);
  }
  std::unique_ptr<RolloutRouter> rollout_router;
  if (auto it = channels.find("rollout"); it != channels.end()) {
    rollout_router = std::make_unique<RolloutRouter>(it->second);
  }
  std::unique_ptr<EventsRouter> events_router;
  if (auto it = channels.find("events"); it != channels.end()) {
    events_router = std::make_unique<EventsRouter>(it->second);
  }
  std::unique_ptr<CdRouter> cd_router;
  std::unique_ptr<cd::v1::ApplicationService::Stub> cd_webhook_stub;
  if (auto it = channels.find("cd"); it != channels.end()) {
    cd_router = std::make_unique<CdRouter>(it->second);
    // Git hosts call /api/webhook without a token; the cd service checks
    // their signature, and the call reaches it as the service.
    auth::ClientChannelOptions webhook{.address = options.services.at("cd"), .args = args};
    if (!options.auth.service_token_file.empty()) {
      absl::StatusOr<std::string> token = auth::ReadTokenFile(options.auth.service_token_file);
      if (!token.ok()) {
        std::cerr << "gateway: --service-token-file: " << token.status().message() << "\n";
        return 1;
      }
      webhook.token = *std::move(token);
    }
    if (options.auth.insecure_skip_tls_verify) {
      webhook.tls = auth::ClientChannelOptions::Tls::kSkipVerify;
    } else if (!options.auth.tls_ca.empty()) {
      webhook.tls = auth::ClientChannelOptions::Tls::kVerify;
      webhook.ca_file = options.auth.tls_ca;
    }
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = auth::MakeClientChannel(webhook);
    if (!channel.ok()) {
      std::cerr << "gateway: " << channel.status().message() << "\n";
      return 1;
    }
    cd_webhook_stub = cd::v1::ApplicationService::NewStub(*channel);
  }
  AccountService accounts(authorizer, controller::RealClock::Get());
  std::unique_ptr<auth::v1::AccountService::Stub> account_stub;
  std::unique_ptr<cd::v1::ApplicationService::Stub> cd_app_stub;
  std::unique_ptr<cd::v1::RepositoryService::Stub> cd_repo_stub;
  std::unique_ptr<cd::v1::ProjectService::Stub> cd_project_stub;
  std::unique_ptr<api::v1::ResourceService::Stub> rest_stub;
  std::unique_ptr<events::v1::EventSourceService::Stub> event_source_stub;
  std::unique_ptr<events::v1::SensorService::Stub> sensor_stub;
  std::unique_ptr<rollout::v1::RolloutService::Stub> rollout_stub;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> workflow_stub;
  std::unique_ptr<workflow::v1::ArchivedWorkflowService::Stub> archive_stub;
  server::Server server({.name = "gateway",
                         .grpc_port = 0,
                         .http_port = 0,
                         .metrics_text = [&registry] { return registry.Serialize(); },
                         .authorizer = authorizer});
  server.AddService(&router);
  server.AddService(&accounts);
  if (cluster_router) server.AddService(cluster_router.get());
  if (workflow_router) server.AddService(workflow_router.get());
  if (archive_router) server.AddService(archive_router.get());
  if (rollout_router) server.AddService(rollout_router.get());
  if (events_router) events_router->AddTo(server);
  if (cd_router) {
    for (grpc::Service* s : cd_router->services()) server.AddService(s);
  }
  server.ConfigureHttp([&](httplib::Server& http) {
    http.set_payload_max_length(16 << 20);
    RestGuardOptions guard{.require_token = authorizer != nullptr};
    if (authorizer != nullptr) {
      guard.authenticate = [authorizer](std::string_view bearer) {
        return authorizer->Authenticate(bearer).status();
      };
    }
    InstallRestGuard(http, std::move(guard));
    // REST enters through the auth proxy with the REST caller's token, so
    // REST and gRPC callers are checked by the same code.
    std::shared_ptr<grpc::Channel> channel = server.AuthenticatedInProcessChannel();
    account_stub = auth::v1::AccountService::NewStub(channel);
    RegisterAccountRestRoutes(http, account_stub.get());
    rest_stub = api::v1::ResourceService::NewStub(channel);
    if (workflow_router) {
      workflow_stub = workflow::v1::WorkflowService::NewStub(channel);
      // Before the generic routes: the first matching route wins.
      RegisterWorkflowRestRoutes(http, workflow_stub.get());
      archive_stub = workflow::v1::ArchivedWorkflowService::NewStub(channel);
      RegisterArchiveRestRoutes(http, archive_stub.get());
    }
    if (rollout_router) {
      rollout_stub = rollout::v1::RolloutService::NewStub(channel);
      RegisterRolloutRestRoutes(http, rollout_stub.get());
    }
    if (events_router) {
      event_source_stub = events::v1::EventSourceService::NewStub(channel);
      sensor_stub = events::v1::SensorService::NewStub(channel);
      RegisterEventsRestRoutes(http, event_source_stub.get(), sensor_stub.get());
    }
    if (cd_router) {
      cd_app_stub = cd::v1::ApplicationService::NewStub(channel);
      cd_repo_stub = cd::v1::RepositoryService::NewStub(channel);
      cd_project_stub = cd::v1::ProjectService::NewStub(channel);
      RegisterCdRestRoutes(http, {.applications = cd_app_stub.get(),
                                  .repositories = cd_repo_stub.get(),
                                  .projects = cd_project_stub.get(),
                                  .webhook = cd_webhook_stub.get()});
    }
    RegisterArgoServerRestRoutes(http, rest_stub.get());
    RegisterRestRoutes(http, rest_stub.get());
  });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  PortMux mux({.bind_address = options.bind_address,
               .port = options.port,
               .http2_backend_port = server.BoundGrpcPort(),
               .http1_backend_port = server.BoundHttpPort(),
               .tls_cert_file = cert,
               .tls_key_file = key});
  if (absl::Status s = mux.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  server::WaitForShutdownSignal();
  mux.Stop();
  server.Shutdown(absl::Seconds(10));
  return 0;
}

}  // namespace argonaut::gateway
