// The pure decision core of the rollout controller (Argo Rollouts' rollout/*.go and
// utils/replicaset/canary.go). Reconcile() reads a Rollout (spec + current status) and what the
// controller observed for it (its ReplicaSets with status, the Services it names, its
// AnalysisRuns, the workloadRef Deployment), and answers with the complete next status and the
// actions to carry out. It does no I/O and reads no clock (RolloutInput::now), so the controller
// can call it again and again with fresh observations: level-triggered and idempotent.
//
//   RolloutInput in{.rollout = r, .replica_sets = owned, .services = svcs, .now = clock->Now()};
//   ASSIGN_OR_RETURN(RolloutOutput out, Reconcile(in));
//   r["status"] = out.status;  // then create/update/delete RSs, patch selectors, runs ...
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::engine {

// Label on ReplicaSets, their pods and selectors, and the group label of traffic splits.
inline constexpr char kPodTemplateHashLabel[] = "rollouts-pod-template-hash";
// ReplicaSet annotations the engine writes.
inline constexpr char kRevisionAnnotation[] = "rollout.argoproj.io/revision";
inline constexpr char kScaleDownDeadlineAnnotation[] = "scale-down-deadline";
// The ephemeral pod metadata (canary/stable, preview/active) last applied to the ReplicaSet's pod
// template, as JSON {"labels":{..},"annotations":{..}}: what to take off when its role changes.
inline constexpr char kEphemeralMetadataAnnotation[] = "rollout.argoproj.io/ephemeral-metadata";
// AnalysisRun labels.
inline constexpr char kRolloutTypeLabel[] = "rollout-type";
inline constexpr char kStepIndexLabel[] = "step-index";

struct Event {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
};

struct AnalysisRunRequest {
  // Deterministic: <rollout>-<hash>-<revision>-<stepIndex> (Step), <rollout>-<hash>-<revision>
  // (Background), <rollout>-<hash>-<revision>-pre / -post (PrePromotion / PostPromotion).
  std::string name;
  std::string type;       // Step | Background | PrePromotion | PostPromotion (label rollout-type)
  nlohmann::json labels;  // rollout-type, step-index (Step only), rollouts-pod-template-hash
  // The RolloutAnalysis block: {templates:[{templateName,clusterScope}],
  // args:[{name,value}|{name,valueFrom:{secretKeyRef}}], dryRun, measurementRetention,
  // analysisRunMetadata}; rollout-side args (podTemplateHashValue Stable|Latest, fieldRef on the
  // rollout) already resolved to values.
  nlohmann::json analysis;
};

struct TrafficAction {  // served by the local Service proxy (cluster::Cluster::SetTrafficSplit)
  std::string service;  // trafficRouting.smi.rootService if set, else canary.stableService
  // By pod-template hash: {stableHash: 100-W, canaryHash: W}; group label = kPodTemplateHashLabel.
  std::map<std::string, int> weights;
};

struct RolloutInput {
  nlohmann::json rollout;                          // metadata (incl. uid, generation), spec, status
  std::vector<nlohmann::json> replica_sets;        // RSs controlled by the rollout, with status
  std::map<std::string, nlohmann::json> services;  // Services the spec names, by name
  std::vector<nlohmann::json> analysis_runs;       // AnalysisRuns owned by the rollout
  std::optional<nlohmann::json> workload;   // the Deployment named by spec.workloadRef, if any
  std::vector<nlohmann::json> experiments;  // Experiments owned by the rollout, with status
  // Pods controlled by the replica_sets (ownerReference), for spec.restartAt and the ephemeral
  // pod metadata.
  std::vector<nlohmann::json> pods;
  absl::Time now;
};

struct RolloutOutput {
  nlohmann::json status;  // complete new status (Argo's fields), never partial
  // Complete RS objects (name <rollout>-<hash>, labels, ownerReference, template, replicas).
  std::vector<nlohmann::json> replica_sets_to_create;
  // Complete RS objects as they should be (spec.replicas, annotations e.g. scale-down-deadline).
  std::vector<nlohmann::json> replica_sets_to_update;
  std::vector<std::string> replica_sets_to_delete;  // revisionHistoryLimit
  // Service name -> pod-template hash to put in its selector.
  std::map<std::string, std::string> service_selectors;
  std::optional<TrafficAction> traffic;
  std::vector<AnalysisRunRequest> analysis_runs_to_create;
  std::vector<std::string> analysis_runs_to_terminate;  // set spec.terminate=true
  std::vector<std::string> analysis_runs_to_delete;     // history limits
  std::optional<int> workload_replicas;  // scale the workloadRef Deployment (0 as Argo does)
  // Canary experiment steps: complete Experiment objects (name
  // <rollout>-<hash>-<revision>-<stepIndex>, ownerReference to the rollout, label
  // rollouts-pod-template-hash, templates resolved from the stable/canary ReplicaSets).
  std::vector<nlohmann::json> experiments_to_create;
  std::vector<std::string> experiments_to_terminate;  // set spec.terminate=true
  std::vector<std::string> experiments_to_delete;     // history limits, revisions gone
  // spec.restartAt: pod names to evict (delete) now, in order.
  std::vector<std::string> pods_to_evict;
  // Ephemeral metadata: running pods whose labels/annotations change in place (no restart),
  // complete as observed with only metadata.labels/annotations changed.
  std::vector<nlohmann::json> pods_to_update;
  std::optional<absl::Duration> requeue_after;  // earliest instant time alone changes the answer
  std::vector<Event> events;
};

// Errors only for internal failures; a bad spec gives a status with the InvalidSpec condition,
// phase Degraded and a message naming the field, and no actions.
absl::StatusOr<RolloutOutput> Reconcile(const RolloutInput& in);

}  // namespace argonaut::rollout::engine
