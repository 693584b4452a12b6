#include "services/rollout/metrics.h"

#include <vector>

#include "lib/base/status_macros.h"

namespace argonaut::rollout {
namespace {

using nlohmann::json;

const std::vector<std::string>& MetricPhases() {
  static const auto* phases = new std::vector<std::string>{
      "Completed", "Progressing", "Paused", "Timeout", "Error", "Abort", "InvalidSpec"};
  return *phases;
}

const json& Field(const json& o, const char* key) {
  static const json* null = new json();
  if (!o.is_object()) return *null;
  auto it = o.find(key);
  return it == o.end() ? *null : *it;
}

std::string StringField(const json& o, const char* key) {
  const json& v = Field(o, key);
  return v.is_string() ? v.get<std::string>() : "";
}

double NumberField(const json& o, const char* key, double fallback) {
  const json& v = Field(o, key);
  return v.is_number() ? v.get<double>() : fallback;
}

const json* Condition(const json& rollout, const std::string& type) {
  const json& conditions = Field(Field(rollout, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (StringField(c, "type") == type) return &c;
  }
  return nullptr;
}

}  // namespace

std::string MetricPhaseOf(const json& rollout) {
  if (Condition(rollout, "InvalidSpec") != nullptr) return "InvalidSpec";
  if (const json* progressing = Condition(rollout, "Progressing")) {
    const std::string reason = StringField(*progressing, "reason");
    if (reason == "NewReplicaSetAvailable") return "Completed";
    if (reason == "RolloutPaused") return "Paused";
    if (reason == "ProgressDeadlineExceeded") return "Timeout";
    if (reason == "RolloutAborted") return "Abort";
    return "Progressing";
  }
  // Before the first condition is written: the four-valued status.phase.
  const std::string phase = StringField(Field(rollout, "status"), "phase");
  if (phase == "Healthy") return "Completed";
  if (phase == "Paused") return "Paused";
  if (phase == "Degraded") return "Error";
  return "Progressing";
}

std::string StrategyOf(const json& rollout) {
  const json& strategy = Field(Field(rollout, "spec"), "strategy");
  if (Field(strategy, "canary").is_object()) return "canary";
  if (Field(strategy, "blueGreen").is_object()) return "blueGreen";
  return "none";
}

std::string TrafficRouterOf(const json& rollout) {
  const json& routing =
      Field(Field(Field(Field(rollout, "spec"), "strategy"), "canary"), "trafficRouting");
  if (!routing.is_object()) return "";
  static const std::vector<std::pair<const char*, const char*>>* kRouters =
      new std::vector<std::pair<const char*, const char*>>{
          {"alb", "ALB"},         {"ambassador", "Ambassador"},
          {"istio", "Istio"},     {"nginx", "Nginx"},
          {"smi", "SMI"},         {"appMesh", "AppMesh"},
          {"traefik", "Traefik"}, {"apisix", "Apisix"},
          {"plugins", "Plugins"}};
  for (const auto& [key, label] : *kRouters) {
    if (routing.contains(key)) return label;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<RolloutMetrics>> RolloutMetrics::Create(
    metrics::MetricsRegistry& r) {
  auto m = std::unique_ptr<RolloutMetrics>(new RolloutMetrics());
  ASSIGN_OR_RETURN(m->info_, r.AddGauge("rollout_info", "Information about a rollout."));
  ASSIGN_OR_RETURN(m->phase_,
                   r.AddGauge("rollout_phase", "Phase of a rollout (deprecated: rollout_info)."));
  ASSIGN_OR_RETURN(m->available_, r.AddGauge("rollout_info_replicas_available",
                                             "Available replicas of a rollout."));
  ASSIGN_OR_RETURN(m->unavailable_, r.AddGauge("rollout_info_replicas_unavailable",
                                               "Unavailable replicas of a rollout."));
  ASSIGN_OR_RETURN(m->desired_,
                   r.AddGauge("rollout_info_replicas_desired", "Desired replicas of a rollout."));
  ASSIGN_OR_RETURN(m->updated_, r.AddGauge("rollout_info_replicas_updated",
                                           "Replicas of a rollout's current revision."));
  ASSIGN_OR_RETURN(m->errors_,
                   r.AddCounter("rollout_reconcile_error", "Failed reconciles of a rollout."));
  ASSIGN_OR_RETURN(m->events_, r.AddCounter("rollout_events_total", "Events of a rollout."));
  ASSIGN_OR_RETURN(metrics::HistogramFamily reconcile,
                   r.AddHistogram("rollout_reconcile", "Seconds one reconcile of a rollout took.",
                                  metrics::Buckets{0.01, 0.15, 0.25, 0.5, 1}));
  m->reconcile_ = std::make_unique<metrics::HistogramFamily>(reconcile);
  return m;
}

void RolloutMetrics::DropLocked(Series& s) {
  if (s.info != nullptr) info_->Remove(s.info);
  for (auto& [phase, g] : s.phases) phase_->Remove(g);
  if (s.available != nullptr) available_->Remove(s.available);
  if (s.unavailable != nullptr) unavailable_->Remove(s.unavailable);
  if (s.desired != nullptr) desired_->Remove(s.desired);
  if (s.updated != nullptr) updated_->Remove(s.updated);
  s = Series{};
}

void RolloutMetrics::ObserveRollout(const json& rollout, bool deleted) {
  const json& meta = Field(rollout, "metadata");
  std::string ns = StringField(meta, "namespace");
  if (ns.empty()) ns = "default";
  const std::string name = StringField(meta, "name");
  const std::string key = ns + "/" + name;
  absl::MutexLock lock(&mu_);
  auto it = series_.find(key);
  if (it != series_.end()) DropLocked(it->second);
  if (deleted) {
    if (it != series_.end()) series_.erase(it);
    return;
  }
  Series& s = series_[key];
  const std::string strategy = StrategyOf(rollout);
  const std::string phase = MetricPhaseOf(rollout);
  s.info = &info_->Add({{"namespace", ns},
                        {"name", name},
                        {"strategy", strategy},
                        {"traffic_router", TrafficRouterOf(rollout)},
                        {"phase", phase}});
  s.info->Set(1);
  for (const std::string& p : MetricPhases()) {
    prometheus::Gauge* g =
        &phase_->Add({{"namespace", ns}, {"name", name}, {"strategy", strategy}, {"phase", p}});
    g->Set(p == phase ? 1 : 0);
    s.phases[p] = g;
  }
  const json& status = Field(rollout, "status");
  const prometheus::Labels labels = {{"namespace", ns}, {"name", name}};
  const double desired = NumberField(Field(rollout, "spec"), "replicas", 1);
  const double available = NumberField(status, "availableReplicas", 0);
  s.desired = &desired_->Add(labels);
  s.desired->Set(desired);
  s.available = &available_->Add(labels);
  s.available->Set(available);
  s.unavailable = &unavailable_->Add(labels);
  s.unavailable->Set(std::max(0.0, NumberField(status, "replicas", 0) - available));
  s.updated = &updated_->Add(labels);
  s.updated->Set(NumberField(status, "updatedReplicas", 0));
}

void RolloutMetrics::ObserveReconcile(const std::string& ns, const std::string& name,
                                      absl::Duration elapsed) {
  reconcile_->WithLabels({{"namespace", ns}, {"name", name}})
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void RolloutMetrics::CountError(const std::string& ns, const std::string& name) {
  errors_->Add({{"namespace", ns}, {"name", name}}).Increment();
}

void RolloutMetrics::CountEvent(const std::string& ns, const std::string& name,
                                const std::string& type, const std::string& reason) {
  events_->Add({{"namespace", ns}, {"name", name}, {"type", type}, {"reason", reason}}).Increment();
}

}  // namespace argonaut::rollout
