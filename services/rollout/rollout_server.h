// RolloutServer: everything the rollout service runs beside its resource API
// — the RolloutService gRPC API, the rollout controller, the AnalysisRun
// controller and the Experiment controller — wired once, so that `argonaut up`
// (gateway/platform.cc) and the standalone binary (main.cc) run the same parts. The caller owns the
// store and the gRPC server.
//
//   RolloutServer ro(&bundle.api(), {.cluster = cluster, .metrics = &registry});
//   server.AddService(ro.grpc_service());
//   RETURN_IF_ERROR(ro.Start());   // controllers
//   ...
//   ro.Stop();
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "services/rollout/analysis/analysis_controller.h"
#include "services/rollout/api/rollout_service.h"
#include "services/rollout/controller.h"
#include "services/rollout/experiment/experiment_controller.h"

namespace argonaut::rollout {

struct RolloutServerOptions {
  // Where ReplicaSets, Services and analysis Jobs live: the LocalCluster in
  // process, or a RemoteCluster. Null: no controllers (rollouts are stored
  // but never progress, analysis runs never measure).
  cluster::Cluster* cluster = nullptr;
  // May be null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // Null: the real clock.
  controller::Clock* clock = nullptr;
  // What `lint` checks beyond decoding; empty: RolloutValidator(), the
  // checks the store runs on every write.
  resource::Validator lint_validator;
};

class RolloutServer {
 public:
  // `rollouts` (the rollout store's API) and the options' pointers must
  // outlive the server.
  RolloutServer(resource::ResourceApi* rollouts, RolloutServerOptions options);
  ~RolloutServer();

  // Add to the service's gRPC server before it starts.
  grpc::Service* grpc_service() { return &grpc_; }
  // Starts the controllers, only with a cluster.
  absl::Status Start();
  // Stops the controllers. Idempotent.
  void Stop();

  bool runs_controllers() const { return controller_ != nullptr; }
  RolloutController* controller() { return controller_.get(); }

 private:
  resource::ResourceApi* const rollouts_;
  const RolloutServerOptions options_;
  api::RolloutGrpcService grpc_;
  std::unique_ptr<RolloutController> controller_;
  std::unique_ptr<analysis::AnalysisRunController> analysis_;
  std::unique_ptr<experiment::ExperimentController> experiments_;
};

}  // namespace argonaut::rollout
