// Platform: every Argonaut service plus the gateway in one process, as
// `argonaut up` runs them. Each service keeps its own RocksDB under
// data_dir/<service> and its own gRPC server; the gateway reaches them only
// through in-process gRPC channels, so this mode runs the same code paths as
// the distributed one.
//
//   ASSIGN_OR_RETURN(auto platform, Platform::Start({.data_dir = dir, .grpc_port = 2746}));
//   ... platform->Shutdown();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "gateway/cd_router.h"
#include "gateway/cluster_router.h"
#include "gateway/events_router.h"
#include "gateway/port_mux.h"
#include "gateway/rollout_router.h"
#include "gateway/router.h"
#include "gateway/workflow_router.h"
#include "lib/cluster/grpc_service.h"
#include "lib/cluster/local_cluster.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/server.h"
#include "services/cd/cd_server.h"
#include "services/events/api/events_service.h"
#include "services/events/events_server.h"
#include "services/rollout/rollout_server.h"
#include "services/workflow/workflow_server.h"

namespace argonaut::gateway {

struct PlatformOptions {
  std::string data_dir;
  std::string bind_address = "127.0.0.1";
  // gRPC and REST (/api/v1, /metrics, /healthz) share this port, as on Argo
  // Server; 0 picks a free port.
  int port = 2746;
  // The local cluster runtime (pods as processes); see LocalClusterOptions.
  cluster::LocalClusterOptions cluster;
  // How often the cd service resolves every application's revision again.
  absl::Duration cd_repo_poll_interval = absl::Minutes(3);
  // 32 bytes sealing Secret values in the cluster store (crypto::
  // ResolveEncryptionKey finds it outside the data directory); empty: Secrets
  // are stored as given.
  std::string encryption_key;
};

class Platform {
 public:
  static absl::StatusOr<std::unique_ptr<Platform>> Start(const PlatformOptions& options);
  ~Platform();

  int port() const { return mux_->port(); }
  resource::ServiceBundle& service(const std::string& name) { return *bundles_.at(name); }
  cluster::LocalCluster& local_cluster() { return *cluster_; }

  // Gateway first, so calls in flight through it finish while the services
  // behind it still answer; then the cluster runtime (every pod stopped);
  // then each service, whose stores are flushed.
  void Shutdown();

 private:
  Platform() = default;

  metrics::MetricsRegistry metrics_;
  std::map<std::string, std::unique_ptr<resource::ServiceBundle>> bundles_;
  std::vector<std::unique_ptr<server::Server>> service_servers_;
  std::unique_ptr<cluster::LocalCluster> cluster_;
  std::unique_ptr<cluster::ClusterGrpcService> cluster_grpc_;
  // WorkflowService and the workflow and CronWorkflow controllers.
  std::unique_ptr<workflow::WorkflowServer> workflow_;
  // The rollout and AnalysisRun controllers (and RolloutService).
  std::unique_ptr<rollout::RolloutServer> rollout_;
  // The event source and sensor controllers; their triggers reach the
  // workflow and rollout services through these in-process stubs.
  std::unique_ptr<workflow::v1::WorkflowService::Stub> events_workflows_;
  std::unique_ptr<rollout::v1::RolloutService::Stub> events_rollouts_;
  std::unique_ptr<events::EventsServer> events_;
  // EventSourceService, SensorService and EventService over events_.
  std::unique_ptr<events::api::EventsApi> events_api_;
  std::unique_ptr<ClusterRouter> cluster_router_;
  // The workflow store, for the validator's WorkflowTemplate lookups; set
  // once the store is open.
  resource::ResourceApi* workflow_api_ = nullptr;
  std::unique_ptr<WorkflowRouter> workflow_router_;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> workflow_stub_;
  std::unique_ptr<RolloutRouter> rollout_router_;
  std::unique_ptr<rollout::v1::RolloutService::Stub> rollout_stub_;
  std::unique_ptr<EventsRouter> events_router_;
  std::unique_ptr<events::v1::EventSourceService::Stub> event_source_stub_;
  std::unique_ptr<events::v1::SensorService::Stub> sensor_stub_;
  // ApplicationService, RepositoryService, ProjectService forwarded to the cd service, and the
  // stubs its REST paths call.
  std::unique_ptr<CdRouter> cd_router_;
  std::unique_ptr<cd::v1::ApplicationService::Stub> cd_app_stub_;
  std::unique_ptr<cd::v1::RepositoryService::Stub> cd_repo_stub_;
  std::unique_ptr<cd::v1::ProjectService::Stub> cd_project_stub_;
  std::unique_ptr<ResourceRouter> router_;
  // Argo kinds the cd service's apps hold reach their own service through
  // this router over the services' channels, served on its own in-process
  // server (the gateway's starts only after every service).
  std::unique_ptr<ResourceRouter> cd_kinds_router_;
  std::unique_ptr<server::Server> cd_kinds_server_;
  std::unique_ptr<api::v1::ResourceService::Stub> cd_kinds_;
  // The repo-server, application controller and cd API.
  std::unique_ptr<cd::CdServer> cd_;
  std::unique_ptr<server::Server> gateway_server_;
  std::unique_ptr<PortMux> mux_;
  std::unique_ptr<api::v1::ResourceService::Stub> rest_stub_;
};

}  // namespace argonaut::gateway
