// The app-controller's Prometheus metrics under Argo CD's names and labels,
// so that Argo CD's dashboards and alerts apply:
//   argocd_app_info{namespace,name,project,autosync_enabled,repo,dest_server,
//                   dest_namespace,sync_status,health_status,operation} = 1
//   argocd_app_sync_total{namespace,name,project,dest_server,phase,dry_run}
//   argocd_app_reconcile{namespace,dest_server} (histogram, seconds; Argo CD's
//                   buckets 0.25 .. 16)
// The repo-server's argocd_git_* metrics are services/cd/repo's.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd {

class AppMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<AppMetrics>> Create(metrics::MetricsRegistry& registry);

  // The app as stored (after each reconcile, or on a watch event); `deleted`
  // drops its series.
  void ObserveApp(const nlohmann::json& app, bool deleted);
  // A sync operation ended in `phase` (Succeeded, Failed, Error).
  void CountSync(const nlohmann::json& app, const std::string& phase, bool dry_run);
  void ObserveReconcile(const nlohmann::json& app, absl::Duration elapsed);

 private:
  AppMetrics() = default;

  metrics::GaugeFamily* info_ = nullptr;
  metrics::CounterFamily* sync_ = nullptr;
  std::unique_ptr<metrics::HistogramFamily> reconcile_;

  absl::Mutex mu_;
  std::map<std::string, prometheus::Gauge*> info_series_ ABSL_GUARDED_BY(mu_);  // by ns/name
};

}  // namespace argonaut::cd
