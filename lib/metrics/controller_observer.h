// ControllerMetricsObserver: feeds ControllerMetrics from a running
// controller::Controller and its WorkQueue.
//
// It lives here rather than in lib/controller so that the controller does not
// depend on prometheus-cpp; the controller only knows its observer interfaces.
//
//   ASSIGN_OR_RETURN(ControllerMetrics families, ControllerMetrics::Create(registry));
//   ControllerMetricsObserver observer(families, "workflows");
//   Controller controller({.name = "workflows", .observer = &observer,
//                          .queue_observer = &observer}, &reconciler);
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "lib/controller/observer.h"
#include "lib/metrics/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace argonaut::metrics {

class ControllerMetricsObserver final : public controller::ControllerObserver,
                                        public controller::WorkQueueObserver {
 public:
  // Every series is labelled controller=`name` (controller_runtime_*) or
  // name=`name` (workqueue_*), as controller-runtime does. The families must
  // outlive the observer.
  ControllerMetricsObserver(const ControllerMetrics& metrics, const std::string& name);
  ControllerMetricsObserver(const ControllerMetricsObserver&) = delete;
  ControllerMetricsObserver& operator=(const ControllerMetricsObserver&) = delete;

  // controller::ControllerObserver
  void OnStart(int workers) override;
  void OnReconcileStarted() override;
  void OnReconcileFinished(controller::ReconcileOutcome outcome, absl::Duration elapsed) override;

  // controller::WorkQueueObserver
  void OnAdd() override;
  void OnDepth(size_t depth) override;
  void OnGet(absl::Duration queued) override;
  void OnDone(absl::Duration work) override;
  void OnRetry() override;

 private:
  // Children are resolved once: Family::Add() takes a lock and hashes labels,
  // which the per-reconcile path should not pay.
  prometheus::Counter& success_total_;
  prometheus::Counter& error_total_;
  prometheus::Counter& requeue_after_total_;
  prometheus::Counter& errors_total_;
  prometheus::Counter& terminal_errors_total_;
  prometheus::Histogram& reconcile_time_;
  prometheus::Gauge& max_concurrent_;
  prometheus::Gauge& active_workers_;

  prometheus::Gauge& depth_;
  prometheus::Counter& adds_total_;
  prometheus::Counter& retries_total_;
  prometheus::Histogram& queue_duration_;
  prometheus::Histogram& work_duration_;
};

}  // namespace argonaut::metrics
