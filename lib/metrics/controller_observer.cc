#include "lib/metrics/controller_observer.h"

#include <string>

namespace argonaut::metrics {

using controller::ReconcileOutcome;

ControllerMetricsObserver::ControllerMetricsObserver(const ControllerMetrics& metrics,
                                                     const std::string& name)
    : success_total_(metrics.reconcile_total.Add({{"controller", name}, {"result", "success"}})),
      error_total_(metrics.reconcile_total.Add({{"controller", name}, {"result", "error"}})),
      requeue_after_total_(
          metrics.reconcile_total.Add({{"controller", name}, {"result", "requeue_after"}})),
      errors_total_(metrics.reconcile_errors_total.Add({{"controller", name}})),
      terminal_errors_total_(metrics.terminal_reconcile_errors_total.Add({{"controller", name}})),
      reconcile_time_(metrics.reconcile_time_seconds.WithLabels({{"controller", name}})),
      max_concurrent_(metrics.max_concurrent_reconciles.Add({{"controller", name}})),
      active_workers_(metrics.active_workers.Add({{"controller", name}})),
      depth_(metrics.workqueue_depth.Add({{"name", name}})),
      adds_total_(metrics.workqueue_adds_total.Add({{"name", name}})),
      retries_total_(metrics.workqueue_retries_total.Add({{"name", name}})),
      queue_duration_(metrics.workqueue_queue_duration_seconds.WithLabels({{"name", name}})),
      work_duration_(metrics.workqueue_work_duration_seconds.WithLabels({{"name", name}})) {}

void ControllerMetricsObserver::OnStart(int workers) { max_concurrent_.Set(workers); }

void ControllerMetricsObserver::OnReconcileStarted() { active_workers_.Increment(); }

void ControllerMetricsObserver::OnReconcileFinished(ReconcileOutcome outcome,
                                                    absl::Duration elapsed) {
  active_workers_.Decrement();
  reconcile_time_.Observe(absl::ToDoubleSeconds(elapsed));
  switch (outcome) {
    case ReconcileOutcome::kSuccess:
      success_total_.Increment();
      break;
    case ReconcileOutcome::kRequeueAfter:
      requeue_after_total_.Increment();
      break;
    case ReconcileOutcome::kTerminalError:
      // controller-runtime counts a terminal error as an error too, and
      // separately, so that "errors" alerts still fire for it.
      terminal_errors_total_.Increment();
      [[fallthrough]];
    case ReconcileOutcome::kError:
      error_total_.Increment();
      errors_total_.Increment();
      break;
  }
}

void ControllerMetricsObserver::OnAdd() { adds_total_.Increment(); }

void ControllerMetricsObserver::OnDepth(size_t depth) { depth_.Set(static_cast<double>(depth)); }

void ControllerMetricsObserver::OnGet(absl::Duration queued) {
  queue_duration_.Observe(absl::ToDoubleSeconds(queued));
}

void ControllerMetricsObserver::OnDone(absl::Duration work) {
  work_duration_.Observe(absl::ToDoubleSeconds(work));
}

void ControllerMetricsObserver::OnRetry() { retries_total_.Increment(); }

}  // namespace argonaut::metrics
