// The canary strategy (Argo's rollout/canary.go): step progression, the weight in effect, the
// replica counts (basic or traffic-routed), traffic weights and Service selectors.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/canary_math.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

int StepIndex(const Ctx& c) {
  const int n = static_cast<int>(c.spec.steps.size());
  const Json* v = wl::Field(c.status, "currentStepIndex");
  int idx = v != nullptr && v->is_number_integer() ? v->get<int>() : 0;
  return std::clamp(idx, 0, n);
}

void SetStepIndex(Ctx& c, int idx) {
  if (c.spec.steps.empty()) {
    c.status.erase("currentStepIndex");
  } else {
    c.status["currentStepIndex"] = idx;
  }
}

struct Desired {
  int32_t weight = 0;
  std::optional<int32_t> scale_replicas;
};

// GetCanaryReplicasOrWeight: the weight (or setCanaryScale replicas) the canary should have.
Desired DesiredWeight(const Ctx& c, int idx) {
  Desired d;
  const int n = static_cast<int>(c.spec.steps.size());
  if (c.status.value("promoteFull", false) || c.StableHash().empty() || c.FullyPromoted()) {
    d.weight = c.spec.max_weight;
    return d;
  }
  if (c.aborted) return d;
  if (idx >= n) {
    d.weight = c.spec.max_weight;
    return d;
  }
  for (int i = idx; i >= 0; --i) {
    const Step& s = c.spec.steps[i];
    if (s.kind != Step::Kind::kSetCanaryScale) continue;
    if (s.match_traffic_weight) break;
    if (s.scale_replicas.has_value()) {
      d.scale_replicas = s.scale_replicas;
      return d;
    }
    d.weight = s.scale_weight.value_or(0);
    return d;
  }
  for (int i = idx; i >= 0; --i) {
    if (c.spec.steps[i].kind == Step::Kind::kSetWeight) {
      d.weight = c.spec.steps[i].weight;
      return d;
    }
  }
  return d;
}

std::optional<int32_t> StatusWeight(const Ctx& c, const char* side) {
  const Json* w = wl::FieldPath(c.prev, {"canary", "weights", side, "weight"});
  if (w == nullptr || !w->is_number_integer()) return std::nullopt;
  return w->get<int32_t>();
}

int32_t OthersSpec(const Ctx& c) {
  int32_t sum = 0;
  for (size_t i = 0; i < c.rss.size(); ++i) {
    if (static_cast<int>(i) != c.new_rs && static_cast<int>(i) != c.stable_rs) sum += c.rss[i].spec;
  }
  return sum;
}

int32_t OthersAvailable(const Ctx& c) {
  int32_t sum = 0;
  for (size_t i = 0; i < c.rss.size(); ++i) {
    if (static_cast<int>(i) != c.new_rs && static_cast<int>(i) != c.stable_rs) {
      sum += c.rss[i].available;
    }
  }
  return sum;
}

// (canary, stable) this sync wants, from the observed sizes.
std::pair<int32_t, int32_t> Counts(Ctx& c, int idx) {
  const Desired d = DesiredWeight(c, idx);
  const Rs* n = c.NewRs();
  const Rs* s = c.StableRs();
  if (c.spec.traffic_routing) {
    TrafficRoutedInput t{.replicas = c.spec.replicas,
                         .weight = d.weight,
                         .max_weight = c.spec.max_weight,
                         .canary_scale_replicas = d.scale_replicas,
                         .min_pods_per_rs = c.spec.min_pods_per_rs,
                         .dynamic_stable_scale = c.spec.dynamic_stable_scale,
                         .aborted = c.aborted,
                         .actual_canary_weight = StatusWeight(c, "canary"),
                         .actual_stable_weight = StatusWeight(c, "stable")};
    return TrafficRoutedCounts(t);
  }
  BasicCanaryInput b{.replicas = c.spec.replicas,
                     .weight = d.weight,
                     .max_weight = c.spec.max_weight,
                     .max_surge = c.spec.max_surge,
                     .max_unavailable = c.spec.max_unavailable,
                     .others_spec = OthersSpec(c)};
  if (n != nullptr) b.canary = RsSize{n->spec, n->available};
  if (s != nullptr) b.stable = RsSize{s->spec, s->available};
  return BasicCanaryCounts(b);
}

bool CanaryProgressed(const Ctx& c, const Rs& n, int32_t desired) {
  if (n.spec != desired) return false;
  if (c.spec.progress_threshold_type == "Pods") {
    return n.available >= std::min(c.spec.progress_threshold_value, desired);
  }
  if (c.spec.progress_threshold_type == "Percent") {
    const int64_t need =
        (static_cast<int64_t>(c.spec.progress_threshold_value) * desired + 99) / 100;
    return n.available >= need;
  }
  return n.available == desired;
}

// AtDesiredReplicaCountsForCanary, over the observed ReplicaSets.
bool AtDesiredCounts(Ctx& c, int idx) {
  const Rs* n = c.NewRs();
  const Rs* s = c.StableRs();
  if (n == nullptr || s == nullptr) return false;
  auto [canary, stable] = Counts(c, idx);
  if (!CanaryProgressed(c, *n, canary)) return false;
  if (!c.spec.dynamic_stable_scale && (s->spec != stable || s->replicas != stable)) return false;
  return c.spec.traffic_routing || OthersAvailable(c) == 0;
}

std::string StepText(const Step& s) {
  switch (s.kind) {
    case Step::Kind::kSetWeight:
      return absl::StrCat("setWeight: ", s.weight);
    case Step::Kind::kPause:
      return s.duration.has_value() ? absl::StrCat("pause: ", absl::FormatDuration(*s.duration))
                                    : "pause";
    default:
      return s.field;
  }
}

// Enters step `idx`: pause steps pause at once, analysis steps start their run.
void EnterStep(Ctx& c, int idx) {
  if (idx >= static_cast<int>(c.spec.steps.size())) return;
  const Step& s = c.spec.steps[idx];
  if (s.kind == Step::Kind::kPause && !c.HasPause(kPauseCanaryStep)) {
    c.AddPause(kPauseCanaryStep);
    if (s.duration.has_value()) c.Requeue(*s.duration);
  }
  if (s.kind == Step::Kind::kAnalysis) EnsureRun(c, kStepRun, s.analysis, "Step", idx);
  if (s.kind == Step::Kind::kExperiment) ObserveExperiment(c, idx);
}

// One step at most per call, as Argo's controller does per sync.
void ProgressSteps(Ctx& c, const std::string& step_phase) {
  const int n = static_cast<int>(c.spec.steps.size());
  int idx = StepIndex(c);
  if (idx >= n) return;
  const Step& s = c.spec.steps[idx];
  bool done = false;
  switch (s.kind) {
    case Step::Kind::kPause: {
      const PauseCond* cond = c.FindPause(kPauseCanaryStep);
      if (cond != nullptr && s.duration.has_value()) {
        auto start = wl::ParseK8sTime(cond->start_time);
        const absl::Time end = (start.ok() ? *start : c.in.now) + *s.duration;
        if (c.in.now >= end) {
          done = true;
        } else {
          c.Requeue(end - c.in.now);
        }
      } else if (cond == nullptr && c.prev_controller_pause) {
        done = true;  // the pause condition was removed: promoted
      } else if (cond == nullptr) {
        EnterStep(c, idx);
      }
      break;
    }
    case Step::Kind::kSetWeight:
    case Step::Kind::kSetCanaryScale:
      done = AtDesiredCounts(c, idx);
      break;
    case Step::Kind::kAnalysis:
      if (step_phase == "Successful" || step_phase == "Resumed") {
        done = true;
      } else if (!c.aborted) {
        EnsureRun(c, kStepRun, s.analysis, "Step", idx);
      }
      break;
    case Step::Kind::kExperiment: {
      const std::string phase = ObserveExperiment(c, idx);
      done = phase == "Successful" || phase == "Resumed";
      break;
    }
    case Step::Kind::kPlugin:
      c.Abort(absl::StrCat("spec.strategy.canary.steps[", idx, "].", s.field, ": ", s.field,
                           " steps are not supported yet"));
      return;
    case Step::Kind::kNoOp:
      done = true;
      break;
  }
  if (!done || c.aborted) return;
  c.RemovePause(kPauseCanaryStep);
  ClearRun(c, kStepRun);
  SetStepIndex(c, idx + 1);
  c.progress = true;
  c.Event("Normal", "RolloutStepCompleted",
          absl::StrCat("Rollout step ", idx + 1, "/", n, " completed (", StepText(s), ")"));
  EnterStep(c, idx + 1);
}

void Scale(Ctx& c, int idx) {
  Rs* n = c.NewRs();
  Rs* s = c.StableRs();
  const int32_t r = c.spec.replicas;
  int32_t available_all = 0, spec_all = 0;
  for (const Rs& rs : c.rss) {
    available_all += rs.available;
    spec_all += rs.spec;
  }
  const int32_t budget = std::max(0, available_all - (r - c.spec.max_unavailable));
  const bool delay = c.spec.traffic_routing && !c.spec.dynamic_stable_scale;
  if (n == s) {
    // Fully promoted: the one version at full size; older ones go.
    int32_t want = r;
    if (!c.spec.traffic_routing && n->spec < r) {
      want = n->spec + std::clamp(r + c.spec.max_surge - spec_all, 0, r - n->spec);
    }
    SetDeadline(*n, std::nullopt);
    ScaleRs(c, *n, want);
    ScaleDownOthers(c, delay, budget);
    return;
  }
  auto [canary, stable] = Counts(c, idx);
  if (c.aborted && c.spec.traffic_routing && !c.spec.dynamic_stable_scale) {
    AbortScaleDown(c);
  } else {
    SetDeadline(*n, std::nullopt);
    ScaleRs(c, *n, canary);
  }
  if (s != nullptr) {
    SetDeadline(*s, std::nullopt);
    ScaleRs(c, *s, stable);
  }
  ScaleDownOthers(c, delay, budget);
}

// The router's weights (Argo's reconcileTrafficRouting), from the observed ReplicaSets.
void Traffic(Ctx& c, int idx) {
  const int n_steps = static_cast<int>(c.spec.steps.size());
  const Rs* n = c.NewRs();
  const Rs* s = c.StableRs();
  const int32_t max = c.spec.max_weight;
  int32_t w = 0;
  if (c.FullyPromoted()) {
    w = 0;
  } else if (c.aborted) {
    if (c.spec.dynamic_stable_scale && s != nullptr && c.spec.replicas > 0) {
      w = max - (max * s->available) / c.spec.replicas;
      if (auto prev = StatusWeight(c, "canary")) w = std::min(w, *prev);
      w = std::max(w, 0);
    }
  } else if (n == nullptr || n->available == 0) {
    w = 0;
  } else if (idx < n_steps) {
    if (!AtDesiredCounts(c, idx) && !c.status.value("promoteFull", false)) {
      for (int i = idx - 1; i >= 0; --i) {
        if (c.spec.steps[i].kind == Step::Kind::kSetWeight) {
          w = c.spec.steps[i].weight;
          break;
        }
      }
    } else {
      for (int i = idx; i >= 0; --i) {
        if (c.spec.steps[i].kind == Step::Kind::kSetWeight) {
          w = c.spec.steps[i].weight;
          break;
        }
      }
    }
  } else {
    w = max;
  }
  const std::string stable_hash = c.StableHash().empty() ? c.new_hash : c.StableHash();
  c.status["canary"]["weights"] = {
      {"canary",
       {{"podTemplateHash", c.new_hash}, {"weight", w}, {"serviceName", c.spec.canary_service}}},
      {"stable",
       {{"podTemplateHash", stable_hash},
        {"weight", max - w},
        {"serviceName", c.spec.stable_service}}}};
  TrafficAction action;
  action.service = c.spec.traffic_service;
  action.weights[stable_hash] += max - w;
  action.weights[c.new_hash] += w;
  c.out.traffic = std::move(action);
}

}  // namespace

void ReconcileCanary(Ctx& c) {
  const int n = static_cast<int>(c.spec.steps.size());
  if (!c.status.contains("canary") || !c.status["canary"].is_object()) {
    c.status["canary"] = Json::object();
  }
  if (c.StableRs() == nullptr) PromoteStable(c, "Initial deploy");
  if (c.status.value("promoteFull", false) && !c.FullyPromoted()) {
    c.pause.clear();
    c.aborted = false;
    c.status.erase("abort");
    SetStepIndex(c, n);
  }
  if (!c.aborted && !c.FullyPromoted() && ProgressTimedOut(c) && c.spec.progress_deadline_abort) {
    const int idx = StepIndex(c);
    const bool indefinite = idx < n && (c.spec.steps[idx].kind == Step::Kind::kPause ||
                                        c.spec.steps[idx].kind == Step::Kind::kAnalysis ||
                                        c.spec.steps[idx].kind == Step::Kind::kExperiment);
    if (!indefinite) {
      c.Abort(absl::StrCat("ReplicaSet \"", c.NewRs()->name, "\" has timed out progressing."));
    }
  }

  std::string step_phase, bg_phase;
  if (c.FullyPromoted()) {
    ClearRun(c, kStepRun);
    ClearRun(c, kBackgroundRun);
  } else {
    // A step run only speaks for its own step (the API may have moved the index on).
    if (c.status.contains(kStepRun)) {
      const Run* r = c.FindRun(c.status[kStepRun].value("name", ""));
      if (r != nullptr && (r->step_index != StepIndex(c) || r->hash != c.new_hash)) {
        ClearRun(c, kStepRun);
      }
    }
    step_phase = ObserveRun(c, kStepRun);
    bg_phase = ObserveRun(c, kBackgroundRun);
  }
  const bool halted =
      c.spec.paused || c.HasPause(kPauseInconclusive) || c.HasPause(kPauseInconclusiveExperiment);
  if (c.aborted) {
    c.pause.clear();
    SetStepIndex(c, c.FullyPromoted() ? n : 0);
  } else if (!halted && !c.FullyPromoted()) {
    ProgressSteps(c, step_phase);
  }
  // Every step done and the canary fully available: it becomes the stable version.
  const Rs* nrs = c.NewRs();
  if (!c.aborted && !c.FullyPromoted() && nrs != nullptr && nrs->available >= c.spec.replicas &&
      (StepIndex(c) >= n || c.status.value("promoteFull", false))) {
    PromoteStable(c, c.status.value("promoteFull", false)
                         ? std::string("Full promotion requested")
                         : absl::StrCat("Completed all ", n, " canary steps"));
    ClearRun(c, kBackgroundRun);
    ClearRun(c, kStepRun);
  }
  if (!c.aborted && !c.FullyPromoted()) {
    // Keep the current runs current.
    const int idx = StepIndex(c);
    if (idx < n && c.spec.steps[idx].kind == Step::Kind::kAnalysis) {
      EnsureRun(c, kStepRun, c.spec.steps[idx].analysis, "Step", idx);
    } else {
      ClearRun(c, kStepRun);
    }
    if (!c.spec.background_analysis.is_null() && idx >= c.spec.starting_step) {
      if (bg_phase == "Resumed") ClearRun(c, kBackgroundRun);
      if (!c.HasPause(kPauseInconclusive) || bg_phase != "Inconclusive") {
        EnsureRun(c, kBackgroundRun, c.spec.background_analysis, "Background", -1);
      }
    }
  }
  SettleExperiment(c, StepIndex(c));
  // Runs named in the status stay (for display) but only current ones are protected.
  for (const auto& field : {kStepRun, kBackgroundRun}) {
    if (c.aborted && c.status.contains(field)) {
      const std::string name = c.status[field].value("name", "");
      const Run* r = c.FindRun(name);
      if (r != nullptr && RunCompleted(r->phase)) c.current_runs.insert(name);
    }
  }

  if (!halted) Scale(c, StepIndex(c));
  if (c.spec.traffic_routing && !c.spec.traffic_service.empty()) Traffic(c, StepIndex(c));
  if (!c.spec.canary_service.empty()) c.out.service_selectors[c.spec.canary_service] = c.new_hash;
  if (!c.spec.stable_service.empty() && c.spec.stable_service != c.spec.traffic_service) {
    c.out.service_selectors[c.spec.stable_service] =
        c.StableHash().empty() ? c.new_hash : c.StableHash();
  }
  if (c.status["canary"].empty()) c.status.erase("canary");
}

}  // namespace argonaut::rollout::engine
