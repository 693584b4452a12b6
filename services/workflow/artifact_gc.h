// Artifact garbage collection, the pure half: which output artifacts of a
// workflow to delete and when, as Argo decides it, and what the workflow
// looks like afterwards (`deleted: true` per artifact, status.artifactGCStatus,
// the ArtifactGCError condition, the artifact-gc finalizer). No I/O: the
// ArtifactCollector (artifact_collector.h) deletes and writes.
//
// Strategy of an output artifact: its own `artifactGC.strategy`, else the one
// its template declares for it, else the workflow's `spec.artifactGC.strategy`
// (from its WorkflowTemplate under workflowTemplateRef); none or "Never":
// kept. OnWorkflowCompletion artifacts go once the workflow completed (or is
// being deleted), OnWorkflowDeletion ones once it is being deleted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::artifact_gc {

inline constexpr char kFinalizer[] = "workflows.argoproj.io/artifact-gc";
inline constexpr char kOnWorkflowCompletion[] = "OnWorkflowCompletion";
inline constexpr char kOnWorkflowDeletion[] = "OnWorkflowDeletion";
inline constexpr char kNever[] = "Never";
inline constexpr char kConditionType[] = "ArtifactGCError";

// The spec that governs `wf`: status.storedWorkflowTemplateSpec when the
// controller stored one, else `template_spec` (the spec of the
// workflowTemplateRef's template; null when there is none) with the
// workflow's own fields over it (templates of both, the workflow's first).
nlohmann::json EffectiveSpec(const nlohmann::json& wf, const nlohmann::json& template_spec);

// The strategy of an output artifact of the template `template_name` ("" or
// "Never": kept).
std::string StrategyOf(const nlohmann::json& artifact, std::string_view template_name,
                       const nlohmann::json& spec);

// Whether anything in `spec` asks for artifact GC (Argo's HasArtifactGC):
// a workflow-level strategy or an output artifact's, other than Never.
bool HasArtifactGC(const nlohmann::json& spec);

bool HasFinalizer(const nlohmann::json& wf);
bool Deleting(const nlohmann::json& wf);

// Before the controller writes a running workflow: the finalizer when the
// spec asks for GC and no strategy was processed yet, else
// artifactGCStatus.notSpecified (as Argo records it). True when `wf` changed.
bool PrepareWrite(nlohmann::json& wf, const nlohmann::json& spec);

struct Target {
  std::string node_id;
  std::string strategy;
  nlohmann::json artifact;  // the node's output artifact, with its location
};

struct Plan {
  // Strategies ready now and not yet processed.
  std::vector<std::string> strategies;
  // Their artifacts that are not deleted yet (Pod nodes' outputs).
  std::vector<Target> targets;
};

// Nothing unless `wf` carries the finalizer.
Plan Decide(const nlohmann::json& wf, const nlohmann::json& spec);

// Whether Decide has work for `wf` (cheap enough for every resync).
bool Pending(const nlohmann::json& wf, const nlohmann::json& spec);

struct Outcome {
  nlohmann::json status;
  bool remove_finalizer = false;
  // Some deletes failed and attempts remain: run the plan again later.
  bool retry = false;
  // One line per failed delete (artifact, node, error), for the condition and the event.
  std::vector<std::string> failures;
};

// The workflow after the deletes of `plan` (results[i] for targets[i]) on
// attempt `attempt` of `max_attempts`. A strategy is processed when all its
// deletes succeeded or attempts ran out. The finalizer goes when every
// artifact with a strategy is deleted, or, with forceFinalizerRemoval, once
// nothing is retried any more.
Outcome Apply(const nlohmann::json& wf, const nlohmann::json& spec, const Plan& plan,
              const std::vector<absl::Status>& results, int attempt, int max_attempts,
              std::string_view now);

}  // namespace argonaut::workflow::artifact_gc
