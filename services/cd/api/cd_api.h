// The cd service's gRPC API: Argo CD's ApplicationService, RepositoryService and ProjectService
// over the cd store (a resource::ResourceApi serving Application and AppProject) and the running
// controller (AppStateSource, for manifests, comparisons, live objects, repositories and push
// webhooks; may be null, then what needs it answers UNAVAILABLE "cd controller not running").
//
//   CdApi api(&bundle.api(), {.state = controller.get(), .cluster = cluster});
//   for (grpc::Service* s : api.services()) server.AddService(s);
//
// Writes go through the store with the read resourceVersion and are retried on conflict, since
// the controller writes the same objects.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "lib/cluster/cluster.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/cd/app_state.h"
#include "services/cd/repo/repo.h"

namespace argonaut::cd::api {

struct CdApiOptions {
  AppStateSource* state = nullptr;      // the controller; null: store-only answers
  cluster::Cluster* cluster = nullptr;  // for the children (ReplicaSets, Pods) in resource trees
  repo::WebhookSecrets webhook_secrets;
  // How long Get with refresh waits for the controller to take the refresh annotation off.
  absl::Duration refresh_timeout = absl::Seconds(30);
};

class ApplicationGrpcService final : public v1::ApplicationService::Service {
 public:
  ApplicationGrpcService(resource::ResourceApi* store, CdApiOptions options);

  grpc::Status Create(grpc::ServerContext*, const v1::ApplicationCreateRequest* req,
                      v1::ApplicationReply* reply) override;
  grpc::Status Get(grpc::ServerContext*, const v1::ApplicationQuery* req,
                   v1::ApplicationReply* reply) override;
  grpc::Status List(grpc::ServerContext*, const v1::ApplicationQuery* req,
                    v1::ApplicationListReply* reply) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::ApplicationQuery* req,
                     grpc::ServerWriter<v1::ApplicationWatchEvent>* writer) override;
  grpc::Status Update(grpc::ServerContext*, const v1::ApplicationUpdateRequest* req,
                      v1::ApplicationReply* reply) override;
  grpc::Status UpdateSpec(grpc::ServerContext*, const v1::ApplicationUpdateSpecRequest* req,
                          v1::ApplicationSpecReply* reply) override;
  grpc::Status Delete(grpc::ServerContext*, const v1::ApplicationDeleteRequest* req,
                      v1::ApplicationDeleteReply* reply) override;
  grpc::Status Sync(grpc::ServerContext*, const v1::ApplicationSyncRequest* req,
                    v1::ApplicationReply* reply) override;
  grpc::Status Rollback(grpc::ServerContext*, const v1::ApplicationRollbackRequest* req,
                        v1::ApplicationReply* reply) override;
  grpc::Status TerminateOperation(grpc::ServerContext*, const v1::ApplicationName* req,
                                  v1::OperationTerminateReply* reply) override;
  grpc::Status ManagedResources(grpc::ServerContext*, const v1::ResourcesQuery* req,
                                v1::ManagedResourcesReply* reply) override;
  grpc::Status ResourceTree(grpc::ServerContext*, const v1::ResourcesQuery* req,
                            v1::ResourceTreeReply* reply) override;
  grpc::Status GetManifests(grpc::ServerContext*, const v1::ApplicationManifestQuery* req,
                            v1::ManifestReply* reply) override;
  grpc::Status Webhook(grpc::ServerContext*, const v1::WebhookRequest* req,
                       v1::WebhookReply* reply) override;

 private:
  // Reads the app, applies `change` and writes what changed (status through the status
  // subresource when the kind has one, the rest with an update), retrying on conflict.
  absl::StatusOr<nlohmann::json> Mutate(
      const std::string& ns, const std::string& name,
      const std::function<absl::StatusOr<nlohmann::json>(nlohmann::json)>& change);
  // The project the app names (default: "default"; the built-in default project when the store
  // has none), and the project's permission checks.
  absl::Status CheckProject(const nlohmann::json& app);
  absl::StatusOr<nlohmann::json> GetApp(const std::string& ns, const std::string& name);
  // Waits until the controller has removed the refresh annotation (or the timeout passed).
  absl::StatusOr<nlohmann::json> AwaitRefresh(const std::string& ns, const std::string& name);

  resource::ResourceApi* const store_;
  const CdApiOptions options_;
};

class RepositoryGrpcService final : public v1::RepositoryService::Service {
 public:
  explicit RepositoryGrpcService(AppStateSource* state) : state_(state) {}

  grpc::Status Create(grpc::ServerContext*, const v1::RepoCreateRequest* req,
                      v1::RepositoryReply* reply) override;
  grpc::Status List(grpc::ServerContext*, const v1::RepoQuery* req,
                    v1::RepositoryListReply* reply) override;
  grpc::Status Get(grpc::ServerContext*, const v1::RepoQuery* req,
                   v1::RepositoryReply* reply) override;
  grpc::Status Delete(grpc::ServerContext*, const v1::RepoQuery* req,
                      v1::RepoDeleteReply* reply) override;
  grpc::Status ValidateAccess(grpc::ServerContext*, const v1::RepoAccessQuery* req,
                              v1::RepoValidateReply* reply) override;

 private:
  // Argo CD's connectionState of a repository {status, message, attemptedAt}: an ls-remote with
  // the stored credentials, remembered for kConnectionStateTtl so that listing stays cheap.
  nlohmann::json ConnectionState(const std::string& url);
  void RememberState(const std::string& url, nlohmann::json state);

  AppStateSource* const state_;
  absl::Mutex mu_;
  std::map<std::string, std::pair<absl::Time, nlohmann::json>> states_ ABSL_GUARDED_BY(mu_);
};

class ProjectGrpcService final : public v1::ProjectService::Service {
 public:
  explicit ProjectGrpcService(resource::ResourceApi* store) : store_(store) {}

  grpc::Status Create(grpc::ServerContext*, const v1::ProjectCreateRequest* req,
                      v1::ProjectReply* reply) override;
  grpc::Status Get(grpc::ServerContext*, const v1::ProjectQuery* req,
                   v1::ProjectReply* reply) override;
  grpc::Status List(grpc::ServerContext*, const v1::ProjectQuery* req,
                    v1::ProjectListReply* reply) override;
  grpc::Status Update(grpc::ServerContext*, const v1::ProjectUpdateRequest* req,
                      v1::ProjectReply* reply) override;
  grpc::Status Delete(grpc::ServerContext*, const v1::ProjectQuery* req,
                      v1::ProjectDeleteReply* reply) override;

 private:
  resource::ResourceApi* const store_;
};

// The three services together, as the cd server registers them.
class CdApi {
 public:
  CdApi(resource::ResourceApi* store, CdApiOptions options)
      : applications_(store, options), repositories_(options.state), projects_(store) {}
  std::vector<grpc::Service*> services() { return {&applications_, &repositories_, &projects_}; }
  ApplicationGrpcService& applications() { return applications_; }

 private:
  ApplicationGrpcService applications_;
  RepositoryGrpcService repositories_;
  ProjectGrpcService projects_;
};

// "cd controller not running".
absl::Status ControllerNotRunning();

}  // namespace argonaut::cd::api
