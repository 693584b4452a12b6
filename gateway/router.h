// ResourceRouter: the gateway's ResourceService. Every call is forwarded,
// unchanged, to the service that owns the call's kind; the gateway keeps no
// objects itself.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "argonaut/api/v1/resource.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

class ResourceRouter final : public api::v1::ResourceService::Service {
 public:
  // `channels` maps a service name ("workflow", ...) to a channel to it.
  explicit ResourceRouter(std::map<std::string, std::shared_ptr<grpc::Channel>> channels);

  grpc::Status Create(grpc::ServerContext* ctx, const api::v1::CreateRequest* req,
                      api::v1::Object* resp) override;
  grpc::Status Get(grpc::ServerContext* ctx, const api::v1::GetRequest* req,
                   api::v1::Object* resp) override;
  grpc::Status List(grpc::ServerContext* ctx, const api::v1::ListRequest* req,
                    api::v1::ListResponse* resp) override;
  grpc::Status Update(grpc::ServerContext* ctx, const api::v1::UpdateRequest* req,
                      api::v1::Object* resp) override;
  grpc::Status Delete(grpc::ServerContext* ctx, const api::v1::DeleteRequest* req,
                      api::v1::DeleteResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const api::v1::WatchRequest* req,
                     grpc::ServerWriter<api::v1::WatchEvent>* writer) override;
  grpc::Status ListKinds(grpc::ServerContext* ctx, const api::v1::ListKindsRequest* req,
                         api::v1::ListKindsResponse* resp) override;
  grpc::Status Version(grpc::ServerContext* ctx, const api::v1::VersionRequest* req,
                       api::v1::VersionResponse* resp) override;

 private:
  // The stub of the service owning `kind`, or an error status naming the kind.
  grpc::Status Route(const std::string& kind, api::v1::ResourceService::Stub** stub);

  std::map<std::string, std::unique_ptr<api::v1::ResourceService::Stub>> stubs_;
};

}  // namespace argonaut::gateway
