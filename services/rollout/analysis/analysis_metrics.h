// Argo Rollouts' AnalysisRun metrics, computed at scrape time from the store
// (as Argo's collector reads its informer cache), plus the reconcile
// histogram and error counter.
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"

namespace argonaut::rollout::analysis {

class AnalysisMetrics {
 public:
  // Registers analysis_run_info, analysis_run_phase, analysis_run_metric_type,
  // analysis_run_metric_phase (scrape-time) and analysis_run_reconcile(_error).
  static absl::StatusOr<std::unique_ptr<AnalysisMetrics>> Create(metrics::MetricsRegistry& registry,
                                                                 resource::ResourceApi* store);
  // Detaches the scrape-time collector from the store (the registry may
  // outlive this object).
  ~AnalysisMetrics();

  void ObserveReconcile(const std::string& ns, const std::string& name, absl::Duration took,
                        bool error);

 private:
  struct Source;
  AnalysisMetrics(std::shared_ptr<Source> source, metrics::HistogramFamily reconcile,
                  metrics::CounterFamily* errors)
      : source_(std::move(source)), reconcile_(std::move(reconcile)), errors_(errors) {}

  std::shared_ptr<Source> source_;
  metrics::HistogramFamily reconcile_;
  metrics::CounterFamily* errors_;
};

}  // namespace argonaut::rollout::analysis
