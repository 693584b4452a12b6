#include "gateway/cluster_router.h"

namespace argonaut::gateway {

grpc::Status ClusterRouter::PodLogs(grpc::ServerContext* ctx,
                                    const cluster::v1::PodLogsRequest* req,
                                    grpc::ServerWriter<cluster::v1::LogChunk>* writer) {
  auto client = grpc::ClientContext::FromServerContext(*ctx);
  auto reader = stub_->PodLogs(client.get(), *req);
  cluster::v1::LogChunk chunk;
  while (reader->Read(&chunk)) {
    if (!writer->Write(chunk)) {
      client->TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (ctx->IsCancelled() || s.error_code() == grpc::StatusCode::CANCELLED) {
    return grpc::Status::OK;
  }
  return s;
}

}  // namespace argonaut::gateway
