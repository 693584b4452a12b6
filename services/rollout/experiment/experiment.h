// The pure Experiment reconciler (Argo Rollouts' experiments/experiment.go semantics).
// ReconcileExperiment() reads an Experiment (spec + status) and what the controller observed
// for it (its ReplicaSets, Services and AnalysisRuns) at `now`, and answers with the complete
// next status and the actions: ReplicaSets to create or scale, Services to create or delete,
// AnalysisRuns to create or terminate, and when to look again. No I/O, no clock; object names
// are deterministic (`<experiment>-<template>`, `<experiment>-<analysis>`), so a controller
// restarted in the middle carries on.
//
//   ExperimentInput in{.experiment = ex, .replica_sets = owned, .now = clock->Now()};
//   ASSIGN_OR_RETURN(ExperimentOutput out, ReconcileExperiment(in));
//   ex["status"] = out.status;  // after creating/scaling what `out` says
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/rollout/engine/engine.h"

namespace argonaut::rollout::experiment {

// Annotations that tie a ReplicaSet / Service to its experiment template.
inline constexpr char kExperimentNameAnnotation[] = "experiment.argoproj.io/name";
inline constexpr char kTemplateNameAnnotation[] = "experiment.argoproj.io/template-name";
inline constexpr int32_t kDefaultScaleDownDelaySeconds = 30;
inline constexpr int32_t kDefaultProgressDeadlineSeconds = 600;

struct ExperimentInput {
  nlohmann::json experiment;                  // metadata (uid), spec, status
  std::vector<nlohmann::json> replica_sets;   // controlled by the experiment, with status
  std::vector<nlohmann::json> services;       // controlled by the experiment
  std::vector<nlohmann::json> analysis_runs;  // controlled by the experiment
  absl::Time now;
};

struct ExperimentRunRequest {
  std::string name;      // <experiment>-<analysis>, `.N` when that name is taken by an old run
  std::string analysis;  // spec.analyses[].name
  // A RolloutAnalysis block for analysis::BuildAnalysisRun: {templates:[{templateName,
  // clusterScope}], args (experiment placeholders substituted), dryRun, measurementRetention,
  // analysisRunMetadata}.
  nlohmann::json spec;
};

struct ExperimentOutput {
  nlohmann::json status;                               // complete new status
  std::vector<nlohmann::json> replica_sets_to_create;  // complete objects
  std::vector<nlohmann::json> replica_sets_to_update;  // complete objects as they should be
  std::vector<nlohmann::json> services_to_create;      // complete objects
  std::vector<std::string> services_to_delete;
  std::vector<ExperimentRunRequest> analysis_runs_to_create;
  std::vector<std::string> analysis_runs_to_terminate;  // set spec.terminate=true
  std::optional<absl::Duration> requeue_after;
  std::vector<engine::Event> events;
};

// Errors only for internal failures; a bad spec gives the InvalidSpec condition, phase Error
// and a message naming the field, and no actions.
absl::StatusOr<ExperimentOutput> ReconcileExperiment(const ExperimentInput& in);

// Argo's experiment placeholders in an analysis arg value: {{templates.<name>.podTemplateHash}},
// {{templates.<name>.replicaset.name}}, {{experiment.availableAt}},
// {{experiment.finishedAt}} (availableAt + duration). Unknown tags are an error naming them.
absl::StatusOr<std::string> ResolveExperimentArg(const std::string& value,
                                                 const nlohmann::json& experiment,
                                                 const std::vector<nlohmann::json>& replica_sets);

// Phases that end an experiment (and an AnalysisRun).
bool PhaseCompleted(std::string_view phase);

}  // namespace argonaut::rollout::experiment
