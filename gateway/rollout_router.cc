#include "gateway/rollout_router.h"

#include "gateway/stream_forward.h"

namespace argonaut::gateway {

namespace ro = ::argonaut::rollout::v1;

#define ARGONAUT_FORWARD(Method, Req, Resp)                                        \
  grpc::Status RolloutRouter::Method(grpc::ServerContext* ctx, const ro::Req* req, \
                                     ro::Resp* resp) {                             \
    return ForwardUnary(ctx, stub_.get(), &Stub::Method, req, resp);               \
  }

ARGONAUT_FORWARD(CreateRollout, CreateRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(GetRollout, RolloutNameRequest, RolloutReply)
ARGONAUT_FORWARD(ListRollouts, ListRolloutsRequest, ListRolloutsReply)
ARGONAUT_FORWARD(DeleteRollout, RolloutNameRequest, DeleteRolloutReply)
ARGONAUT_FORWARD(GetRolloutInfo, RolloutNameRequest, RolloutInfoReply)
ARGONAUT_FORWARD(ListRolloutInfos, ListRolloutsRequest, RolloutInfoListReply)
ARGONAUT_FORWARD(PromoteRollout, PromoteRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(AbortRollout, RolloutNameRequest, RolloutReply)
ARGONAUT_FORWARD(RetryRollout, RolloutNameRequest, RolloutReply)
ARGONAUT_FORWARD(UndoRollout, UndoRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(PauseRollout, PauseRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(RestartRollout, RestartRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(SetRolloutImage, SetImageRequest, RolloutReply)
ARGONAUT_FORWARD(LintRollout, LintRolloutRequest, RolloutReply)
ARGONAUT_FORWARD(Version, VersionRequest, VersionReply)

#undef ARGONAUT_FORWARD

grpc::Status RolloutRouter::WatchRollouts(grpc::ServerContext* ctx,
                                          const ro::WatchRolloutsRequest* req,
                                          grpc::ServerWriter<ro::RolloutWatchEvent>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::WatchRollouts, *req, w);
}

grpc::Status RolloutRouter::WatchRolloutInfo(grpc::ServerContext* ctx,
                                             const ro::RolloutNameRequest* req,
                                             grpc::ServerWriter<ro::RolloutInfoWatchEvent>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::WatchRolloutInfo, *req, w);
}

grpc::Status RolloutRouter::WatchRolloutInfos(grpc::ServerContext* ctx,
                                              const ro::ListRolloutsRequest* req,
                                              grpc::ServerWriter<ro::RolloutInfoWatchEvent>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::WatchRolloutInfos, *req, w);
}

}  // namespace argonaut::gateway
