// ClusterGrpcService: serves pod logs of a Cluster over gRPC; objects go
// through the generic ResourceService like every other kind.
#pragma once

#include "argonaut/cluster/v1/cluster_service.grpc.pb.h"
#include "lib/cluster/cluster.h"

namespace argonaut::cluster {

class ClusterGrpcService final : public v1::ClusterService::Service {
 public:
  explicit ClusterGrpcService(Cluster* cluster) : cluster_(cluster) {}

  grpc::Status PodLogs(grpc::ServerContext* ctx, const v1::PodLogsRequest* req,
                       grpc::ServerWriter<v1::LogChunk>* writer) override;

 private:
  Cluster* const cluster_;
};

}  // namespace argonaut::cluster
