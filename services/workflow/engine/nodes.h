// Node identity, phases and timestamps in Argo's conventions (workflow_types.go NodeID,
// workflow/util/pod_name.go, NodeStatus.Fulfilled/Completed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::engine {

// `seed` continues a hash: Fnv32a(b, Fnv32a(a)) == Fnv32a(a + b).
uint32_t Fnv32a(std::string_view s, uint32_t seed = 2166136261u);

// Root node id = workflow name; others `<wf>-<fnv32a(nodeName)>` in decimal.
std::string NodeId(std::string_view wf_name, std::string_view node_name);

// POD_NAMES=v2: `<wf>-<template>-<fnv32a(nodeName)>`, the prefix cut to fit 253 characters.
std::string PodName(std::string_view wf_name, std::string_view node_name,
                    std::string_view template_name);

// RFC3339 UTC with second precision ("2006-01-02T15:04:05Z").
std::string FormatTimestamp(absl::Time t);
// InfinitePast for a missing or malformed value.
absl::Time ParseTimestamp(const nlohmann::json& v);

// Argo's duration strings: a bare number is seconds, otherwise Go syntax ("1m30s", "2h").
std::optional<absl::Duration> ParseArgoDuration(std::string_view s);
// A JSON int or string (IntOrString) as an integer.
std::optional<int64_t> IntOrString(const nlohmann::json& v);

bool PhaseCompleted(std::string_view phase);  // Succeeded Failed Error Skipped Omitted
bool PhaseFailedOrError(std::string_view phase);
// Completed, or a daemon that is up (NodeStatus.Fulfilled).
bool NodeFulfilled(const nlohmann::json& node);
const std::string& Str(const nlohmann::json& obj, const char* key);  // "" when absent

// Go's fmt rendering of a loop item inside a node name: scalars as text, objects as
// `k1:v1,k2:v2` with sorted keys, lists as JSON; parentheses are removed as in Argo.
std::string ItemDescription(const nlohmann::json& item);
// A loop item's `{{item}}` text: strings raw, integers without ".0", others compact JSON.
std::string ItemText(const nlohmann::json& item);

}  // namespace argonaut::workflow::engine
