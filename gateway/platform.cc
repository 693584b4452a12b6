#include "gateway/platform.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/argo_server_rest.h"
#include "gateway/cd_rest.h"
#include "gateway/events_rest.h"
#include "gateway/rest.h"
#include "gateway/rest_guard.h"
#include "gateway/rest_pool.h"
#include "gateway/rollout_rest.h"
#include "gateway/workflow_rest.h"
#include "httplib.h"
#include "lib/auth/tls.h"
#include "lib/base/files.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/validator.h"
#include "lib/controller/clock.h"
#include "lib/resource/secret_sealing.h"
#include "services/cd/validation/validate.h"
#include "services/events/validation/validate.h"
#include "services/rollout/validation/validate.h"
#include "services/workflow/api/validator.h"

namespace argonaut::gateway {

namespace {

// Writes `text` to `path` readable by the owner only, replacing any file there atomically.
absl::Status WritePrivateFile(const std::string& path, std::string_view text) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", strerror(errno)));
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address == "[::1]" ||
         absl::StartsWith(address, "127.");
}

}  // namespace

absl::Status Platform::StartAuth(const PlatformOptions& options) {
  if (options.auth_mode == "server") {
    if (!options.rbac_policy_file.empty() || !options.rbac_default_role.empty()) {
      return absl::InvalidArgumentError(
          "rbac_policy_file, rbac_default_role: need auth_mode \"client\" (auth_mode \"server\" "
          "checks nothing)");
    }
    return absl::OkStatus();
  }
  if (options.auth_mode != "client") {
    return absl::InvalidArgumentError(absl::StrCat(
        "auth_mode: expected \"client\" or \"server\", got \"", options.auth_mode, "\""));
  }
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir: needed for the token store in auth_mode client");
  }
  std::string csv;
  if (!options.rbac_policy_file.empty()) {
    ASSIGN_OR_RETURN(csv, base::ReadFileToString(options.rbac_policy_file, "rbac_policy_file"));
  }
  absl::StatusOr<auth::Policy> policy = auth::Policy::Parse(csv, options.rbac_default_role);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.rbac_policy_file.empty() ? "rbac_default_role" : options.rbac_policy_file, ": ",
        policy.status().message()));
  }
  ASSIGN_OR_RETURN(tokens_,
                   auth::TokenStore::Open(absl::StrCat(options.data_dir, "/auth/tokens.json")));
  controller::Clock* clock = controller::RealClock::Get();
  authorizer_ =
      std::make_unique<auth::Authorizer>(tokens_.get(), *std::move(policy), clock, &metrics_);
  // The admin token: kept across restarts while it still authenticates as admin, so a shell
  // that read it once keeps working; made again when the file is gone or stale.
  admin_token_file_ = absl::StrCat(options.data_dir, "/admin.token");
  if (absl::StatusOr<std::string> text = base::ReadFileToString(admin_token_file_, "admin token");
      text.ok()) {
    std::string token(absl::StripAsciiWhitespace(*text));
    absl::StatusOr<auth::Subject> who = tokens_->Authenticate(token, clock->Now());
    if (who.ok() && who->account == auth::kAdminAccount) {
      ::chmod(admin_token_file_.c_str(), 0600);
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(std::string token,
                   tokens_->CreateToken(auth::kAdminAccount, absl::ZeroDuration(), clock->Now()));
  return WritePrivateFile(admin_token_file_, token + "\n");
}

absl::StatusOr<std::unique_ptr<Platform>> Platform::Start(const PlatformOptions& options) {
  auto p = std::unique_ptr<Platform>(new Platform());
  RETURN_IF_ERROR(p->StartAuth(options));
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  for (const std::string& name : resource::ServiceNames()) {
    // Admission checks per service: Kubernetes' for the cluster kinds,
    // Argo's workflow validation (which may look up WorkflowTemplates in
    // the store being opened) for the workflow kinds.
    resource::Validator validator;
    if (name == "cluster") {
      // hostPath volumes: the operator's list, else only the artifact repository.
      std::vector<std::string> allow = options.cluster.host_path_allow;
      if (allow.empty()) allow.push_back(absl::StrCat(options.data_dir, "/artifacts"));
      validator = cluster::KubernetesValidator({.host_path_allow = std::move(allow)});
    }
    if (name == "workflow") {
      validator =
          workflow::api::WorkflowValidator(workflow::api::StoreTemplateLookup(&p->workflow_api_));
    }
    if (name == "rollout") validator = rollout::validation::RolloutValidator();
    if (name == "events") validator = events::validation::EventsValidator();
    if (name == "cd") validator = cd::validation::CdValidator();
    ASSIGN_OR_RETURN(auto bundle,
                     resource::ServiceBundle::Open(name, absl::StrCat(options.data_dir, "/", name),
                                                   &p->metrics_, std::move(validator)));
    if (name == "workflow") p->workflow_api_ = &bundle->api();
    if (name == "cluster" && !options.encryption_key.empty()) {
      RETURN_IF_ERROR(resource::SealSecretsAtRest(bundle->api(), options.encryption_key));
    }
    auto server = std::make_unique<server::Server>(
        server::ServerOptions{.name = name, .grpc_port = -1, .http_port = -1});
    server->AddService(&bundle->grpc_service());
    resource::ServiceBundle* raw = bundle.get();
    server->OnShutdown([raw] {
      if (absl::Status s = raw->store().Flush(); !s.ok()) {
        LogError(raw->name(), "flush failed", {{"error", std::string(s.message())}});
      }
    });
    if (name == "cluster") {
      // The runtime runs next to the store it reconciles; pods live in
      // data_dir/runtime, apart from the store's files.
      cluster::LocalClusterOptions copts = options.cluster;
      if (copts.data_dir.empty()) copts.data_dir = absl::StrCat(options.data_dir, "/runtime");
      // Pods see none of the data directory (stores, other pods) but volumes.
      if (copts.hidden_paths.empty() && !options.data_dir.empty()) {
        copts.hidden_paths = {options.data_dir};
      }
      // The kubelet resolves hostPaths below the same list admission checked,
      // so a symlink placed there after admission cannot lead out.
      if (copts.host_path_allow.empty() && !options.data_dir.empty()) {
        copts.host_path_allow = {absl::StrCat(options.data_dir, "/artifacts")};
      }
      ASSIGN_OR_RETURN(p->cluster_, cluster::LocalCluster::Start(&bundle->api(), copts));
      p->cluster_grpc_ = std::make_unique<cluster::ClusterGrpcService>(p->cluster_.get());
      server->AddService(p->cluster_grpc_.get());
    }
    if (name == "workflow") {
      // Cluster comes first in ServiceNames, so the runtime exists here. The
      // local artifact repository: step pods reach it through a hostPath
      // volume.
      p->workflow_ = std::make_unique<workflow::WorkflowServer>(
          &bundle->api(),
          workflow::WorkflowServerOptions{
              .cluster = p->cluster_.get(),
              .artifact_repository =
                  options.data_dir.empty() ? "" : absl::StrCat(options.data_dir, "/artifacts"),
              .metrics = &p->metrics_,
              .store = &bundle->store(),
              .retention = options.workflow_retention,
              .clock = controller::RealClock::Get()});
      server->AddService(p->workflow_->grpc_service());
      server->AddService(p->workflow_->archive_grpc_service());
    }
    if (name == "rollout") {
      // The same RolloutServer the standalone rollout service runs
      // (services/rollout/main.cc), on the in-process cluster.
      p->rollout_ = std::make_unique<rollout::RolloutServer>(
          &bundle->api(),
          rollout::RolloutServerOptions{.cluster = p->cluster_.get(), .metrics = &p->metrics_});
      server->AddService(p->rollout_->grpc_service());
    }
    if (name == "events") {
      // The same EventsServer the standalone events service runs
      // (services/events/main.cc); triggers call the workflow and rollout
      // services over their in-process channels, as they would remotely.
      p->events_workflows_ = workflow::v1::WorkflowService::NewStub(channels.at("workflow"));
      p->events_rollouts_ = rollout::v1::RolloutService::NewStub(channels.at("rollout"));
      p->events_ = std::make_unique<events::EventsServer>(
          &bundle->api(),
          events::EventsServerOptions{.data_dir = absl::StrCat(options.data_dir, "/", name),
                                      .cluster = p->cluster_.get(),
                                      .workflows = p->events_workflows_.get(),
                                      .rollouts = p->events_rollouts_.get(),
                                      .metrics = &p->metrics_});
      p->events_api_ = std::make_unique<events::api::EventsApi>(&bundle->api(), p->events_.get());
      server->AddService(p->events_api_->event_sources());
      server->AddService(p->events_api_->sensors());
      server->AddService(p->events_api_->events());
    }
    if (name == "cd") {
      // The same CdServer the standalone cd service runs (services/cd/main.cc),
      // on the in-process cluster. cd opens last, so the router reaches the
      // service of every Argo kind an app may hold.
      p->cd_kinds_router_ = std::make_unique<ResourceRouter>(channels);
      p->cd_kinds_server_ = std::make_unique<server::Server>(
          server::ServerOptions{.name = "cd-kinds", .grpc_port = -1, .http_port = -1});
      p->cd_kinds_server_->AddService(p->cd_kinds_router_.get());
      RETURN_IF_ERROR(p->cd_kinds_server_->Start());
      p->cd_kinds_ = api::v1::ResourceService::NewStub(p->cd_kinds_server_->InProcessChannel());
      p->cd_ = std::make_unique<cd::CdServer>(
          &bundle->api(), cd::CdServerOptions{.data_dir = absl::StrCat(options.data_dir, "/", name),
                                              .cluster = p->cluster_.get(),
                                              .resources = p->cd_kinds_.get(),
                                              .metrics = &p->metrics_,
                                              .repo_poll_interval = options.cd_repo_poll_interval});
      for (grpc::Service* s : p->cd_->grpc_services()) server->AddService(s);
    }
    RETURN_IF_ERROR(server->Start());
    channels[name] = server->InProcessChannel();
    p->bundles_[name] = std::move(bundle);
    p->service_servers_.push_back(std::move(server));
  }
  // Controllers start once every store is open; they reach the cluster
  // in-process, through the same interface a remote cluster offers to the
  // standalone workflow service (services/workflow/main.cc).
  RETURN_IF_ERROR(p->workflow_->Start());
  RETURN_IF_ERROR(p->rollout_->Start());
  RETURN_IF_ERROR(p->events_->Start());
  RETURN_IF_ERROR(p->cd_->Start());
  p->router_ = std::make_unique<ResourceRouter>(channels);
  metrics::MetricsRegistry* registry = &p->metrics_;
  p->gateway_server_ = std::make_unique<server::Server>(
      server::ServerOptions{.name = "gateway",
                            .grpc_port = 0,
                            .http_port = 0,
                            .metrics_text = [registry] { return registry->Serialize(); },
                            .authorizer = p->authorizer_.get()});
  p->gateway_server_->AddService(p->router_.get());
  p->accounts_ =
      std::make_unique<AccountService>(p->authorizer_.get(), controller::RealClock::Get());
  p->gateway_server_->AddService(p->accounts_.get());
  p->cluster_router_ = std::make_unique<ClusterRouter>(channels.at("cluster"));
  p->gateway_server_->AddService(p->cluster_router_.get());
  p->workflow_router_ = std::make_unique<WorkflowRouter>(channels.at("workflow"));
  p->gateway_server_->AddService(p->workflow_router_.get());
  p->archive_router_ = std::make_unique<ArchiveRouter>(channels.at("workflow"));
  p->gateway_server_->AddService(p->archive_router_.get());
  p->rollout_router_ = std::make_unique<RolloutRouter>(channels.at("rollout"));
  p->gateway_server_->AddService(p->rollout_router_.get());
  p->events_router_ = std::make_unique<EventsRouter>(channels.at("events"));
  p->events_router_->AddTo(*p->gateway_server_);
  p->cd_router_ = std::make_unique<CdRouter>(channels.at("cd"));
  for (grpc::Service* s : p->cd_router_->services()) p->gateway_server_->AddService(s);
  Platform* raw = p.get();
  // Runs inside Start, after the gRPC server is up and before HTTP serves:
  // REST calls go through the router over an in-process channel that enters
  // through the auth proxy with the REST caller's token (the guard puts it in
  // scope), so REST and gRPC callers are checked by the same code.
  p->gateway_server_->ConfigureHttp([raw](httplib::Server& http) {
    http.set_payload_max_length(16 << 20);
    // Open streams (watches, logs -f) hold a worker each: a pool that grows past them
    // (rest_pool.h), bounded by the port mux's connection caps. An idle keep-alive
    // connection is let go after 5 s, a stalled request after 10 s.
    http.new_task_queue = [] { return new RestTaskQueue(RestPoolOptions{}); };
    http.set_keep_alive_timeout(5);
    http.set_keep_alive_max_count(100);
    http.set_read_timeout(10);
    RestGuardOptions guard{.require_token = raw->authorizer_ != nullptr};
    if (auth::Authorizer* authz = raw->authorizer_.get()) {
      guard.authenticate = [authz](std::string_view bearer) {
        return authz->Authenticate(bearer).status();
      };
    }
    InstallRestGuard(http, std::move(guard));
    // The version is public on REST, as Argo Server's is (the guard lets it through), while the
    // gRPC Version wants a token: answered over the trusted channel, before the generic route.
    raw->version_stub_ =
        api::v1::ResourceService::NewStub(raw->gateway_server_->InProcessChannel());
    http.Get("/api/v1/version", [stub = raw->version_stub_.get()](const httplib::Request&,
                                                                  httplib::Response& res) {
      api::v1::VersionResponse v;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status s = stub->Version(&ctx, api::v1::VersionRequest(), &v);
      if (!s.ok()) {
        res.status = HttpStatusFor(s.error_code());
        res.set_content(GuardErrorBody(s.error_code(), s.error_message()), "application/json");
        return;
      }
      res.set_content(ArgoVersionBody(v).dump(), "application/json");
    });
    std::shared_ptr<grpc::Channel> channel = raw->gateway_server_->AuthenticatedInProcessChannel();
    raw->account_stub_ = auth::v1::AccountService::NewStub(channel);
    RegisterAccountRestRoutes(http, raw->account_stub_.get());
    raw->rest_stub_ = api::v1::ResourceService::NewStub(channel);
    raw->workflow_stub_ = workflow::v1::WorkflowService::NewStub(channel);
    raw->archive_stub_ = workflow::v1::ArchivedWorkflowService::NewStub(channel);
    RegisterArchiveRestRoutes(http, raw->archive_stub_.get());
    // Before the generic routes: the first matching route wins.
    RegisterWorkflowRestRoutes(http, raw->workflow_stub_.get());
    raw->rollout_stub_ = rollout::v1::RolloutService::NewStub(channel);
    RegisterRolloutRestRoutes(http, raw->rollout_stub_.get());
    raw->event_source_stub_ = events::v1::EventSourceService::NewStub(channel);
    raw->sensor_stub_ = events::v1::SensorService::NewStub(channel);
    RegisterEventsRestRoutes(http, raw->event_source_stub_.get(), raw->sensor_stub_.get());
    raw->cd_app_stub_ = cd::v1::ApplicationService::NewStub(channel);
    raw->cd_repo_stub_ = cd::v1::RepositoryService::NewStub(channel);
    raw->cd_project_stub_ = cd::v1::ProjectService::NewStub(channel);
    // The webhook carries no token (the cd service checks its HMAC signature): trusted channel.
    raw->cd_webhook_stub_ =
        cd::v1::ApplicationService::NewStub(raw->gateway_server_->InProcessChannel());
    RegisterCdRestRoutes(http, {.applications = raw->cd_app_stub_.get(),
                                .repositories = raw->cd_repo_stub_.get(),
                                .projects = raw->cd_project_stub_.get(),
                                .webhook = raw->cd_webhook_stub_.get()});
    // /api/v1/info reads the controller's ConfigMap on the server's behalf (trusted channel).
    RegisterArgoServerRestRoutes(http, raw->rest_stub_.get(), raw->version_stub_.get());
    RegisterRestRoutes(http, raw->rest_stub_.get());
  });
  RETURN_IF_ERROR(p->gateway_server_->Start());
  std::string cert = options.tls_cert_file, key = options.tls_key_file;
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("tls_cert_file, tls_key_file: give both or neither");
  }
  if (cert.empty() && !IsLoopback(options.bind_address)) {
    if (options.data_dir.empty()) {
      return absl::InvalidArgumentError(
          "data_dir: needed for the self-signed certificate when binding beyond loopback");
    }
    ASSIGN_OR_RETURN(
        std::tie(cert, key),
        auth::EnsureSelfSignedCert(absl::StrCat(options.data_dir, "/tls"), {options.bind_address}));
  }
  p->tls_cert_file_ = cert;
  // The gateway's own listeners stay on loopback ephemeral ports; the public
  // port carries both protocols (and terminates TLS when it has a certificate).
  p->mux_ = std::make_unique<PortMux>(
      PortMuxOptions{.bind_address = options.bind_address,
                     .port = options.port,
                     .http2_backend_port = p->gateway_server_->BoundGrpcPort(),
                     .http1_backend_port = p->gateway_server_->BoundHttpPort(),
                     .max_connections_per_client = options.max_connections_per_client,
                     .http1_max_body_bytes = 16 << 20,  // the REST payload limit above
                     .tls_cert_file = cert,
                     .tls_key_file = key});
  RETURN_IF_ERROR(p->mux_->Start());
  return p;
}

Platform::~Platform() { Shutdown(); }

void Platform::Shutdown() {
  if (mux_) mux_->Stop();
  if (gateway_server_) gateway_server_->Shutdown(absl::Seconds(10));
  if (events_) events_->Stop();
  if (workflow_) workflow_->Stop();
  if (rollout_) rollout_->Stop();
  if (cd_) cd_->Stop();
  if (cluster_) cluster_->Stop();
  for (auto& s : service_servers_) s->Shutdown(absl::Seconds(10));
  if (cd_kinds_server_) cd_kinds_server_->Shutdown(absl::Seconds(1));
}

}  // namespace argonaut::gateway
