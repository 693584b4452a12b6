// How `argonaut rollouts` prints: the header and tree `kubectl argo rollouts get rollout` draws
// (revisions -> ReplicaSets -> pods, AnalysisRuns -> Jobs, Experiments) and the table of
// `kubectl argo rollouts list rollouts`, from Argo's RolloutInfo (services/rollout/api/info.h).
// Pure functions of the infos and the time.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

// Name, Namespace, Status, Message, Strategy (Step, SetWeight, ActualWeight), Images, Replicas,
// then the tree.
std::string FormatRolloutInfo(const nlohmann::json& info, absl::Time now);

// NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE (NAMESPACE first with
// all_namespaces).
std::string FormatRolloutList(const std::vector<nlohmann::json>& infos, bool all_namespaces);

// "Phase - message", or "Phase" without a message: what `rollouts status` prints.
std::string RolloutStatusLine(const nlohmann::json& info);

}  // namespace argonaut::cli
