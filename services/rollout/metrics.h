// The rollout controller's Prometheus metrics under Argo Rollouts' names, so
// that Argo's dashboards and alerts apply: rollout_info{namespace,name,
// strategy,traffic_router,phase} (phase in the metrics' own set: Completed,
// Progressing, Paused, Timeout, Error, Abort, InvalidSpec), the deprecated
// rollout_phase{namespace,name,strategy,phase} (1 for the current phase, 0 for
// the others), rollout_info_replicas_{available,unavailable,desired,updated},
// rollout_reconcile (histogram, seconds), rollout_reconcile_error and
// rollout_events_total{namespace,name,type,reason}.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout {

// The `phase` label of rollout_info: Argo derives it from the Progressing
// condition's reason (and InvalidSpec), not from status.phase.
std::string MetricPhaseOf(const nlohmann::json& rollout);
// canary | blueGreen | none.
std::string StrategyOf(const nlohmann::json& rollout);
// The traffic_router label: ALB, Ambassador, Istio, Nginx, SMI, AppMesh ...
// or "" without traffic routing.
std::string TrafficRouterOf(const nlohmann::json& rollout);

class RolloutMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<RolloutMetrics>> Create(metrics::MetricsRegistry& registry);

  // The rollout as stored (any watch event); `deleted` drops its series.
  void ObserveRollout(const nlohmann::json& rollout, bool deleted);
  void ObserveReconcile(const std::string& ns, const std::string& name, absl::Duration elapsed);
  void CountError(const std::string& ns, const std::string& name);
  // rollout_events_total{namespace,name,type,reason}: one per engine event.
  void CountEvent(const std::string& ns, const std::string& name, const std::string& type,
                  const std::string& reason);

 private:
  RolloutMetrics() = default;

  struct Series {
    prometheus::Gauge* info = nullptr;
    std::map<std::string, prometheus::Gauge*> phases;  // rollout_phase by phase
    prometheus::Gauge* available = nullptr;
    prometheus::Gauge* unavailable = nullptr;
    prometheus::Gauge* desired = nullptr;
    prometheus::Gauge* updated = nullptr;
  };
  void DropLocked(Series& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  metrics::GaugeFamily* info_ = nullptr;
  metrics::GaugeFamily* phase_ = nullptr;
  metrics::GaugeFamily* available_ = nullptr;
  metrics::GaugeFamily* unavailable_ = nullptr;
  metrics::GaugeFamily* desired_ = nullptr;
  metrics::GaugeFamily* updated_ = nullptr;
  metrics::CounterFamily* errors_ = nullptr;
  metrics::CounterFamily* events_ = nullptr;
  std::unique_ptr<metrics::HistogramFamily> reconcile_;

  absl::Mutex mu_;
  std::map<std::string, Series> series_ ABSL_GUARDED_BY(mu_);  // by namespace/name
};

}  // namespace argonaut::rollout
