// RolloutService: Argo Rollouts' API (RolloutInfo views, promote, abort, retry, undo, restart,
// set image, version) plus create/get/list/watch/delete, over the rollout store (a
// resource::ResourceApi serving Rollout, AnalysisRun, Experiment ...) and the cluster (the
// ReplicaSets and pods of a rollout). Verbs are the pure actions of actions.h; a status change is
// written through the status subresource and a spec change with an update, each with the read
// resourceVersion as precondition and retried on conflict, since the controller writes the same
// object.
//
//   RolloutGrpcService svc(&bundle.api(), cluster, controller::RealClock::Get());
//   server.AddService(&svc);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/rollout/api/info.h"

namespace argonaut::rollout::api {

// What Version answers.
inline constexpr char kRolloutsVersion[] = "v1.7.0+argonaut";

class RolloutGrpcService final : public v1::RolloutService::Service {
 public:
  // `rollouts` serves the rollout kinds; `cluster` may be null (RolloutInfo then has no
  // ReplicaSets or pods, undo is refused); `clock` (null: the real clock) dates restarts.
  // `lint_validator` (may be empty) is run by LintRollout after the typed decode; the store runs
  // its own validator on create. All must outlive the service.
  RolloutGrpcService(resource::ResourceApi* rollouts, cluster::Cluster* cluster,
                     controller::Clock* clock, resource::Validator lint_validator = {});

  grpc::Status CreateRollout(grpc::ServerContext*, const v1::CreateRolloutRequest* req,
                             v1::RolloutReply* reply) override;
  grpc::Status GetRollout(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                          v1::RolloutReply* reply) override;
  grpc::Status ListRollouts(grpc::ServerContext*, const v1::ListRolloutsRequest* req,
                            v1::ListRolloutsReply* reply) override;
  grpc::Status WatchRollouts(grpc::ServerContext* ctx, const v1::WatchRolloutsRequest* req,
                             grpc::ServerWriter<v1::RolloutWatchEvent>* writer) override;
  grpc::Status DeleteRollout(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                             v1::DeleteRolloutReply* reply) override;
  grpc::Status GetRolloutInfo(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                              v1::RolloutInfoReply* reply) override;
  grpc::Status ListRolloutInfos(grpc::ServerContext*, const v1::ListRolloutsRequest* req,
                                v1::RolloutInfoListReply* reply) override;
  grpc::Status WatchRolloutInfo(grpc::ServerContext* ctx, const v1::RolloutNameRequest* req,
                                grpc::ServerWriter<v1::RolloutInfoWatchEvent>* writer) override;
  grpc::Status WatchRolloutInfos(grpc::ServerContext* ctx, const v1::ListRolloutsRequest* req,
                                 grpc::ServerWriter<v1::RolloutInfoWatchEvent>* writer) override;
  grpc::Status PromoteRollout(grpc::ServerContext*, const v1::PromoteRolloutRequest* req,
                              v1::RolloutReply* reply) override;
  grpc::Status AbortRollout(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                            v1::RolloutReply* reply) override;
  grpc::Status RetryRollout(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                            v1::RolloutReply* reply) override;
  grpc::Status UndoRollout(grpc::ServerContext*, const v1::UndoRolloutRequest* req,
                           v1::RolloutReply* reply) override;
  grpc::Status PauseRollout(grpc::ServerContext*, const v1::PauseRolloutRequest* req,
                            v1::RolloutReply* reply) override;
  grpc::Status RestartRollout(grpc::ServerContext*, const v1::RestartRolloutRequest* req,
                              v1::RolloutReply* reply) override;
  grpc::Status SetRolloutImage(grpc::ServerContext*, const v1::SetImageRequest* req,
                               v1::RolloutReply* reply) override;
  grpc::Status LintRollout(grpc::ServerContext*, const v1::LintRolloutRequest* req,
                           v1::RolloutReply* reply) override;
  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest* req,
                       v1::VersionReply* reply) override;

  // The RolloutInfo of one rollout, read from the store and the cluster now.
  absl::StatusOr<nlohmann::json> Info(const std::string& ns, const std::string& name);

 private:
  // Get, change, write what changed (status, then spec) with the read resourceVersion; on
  // ABORTED (the controller wrote in between) read again and change again, a bounded number of
  // times.
  absl::StatusOr<nlohmann::json> Mutate(
      const std::string& ns, const std::string& name,
      const std::function<absl::StatusOr<nlohmann::json>(nlohmann::json)>& change);
  // The objects RolloutInfo is built from, for every rollout of `ns`.
  absl::StatusOr<RolloutObjects> NamespaceObjects(const std::string& ns);
  // RolloutInfos of the rollouts in `ns` ("" = all), keyed namespace/name.
  absl::StatusOr<std::map<std::string, nlohmann::json>> Infos(const std::string& ns,
                                                              const std::string& selector);
  absl::StatusOr<std::vector<nlohmann::json>> ReplicaSetsOf(const nlohmann::json& rollout);
  // Applies `change` to the Deployment `rollout`'s spec.workloadRef names (with its
  // resourceVersion, retried on conflict), as the kubectl plugin patches the workload; returns
  // the rollout, which itself stays as it is.
  absl::StatusOr<nlohmann::json> ChangeWorkload(
      const nlohmann::json& rollout,
      const std::function<absl::StatusOr<nlohmann::json>(nlohmann::json)>& change);

  resource::ResourceApi* const api_;
  cluster::Cluster* const cluster_;
  controller::Clock* const clock_;
  resource::Validator lint_validator_;
};

}  // namespace argonaut::rollout::api
