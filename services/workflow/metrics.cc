#include "services/workflow/metrics.h"

#include "lib/base/status_macros.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow {
namespace {

constexpr char kQueue[] = "workflow_queue";

std::string PhaseOf(const nlohmann::json& o) {
  const nlohmann::json status = o.value("status", nlohmann::json::object());
  const std::string phase = status.is_object() ? status.value("phase", "") : "";
  return phase.empty() ? "Pending" : phase;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkflowMetrics>> WorkflowMetrics::Create(
    metrics::MetricsRegistry& r) {
  auto m = std::unique_ptr<WorkflowMetrics>(new WorkflowMetrics());
  ASSIGN_OR_RETURN(m->gauge_, r.AddGauge("argo_workflows_gauge", "Workflows by phase."));
  ASSIGN_OR_RETURN(
      m->count_, r.AddGauge("argo_workflows_count", "Workflows by phase (name before Argo 3.6)."));
  ASSIGN_OR_RETURN(m->pods_gauge_, r.AddGauge("argo_workflows_pods_gauge", "Pods by phase."));
  ASSIGN_OR_RETURN(m->pods_count_, r.AddGauge("argo_workflows_pods_count",
                                              "Pods by phase (name before Argo 3.6)."));
  ASSIGN_OR_RETURN(m->total_, r.AddCounter("argo_workflows_total_count",
                                           "Workflows that reached a completed phase."));
  ASSIGN_OR_RETURN(m->errors_,
                   r.AddCounter("argo_workflows_error_count", "Controller errors by cause."));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * depth,
                   r.AddGauge("argo_workflows_queue_depth_gauge", "Keys waiting in a queue."));
  ASSIGN_OR_RETURN(metrics::CounterFamily * adds,
                   r.AddCounter("argo_workflows_queue_adds_count", "Keys added to a queue."));
  ASSIGN_OR_RETURN(metrics::CounterFamily * retries,
                   r.AddCounter("argo_workflows_queue_retries", "Retries scheduled by a queue."));
  ASSIGN_OR_RETURN(metrics::HistogramFamily latency,
                   r.AddHistogram("argo_workflows_queue_latency",
                                  "Seconds a key waited in a queue before a worker took it.",
                                  metrics::ExponentialBuckets(0.001, 4, 8)));
  ASSIGN_OR_RETURN(metrics::HistogramFamily operation,
                   r.AddHistogram("argo_workflows_operation_duration_seconds",
                                  "Seconds one reconciliation of one workflow took.",
                                  metrics::ExponentialBuckets(0.001, 5, 6)));
  m->queue_depth_ = &depth->Add({{"queue_name", kQueue}});
  m->queue_adds_ = &adds->Add({{"queue_name", kQueue}});
  m->queue_retries_ = &retries->Add({{"queue_name", kQueue}});
  m->queue_latency_ = &latency.WithLabels({{"queue_name", kQueue}});
  m->operation_ = &operation.WithLabels({});
  return m;
}

void WorkflowMetrics::Track(std::map<std::string, std::string>& phases, const std::string& key,
                            const std::string& phase, bool deleted, const std::string& ns,
                            bool workflow) {
  auto move = [&](const std::string& p, double delta) {
    if (workflow) {
      gauge_->Add({{"phase", p}, {"namespace", ns}}).Increment(delta);
      count_->Add({{"status", p}}).Increment(delta);
    } else {
      pods_gauge_->Add({{"phase", p}}).Increment(delta);
      pods_count_->Add({{"status", p}}).Increment(delta);
    }
  };
  auto it = phases.find(key);
  const std::string old = it == phases.end() ? "" : it->second;
  if (!old.empty()) move(old, -1);
  if (deleted) {
    if (it != phases.end()) phases.erase(it);
    return;
  }
  move(phase, +1);
  phases[key] = phase;
  if (workflow && engine::PhaseCompleted(phase) && old != phase && !engine::PhaseCompleted(old) &&
      !old.empty()) {
    total_->Add({{"phase", phase}, {"namespace", ns}}).Increment();
  }
}

void WorkflowMetrics::ObserveWorkflow(const cluster::WatchEvent& e) {
  absl::MutexLock lock(&mu_);
  Track(workflow_phase_, cluster::KeyOf(e.object), PhaseOf(e.object), e.type == "DELETED",
        cluster::NamespaceOf(e.object), /*workflow=*/true);
}

void WorkflowMetrics::ObservePod(const cluster::WatchEvent& e) {
  absl::MutexLock lock(&mu_);
  Track(pod_phase_, cluster::KeyOf(e.object), PhaseOf(e.object), e.type == "DELETED",
        cluster::NamespaceOf(e.object), /*workflow=*/false);
}

void WorkflowMetrics::ObserveOperation(absl::Duration elapsed) {
  operation_->Observe(absl::ToDoubleSeconds(elapsed));
}

void WorkflowMetrics::CountError(const std::string& cause) {
  errors_->Add({{"cause", cause}}).Increment();
}

void WorkflowMetrics::OnAdd() { queue_adds_->Increment(); }
void WorkflowMetrics::OnDepth(size_t depth) { queue_depth_->Set(static_cast<double>(depth)); }
void WorkflowMetrics::OnGet(absl::Duration queued) {
  queue_latency_->Observe(absl::ToDoubleSeconds(queued));
}
void WorkflowMetrics::OnRetry() { queue_retries_->Increment(); }

}  // namespace argonaut::workflow
