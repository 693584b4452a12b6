// One step of a sync operation (Argo CD's gitops-engine sync_context.go Sync(), driven by
// controller/sync.go and appcontroller.go's retry logic). The controller calls SyncStep again and
// again while app.operation is set: each call rebuilds the task list from the targets and live
// objects, restores progress from status.operationState.syncResult.resources, decides the next
// actions and returns the complete new operationState. All progress is in that state, so a
// restarted controller resumes where it stopped.
//
//   SyncStepOutput out = SyncStep({.app = &app, .targets = t, .revision = rev, .live = l,
//                                  .scripts = &scripts, .now = clock->Now()});
//   for (const SyncAction& a : out.actions) if (!Execute(a).ok()) RecordActionFailure(...);
//   app["status"]["operationState"] = out.operation_state;   // clear app.operation if out.done
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/health.h"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {

struct SyncStepInput {
  const nlohmann::json* app = nullptr;  // metadata, spec, status (operationState so far), operation
  std::vector<nlohmann::json> targets;  // PrepareTarget()ed manifests at the revision (with hooks)
  std::string revision;
  std::vector<nlohmann::json> live;  // objects that BelongTo the app, hooks of this op included
  const HealthScripts* scripts = nullptr;
  absl::Time now;
};

struct SyncAction {
  enum class Type { kApply, kCreate, kReplace, kDelete };
  Type type = Type::kApply;
  ResourceKey key;
  nlohmann::json object;  // kDelete: the live object
  std::string propagation = "foreground";
  std::string phase;  // PreSync|Sync|PostSync|SyncFail (for the result entry)
  bool hook = false;
};

struct SyncStepOutput {
  // The complete new status.operationState: {operation, phase, message, syncResult{resources,
  // revision, source|sources}, startedAt, finishedAt, retryCount}.
  nlohmann::json operation_state;
  std::vector<SyncAction> actions;  // in order; their result entries already assume success
  bool done = false;                // phase is terminal: the controller clears app.operation
  // A full (not dry-run, not selective) sync succeeded: {revision|revisions, source|sources,
  // deployedAt, deployStartedAt, initiatedBy}; the controller adds `id` and appends it.
  std::optional<nlohmann::json> history_entry;
  std::optional<absl::Duration> requeue_after;
};

SyncStepOutput SyncStep(const SyncStepInput& in);

// An action failed: its result entry becomes SyncFailed/Failed with `message`, so the next step
// fails the operation (and runs the SyncFail hooks). A failed hook deletion is recorded with
// hookPhase Error.
void RecordActionFailure(nlohmann::json& operation_state, const SyncAction& action,
                         std::string_view message);

// The wait before retry number `retry_count` (1-based) of operation.retry: duration (default
// 5s) * factor (default 2) ^ (retry_count - 1), capped at maxDuration (default 3m). Durations are
// Go duration strings or whole seconds. nullopt when a duration does not parse.
std::optional<absl::Duration> RetryBackoff(const nlohmann::json& retry, int retry_count);

// RFC 3339, UTC, second precision (Kubernetes' metav1.Time).
std::string FormatK8sTime(absl::Time t);
std::optional<absl::Time> ParseK8sTime(const nlohmann::json& value);

}  // namespace argonaut::cd::engine
