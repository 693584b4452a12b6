// Argo CD's automated sync decision (controller/appcontroller.go autoSync, alreadyAttemptedSync,
// selfHeal backoff): after a comparison, should the controller write an `operation` on the app?
// Pure: the self-heal attempt count lives where Argo CD keeps it, in
// operation.sync.autoHealAttemptsCount, copied into status.operationState.operation by SyncStep,
// and the backoff is measured from status.operationState.finishedAt.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/cd/engine/compare.h"

namespace argonaut::cd::engine {

// Self-heal backoff (--self-heal-backoff-timeout-seconds 2, factor 3, cap 300 s), and the quiet
// time after which the attempt count starts again (--self-heal-backoff-cooldown-seconds).
inline constexpr absl::Duration kSelfHealBackoff = absl::Seconds(2);
inline constexpr double kSelfHealFactor = 3;
inline constexpr absl::Duration kSelfHealCap = absl::Seconds(300);
inline constexpr absl::Duration kSelfHealCooldown = absl::Seconds(330);

struct AutoSyncDecision {
  std::optional<nlohmann::json> operation;    // to write on app.operation
  std::string reason;                         // why not (or what), for logs and conditions
  std::optional<absl::Duration> retry_after;  // self-heal backoff: compare again after this
  // The reason is an error Argo CD shows as a SyncError condition (failed attempt to this
  // revision; a sync that would prune everything without allowEmpty). (Addition to the contract.)
  bool sync_error = false;
};

// `app` carries spec, status (operationState of the last operation) and operation (set while one
// runs); `compare` is the comparison just made.
//   - only with spec.syncPolicy.automated (enabled not false), no operation, not being deleted,
//     and compare.sync.status OutOfSync;
//   - skipped when only prunes are needed and automated.prune is false;
//   - a revision (same source, targetRevision aside) already attempted is not synced again,
//     unless that attempt succeeded and selfHeal is on: then, after the backoff
//     (2 s x 3^(n-1), cap 300 s, from finishedAt), a selective sync of the resources that are
//     not Synced, with autoHealAttemptsCount n+1;
//   - with automated.prune and no allowEmpty, refused when every resource would be pruned.
// The operation: {sync: {revision, prune, syncOptions[, resources, autoHealAttemptsCount]},
// initiatedBy: {automated: true}, retry: spec.syncPolicy.retry or {limit: 5}}.
AutoSyncDecision DecideAutoSync(const nlohmann::json& app, const CompareResult& compare,
                                absl::Time now);

}  // namespace argonaut::cd::engine
