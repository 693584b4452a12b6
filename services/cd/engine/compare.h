// An Application's sync and health status from its targets (rendered,
// PrepareTarget()ed manifests) and the live objects that belong to it, as
// Argo CD's CompareAppState and setApplicationHealth compute them. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/cd/engine/diff.h"
#include "services/cd/engine/health.h"
#include "services/cd/engine/health_scripts.h"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {

inline constexpr char kSynced[] = "Synced";
inline constexpr char kOutOfSync[] = "OutOfSync";
inline constexpr char kSyncUnknown[] = "Unknown";
inline constexpr char kCompareOptionsAnnotation[] = "argocd.argoproj.io/compare-options";
inline constexpr char kIgnoreHealthcheckAnnotation[] = "argocd.argoproj.io/ignore-healthcheck";

struct CompareInput {
  const nlohmann::json* app = nullptr;  // metadata + spec (+ status)
  std::vector<nlohmann::json> targets;  // PrepareTarget()ed manifests (hooks included; skipped)
  std::vector<nlohmann::json> live;     // live objects that BelongTo the app
  std::string revision;                 // commit of targets ("" when generation failed)
  std::string generation_error;         // non-empty: ComparisonError, everything Unknown
  const HealthScripts* scripts = nullptr;
  // Beyond the contract: argocd-cm's ignoreDifferences (SystemIgnoreDifferences),
  // applied after the app's own; null or a list.
  nlohmann::json system_ignore_differences;
};

struct ResourceState {
  ResourceKey key;
  std::string version;  // apiVersion's version part
  // The objects as given (a Secret's data in clear: show diff.normalized_live
  // and diff.predicted_live, which hide it, never these).
  std::optional<nlohmann::json> target, live;
  ResourceDiff diff;
  std::string sync_status;       // Synced | OutOfSync | Unknown ("" for hooks and ignored objects)
  std::optional<Health> health;  // nullopt: the kind has no health (or a hook)
  bool hook = false, requires_pruning = false;
  int wave = 0;
};

struct CompareResult {
  std::vector<ResourceState> resources;  // sorted by key
  nlohmann::json sync;    // status.sync {status, revision, comparedTo{source|sources, destination}}
  nlohmann::json health;  // status.health {status, message}
  nlohmann::json
      resources_status;  // status.resources[] (Argo CD's ResourceStatus, empty fields left out)
  std::vector<std::string> images;  // status.summary.images, sorted
  // Beyond the contract: status.conditions entries this comparison raises
  // ({type: ComparisonError|RepeatedResourceWarning, message}).
  std::vector<nlohmann::json> conditions;
};

CompareResult Compare(const CompareInput& in);

// The app health from resource states (Argo CD's setApplicationHealth, 3.4
// rules): hooks, ignored/skipped objects, resources annotated
// ignore-healthcheck and the app's own Application are left out; a child
// Application that is Missing or Unknown does not count; Missing resources
// count only when every counted resource is Missing; the worst status wins
// and the message names up to 3 resources with it.
nlohmann::json AggregateHealth(const std::vector<ResourceState>& resources,
                               const nlohmann::json& app);

}  // namespace argonaut::cd::engine
