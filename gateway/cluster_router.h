// ClusterRouter: forwards the cluster service's own RPCs (pod logs) from the
// gateway to the cluster service, streaming and cancelling like Watch.
#pragma once

#include <memory>

#include "argonaut/cluster/v1/cluster_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

class ClusterRouter final : public cluster::v1::ClusterService::Service {
 public:
  explicit ClusterRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(cluster::v1::ClusterService::NewStub(std::move(channel))) {}

  grpc::Status PodLogs(grpc::ServerContext* ctx, const cluster::v1::PodLogsRequest* req,
                       grpc::ServerWriter<cluster::v1::LogChunk>* writer) override;

 private:
  std::unique_ptr<cluster::v1::ClusterService::Stub> stub_;
};

}  // namespace argonaut::gateway
