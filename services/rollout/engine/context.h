// Internal to the rollout engine: the parsed spec, the view of the observed ReplicaSets and
// AnalysisRuns, and the state one Reconcile() call builds up. Not part of the public API.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/rollout/engine/engine.h"

namespace argonaut::rollout::engine {

using Json = nlohmann::json;

inline constexpr int32_t kDefaultRevisionHistoryLimit = 10;
inline constexpr int32_t kDefaultProgressDeadlineSeconds = 600;
inline constexpr int32_t kDefaultScaleDownDelaySeconds = 30;
inline constexpr int32_t kDefaultAbortScaleDownDelaySeconds = 30;
inline constexpr int32_t kDefaultRunHistoryLimit = 5;

// Pause condition reasons (status.pauseConditions[].reason).
inline constexpr char kPauseCanaryStep[] = "CanaryPauseStep";
inline constexpr char kPauseBlueGreen[] = "BlueGreenPause";
inline constexpr char kPauseInconclusive[] = "InconclusiveAnalysisRun";
inline constexpr char kPauseInconclusiveExperiment[] = "InconclusiveExperiment";

struct Step {
  enum class Kind { kSetWeight, kPause, kSetCanaryScale, kAnalysis, kExperiment, kNoOp, kPlugin };
  Kind kind = Kind::kNoOp;
  std::string field;                       // "setWeight", "pause", ... for messages
  int32_t weight = 0;                      // setWeight
  std::optional<absl::Duration> duration;  // pause; nullopt = until promoted
  // setCanaryScale: replicas or weight, or matchTrafficWeight.
  std::optional<int32_t> scale_replicas;
  std::optional<int32_t> scale_weight;
  bool match_traffic_weight = false;
  Json analysis;    // analysis step: the RolloutAnalysis block
  Json experiment;  // experiment step: the RolloutExperimentStep block
};

struct Spec {
  std::string name, ns;
  int32_t replicas = 1;
  Json selector;
  Json pod_template;
  int32_t min_ready_seconds = 0;
  int32_t revision_history_limit = kDefaultRevisionHistoryLimit;
  bool paused = false;
  int32_t progress_deadline_seconds = kDefaultProgressDeadlineSeconds;
  bool progress_deadline_abort = false;
  int32_t successful_run_history = kDefaultRunHistoryLimit;
  int32_t unsuccessful_run_history = kDefaultRunHistoryLimit;
  bool workload_ref = false;
  std::string workload_scale_down;  // never | onsuccess | progressively | "" (unset)

  bool canary = false;  // else blue-green
  int32_t scale_down_delay_seconds = kDefaultScaleDownDelaySeconds;
  int32_t abort_scale_down_delay_seconds = kDefaultAbortScaleDownDelaySeconds;

  // Canary.
  std::vector<Step> steps;
  std::string step_hash;
  std::string canary_service, stable_service;
  bool traffic_routing = false;
  std::string traffic_service;  // smi.rootService, else stableService
  int32_t max_surge = 0, max_unavailable = 0;
  int32_t max_weight = 100;
  Json background_analysis;  // null when none
  int32_t starting_step = 0;
  bool dynamic_stable_scale = false;
  int32_t min_pods_per_rs = 0;
  std::string progress_threshold_type;  // "" (100%), Percent, Pods
  int32_t progress_threshold_value = 100;

  // Blue-green.
  std::string active_service, preview_service;
  std::optional<int32_t> preview_replica_count;
  bool auto_promotion_enabled = true;
  int32_t auto_promotion_seconds = 0;
  Json pre_promotion_analysis, post_promotion_analysis;

  // spec.restartAt and how many pods a restart may take down at once (the strategy's
  // maxUnavailable, at least 1).
  std::optional<absl::Time> restart_at;
  int32_t restart_max_unavailable = 1;
  // scaleDownDelayRevisionLimit: old ReplicaSets kept up during their scale-down delay, newest
  // first; the rest scale down at once. Unset: no limit.
  std::optional<int32_t> scale_down_delay_revision_limit;
  int32_t rollback_window_revisions = 0;  // spec.rollbackWindow.revisions (0: none)
  // Ephemeral pod metadata {labels, annotations} (null: none): canaryMetadata or blue-green
  // previewMetadata for the new revision while it is not yet stable/active; stableMetadata or
  // activeMetadata for the stable/active one.
  Json canary_metadata, stable_metadata;
};

// Reads and checks the spec. InvalidArgument names the field ("spec.strategy.canary.steps[0]
// .setWeight: ..."); `workload` supplies the template when spec.workloadRef is used.
absl::StatusOr<Spec> ParseSpec(const Json& rollout, const std::optional<Json>& workload,
                               const std::map<std::string, Json>& services);

// "5" "5s" "1m30s" "2h" -> duration; bare integers (JSON or text) are seconds.
absl::StatusOr<absl::Duration> ParseStepDuration(const Json& value, std::string_view path);

// One observed (or about to be created) ReplicaSet.
struct Rs {
  Json obj;
  std::string name, hash;
  int32_t spec = 0;  // spec.replicas as the engine wants it (starts as observed)
  int32_t observed_spec = 0;
  int32_t replicas = 0, ready = 0, available = 0;  // status
  int64_t revision = 0;
  absl::Time created = absl::InfinitePast();
  std::optional<absl::Time> deadline;  // scale-down-deadline annotation
  bool is_new_object = false;
  bool annotations_changed = false;
};

Rs MakeRsView(const Json& rs);
void SetDeadline(Rs& rs, std::optional<absl::Time> deadline);
void SetRevision(Rs& rs, int64_t revision);

// Observed AnalysisRun.
struct Run {
  std::string name, type, phase, message, hash;
  int step_index = -1;
  bool terminating = false;
  absl::Time created = absl::InfinitePast();
};
Run MakeRunView(const Json& run);
bool RunCompleted(std::string_view phase);

// Pause condition list as read from and written to status.pauseConditions.
struct PauseCond {
  std::string reason;
  std::string start_time;  // RFC 3339, kept verbatim
};

// The state one reconcile builds: the input status (prev), the new status under construction
// and the collected actions.
struct Ctx {
  const RolloutInput& in;
  const Spec& spec;
  const Json& prev;  // input status (object)
  Json status;       // output status under construction
  RolloutOutput out;

  std::vector<Rs> rss;  // all owned ReplicaSets (+ the one being created)
  int new_rs = -1;      // index into rss
  int stable_rs = -1;
  std::string new_hash;
  int64_t new_revision = 0;

  std::vector<Run> runs;
  std::set<std::string> current_runs;  // names the new status refers to
  std::string current_experiment;      // the experiment the new status refers to

  std::vector<PauseCond> pause;  // new pause conditions
  bool prev_controller_pause = false;
  bool aborted = false;
  std::string abort_message;  // set when aborting in this call
  bool progress = false;      // something moved (progress deadline restarts)
  std::optional<absl::Duration> requeue;
  bool restarting = false;  // restartAt reached, pods still to restart (phase message)

  Rs* NewRs() { return new_rs < 0 ? nullptr : &rss[new_rs]; }
  Rs* StableRs() { return stable_rs < 0 ? nullptr : &rss[stable_rs]; }
  std::string StableHash() const { return status.value("stableRS", ""); }
  bool FullyPromoted() const { return !new_hash.empty() && StableHash() == new_hash; }
  bool HasPause(std::string_view reason) const;
  const PauseCond* FindPause(std::string_view reason) const;
  void AddPause(std::string_view reason);
  void RemovePause(std::string_view reason);
  void Requeue(absl::Duration d);
  void Event(std::string type, std::string reason, std::string message);
  void Abort(std::string message);
  const Run* FindRun(std::string_view name) const;
};

// replicasets.cc
absl::Status LoadReplicaSets(Ctx& c);  // classify, create the new RS object when missing
int64_t MaxRevision(const Ctx& c);
void ScaleRs(Ctx& c, Rs& rs, int32_t replicas);
// Old RS scale-down with scaleDownDelaySeconds deadlines (blue-green and traffic-routed canary);
// `max_scale_down` < 0 = unlimited.
void ScaleDownOthers(Ctx& c, bool with_delay, int32_t max_scale_down);
void AbortScaleDown(Ctx& c);            // new RS after an abort with abortScaleDownDelaySeconds
void CollectReplicaSetActions(Ctx& c);  // creates/updates/history-limit deletes

// status.cc: marks the new revision stable (Argo's promoteStable).
void PromoteStable(Ctx& c, std::string_view reason);
// The progress deadline passed without progress (not while paused or aborted).
bool ProgressTimedOut(const Ctx& c);

// engine.cc: spec.rollbackWindow: the template went back to a revision created before the
// stable one with fewer than `revisions` ReplicaSets created between the two (Argo's fast-track
// rollback: canary steps, blue-green pause and analyses are skipped).
bool RollbackWithinWindow(const Ctx& c);

// canary.cc / bluegreen.cc
void ReconcileCanary(Ctx& c);
void ReconcileBlueGreen(Ctx& c);

// Where the rollout status records its current AnalysisRuns.
extern const Json::json_pointer kStepRun;
extern const Json::json_pointer kBackgroundRun;
extern const Json::json_pointer kPreRun;
extern const Json::json_pointer kPostRun;

// analysis.cc
// Observes the run recorded under status[`field`...]; Failed/Error abort, Inconclusive pauses.
// Returns the run's phase ("" when none or still pending).
std::string ObserveRun(Ctx& c, const Json::json_pointer& field);
// Ensures a run of `type` exists for `analysis` (creating a request when none is current).
void EnsureRun(Ctx& c, const Json::json_pointer& field, const Json& analysis, std::string_view type,
               int step_index);
void ClearRun(Ctx& c, const Json::json_pointer& field);
void CollectRunActions(Ctx& c);  // terminate non-current runs, history limits

// Resolves rollout-side args (podTemplateHashValue, fieldRef) of an analysis block to values.
absl::StatusOr<Json> ResolveArgs(const Ctx& c, const Json& analysis);

// experiment.cc
// The experiment step at `idx`: creates its Experiment when missing and reads its phase
// (Successful, "Resumed" after a promote of an inconclusive one, or "" while it runs);
// Failed/Error abort, Inconclusive pauses.
std::string ObserveExperiment(Ctx& c, int idx);
// Keeps status.canary.currentExperiment only while it belongs to the current step.
void SettleExperiment(Ctx& c, int idx);
void CollectExperimentActions(Ctx& c);  // terminate non-current experiments, history limits

// restart.cc: evicts pods created before spec.restartAt, at most restart_max_unavailable
// unavailable at a time across the ReplicaSets, then records status.restartedAt. A template
// change (`template_changed`) cancels the restart: the update replaces the pods anyway.
void ReconcileRestart(Ctx& c, bool template_changed);

// ephemeral.cc: puts the role's ephemeral metadata on each ReplicaSet's pod template and patches
// its running pods in place (canary/preview on the new revision until it is stable/active,
// stable/active on the stable/active one, none on the others).
void SyncEphemeralMetadata(Ctx& c);
// The ReplicaSet (index into c.rss) a pod belongs to: its controller ownerReference, else its
// hash label; -1 if none.
int PodOwnerIndex(const Ctx& c, const Json& pod);

// status.cc
void FinishStatus(Ctx& c);
Json InvalidSpecStatus(const RolloutInput& in, std::string_view message);
std::string RolloutPhaseMessage(const Json& status, const Spec& spec, std::string* message);

}  // namespace argonaut::rollout::engine
