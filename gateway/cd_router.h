// CdRouter: forwards the cd service's ApplicationService, RepositoryService and ProjectService
// calls from the gateway's gRPC server to the cd service's channel; the application watch is
// relayed and cancelled like the other routers' streams.
#pragma once

#include <memory>
#include <vector>

#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

class CdApplicationRouter final : public cd::v1::ApplicationService::Service {
 public:
  explicit CdApplicationRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(cd::v1::ApplicationService::NewStub(std::move(channel))) {}
  using Stub = cd::v1::ApplicationService::Stub;

  grpc::Status Create(grpc::ServerContext* ctx, const cd::v1::ApplicationCreateRequest* req,
                      cd::v1::ApplicationReply* reply) override;
  grpc::Status Get(grpc::ServerContext* ctx, const cd::v1::ApplicationQuery* req,
                   cd::v1::ApplicationReply* reply) override;
  grpc::Status List(grpc::ServerContext* ctx, const cd::v1::ApplicationQuery* req,
                    cd::v1::ApplicationListReply* reply) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const cd::v1::ApplicationQuery* req,
                     grpc::ServerWriter<cd::v1::ApplicationWatchEvent>* w) override;
  grpc::Status Update(grpc::ServerContext* ctx, const cd::v1::ApplicationUpdateRequest* req,
                      cd::v1::ApplicationReply* reply) override;
  grpc::Status UpdateSpec(grpc::ServerContext* ctx, const cd::v1::ApplicationUpdateSpecRequest* req,
                          cd::v1::ApplicationSpecReply* reply) override;
  grpc::Status Delete(grpc::ServerContext* ctx, const cd::v1::ApplicationDeleteRequest* req,
                      cd::v1::ApplicationDeleteReply* reply) override;
  grpc::Status Sync(grpc::ServerContext* ctx, const cd::v1::ApplicationSyncRequest* req,
                    cd::v1::ApplicationReply* reply) override;
  grpc::Status Rollback(grpc::ServerContext* ctx, const cd::v1::ApplicationRollbackRequest* req,
                        cd::v1::ApplicationReply* reply) override;
  grpc::Status TerminateOperation(grpc::ServerContext* ctx, const cd::v1::ApplicationName* req,
                                  cd::v1::OperationTerminateReply* reply) override;
  grpc::Status ManagedResources(grpc::ServerContext* ctx, const cd::v1::ResourcesQuery* req,
                                cd::v1::ManagedResourcesReply* reply) override;
  grpc::Status ResourceTree(grpc::ServerContext* ctx, const cd::v1::ResourcesQuery* req,
                            cd::v1::ResourceTreeReply* reply) override;
  grpc::Status GetManifests(grpc::ServerContext* ctx, const cd::v1::ApplicationManifestQuery* req,
                            cd::v1::ManifestReply* reply) override;
  grpc::Status Webhook(grpc::ServerContext* ctx, const cd::v1::WebhookRequest* req,
                       cd::v1::WebhookReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

class CdRepositoryRouter final : public cd::v1::RepositoryService::Service {
 public:
  explicit CdRepositoryRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(cd::v1::RepositoryService::NewStub(std::move(channel))) {}
  using Stub = cd::v1::RepositoryService::Stub;

  grpc::Status Create(grpc::ServerContext* ctx, const cd::v1::RepoCreateRequest* req,
                      cd::v1::RepositoryReply* reply) override;
  grpc::Status List(grpc::ServerContext* ctx, const cd::v1::RepoQuery* req,
                    cd::v1::RepositoryListReply* reply) override;
  grpc::Status Get(grpc::ServerContext* ctx, const cd::v1::RepoQuery* req,
                   cd::v1::RepositoryReply* reply) override;
  grpc::Status Delete(grpc::ServerContext* ctx, const cd::v1::RepoQuery* req,
                      cd::v1::RepoDeleteReply* reply) override;
  grpc::Status ValidateAccess(grpc::ServerContext* ctx, const cd::v1::RepoAccessQuery* req,
                              cd::v1::RepoValidateReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

class CdProjectRouter final : public cd::v1::ProjectService::Service {
 public:
  explicit CdProjectRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(cd::v1::ProjectService::NewStub(std::move(channel))) {}
  using Stub = cd::v1::ProjectService::Stub;

  grpc::Status Create(grpc::ServerContext* ctx, const cd::v1::ProjectCreateRequest* req,
                      cd::v1::ProjectReply* reply) override;
  grpc::Status Get(grpc::ServerContext* ctx, const cd::v1::ProjectQuery* req,
                   cd::v1::ProjectReply* reply) override;
  grpc::Status List(grpc::ServerContext* ctx, const cd::v1::ProjectQuery* req,
                    cd::v1::ProjectListReply* reply) override;
  grpc::Status Update(grpc::ServerContext* ctx, const cd::v1::ProjectUpdateRequest* req,
                      cd::v1::ProjectReply* reply) override;
  grpc::Status Delete(grpc::ServerContext* ctx, const cd::v1::ProjectQuery* req,
                      cd::v1::ProjectDeleteReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

// The three routers over one channel, as the gateway registers them.
class CdRouter {
 public:
  explicit CdRouter(const std::shared_ptr<grpc::Channel>& channel)
      : applications_(channel), repositories_(channel), projects_(channel) {}
  std::vector<grpc::Service*> services() { return {&applications_, &repositories_, &projects_}; }

 private:
  CdApplicationRouter applications_;
  CdRepositoryRouter repositories_;
  CdProjectRouter projects_;
};

}  // namespace argonaut::gateway
