// The workflow controller's Prometheus metrics, under Argo's names so that
// Argo's dashboards and alerts apply: argo_workflows_gauge{phase,namespace}
// (and the older argo_workflows_count{status}), argo_workflows_pods_gauge
// {phase}, argo_workflows_total_count{phase,namespace}, queue depth, adds and
// latency, argo_workflows_operation_duration_seconds and
// argo_workflows_error_count{cause}.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/observer.h"
#include "lib/metrics/metrics.h"

namespace argonaut::workflow {

class WorkflowMetrics final : public controller::WorkQueueObserver {
 public:
  static absl::StatusOr<std::unique_ptr<WorkflowMetrics>> Create(
      metrics::MetricsRegistry& registry);

  // A Workflow watch event: keeps the per-phase gauges and counts
  // completions.
  void ObserveWorkflow(const cluster::WatchEvent& event);
  // A pod watch event (pods of workflows).
  void ObservePod(const cluster::WatchEvent& event);
  void ObserveOperation(absl::Duration elapsed);
  void CountError(const std::string& cause);

  // controller::WorkQueueObserver
  void OnAdd() override;
  void OnDepth(size_t depth) override;
  void OnGet(absl::Duration queued) override;
  void OnRetry() override;

 private:
  WorkflowMetrics() = default;
  void Track(std::map<std::string, std::string>& phases, const std::string& key,
             const std::string& phase, bool deleted, const std::string& ns, bool workflow);

  metrics::GaugeFamily* gauge_ = nullptr;         // argo_workflows_gauge{phase,namespace}
  metrics::GaugeFamily* count_ = nullptr;         // argo_workflows_count{status}
  metrics::GaugeFamily* pods_gauge_ = nullptr;    // argo_workflows_pods_gauge{phase}
  metrics::GaugeFamily* pods_count_ = nullptr;    // argo_workflows_pods_count{status}
  metrics::CounterFamily* total_ = nullptr;       // argo_workflows_total_count{phase,namespace}
  metrics::CounterFamily* errors_ = nullptr;      // argo_workflows_error_count{cause}
  prometheus::Gauge* queue_depth_ = nullptr;      // argo_workflows_queue_depth_gauge
  prometheus::Counter* queue_adds_ = nullptr;     // argo_workflows_queue_adds_count
  prometheus::Counter* queue_retries_ = nullptr;  // argo_workflows_queue_retries
  prometheus::Histogram* queue_latency_ = nullptr;
  prometheus::Histogram* operation_ = nullptr;

  absl::Mutex mu_;
  // Last seen phase per object key, to move gauges between phases.
  std::map<std::string, std::string> workflow_phase_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> pod_phase_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::workflow
