// Health of one Kubernetes object, with Argo CD's rules: pending deletion,
// then a custom Lua check (argocd-cm), then the bundled checks for Argonaut's
// own kinds (Rollout, AnalysisRun, Application), then the built-in rules for
// core kinds and Workflow. Kinds without a rule have no health.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "services/cd/engine/health_scripts.h"

namespace argonaut::cd::engine {

inline constexpr char kHealthy[] = "Healthy";
inline constexpr char kProgressing[] = "Progressing";
inline constexpr char kDegraded[] = "Degraded";
inline constexpr char kSuspended[] = "Suspended";
inline constexpr char kMissing[] = "Missing";
inline constexpr char kUnknown[] = "Unknown";

struct Health {
  std::string status;  // Healthy Progressing Degraded Suspended Missing Unknown
  std::string message;
  bool operator==(const Health&) const = default;
};

// nullopt: the kind has no health and does not count in the app's health.
std::optional<Health> AssessHealth(const nlohmann::json& live, const HealthScripts& scripts);

// Runs a health script with the `obj` global and reads back the `hs`-style
// table {status, message}. A script error or a status outside the six codes
// gives Unknown with the reason.
Health RunHealthScript(const std::string& script, const nlohmann::json& obj);

// Healthy < Suspended < Progressing < Missing < Degraded < Unknown (anything
// else ranks as Unknown). The app's health is its worst resource's.
int HealthRank(std::string_view status);

}  // namespace argonaut::cd::engine
