// ResourceGrpcService: the gRPC face of a service's ResourceApi. It converts
// between protobuf requests and ResourceApi calls and does nothing else.
#pragma once

#include <string>

#include "argonaut/api/v1/resource.grpc.pb.h"
#include "lib/resource/api_metrics.h"
#include "lib/resource/resource_api.h"

namespace argonaut::resource {

class ResourceGrpcService final : public api::v1::ResourceService::Service {
 public:
  // `service` names the owner ("workflow", ...). `metrics` may be null.
  ResourceGrpcService(ResourceApi* api, std::string service, const ApiMetrics* metrics = nullptr)
      : api_(api), service_(std::move(service)), metrics_(metrics) {}

  grpc::Status Create(grpc::ServerContext*, const api::v1::CreateRequest* req,
                      api::v1::Object* resp) override;
  grpc::Status Get(grpc::ServerContext*, const api::v1::GetRequest* req,
                   api::v1::Object* resp) override;
  grpc::Status List(grpc::ServerContext*, const api::v1::ListRequest* req,
                    api::v1::ListResponse* resp) override;
  grpc::Status Update(grpc::ServerContext*, const api::v1::UpdateRequest* req,
                      api::v1::Object* resp) override;
  grpc::Status Delete(grpc::ServerContext*, const api::v1::DeleteRequest* req,
                      api::v1::DeleteResponse* resp) override;
  // One thread per watcher for now; it polls for cancellation every second.
  grpc::Status Watch(grpc::ServerContext* ctx, const api::v1::WatchRequest* req,
                     grpc::ServerWriter<api::v1::WatchEvent>* writer) override;
  grpc::Status ListKinds(grpc::ServerContext*, const api::v1::ListKindsRequest* req,
                         api::v1::ListKindsResponse* resp) override;
  grpc::Status Version(grpc::ServerContext*, const api::v1::VersionRequest* req,
                       api::v1::VersionResponse* resp) override;

 private:
  // Records the call's outcome and latency; returns `status`.
  grpc::Status Record(const char* method, const std::string& kind, absl::Time start,
                      grpc::Status status) const;

  ResourceApi* api_;
  std::string service_;
  const ApiMetrics* metrics_;
};

// Fills a KindInfo proto from the kind table.
void ToProto(const KindInfo& k, api::v1::KindInfo* out);

// The version every binary reports.
inline constexpr char kArgonautVersion[] = "v0.1.0";

}  // namespace argonaut::resource
