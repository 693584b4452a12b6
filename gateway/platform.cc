#include "gateway/platform.h"

#include "absl/strings/str_cat.h"
#include "gateway/cd_rest.h"
#include "gateway/events_rest.h"
#include "gateway/rest.h"
#include "gateway/rollout_rest.h"
#include "gateway/workflow_rest.h"
#include "httplib.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/validator.h"
#include "lib/resource/secret_sealing.h"
#include "services/cd/validation/validate.h"
#include "services/events/validation/validate.h"
#include "services/rollout/validation/validate.h"
#include "services/workflow/api/validator.h"

namespace argonaut::gateway {

absl::StatusOr<std::unique_ptr<Platform>> Platform::Start(const PlatformOptions& options) {
  auto p = std::unique_ptr<Platform>(new Platform());
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
              .metrics = &p->metrics_});
      server->AddService(p->workflow_->grpc_service());
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
  p->gateway_server_ = std::make_unique<server::Server>(server::ServerOptions{
      .name = "gateway", .grpc_port = 0, .http_port = 0, .metrics_text = [registry] {
        return registry->Serialize();
      }});
  p->gateway_server_->AddService(p->router_.get());
  p->cluster_router_ = std::make_unique<ClusterRouter>(channels.at("cluster"));
  p->gateway_server_->AddService(p->cluster_router_.get());
  p->workflow_router_ = std::make_unique<WorkflowRouter>(channels.at("workflow"));
  p->gateway_server_->AddService(p->workflow_router_.get());
  p->rollout_router_ = std::make_unique<RolloutRouter>(channels.at("rollout"));
  p->gateway_server_->AddService(p->rollout_router_.get());
  p->events_router_ = std::make_unique<EventsRouter>(channels.at("events"));
  p->events_router_->AddTo(*p->gateway_server_);
  p->cd_router_ = std::make_unique<CdRouter>(channels.at("cd"));
  for (grpc::Service* s : p->cd_router_->services()) p->gateway_server_->AddService(s);
  Platform* raw = p.get();
  // Runs inside Start, after the gRPC server is up and before HTTP serves:
  // REST calls go through the router over an in-process channel.
  p->gateway_server_->ConfigureHttp([raw](httplib::Server& http) {
    http.set_payload_max_length(16 << 20);
    raw->rest_stub_ = api::v1::ResourceService::NewStub(raw->gateway_server_->InProcessChannel());
    raw->workflow_stub_ =
        workflow::v1::WorkflowService::NewStub(raw->gateway_server_->InProcessChannel());
    // Before the generic routes: the first matching route wins.
    RegisterWorkflowRestRoutes(http, raw->workflow_stub_.get());
    raw->rollout_stub_ =
        rollout::v1::RolloutService::NewStub(raw->gateway_server_->InProcessChannel());
    RegisterRolloutRestRoutes(http, raw->rollout_stub_.get());
    raw->event_source_stub_ =
        events::v1::EventSourceService::NewStub(raw->gateway_server_->InProcessChannel());
    raw->sensor_stub_ =
        events::v1::SensorService::NewStub(raw->gateway_server_->InProcessChannel());
    RegisterEventsRestRoutes(http, raw->event_source_stub_.get(), raw->sensor_stub_.get());
    raw->cd_app_stub_ =
        cd::v1::ApplicationService::NewStub(raw->gateway_server_->InProcessChannel());
    raw->cd_repo_stub_ =
        cd::v1::RepositoryService::NewStub(raw->gateway_server_->InProcessChannel());
    raw->cd_project_stub_ =
        cd::v1::ProjectService::NewStub(raw->gateway_server_->InProcessChannel());
    RegisterCdRestRoutes(
        http, {raw->cd_app_stub_.get(), raw->cd_repo_stub_.get(), raw->cd_project_stub_.get()});
    RegisterRestRoutes(http, raw->rest_stub_.get());
  });
  RETURN_IF_ERROR(p->gateway_server_->Start());
  // The gateway's own listeners stay on loopback ephemeral ports; the public
  // port carries both protocols.
  p->mux_ = std::make_unique<PortMux>(
      PortMuxOptions{.bind_address = options.bind_address,
                     .port = options.port,
                     .http2_backend_port = p->gateway_server_->BoundGrpcPort(),
                     .http1_backend_port = p->gateway_server_->BoundHttpPort()});
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
