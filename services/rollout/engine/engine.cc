// Reconcile(): builds the context (spec, ReplicaSets, runs, the status carried over), handles
// what every strategy shares (template change, retry, promoteFull, workloadRef) and hands over
// to the canary or blue-green reconciler.
#include "services/rollout/engine/engine.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
const Json::json_pointer kStepRun("/canary/currentStepAnalysisRunStatus");
const Json::json_pointer kBackgroundRun("/canary/currentBackgroundAnalysisRunStatus");
const Json::json_pointer kPreRun("/blueGreen/prePromotionAnalysisRunStatus");
const Json::json_pointer kPostRun("/blueGreen/postPromotionAnalysisRunStatus");

namespace {

namespace wl = ::argonaut::cluster::workloads;

void ClearAllRuns(Ctx& c) {
  for (const auto& p : {kStepRun, kBackgroundRun, kPreRun, kPostRun}) ClearRun(c, p);
}

// A new pod template (or new canary steps) starts the update over.
void ResetForUpdate(Ctx& c) {
  c.pause.clear();
  c.aborted = false;
  c.status.erase("abort");
  c.status.erase("abortedAt");
  c.status.erase("promoteFull");
  ClearAllRuns(c);
  if (c.status.contains("blueGreen") && c.status["blueGreen"].is_object()) {
    c.status["blueGreen"].erase("scaleUpPreviewCheckPoint");
  }
  if (c.spec.canary && !c.spec.steps.empty()) {
    c.status["currentStepIndex"] = 0;
  } else {
    c.status.erase("currentStepIndex");
  }
  c.progress = true;
}

void ScaleWorkload(Ctx& c) {
  if (!c.spec.workload_ref || !c.in.workload.has_value()) return;
  std::optional<int> want;
  const std::string& mode = c.spec.workload_scale_down;
  const Rs* n = c.NewRs();
  if (mode.empty()) {
    want = 0;
  } else if (mode == "onsuccess") {
    if (c.FullyPromoted() && n != nullptr && n->available >= c.spec.replicas) want = 0;
  } else if (mode == "progressively") {
    want = std::max(0, c.spec.replicas - (n == nullptr ? 0 : n->available));
  }
  if (!want.has_value()) return;
  const Json* spec = wl::Field(*c.in.workload, "spec");
  const int64_t current = spec == nullptr ? 1 : wl::IntOr(*spec, "replicas", 1);
  if (current != *want) c.out.workload_replicas = *want;
}

absl::StatusOr<RolloutOutput> ReconcileUnguarded(const RolloutInput& in) {
  absl::StatusOr<Spec> spec = ParseSpec(in.rollout, in.workload, in.services);
  if (!spec.ok()) {
    if (!absl::IsInvalidArgument(spec.status())) return spec.status();
    RolloutOutput out;
    out.status = InvalidSpecStatus(in, std::string(spec.status().message()));
    return out;
  }
  static const Json kEmpty = Json::object();
  const Json* prev_ptr = wl::Field(in.rollout, "status");
  const Json& prev = prev_ptr != nullptr && prev_ptr->is_object() ? *prev_ptr : kEmpty;
  Ctx c{.in = in, .spec = *spec, .prev = prev};
  c.status = prev;
  for (const char* recomputed : {"phase", "message", "replicas", "updatedReplicas", "readyReplicas",
                                 "availableReplicas", "HPAReplicas", "controllerPause"}) {
    c.status.erase(recomputed);
  }
  if (const Json* conds = wl::Field(prev, "pauseConditions");
      conds != nullptr && conds->is_array()) {
    for (const Json& p : *conds) {
      c.pause.push_back({wl::StrOr(p, "reason"), wl::StrOr(p, "startTime")});
    }
  }
  c.prev_controller_pause = prev.value("controllerPause", false);
  c.aborted = prev.value("abort", false);
  for (const Json& run : in.analysis_runs) c.runs.push_back(MakeRunView(run));
  RETURN_IF_ERROR(LoadReplicaSets(c));

  const std::string prev_hash = prev.value("currentPodHash", "");
  const bool steps_changed = c.spec.canary && prev.value("currentStepHash", "") != c.spec.step_hash;
  c.status["currentPodHash"] = c.new_hash;
  if (c.spec.canary) c.status["currentStepHash"] = c.spec.step_hash;
  if (const Json* meta = wl::Field(in.rollout, "metadata")) {
    c.status["observedGeneration"] = absl::StrCat(wl::IntOr(*meta, "generation", 0));
  }
  if (prev_hash != c.new_hash || steps_changed) {
    ResetForUpdate(c);
    if (!prev_hash.empty() && prev_hash != c.new_hash) {
      c.Event("Normal", "RolloutUpdated",
              absl::StrCat("Rollout updated to revision ", c.new_revision));
    }
    if (c.spec.canary && !c.spec.steps.empty() && c.stable_rs >= 0 &&
        c.new_hash == c.StableHash()) {
      c.status["currentStepIndex"] = static_cast<int>(c.spec.steps.size());
      c.Event("Normal", "SkipSteps", "Rollback to stable ReplicaSets");
    } else if (c.spec.canary && !c.spec.steps.empty() && RollbackWithinWindow(c)) {
      c.status["currentStepIndex"] = static_cast<int>(c.spec.steps.size());
      c.Event("Normal", "SkipSteps", "Rollback within window: skipping steps");
    } else if (!c.spec.canary && RollbackWithinWindow(c)) {
      c.Event("Normal", "SkipSteps", "Rollback within window: skipping pause and analysis");
    }
  } else if (!c.aborted && prev.contains("abortedAt")) {
    // Retry: the API cleared status.abort. Start the update again with fresh runs.
    c.status.erase("abortedAt");
    ClearAllRuns(c);
    if (c.status.contains("blueGreen") && c.status["blueGreen"].is_object()) {
      c.status["blueGreen"].erase("scaleUpPreviewCheckPoint");
    }
    c.progress = true;
    c.Event("Normal", "RolloutRetry", "Retried rollout");
  }

  if (c.spec.canary) {
    ReconcileCanary(c);
  } else {
    ReconcileBlueGreen(c);
  }
  SyncEphemeralMetadata(c);
  ReconcileRestart(c, !prev_hash.empty() && prev_hash != c.new_hash);
  ScaleWorkload(c);
  CollectReplicaSetActions(c);
  CollectRunActions(c);
  CollectExperimentActions(c);
  FinishStatus(c);
  c.out.requeue_after = c.requeue;
  c.out.status = std::move(c.status);
  return std::move(c.out);
}

}  // namespace

bool RollbackWithinWindow(const Ctx& c) {
  const Rs* n = c.new_rs < 0 ? nullptr : &c.rss[c.new_rs];
  const Rs* s = c.stable_rs < 0 ? nullptr : &c.rss[c.stable_rs];
  if (c.spec.rollback_window_revisions <= 0 || n == nullptr || s == nullptr || n->is_new_object ||
      !(n->created < s->created)) {
    return false;
  }
  int between = 0;
  for (const Rs& rs : c.rss) {
    if (n->created < rs.created && rs.created < s->created) ++between;
  }
  return between < c.spec.rollback_window_revisions;
}

absl::StatusOr<RolloutOutput> Reconcile(const RolloutInput& in) {
  // The spec is checked field by field; a status or observed object of an unexpected shape
  // (written by something else) must still not take the controller down.
  try {
    return ReconcileUnguarded(in);
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(absl::StrCat("rollout engine: unexpected object shape: ", e.what()));
  }
}

}  // namespace argonaut::rollout::engine
