// The task list of a sync operation (Argo CD's gitops-engine pkg/sync: sync_tasks.go, hook/*,
// syncwaves, ignore): which objects are applied, pruned or run as hooks, in which phase and wave,
// and in which order. Pure: the same targets, live objects and operation settings always give the
// same list, so SyncStep can rebuild it on every step and resume from the results it stored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {

inline constexpr char kHookAnnotation[] = "argocd.argoproj.io/hook";
inline constexpr char kHookDeletePolicyAnnotation[] = "argocd.argoproj.io/hook-delete-policy";
inline constexpr char kSyncWaveAnnotation[] = "argocd.argoproj.io/sync-wave";
inline constexpr char kSyncOptionsAnnotation[] = "argocd.argoproj.io/sync-options";
inline constexpr char kHelmHookAnnotation[] = "helm.sh/hook";
inline constexpr char kHelmHookWeightAnnotation[] = "helm.sh/hook-weight";
inline constexpr char kHelmHookDeletePolicyAnnotation[] = "helm.sh/hook-delete-policy";

// Sync phases in execution order.
inline constexpr char kPreSync[] = "PreSync";
inline constexpr char kSync[] = "Sync";
inline constexpr char kPostSync[] = "PostSync";
inline constexpr char kSyncFail[] = "SyncFail";

// The hook types of an object: the known values of the Argo CSV annotation (PreSync, Sync,
// PostSync, SyncFail, Skip, PreDelete, PostDelete), or, only when there is none, Helm's
// pre-install|pre-upgrade -> PreSync and post-install|post-upgrade -> PostSync.
std::vector<std::string> HookTypes(const nlohmann::json& obj);
// A hook: carries the Argo annotation (other than `Skip` alone) or a Helm hook annotation (other
// than crd-install). A hook whose values are all unknown (Helm `test`, ...) is IsIgnored.
bool IsHook(const nlohmann::json& obj);
bool IsSkipped(const nlohmann::json& obj);  // `Skip` alone: never applied
bool IsIgnored(const nlohmann::json& obj);  // a hook with no known type: left out entirely
// Phases the object runs in (PreSync..SyncFail order; one task each): Sync for a plain resource,
// the hook's phases for a hook (PreDelete/PostDelete belong to app deletion, not here), none when
// skipped.
std::vector<std::string> SyncPhasesOf(const nlohmann::json& obj);
// HookSucceeded | HookFailed | BeforeHookCreation from the Argo CSV and Helm's
// before-hook-creation|hook-succeeded|hook-failed; none given means BeforeHookCreation.
std::vector<std::string> HookDeletePolicies(const nlohmann::json& obj);
// argocd.argoproj.io/sync-wave, else helm.sh/hook-weight, else 0 (unparsable counts as absent).
int SyncWave(const nlohmann::json& obj);
int PhaseOrder(std::string_view phase);  // PreSync -1, Sync 0, PostSync 1, SyncFail 2
// Helm's kind order, all negative; every kind not in the list (custom resources) is 0, i.e. last.
int KindRank(std::string_view kind);
// metadata.name for a hook given only generateName:
// generateName + lower("<revision[0:7]>-<phase>-<startedAt unix seconds>").
std::string HookName(std::string_view generate_name, std::string_view revision,
                     std::string_view phase, absl::Time started_at);

// Sync options from spec.syncPolicy.syncOptions and operation.sync.syncOptions ("Key=Value";
// an operation value replaces the app's for the same key; unknown keys are ignored as Argo CD
// ignores them). Per-resource annotations are read with ResourceSyncOption.
struct SyncOptions {
  std::string prune;                    // "" | "false" | "confirm" (Prune=)
  bool prune_last = false;              // PruneLast=true
  bool replace = false;                 // Replace=true
  bool server_side_apply = false;       // ServerSideApply=true: accepted, applied as a plain apply
  bool validate = true;                 // Validate=false: accepted (there is no schema validation)
  bool create_namespace = false;        // CreateNamespace=true
  bool apply_out_of_sync_only = false;  // ApplyOutOfSyncOnly=true
  std::string prune_propagation = "foreground";  // PrunePropagationPolicy=background|orphan
};
SyncOptions ParseSyncOptions(const nlohmann::json& app_options, const nlohmann::json& op_options);
// The value of `key` in the object's argocd.argoproj.io/sync-options CSV, if present.
std::optional<std::string> ResourceSyncOption(const nlohmann::json& obj, std::string_view key);

// One unit of work. target null = prune; live null = not deployed yet.
struct SyncTask {
  std::string phase;
  std::optional<nlohmann::json> target, live;
  std::optional<int> wave_override;  // prune mirroring, PruneLast, dependency fix-ups
  bool auto_namespace = false;       // the destination Namespace of CreateNamespace=true
  // Progress, restored from status.operationState.syncResult.resources on every step.
  std::string sync_status;      // "" | Synced | SyncFailed | Pruned | PruneSkipped
  std::string operation_state;  // "" (pending) | Running | Succeeded | Failed | Error
  std::string message;

  const nlohmann::json& Obj() const { return target ? *target : *live; }
  ResourceKey Key() const;
  std::string Version() const;  // apiVersion's version part
  int Wave() const;
  bool IsHook() const;
  bool IsPrune() const { return !target.has_value(); }
  bool Pending() const { return operation_state.empty(); }
  bool Running() const { return operation_state == "Running" || operation_state == "Terminating"; }
  bool Completed() const {
    return operation_state == "Succeeded" || operation_state == "Failed" ||
           operation_state == "Error";
  }
  bool Successful() const { return operation_state == "Succeeded"; }
  bool HasDeletePolicy(std::string_view policy) const;
};

struct TaskInput {
  std::vector<nlohmann::json> targets;  // PrepareTarget()ed, hooks included
  std::vector<nlohmann::json> live;     // objects that belong to the app (hook objects included)
  std::string app_name;                 // to re-point the tracking id of generated hook names
  std::string revision;
  absl::Time started_at;  // operation start: part of generated hook names
  std::string dest_namespace;
  SyncOptions options;
  bool skip_hooks = false;                             // apply strategy or selective sync
  nlohmann::json resources = nlohmann::json::array();  // operation.sync.resources (selective)
};

// Resources (target ∪ live, minus hooks, skipped and ignored objects, filtered by the selection)
// and hooks (one task per phase), with the prune waves mirrored, PruneLast applied and sorted by
// SortSyncTasks. Results are not filled in.
std::vector<SyncTask> BuildSyncTasks(const TaskInput& in);
// Argo's order: phase, wave, kind rank, name; then a Namespace moves just before the first task
// in it and a CRD just before the first of its custom resources, both taking that task's phase
// and wave.
void SortSyncTasks(std::vector<SyncTask>& tasks);
// Does `selection` (operation.sync.resources: [{group, kind, name, namespace}]) name the key? An
// empty namespace in a selection entry matches any namespace.
bool SelectionContains(const nlohmann::json& selection, const ResourceKey& key);

}  // namespace argonaut::cd::engine
