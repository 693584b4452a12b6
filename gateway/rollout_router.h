// RolloutRouter: forwards RolloutService calls from the gateway's gRPC server to the rollout
// service's channel; streams (watches) are relayed and cancelled like WorkflowRouter's.
#pragma once

#include <memory>

#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

class RolloutRouter final : public rollout::v1::RolloutService::Service {
 public:
  explicit RolloutRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(rollout::v1::RolloutService::NewStub(std::move(channel))) {}

  using Stub = rollout::v1::RolloutService::Stub;
  using Reply = rollout::v1::RolloutReply;
  using NameRequest = rollout::v1::RolloutNameRequest;

  grpc::Status CreateRollout(grpc::ServerContext* ctx, const rollout::v1::CreateRolloutRequest* req,
                             Reply* reply) override;
  grpc::Status GetRollout(grpc::ServerContext* ctx, const NameRequest* req, Reply* reply) override;
  grpc::Status ListRollouts(grpc::ServerContext* ctx, const rollout::v1::ListRolloutsRequest* req,
                            rollout::v1::ListRolloutsReply* reply) override;
  grpc::Status WatchRollouts(grpc::ServerContext* ctx, const rollout::v1::WatchRolloutsRequest* req,
                             grpc::ServerWriter<rollout::v1::RolloutWatchEvent>* w) override;
  grpc::Status DeleteRollout(grpc::ServerContext* ctx, const NameRequest* req,
                             rollout::v1::DeleteRolloutReply* reply) override;
  grpc::Status GetRolloutInfo(grpc::ServerContext* ctx, const NameRequest* req,
                              rollout::v1::RolloutInfoReply* reply) override;
  grpc::Status ListRolloutInfos(grpc::ServerContext* ctx,
                                const rollout::v1::ListRolloutsRequest* req,
                                rollout::v1::RolloutInfoListReply* reply) override;
  grpc::Status WatchRolloutInfo(grpc::ServerContext* ctx, const NameRequest* req,
                                grpc::ServerWriter<rollout::v1::RolloutInfoWatchEvent>* w) override;
  grpc::Status WatchRolloutInfos(
      grpc::ServerContext* ctx, const rollout::v1::ListRolloutsRequest* req,
      grpc::ServerWriter<rollout::v1::RolloutInfoWatchEvent>* w) override;
  grpc::Status PromoteRollout(grpc::ServerContext* ctx,
                              const rollout::v1::PromoteRolloutRequest* req, Reply* reply) override;
  grpc::Status AbortRollout(grpc::ServerContext* ctx, const NameRequest* req,
                            Reply* reply) override;
  grpc::Status RetryRollout(grpc::ServerContext* ctx, const NameRequest* req,
                            Reply* reply) override;
  grpc::Status UndoRollout(grpc::ServerContext* ctx, const rollout::v1::UndoRolloutRequest* req,
                           Reply* reply) override;
  grpc::Status PauseRollout(grpc::ServerContext* ctx, const rollout::v1::PauseRolloutRequest* req,
                            Reply* reply) override;
  grpc::Status RestartRollout(grpc::ServerContext* ctx,
                              const rollout::v1::RestartRolloutRequest* req, Reply* reply) override;
  grpc::Status SetRolloutImage(grpc::ServerContext* ctx, const rollout::v1::SetImageRequest* req,
                               Reply* reply) override;
  grpc::Status LintRollout(grpc::ServerContext* ctx, const rollout::v1::LintRolloutRequest* req,
                           Reply* reply) override;
  grpc::Status Version(grpc::ServerContext* ctx, const rollout::v1::VersionRequest* req,
                       rollout::v1::VersionReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

}  // namespace argonaut::gateway
