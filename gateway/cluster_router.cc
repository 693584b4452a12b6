#include "gateway/cluster_router.h"

#include "gateway/stream_forward.h"

namespace argonaut::gateway {

grpc::Status ClusterRouter::PodLogs(grpc::ServerContext* ctx,
                                    const cluster::v1::PodLogsRequest* req,
                                    grpc::ServerWriter<cluster::v1::LogChunk>* writer) {
  return ForwardStream(ctx, stub_.get(), &cluster::v1::ClusterService::Stub::PodLogs, *req, writer);
}

}  // namespace argonaut::gateway
