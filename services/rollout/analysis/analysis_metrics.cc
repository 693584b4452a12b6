#include "services/rollout/analysis/analysis_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "lib/base/status_macros.h"
#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/json_fields.h"

namespace argonaut::rollout::analysis {
namespace {

using json_fields::Str;
using nlohmann::json;

const char* const kPhases[] = {kPhasePending,    kPhaseError,   kPhaseFailed,
                               kPhaseSuccessful, kPhaseRunning, kPhaseInconclusive};

prometheus::ClientMetric Gauge(double value,
                               std::vector<std::pair<std::string, std::string>> labels) {
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  m.gauge.value = value;
  return m;
}

}  // namespace

struct AnalysisMetrics::Source final : public prometheus::Collectable {
  mutable absl::Mutex mu;
  resource::ResourceApi* store ABSL_GUARDED_BY(mu) = nullptr;

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out(4);
    out[0] = {
        "analysis_run_info", "Information about analysis run.", prometheus::MetricType::Gauge, {}};
    out[1] = {"analysis_run_phase",
              "Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)",
              prometheus::MetricType::Gauge,
              {}};
    out[2] = {"analysis_run_metric_type",
              "Information on the type of a specific metric in the Analysis Runs.",
              prometheus::MetricType::Gauge,
              {}};
    out[3] = {"analysis_run_metric_phase",
              "Information on the duration of a specific metric in the Analysis Run.",
              prometheus::MetricType::Gauge,
              {}};
    absl::MutexLock lock(&mu);
    if (store == nullptr) return out;
    absl::StatusOr<std::vector<json>> runs = store->ListObjects("AnalysisRun", "", "");
    if (!runs.ok()) return out;
    for (const json& run : *runs) {
      const std::string ns = Str(run["metadata"], "namespace");
      const std::string name = Str(run["metadata"], "name");
      const json status = run.value("status", json::object());
      const std::string phase = Str(status, "phase");
      out[0].metric.push_back(Gauge(1, {{"namespace", ns}, {"name", name}, {"phase", phase}}));
      for (const char* p : kPhases) {
        const bool current = phase == p || (phase.empty() && std::string(p) == kPhasePending);
        out[1].metric.push_back(
            Gauge(current ? 1 : 0, {{"namespace", ns}, {"name", name}, {"phase", p}}));
      }
      const json spec = run.value("spec", json::object());
      const std::map<std::string, bool> dry = DryRunMetrics(spec);
      const json metrics = spec.value("metrics", json::array());
      if (!metrics.is_array()) continue;
      for (const json& metric : metrics) {
        const std::string metric_name = Str(metric, "name");
        const std::string type = ProviderType(metric);
        out[2].metric.push_back(
            Gauge(1, {{"namespace", ns}, {"name", name}, {"metric", metric_name}, {"type", type}}));
        std::string metric_phase;
        const json results = status.value("metricResults", json::array());
        if (results.is_array()) {
          for (const json& r : results) {
            if (Str(r, "name") == metric_name) metric_phase = Str(r, "phase");
          }
        }
        const std::string dry_run = dry.count(metric_name) > 0 ? "true" : "false";
        for (const char* p : kPhases) {
          const bool current =
              metric_phase == p || (metric_phase.empty() && std::string(p) == kPhasePending);
          out[3].metric.push_back(Gauge(current ? 1 : 0, {{"namespace", ns},
                                                          {"name", name},
                                                          {"metric", metric_name},
                                                          {"type", type},
                                                          {"dry_run", dry_run},
                                                          {"phase", p}}));
        }
      }
    }
    return out;
  }
};

absl::StatusOr<std::unique_ptr<AnalysisMetrics>> AnalysisMetrics::Create(
    metrics::MetricsRegistry& registry, resource::ResourceApi* store) {
  ASSIGN_OR_RETURN(
      metrics::HistogramFamily reconcile,
      registry.AddHistogram("analysis_run_reconcile", "Analysis Run reconciliation performance.",
                            {0.01, 0.15, 0.25, 0.5, 1}));
  ASSIGN_OR_RETURN(metrics::CounterFamily * errors,
                   registry.AddCounter("analysis_run_reconcile_error",
                                       "Error occurring during the analysis run"));
  auto source = std::make_shared<Source>();
  {
    absl::MutexLock lock(&source->mu);
    source->store = store;
  }
  registry.AddCollectable(source);
  return std::unique_ptr<AnalysisMetrics>(
      new AnalysisMetrics(std::move(source), std::move(reconcile), errors));
}

AnalysisMetrics::~AnalysisMetrics() {
  absl::MutexLock lock(&source_->mu);
  source_->store = nullptr;
}

void AnalysisMetrics::ObserveReconcile(const std::string& ns, const std::string& name,
                                       absl::Duration took, bool error) {
  reconcile_.WithLabels({{"namespace", ns}, {"name", name}}).Observe(absl::ToDoubleSeconds(took));
  if (error) errors_->Add({{"namespace", ns}, {"name", name}}).Increment();
}

}  // namespace argonaut::rollout::analysis
