// ExperimentController: the I/O half of experiments. For each Experiment in
// the rollout service's store it reads the ReplicaSets, Services and
// AnalysisRuns the experiment controls (ownerReference uid), asks the pure
// ReconcileExperiment (experiment.h) what to do, carries that out (ReplicaSets
// and Services through the Cluster, AnalysisRuns built from their templates
// with analysis::BuildAnalysisRun into the store) and writes the new status
// with the read resourceVersion as precondition. Level-triggered: watches on
// Experiments and AnalysisRuns (store) and ReplicaSets (cluster), plus the
// reconciler's requeue_after (duration end, progress deadlines, scale-down
// delays).
//
//   ExperimentController ex(&rollout_api, cluster, {.clock = clock});
//   RETURN_IF_ERROR(ex.Start());
//   ...
//   ex.Stop();
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/rollout/experiment/experiment.h"

namespace argonaut::rollout::experiment {

struct ExperimentControllerOptions {
  int workers = 2;
  // The reconciler's "now"; the work queue's timers run on real time. Null: the real clock.
  controller::Clock* clock = nullptr;
  absl::Duration resync_period = absl::Minutes(1);
};

class ExperimentController : public controller::Reconciler {
 public:
  // Neither pointer is owned; both must outlive the controller.
  ExperimentController(resource::ResourceApi* store, cluster::Cluster* cluster,
                       ExperimentControllerOptions options = {});
  ~ExperimentController() override;

  absl::Status Start();
  void Stop();  // idempotent
  void Enqueue(const std::string& key);

  // key: "namespace/name".
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // The AnalysisRun for a request: built from its templates or, when that
  // fails (a missing template, an argument without value), a run already in
  // phase Error saying why, so the experiment ends with that message.
  nlohmann::json AnalysisRunFor(const nlohmann::json& experiment,
                                const ExperimentRunRequest& request);

 private:
  absl::Status Apply(const nlohmann::json& experiment, const ExperimentInput& in,
                     const ExperimentOutput& out);
  absl::Status DeleteOwned(const std::string& ns, const std::string& name);

  resource::ResourceApi* const store_;
  cluster::Cluster* const cluster_;
  const ExperimentControllerOptions options_;
  controller::Clock* const clock_;
  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
};

}  // namespace argonaut::rollout::experiment
