// CdServer: everything the cd service runs beside its resource API — the
// repo-server, the repository credential store, the application controller
// and the gRPC API (ApplicationService, RepositoryService, ProjectService) —
// wired once, so that `argonaut up` (gateway/platform.cc) and the standalone
// binary (main.cc) run the same parts. The caller owns the store and the
// gRPC server.
//
//   CdServer cd(&bundle.api(), {.data_dir = dir, .cluster = cluster,
//                               .resources = gateway_stub, .metrics = &registry});
//   for (grpc::Service* s : cd.grpc_services()) server.AddService(s);
//   RETURN_IF_ERROR(cd.Start());   // controller
//   ...
//   cd.Stop();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/routed_cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "services/cd/api/cd_api.h"
#include "services/cd/app_state.h"
#include "services/cd/controller.h"
#include "services/cd/repo/repo.h"

namespace argonaut::cd {

struct CdServerOptions {
  // Clones (data_dir/repos) and the key that seals repository secrets
  // (data_dir/repository.key). Empty: a directory under /tmp.
  std::string data_dir;
  // Where apps deploy (and repository Secrets live). Null: the store and API
  // only; no controller, and what needs it answers UNAVAILABLE.
  cluster::Cluster* cluster = nullptr;
  // Argo kinds in a repository go to their owning service's ResourceService
  // (the gateway's router), never into another service's store. May be null:
  // applying an Argo kind then fails with a message naming it.
  ::argonaut::api::v1::ResourceService::StubInterface* resources = nullptr;
  metrics::MetricsRegistry* metrics = nullptr;
  controller::Clock* clock = nullptr;
  absl::Duration repo_poll_interval = absl::Minutes(3);  // --repo-poll-interval
  repo::WebhookSecrets webhook_secrets;
};

class CdServer {
 public:
  // `apps` (the cd store's API) and the options' pointers must outlive it.
  CdServer(resource::ResourceApi* apps, CdServerOptions options);
  ~CdServer();

  // Add each to the service's gRPC server before it starts.
  std::vector<grpc::Service*> grpc_services();
  // Opens the repository store and starts the controller (with a cluster).
  absl::Status Start();
  // Stops the controller. Idempotent.
  void Stop();

  // The running controller's view for the API; null without a cluster.
  AppStateSource* state() { return controller_.get(); }
  CdController* controller() { return controller_.get(); }
  repo::RepoServer* repo_server() { return repos_.get(); }

 private:
  resource::ResourceApi* const apps_;
  const CdServerOptions options_;
  std::string data_dir_;
  std::unique_ptr<repo::RepoServer> repos_;
  std::unique_ptr<cluster::RoutedCluster> routed_;
  std::unique_ptr<repo::RepositoryStore> repositories_;
  absl::Status open_status_;
  std::unique_ptr<CdController> controller_;
  std::unique_ptr<api::CdApi> api_;
};

}  // namespace argonaut::cd
