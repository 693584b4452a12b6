// AnalysisRunController: the I/O half of analysis. For each AnalysisRun in
// the rollout service's store it asks the pure assessment (assess.h) which
// metrics to measure, starts web/prometheus measurements on a bounded worker
// pool (the reconcile loop never waits on HTTP), runs job metrics as Jobs
// through the Cluster and follows them, and writes the new status back with
// the resourceVersion as precondition. Level-triggered: driven by a watch on
// AnalysisRuns, completed measurements, and requeue_after from the
// assessment (interval, initialDelay, error retry).
//
//   AnalysisRunController analysis(&rollout_api, cluster, {.clock = clock, .metrics = &metrics});
//   RETURN_IF_ERROR(analysis.Start());
//   ...
//   analysis.Stop();
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"

namespace argonaut::rollout::analysis {

struct AnalysisControllerOptions {
  // Not owned; nullptr means controller::RealClock::Get().
  controller::Clock* clock = nullptr;
  // Not owned; nullptr: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // Threads taking web/prometheus measurements (bounded pool).
  int workers = 4;
  // Threads reconciling AnalysisRuns.
  int reconcile_workers = 2;
  absl::Duration resync_period = absl::Minutes(5);
};

class AnalysisRunController : public controller::Reconciler {
 public:
  // `store` serves the AnalysisRun kind (the rollout service's ResourceApi);
  // `cluster` runs job metrics and holds Secrets (may be null: job metrics and
  // secret args then measure Error). Neither is owned.
  AnalysisRunController(resource::ResourceApi* store, cluster::Cluster* cluster,
                        AnalysisControllerOptions options = {});
  ~AnalysisRunController() override;
  AnalysisRunController(const AnalysisRunController&) = delete;
  AnalysisRunController& operator=(const AnalysisRunController&) = delete;

  absl::Status Start();
  void Stop();

  // key: "namespace/name".
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argonaut::rollout::analysis
