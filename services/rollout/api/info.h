// RolloutInfo: the view of a rollout that Argo Rollouts' API server and `kubectl argo rollouts get`
// show (pkg/kubectl-argo-rollouts/info): the rollout's phase and message as clients report them,
// strategy, step, set and actual weight, replica counts, and its ReplicaSets (with their pods),
// AnalysisRuns and Experiments, newest revision first. Pure: built from objects already read.
//
//   json info = BuildRolloutInfo({.rollout = ro, .replica_sets = rss, .pods = pods, ...});
//   info["status"] == "Paused"; info["replicaSets"][0]["pods"][0]["ready"] == "1/1"
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::rollout::api {

// Argo's icons, as the CLI tree and the RolloutInfo "icon" fields use them.
inline constexpr char kIconWaiting[] = "◷";
inline constexpr char kIconProgressing[] = "◌";
inline constexpr char kIconWarning[] = "⚠";
inline constexpr char kIconUnknown[] = "?";
inline constexpr char kIconOk[] = "✔";
inline constexpr char kIconBad[] = "✖";
inline constexpr char kIconPaused[] = "॥";
inline constexpr char kIconNeutral[] = "•";

struct RolloutObjects {
  nlohmann::json rollout;
  // Candidates from the rollout's namespace; only those owned (ownerReferences uid) by the rollout,
  // by its ReplicaSets (pods) or by its Experiments are used, so one namespace-wide read serves
  // every rollout in it.
  std::vector<nlohmann::json> replica_sets;
  std::vector<nlohmann::json> pods;
  std::vector<nlohmann::json> analysis_runs;
  std::vector<nlohmann::json> experiments;
};

// The phase and message a client reports (Argo's GetRolloutPhase): "waiting for rollout spec
// update to be observed" while status.observedGeneration is behind metadata.generation, "waiting
// for rollout to unpause" after a promote the controller has not seen yet, else status.phase and
// status.message.
std::pair<std::string, std::string> RolloutPhase(const nlohmann::json& rollout);

// Argo's GetCurrentSetWeight: 0 when aborted, 100 past the last step (or without steps), else
// the last setWeight at or before the current step.
int SetWeight(const nlohmann::json& rollout);

// rollout.RolloutInfo of Argo's API, in its JSON shape.
nlohmann::json BuildRolloutInfo(const RolloutObjects& objects);

// The icon for a rollout phase, an AnalysisRun phase or a pod status.
std::string PhaseIcon(const std::string& phase);
std::string PodIcon(const std::string& status, bool ready);

}  // namespace argonaut::rollout::api
