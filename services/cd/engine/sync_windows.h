// AppProject sync windows as Argo CD enforces them (pkg/apis/application/v1alpha1 SyncWindows:
// Matches, Active, CanSync; docs/user-guide/sync_windows.md). Pure: the caller passes `now`.
//
// A window {kind allow|deny, schedule (five-field cron), duration (Go duration), timeZone,
// applications[], namespaces[], clusters[] (globs), manualSync, andOperator} applies to an app
// whose name, destination namespace or destination server/name matches one of its lists (with
// andOperator: every non-empty list must match). It is active while an activation of its
// schedule (in its time zone, UTC by default) lies in (now - duration, now).
//
// Decision (CanSync): no applying window → allowed. An active deny blocks, except a manual sync
// when every active deny has manualSync. Otherwise an active allow permits. Otherwise applying
// allow windows exist but none is active → blocked, except a manual sync when one of them has
// manualSync. A window that cannot be evaluated (bad schedule, duration or zone) blocks, with
// the error naming syncWindows[i].
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::engine {

// Argo CD's refusal of a manual sync (the API answers PERMISSION_DENIED with it).
inline constexpr char kSyncBlockedByWindow[] = "cannot sync: blocked by sync window";

struct SyncWindowsState {
  std::vector<nlohmann::json> assigned;  // the project's windows that apply to the app
  std::vector<nlohmann::json> active;    // those of `assigned` active at `now`
  bool automated_allowed = true;         // an automated sync may start
  bool manual_allowed = true;            // a manual sync may start
  absl::Status error;                    // a window could not be evaluated (both are false)
};

// The project's spec.syncWindows that apply to `app` (metadata.name, spec.destination).
std::vector<nlohmann::json> MatchingSyncWindows(const nlohmann::json& project,
                                                const nlohmann::json& app);

// Whether one window is active at `now`; INVALID_ARGUMENT naming the field for a bad schedule,
// duration or timeZone.
absl::StatusOr<bool> SyncWindowActive(const nlohmann::json& window, absl::Time now);

// Everything about the app's windows at `now`.
SyncWindowsState EvaluateSyncWindows(const nlohmann::json& project, const nlohmann::json& app,
                                     absl::Time now);

// Argo CD's ApplicationSyncWindowsResponse {activeWindows, assignedWindows, canSync} (windows as
// {kind, schedule, duration, manualSync} as Argo CD's; canSync is the manual decision).
nlohmann::json SyncWindowsResponse(const SyncWindowsState& state);

}  // namespace argonaut::cd::engine
