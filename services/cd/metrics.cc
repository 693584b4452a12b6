#include "services/cd/metrics.h"

#include "lib/base/json_fields.h"
#include "lib/base/status_macros.h"

namespace argonaut::cd {
namespace {

using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

std::string NamespaceOf(const json& app) {
  std::string ns = Str(Field(app, "metadata"), "namespace");
  return ns.empty() ? "default" : ns;
}

std::string DestServer(const json& app) {
  const json& dest = Field(Field(app, "spec"), "destination");
  std::string server = Str(dest, "server");
  return server.empty() ? Str(dest, "name") : server;
}

std::string Project(const json& app) {
  std::string project = Str(Field(app, "spec"), "project");
  return project.empty() ? "default" : project;
}

std::string Repo(const json& app) {
  const json& spec = Field(app, "spec");
  if (const json& source = Field(spec, "source"); source.is_object()) return Str(source, "repoURL");
  const json& sources = Field(spec, "sources");
  if (sources.is_array() && !sources.empty()) return Str(sources[0], "repoURL");
  return "";
}

bool AutoSync(const json& app) {
  const json& automated = Field(Field(Field(app, "spec"), "syncPolicy"), "automated");
  if (!automated.is_object()) return false;
  const json& enabled = Field(automated, "enabled");
  return !enabled.is_boolean() || enabled.get<bool>();
}

// Argo CD's `operation` label: what the controller is doing to the app.
std::string Operation(const json& app) {
  if (!Str(Field(app, "metadata"), "deletionTimestamp").empty()) return "delete";
  if (Field(Field(app, "operation"), "sync").is_object()) return "sync";
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppMetrics>> AppMetrics::Create(metrics::MetricsRegistry& r) {
  auto m = std::unique_ptr<AppMetrics>(new AppMetrics());
  ASSIGN_OR_RETURN(m->info_, r.AddGauge("argocd_app_info", "Information about application."));
  ASSIGN_OR_RETURN(m->sync_, r.AddCounter("argocd_app_sync_total", "Number of application syncs."));
  ASSIGN_OR_RETURN(
      metrics::HistogramFamily reconcile,
      r.AddHistogram("argocd_app_reconcile", "Application reconciliation performance in seconds.",
                     metrics::Buckets{0.25, 0.5, 1, 2, 4, 8, 16}));
  m->reconcile_ = std::make_unique<metrics::HistogramFamily>(reconcile);
  return m;
}

void AppMetrics::ObserveApp(const json& app, bool deleted) {
  const std::string ns = NamespaceOf(app);
  const std::string name = Str(Field(app, "metadata"), "name");
  const std::string key = ns + "/" + name;
  absl::MutexLock lock(&mu_);
  if (auto it = info_series_.find(key); it != info_series_.end()) {
    info_->Remove(it->second);
    info_series_.erase(it);
  }
  if (deleted) return;
  const json& status = Field(app, "status");
  const json& dest = Field(Field(app, "spec"), "destination");
  std::string sync_status = Str(Field(status, "sync"), "status");
  std::string health_status = Str(Field(status, "health"), "status");
  prometheus::Gauge* g =
      &info_->Add({{"namespace", ns},
                   {"name", name},
                   {"project", Project(app)},
                   {"autosync_enabled", AutoSync(app) ? "true" : "false"},
                   {"repo", Repo(app)},
                   {"dest_server", DestServer(app)},
                   {"dest_namespace", Str(dest, "namespace")},
                   {"sync_status", sync_status.empty() ? "Unknown" : sync_status},
                   {"health_status", health_status},
                   {"operation", Operation(app)}});
  g->Set(1);
  info_series_[key] = g;
}

void AppMetrics::CountSync(const json& app, const std::string& phase, bool dry_run) {
  sync_
      ->Add({{"namespace", NamespaceOf(app)},
             {"name", Str(Field(app, "metadata"), "name")},
             {"project", Project(app)},
             {"dest_server", DestServer(app)},
             {"phase", phase},
             {"dry_run", dry_run ? "true" : "false"}})
      .Increment();
}

void AppMetrics::ObserveReconcile(const json& app, absl::Duration elapsed) {
  reconcile_->WithLabels({{"namespace", NamespaceOf(app)}, {"dest_server", DestServer(app)}})
      .Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace argonaut::cd
