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
#include "gateway/account_service.h"
#include "gateway/archive_rest.h"
#include "gateway/cd_router.h"
#include "gateway/cluster_router.h"
#include "gateway/events_router.h"
#include "gateway/port_mux.h"
#include "gateway/rollout_router.h"
#include "gateway/router.h"
#include "gateway/workflow_router.h"
#include "lib/auth/authorizer.h"
#include "lib/auth/token_store.h"
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
  // The workflow archive (on by default here), archiveTTL and the default ttlStrategy/podGC;
  // the controller ConfigMap (argo/workflow-controller-configmap) overrides them.
  workflow::gc::RetentionConfig workflow_retention{.archive = true};
  // 32 bytes sealing Secret values in the cluster store (crypto::
  // ResolveEncryptionKey finds it outside the data directory); empty: Secrets
  // are stored as given.
  std::string encryption_key;
  // "client": every gRPC and REST call needs a bearer token (tokens in
  // data_dir/auth/tokens.json; the admin's written to data_dir/admin.token at
  // first start). "server": no authentication (Argo Server's
  // --auth-mode=server), for a platform nobody else can reach.
  std::string auth_mode = "client";
  // Argo CD's policy.csv; empty: the built-in roles only.
  std::string rbac_policy_file;
  // The role every authenticated account has (e.g. "role:readonly"); empty: none.
  std::string rbac_default_role;
  // PEM files for TLS on the public port. Unset while binding to anything but
  // loopback: a self-signed pair made (and kept) in data_dir/tls, as Argo
  // Server serves TLS by default.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Open connections on the public port from one IP address (0: no cap).
  int max_connections_per_client = 64;
};

class Platform {
 public:
  static absl::StatusOr<std::unique_ptr<Platform>> Start(const PlatformOptions& options);
  ~Platform();

  int port() const { return mux_->port(); }
  // The file holding the admin's token (0600); empty in auth-mode server.
  const std::string& admin_token_file() const { return admin_token_file_; }
  // The certificate the public port serves; empty when it is plaintext.
  const std::string& tls_cert_file() const { return tls_cert_file_; }
  resource::ServiceBundle& service(const std::string& name) { return *bundles_.at(name); }
  cluster::LocalCluster& local_cluster() { return *cluster_; }

  // Gateway first, so calls in flight through it finish while the services
  // behind it still answer; then the cluster runtime (every pod stopped);
  // then each service, whose stores are flushed.
  void Shutdown();

 private:
  Platform() = default;

  // Opens the token store and policy and makes sure the admin token exists.
  absl::Status StartAuth(const PlatformOptions& options);

  metrics::MetricsRegistry metrics_;
  // Authentication (auth-mode client); declared before the servers using them.
  std::unique_ptr<auth::TokenStore> tokens_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::string admin_token_file_;
  std::string tls_cert_file_;
  std::unique_ptr<AccountService> accounts_;
  std::unique_ptr<auth::v1::AccountService::Stub> account_stub_;
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
  std::unique_ptr<ArchiveRouter> archive_router_;
  std::unique_ptr<workflow::v1::ArchivedWorkflowService::Stub> archive_stub_;
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
  std::unique_ptr<cd::v1::ApplicationService::Stub> cd_webhook_stub_;
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
  std::unique_ptr<api::v1::ResourceService::Stub> version_stub_;
};

}  // namespace argonaut::gateway
