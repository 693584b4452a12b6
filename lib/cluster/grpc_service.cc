#include "lib/cluster/grpc_service.h"

#include "absl/time/clock.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cluster {

grpc::Status ClusterGrpcService::PodLogs(grpc::ServerContext* ctx, const v1::PodLogsRequest* req,
                                         grpc::ServerWriter<v1::LogChunk>* writer) {
  LogOptions options{.container = req->container(), .follow = req->follow()};
  absl::Status s =
      cluster_->Logs(req->namespace_(), req->name(), options, [&](std::string_view chunk) {
        if (ctx->IsCancelled()) return false;
        if (chunk.empty()) return true;  // heartbeat
        v1::LogChunk out;
        out.set_data(std::string(chunk));
        return writer->Write(out);
      });
  return ToGrpcStatus(s);
}

}  // namespace argonaut::cluster
