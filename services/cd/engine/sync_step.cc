#include "services/cd/engine/sync_step.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/base/go_duration.h"
#include "lib/base/json_fields.h"
#include "services/cd/engine/diff.h"
#include "services/cd/engine/sync_tasks.h"

namespace argonaut::cd::engine {
namespace {

using base::json_fields::Bool;
using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

constexpr absl::Duration kWaveDelay = absl::Seconds(2);  // controller/sync.go delayBetweenSyncWaves
constexpr absl::Duration kPollDelay = absl::Seconds(1);

bool Terminal(std::string_view phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

bool HasDeletionTimestamp(const json& obj) {
  const json& ts = Field(Field(obj, "metadata"), "deletionTimestamp");
  return !ts.is_null() && !(ts.is_string() && ts.get<std::string>().empty());
}

// kubectl's way of naming what it touched: "deployment.apps/web", "service/web".
std::string KubectlName(const SyncTask& t) {
  ResourceKey key = t.Key();
  std::string kind = absl::AsciiStrToLower(key.kind);
  return key.group.empty() ? absl::StrCat(kind, "/", key.name)
                           : absl::StrCat(kind, ".", key.group, "/", key.name);
}

// Everything one step works on: the tasks, their stored results and the actions decided.
class Step {
 public:
  Step(const SyncStepInput& in, json state) : in_(in), state_(std::move(state)) {}

  SyncStepOutput Run();

 private:
  enum class RunState { kSuccessful, kPending, kFailed };

  void LoadSettings();
  json* FindEntry(const SyncTask& t);
  void SetResult(SyncTask& t, const std::string& sync_status, const std::string& op_state,
                 const std::string& message);
  void SetPhase(const std::string& phase, const std::string& message) {
    state_["phase"] = phase;
    state_["message"] = message;
  }
  void SetRunningPhase(const std::vector<SyncTask*>& tasks, bool pending_deletion);
  std::string ValidationError(const SyncTask& t) const;
  bool DryRunPass(std::vector<SyncTask*>& tasks);
  void RefreshRunning();
  RunState RunTasks(const std::vector<SyncTask*>& tasks, bool dry_run);
  void SetOperationFailed(const std::vector<SyncTask*>& sync_fail_tasks,
                          const std::vector<SyncTask*>& failed_tasks, const std::string& message);
  void DeleteHooks(const std::vector<SyncTask*>& hooks);
  void AddDelete(const SyncTask& t);
  bool Modified(const SyncTask& t) const;
  std::vector<SyncTask*> FilterOutOfSync(const std::vector<SyncTask*>& tasks) const;
  void Finish(SyncStepOutput& out);
  void Terminate();

  const SyncStepInput& in_;
  json state_;
  std::vector<SyncAction> actions_;
  std::optional<absl::Duration> requeue_;
  std::vector<SyncTask> tasks_;
  // Settings of the operation.
  json op_;
  bool dry_run_ = false, prune_ = false, selective_ = false, skip_hooks_ = false;
  bool prune_confirmed_ = false;
  SyncOptions options_;
  absl::Time started_at_;
};

void Step::LoadSettings() {
  const json& app = *in_.app;
  op_ = Field(state_, "operation");
  const json& sync = Field(op_, "sync");
  dry_run_ = Bool(sync, "dryRun");
  prune_ = Bool(sync, "prune");
  const json& resources = Field(sync, "resources");
  selective_ = resources.is_array() && !resources.empty();
  const json& strategy = Field(sync, "syncStrategy");
  skip_hooks_ = selective_ || strategy.contains("apply");
  const json& spec = Field(app, "spec");
  options_ =
      ParseSyncOptions(Field(Field(spec, "syncPolicy"), "syncOptions"), Field(sync, "syncOptions"));
  started_at_ = ParseK8sTime(Field(state_, "startedAt")).value_or(in_.now);
  // Prune=confirm: approved by an annotation newer than the start of the operation.
  const json& approved =
      Field(Field(Field(app, "metadata"), "annotations"), "argocd.argoproj.io/deletion-approved");
  if (std::optional<absl::Time> at = ParseK8sTime(approved)) prune_confirmed_ = *at >= started_at_;
}

json* Step::FindEntry(const SyncTask& t) {
  json& resources = state_["syncResult"]["resources"];
  if (!resources.is_array()) resources = json::array();
  ResourceKey key = t.Key();
  for (json& e : resources) {
    if (Str(e, "group") == key.group && Str(e, "kind") == key.kind &&
        Str(e, "namespace") == key.ns && Str(e, "name") == key.name &&
        Str(e, "syncPhase") == t.phase) {
      return &e;
    }
  }
  return nullptr;
}

void Step::SetResult(SyncTask& t, const std::string& sync_status, const std::string& op_state,
                     const std::string& message) {
  t.sync_status = sync_status;
  t.operation_state = op_state;
  if (!message.empty()) t.message = message;  // the latest message wins, an empty one never
  json* entry = FindEntry(t);
  if (entry == nullptr) {
    ResourceKey key = t.Key();
    json e = {{"group", key.group},  {"version", t.Version()}, {"kind", key.kind},
              {"namespace", key.ns}, {"name", key.name},       {"syncPhase", t.phase}};
    if (t.IsHook()) e["hookType"] = t.phase;
    state_["syncResult"]["resources"].push_back(std::move(e));
    entry = &state_["syncResult"]["resources"].back();
  }
  if (t.sync_status.empty()) {
    entry->erase("status");
  } else {
    (*entry)["status"] = t.sync_status;
  }
  (*entry)["hookPhase"] = t.operation_state;
  (*entry)["message"] = t.message;
}

void Step::SetRunningPhase(const std::vector<SyncTask*>& tasks, bool pending_deletion) {
  if (tasks.empty()) return;
  const SyncTask& first = *tasks.front();
  std::string waiting_for = first.IsHook() ? "completion of hook" : "healthy state of";
  std::string and_more = first.IsHook() ? "hooks" : "resources";
  if (pending_deletion) waiting_for = "deletion of";
  ResourceKey key = first.Key();
  std::string message =
      absl::StrCat("waiting for ", waiting_for, " ", key.group, "/", key.kind, "/", key.name);
  if (tasks.size() > 1) absl::StrAppend(&message, " and ", tasks.size() - 1, " more ", and_more);
  SetPhase("Running", message);
}

// Our stand-in for `kubectl apply --dry-run=client`: what the API server would refuse outright.
std::string Step::ValidationError(const SyncTask& t) const {
  const json& obj = *t.target;
  if (!obj.is_object()) return "object is not a JSON object";
  if (Str(obj, "apiVersion").empty()) return "apiVersion: required";
  if (Str(obj, "kind").empty()) return "kind: required";
  if (Str(Field(obj, "metadata"), "name").empty()) return "metadata.name: required";
  return "";
}

bool Step::DryRunPass(std::vector<SyncTask*>& tasks) {
  bool ok = true;
  for (SyncTask* t : tasks) {
    if (t->IsPrune()) {
      if (!dry_run_) continue;
      // A dry-run operation reports what pruning would do.
      std::optional<std::string> res_prune = ResourceSyncOption(*t->live, "Prune");
      std::string prune_opt = res_prune ? absl::AsciiStrToLower(*res_prune) : options_.prune;
      if (!prune_) {
        SetResult(*t, "PruneSkipped", "Succeeded", "ignored (requires pruning)");
      } else if (prune_opt == "false") {
        SetResult(*t, "PruneSkipped", "Succeeded", "ignored (no prune)");
      } else {
        SetResult(*t, "Pruned", "Succeeded", "pruned (dry run)");
      }
      continue;
    }
    std::string error = ValidationError(*t);
    if (!error.empty()) {
      SetResult(*t, "SyncFailed", "Failed", error);
      ok = false;
    } else if (dry_run_) {
      SetResult(*t, "Synced", "Succeeded",
                absl::StrCat(KubectlName(*t), t->live ? " configured" : " created", " (dry run)"));
    }
  }
  return ok;
}

void Step::RefreshRunning() {
  static const HealthScripts kNoScripts = HealthScripts::FromConfigMap(json::object());
  const HealthScripts& scripts = in_.scripts != nullptr ? *in_.scripts : kNoScripts;
  for (SyncTask& t : tasks_) {
    if (!t.Running() || t.auto_namespace) continue;
    if (!t.live) {
      // Applied objects carry the app's tracking, so a running one that is not among the app's
      // live objects was deleted behind the operation's back.
      SetResult(t, t.IsHook() ? "" : t.sync_status, "Failed",
                absl::StrCat("Resource ", t.Key().ToString(), " is missing"));
      continue;
    }
    std::optional<Health> health = AssessHealth(*t.live, scripts);
    if (t.IsHook()) {
      std::string phase = "Succeeded";
      std::string message = absl::StrCat(t.Key().name, " created");
      if (health) {
        if (health->status == "Unknown" || health->status == "Degraded") {
          phase = "Failed";
          message = health->message;
        } else if (health->status == "Progressing" || health->status == "Suspended") {
          phase = "Running";
          message = health->message;
        } else if (health->status == "Healthy") {
          message = health->message;
        }
      }
      SetResult(t, "", phase, message);
    } else if (!health) {
      SetResult(t, t.sync_status, "Succeeded", t.message);
    } else if (health->status == "Healthy") {
      SetResult(t, t.sync_status, "Succeeded", health->message);
    } else if (health->status == "Degraded") {
      SetResult(t, t.sync_status, "Failed", health->message);
    }
  }
}

void Step::AddDelete(const SyncTask& t) {
  actions_.push_back(SyncAction{.type = SyncAction::Type::kDelete,
                                .key = KeyOf(*t.live),
                                .object = *t.live,
                                .propagation = options_.prune_propagation,
                                .phase = t.phase,
                                .hook = t.IsHook()});
}

void Step::DeleteHooks(const std::vector<SyncTask*>& hooks) {
  if (dry_run_) return;
  for (const SyncTask* t : hooks) AddDelete(*t);
}

bool Step::Modified(const SyncTask& t) const {
  const json& ignore = Field(Field(*in_.app, "spec"), "ignoreDifferences");
  absl::StatusOr<ResourceDiff> diff =
      Diff(&*t.target, &*t.live, ignore.is_array() ? ignore : json::array());
  return !diff.ok() || diff->modified;
}

std::vector<SyncTask*> Step::FilterOutOfSync(const std::vector<SyncTask*>& tasks) const {
  std::vector<SyncTask*> out;
  for (SyncTask* t : tasks) {
    if (!t->IsHook() && t->target && t->live && !Modified(*t)) continue;
    out.push_back(t);
  }
  return out;
}

Step::RunState Step::RunTasks(const std::vector<SyncTask*>& tasks, bool dry_run) {
  dry_run = dry_run || dry_run_;
  std::vector<SyncTask*> prunes, creates;
  for (SyncTask* t : tasks) (t->IsPrune() ? prunes : creates).push_back(t);

  auto prune_option = [&](const SyncTask& t) {
    std::optional<std::string> v = ResourceSyncOption(*t.live, "Prune");
    return v ? absl::AsciiStrToLower(*v) : options_.prune;
  };
  if (!prune_confirmed_ && prune_) {
    std::vector<std::string> waiting;
    for (const SyncTask* t : prunes) {
      if (prune_option(*t) == "confirm") {
        waiting.push_back(
            absl::StrCat(Str(*t->live, "apiVersion"), "/", t->Key().kind, "/", t->Key().name));
      }
    }
    if (!waiting.empty()) {
      std::string more =
          waiting.size() > 1 ? absl::StrCat(" and ", waiting.size() - 1, " more resources") : "";
      state_["message"] = absl::StrCat("Waiting for pruning confirmation of ", waiting[0], more);
      return RunState::kPending;
    }
  }
  for (SyncTask* t : prunes) {
    if (!prune_) {
      SetResult(*t, "PruneSkipped", "Succeeded", "ignored (requires pruning)");
    } else if (prune_option(*t) == "false") {
      SetResult(*t, "PruneSkipped", "Succeeded", "ignored (no prune)");
    } else if (dry_run) {
      SetResult(*t, "Pruned", "Succeeded", "pruned (dry run)");
    } else {
      // Already on its way out: deleting again would only churn.
      if (!HasDeletionTimestamp(*t->live)) AddDelete(*t);
      SetResult(*t, "Pruned", "Succeeded", "pruned");
    }
  }

  RunState state = RunState::kSuccessful;
  for (SyncTask* t : creates) {
    if (t->live && t->Pending() && t->HasDeletePolicy("BeforeHookCreation")) {
      if (!dry_run) {
        if (!HasDeletionTimestamp(*t->live)) AddDelete(*t);
        state = RunState::kPending;
      }
    }
  }
  if (state != RunState::kSuccessful) return state;

  for (SyncTask* t : creates) {
    SyncAction action{
        .key = t->Key(), .object = *t->target, .phase = t->phase, .hook = t->IsHook()};
    std::optional<std::string> replace_opt = ResourceSyncOption(*t->target, "Replace");
    bool replace = replace_opt ? absl::AsciiStrToLower(*replace_opt) == "true" : options_.replace;
    std::string verb = t->live ? "configured" : "created";
    if (replace) {
      const std::string kind = t->Key().kind;
      // Replacing a CRD or a Namespace would delete everything in it: those are updated.
      if (!t->live) {
        action.type = SyncAction::Type::kCreate;
      } else if (kind == "CustomResourceDefinition" || kind == "Namespace") {
        action.type = SyncAction::Type::kApply;
      } else {
        action.type = SyncAction::Type::kReplace;
        verb = "replaced";
      }
    } else if (t->IsHook() && !t->live) {
      action.type = SyncAction::Type::kCreate;
    } else {
      action.type = SyncAction::Type::kApply;
    }
    if (!dry_run) actions_.push_back(std::move(action));
    std::string message = absl::StrCat(KubectlName(*t), " ", verb, dry_run ? " (dry run)" : "");
    // No health to wait for on the namespace this operation makes for itself.
    bool done_at_once = dry_run || t->auto_namespace;
    SetResult(*t, "Synced", done_at_once ? "Succeeded" : "Running", message);
  }
  return RunState::kSuccessful;
}

void Step::SetOperationFailed(const std::vector<SyncTask*>& sync_fail_tasks,
                              const std::vector<SyncTask*>& failed_tasks,
                              const std::string& message) {
  std::vector<std::string> reasons;
  for (const SyncTask* t : failed_tasks) reasons.push_back(t->message);
  std::string error =
      reasons.empty() ? message : absl::StrCat(message, ", reason: ", absl::StrJoin(reasons, ","));
  if (sync_fail_tasks.empty() || std::all_of(sync_fail_tasks.begin(), sync_fail_tasks.end(),
                                             [](const SyncTask* t) { return t->Completed(); })) {
    SetPhase("Failed", error);
    return;
  }
  // Start the SyncFail hooks; the operation fails once they have completed.
  RunTasks(sync_fail_tasks, false);
  requeue_ = kPollDelay;
}

void Step::Terminate() {
  static const HealthScripts kNoScripts = HealthScripts::FromConfigMap(json::object());
  const HealthScripts& scripts = in_.scripts != nullptr ? *in_.scripts : kNoScripts;
  for (SyncTask& t : tasks_) {
    if (!t.IsHook() || !t.live) continue;
    std::optional<Health> health = AssessHealth(*t.live, scripts);
    bool running = health && (health->status == "Progressing" || health->status == "Suspended");
    if (running) {
      AddDelete(t);
      SetResult(t, "", "Succeeded", "Deleted");
    }
  }
  SetPhase("Failed", "Operation terminated");
}

SyncStepOutput Step::Run() {
  SyncStepOutput out;
  LoadSettings();
  const json& app = *in_.app;
  const json& spec = Field(app, "spec");

  TaskInput task_input{
      .targets = in_.targets,
      .live = in_.live,
      .app_name = Str(Field(app, "metadata"), "name"),
      .revision = in_.revision,
      .started_at = started_at_,
      .dest_namespace = Str(Field(spec, "destination"), "namespace"),
      .options = options_,
      .skip_hooks = skip_hooks_,
  };
  if (selective_) task_input.resources = Field(Field(op_, "sync"), "resources");
  tasks_ = BuildSyncTasks(task_input);
  for (SyncTask& t : tasks_) {
    if (json* e = FindEntry(t)) {
      t.sync_status = Str(*e, "status");
      t.operation_state = Str(*e, "hookPhase");
      t.message = Str(*e, "message");
    }
  }

  if (Str(state_, "phase") == "Terminating") {
    Terminate();
    Finish(out);
    return out;
  }

  std::vector<SyncTask*> all;
  for (SyncTask& t : tasks_) all.push_back(&t);

  const bool started = !state_["syncResult"]["resources"].empty();
  if (!started) {
    std::vector<SyncTask*> dry = options_.apply_out_of_sync_only ? FilterOutOfSync(all) : all;
    if (!DryRunPass(dry)) {
      SetPhase("Failed", "one or more objects failed to apply (dry run)");
      Finish(out);
      return out;
    }
  }

  RefreshRunning();

  const bool multi_step = !tasks_.empty() && (tasks_.front().phase != tasks_.back().phase ||
                                              tasks_.front().Wave() != tasks_.back().Wave());
  std::vector<SyncTask*> running;
  for (SyncTask* t : all) {
    if ((multi_step || t->IsHook()) && t->Running()) running.push_back(t);
  }
  if (!running.empty()) {
    SetRunningPhase(running, false);
    requeue_ = kPollDelay;
    Finish(out);
    return out;
  }

  std::vector<SyncTask*> pruning;
  for (SyncTask* t : all) {
    if (t->sync_status == "Pruned" && t->live && HasDeletionTimestamp(*t->live)) {
      pruning.push_back(t);
    }
  }
  if (!pruning.empty()) {
    SetRunningPhase(pruning, true);
    requeue_ = kPollDelay;
    Finish(out);
    return out;
  }

  std::vector<SyncTask*> delete_on_success, delete_on_failure, sync_fail, tasks;
  for (SyncTask* t : all) {
    if (t->IsHook() && t->live && !t->Running()) {
      if (t->HasDeletePolicy("HookSucceeded")) delete_on_success.push_back(t);
      if (t->HasDeletePolicy("HookFailed")) delete_on_failure.push_back(t);
    }
    (t->phase == kSyncFail ? sync_fail : tasks).push_back(t);
  }
  std::vector<SyncTask*> failed;
  bool any_unsuccessful = false;
  for (SyncTask* t : tasks) {
    if (t->sync_status == "SyncFailed") failed.push_back(t);
    if (t->Completed() && !t->Successful()) any_unsuccessful = true;
  }
  if (any_unsuccessful) {
    DeleteHooks(delete_on_failure);
    SetOperationFailed(sync_fail, failed,
                       "one or more synchronization tasks completed unsuccessfully");
    Finish(out);
    return out;
  }

  std::vector<SyncTask*> pending;
  for (SyncTask* t : tasks) {
    if (t->Pending()) pending.push_back(t);
  }
  if (options_.apply_out_of_sync_only) pending = FilterOutOfSync(pending);
  if (pending.empty()) {
    DeleteHooks(delete_on_success);
    SetPhase("Succeeded", "successfully synced (no more tasks)");
    Finish(out);
    return out;
  }

  const std::string phase = pending.front()->phase;
  const int wave = pending.front()->Wave();
  const bool final_wave = phase == pending.back()->phase && wave == pending.back()->Wave();
  std::vector<SyncTask*> group, remaining;
  for (SyncTask* t : pending) {
    const bool in_group = t->phase == phase && t->Wave() == wave;
    if (in_group) group.push_back(t);
    if (!in_group || t->IsHook()) remaining.push_back(t);
  }
  SetPhase("Running", "one or more tasks are running");
  switch (RunTasks(group, false)) {
    case RunState::kFailed:  // never: actions are assumed to succeed (RecordActionFailure)
    case RunState::kSuccessful:
      if (remaining.empty()) {
        // The last group holds no hooks: done without waiting for health, as Argo CD does.
        DeleteHooks(delete_on_success);
        SetPhase("Succeeded", "successfully synced (all tasks run)");
      } else {
        SetRunningPhase(remaining, false);
        requeue_ = final_wave ? kPollDelay : kWaveDelay;
      }
      break;
    case RunState::kPending: {
      std::vector<SyncTask*> deleting;
      for (SyncTask* t : group) {
        if (t->live && (t->HasDeletePolicy("HookSucceeded") || t->HasDeletePolicy("HookFailed"))) {
          deleting.push_back(t);
        }
      }
      SetRunningPhase(deleting, true);
      requeue_ = kPollDelay;
      break;
    }
  }
  Finish(out);
  return out;
}

std::string Kitchen(absl::Time t) {
  absl::TimeZone utc = absl::UTCTimeZone();
  absl::CivilSecond c = absl::ToCivilSecond(t, utc);
  int hour = c.hour() % 12 == 0 ? 12 : c.hour() % 12;
  return absl::StrFormat("%d:%02d%s", hour, c.minute(), c.hour() < 12 ? "AM" : "PM");
}

// Terminal bookkeeping: retries (appcontroller.go processRequestedAppOperation), finishedAt and
// the history entry.
void Step::Finish(SyncStepOutput& out) {
  std::string phase = Str(state_, "phase");
  if (phase == "Failed" || phase == "Error") {
    const json& retry = Field(op_, "retry");
    int64_t limit = Field(retry, "limit").is_number_integer() ? retry["limit"].get<int64_t>() : 0;
    int64_t count =
        Field(state_, "retryCount").is_number_integer() ? state_["retryCount"].get<int64_t>() : 0;
    const bool terminated = Str(state_, "message") == "Operation terminated";
    if (!terminated && ((limit > 0 && count < limit) || limit < 0)) {
      std::optional<absl::Duration> wait = RetryBackoff(retry, static_cast<int>(count + 1));
      if (!wait) {
        SetPhase("Error", "retry.backoff: invalid duration");
      } else {
        state_["phase"] = "Running";
        state_["retryCount"] = count + 1;
        state_["finishedAt"] = FormatK8sTime(in_.now);
        state_["message"] = absl::StrCat(Str(state_, "message"), ". Retrying attempt #", count + 1,
                                         " at ", Kitchen(in_.now + *wait), ".");
        requeue_ = *wait;
      }
    } else if (count > 0) {
      state_["message"] = absl::StrCat(Str(state_, "message"), " (retried ", count, " times).");
    }
  }
  phase = Str(state_, "phase");
  if (Terminal(phase)) {
    out.done = true;
    requeue_.reset();
    state_["finishedAt"] = FormatK8sTime(in_.now);
    if (phase == "Succeeded" && !dry_run_ && !selective_) {
      const json& result = state_["syncResult"];
      json entry = {{"revision", Str(result, "revision")},
                    {"deployedAt", FormatK8sTime(in_.now)},
                    {"deployStartedAt", Str(state_, "startedAt")},
                    {"initiatedBy", Field(op_, "initiatedBy")}};
      for (const char* key : {"source", "sources"}) {
        if (!Field(result, key).is_null()) entry[key] = result[key];
      }
      out.history_entry = std::move(entry);
    }
  }
  out.operation_state = std::move(state_);
  out.actions = std::move(actions_);
  out.requeue_after = requeue_;
}

}  // namespace

std::string FormatK8sTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::optional<absl::Time> ParseK8sTime(const json& value) {
  if (!value.is_string()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &t, &err)) return std::nullopt;
  return t;
}

std::optional<absl::Duration> RetryBackoff(const json& retry, int retry_count) {
  absl::Duration duration = absl::Seconds(5);
  absl::Duration max_duration = absl::Minutes(3);
  double factor = 2;
  auto parse = [](const json& v, absl::Duration& out) {
    if (v.is_null()) return true;
    if (!v.is_string()) return false;
    std::string text = v.get<std::string>();
    int64_t seconds = 0;
    if (absl::SimpleAtoi(text, &seconds)) {
      out = absl::Seconds(seconds);
      return true;
    }
    absl::StatusOr<absl::Duration> d = base::ParseGoDuration(text);
    if (!d.ok()) return false;
    out = *d;
    return true;
  };
  const json& backoff = Field(retry, "backoff");
  if (!parse(Field(backoff, "duration"), duration)) return std::nullopt;
  if (!parse(Field(backoff, "maxDuration"), max_duration)) return std::nullopt;
  if (Field(backoff, "factor").is_number()) factor = backoff["factor"].get<double>();
  double wait = absl::ToDoubleSeconds(duration) * std::pow(factor, std::max(0, retry_count - 1));
  if (max_duration > absl::ZeroDuration()) {
    wait = std::min(wait, absl::ToDoubleSeconds(max_duration));
  }
  return absl::Seconds(wait);
}

SyncStepOutput SyncStep(const SyncStepInput& in) {
  static const json kNull;
  const json& app = in.app != nullptr ? *in.app : kNull;
  const json& operation = Field(app, "operation");
  json state = Field(Field(app, "status"), "operationState");
  const std::string phase = Str(state, "phase");
  const bool in_progress = phase == "Running" || phase == "Terminating";
  if (!in_progress) {
    SyncStepOutput out;
    if (!operation.is_object()) {
      out.operation_state = state;
      out.done = true;
      return out;
    }
    // What is synced: a rollback carries the history entry's source(s), otherwise the spec's.
    const json& sync = Field(operation, "sync");
    const json& spec = Field(app, "spec");
    json source;
    if (Field(sync, "sources").is_array() && !sync["sources"].empty()) {
      source = {{"sources", sync["sources"]}};
    } else if (Field(sync, "source").is_object()) {
      source = {{"source", sync["source"]}};
    } else if (Field(spec, "sources").is_array()) {
      source = {{"sources", spec["sources"]}};
    } else if (Field(spec, "source").is_object()) {
      source = {{"source", spec["source"]}};
    } else {
      source = json::object();
    }
    state = {{"operation", operation},
             {"phase", "Running"},
             {"message", ""},
             {"startedAt", FormatK8sTime(in.now)},
             {"syncResult", {{"resources", json::array()}, {"revision", in.revision}}}};
    state["syncResult"].update(source);
    if (!Field(operation, "sync").is_object()) {
      state["phase"] = "Failed";
      state["message"] = "Invalid operation request: no operation specified";
      state["finishedAt"] = FormatK8sTime(in.now);
      out.operation_state = std::move(state);
      out.done = true;
      return out;
    }
  } else if (phase == "Running" && Field(state, "finishedAt").is_string()) {
    // A failed attempt waiting for its retry.
    int count = Field(state, "retryCount").is_number_integer() ? state["retryCount"].get<int>() : 0;
    std::optional<absl::Duration> wait =
        RetryBackoff(Field(Field(state, "operation"), "retry"), std::max(count, 1));
    std::optional<absl::Time> finished = ParseK8sTime(state["finishedAt"]);
    if (wait && finished && in.now < *finished + *wait) {
      SyncStepOutput out;
      out.requeue_after = *finished + *wait - in.now;
      out.operation_state = std::move(state);
      return out;
    }
    state["message"] = absl::StrCat("Retrying operation. Attempt #", count);
    state.erase("finishedAt");
    state["syncResult"]["resources"] = json::array();
    state["syncResult"]["revision"] = in.revision;
  }
  if (!state["syncResult"].is_object()) state["syncResult"] = json::object();
  if (!state["syncResult"]["resources"].is_array()) {
    state["syncResult"]["resources"] = json::array();
  }
  if (in.app == nullptr) {
    SyncStepOutput out;
    out.operation_state = std::move(state);
    out.done = true;
    return out;
  }
  return Step(in, std::move(state)).Run();
}

void RecordActionFailure(json& operation_state, const SyncAction& action,
                         std::string_view message) {
  json& resources = operation_state["syncResult"]["resources"];
  if (!resources.is_array()) resources = json::array();
  std::string msg(message);
  for (json& e : resources) {
    if (Str(e, "group") == action.key.group && Str(e, "kind") == action.key.kind &&
        Str(e, "namespace") == action.key.ns && Str(e, "name") == action.key.name &&
        Str(e, "syncPhase") == action.phase) {
      if (action.type == SyncAction::Type::kDelete && action.hook) {
        e["hookPhase"] = "Error";
        e["message"] = absl::StrCat("failed to delete resource: ", msg);
      } else {
        e["status"] = "SyncFailed";
        e["hookPhase"] = "Failed";
        e["message"] = msg;
      }
      return;
    }
  }
  // A hook deleted before its (re)creation has no entry yet.
  json e = {{"group", action.key.group},
            {"version", VersionOf(action.object.value("apiVersion", ""))},
            {"kind", action.key.kind},
            {"namespace", action.key.ns},
            {"name", action.key.name},
            {"syncPhase", action.phase},
            {"hookPhase", action.hook ? "Error" : "Failed"},
            {"message", action.type == SyncAction::Type::kDelete
                            ? absl::StrCat("failed to delete resource: ", msg)
                            : msg}};
  if (action.hook) e["hookType"] = action.phase;
  if (!action.hook) e["status"] = "SyncFailed";
  resources.push_back(std::move(e));
}

}  // namespace argonaut::cd::engine
