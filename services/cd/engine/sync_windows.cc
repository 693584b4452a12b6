#include "services/cd/engine/sync_windows.h"

#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/go_duration.h"
#include "lib/cron/schedule.h"
#include "services/cd/validation/glob.h"

namespace argonaut::cd::engine {
namespace {

using nlohmann::json;

const json& Field(const json& obj, std::string_view key) {
  static const json* const kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it == obj.end() ? *kNull : *it;
}

std::string Str(const json& obj, std::string_view key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool Bool(const json& obj, std::string_view key) {
  const json& v = Field(obj, key);
  return v.is_boolean() && v.get<bool>();
}

// -1: the list is absent or empty (no say); 0: no entry matches; 1: one does.
int ListMatch(const json& window, std::string_view key, std::vector<std::string_view> values) {
  const json& list = Field(window, key);
  if (!list.is_array() || list.empty()) return -1;
  for (const json& pattern : list) {
    if (!pattern.is_string()) continue;
    for (std::string_view v : values) {
      if (!v.empty() && validation::GlobMatch(pattern.get<std::string>(), v)) return 1;
    }
  }
  return 0;
}

bool WindowApplies(const json& window, const json& app) {
  const json& dest = Field(Field(app, "spec"), "destination");
  const std::string name = Str(Field(app, "metadata"), "name");
  const std::string server = Str(dest, "server");
  const std::string dest_name = Str(dest, "name");
  const std::string ns = Str(dest, "namespace");
  const int apps = ListMatch(window, "applications", {name});
  const int clusters = ListMatch(window, "clusters", {server, dest_name});
  const int namespaces = ListMatch(window, "namespaces", {ns});
  if (apps < 0 && clusters < 0 && namespaces < 0) return false;
  if (Bool(window, "andOperator")) return apps != 0 && clusters != 0 && namespaces != 0;
  return apps > 0 || clusters > 0 || namespaces > 0;
}

struct Indexed {
  size_t index;
  const json* window;
};

std::vector<Indexed> Matching(const json& project, const json& app) {
  std::vector<Indexed> out;
  const json& windows = Field(Field(project, "spec"), "syncWindows");
  if (!windows.is_array()) return out;
  for (size_t i = 0; i < windows.size(); ++i) {
    if (WindowApplies(windows[i], app)) out.push_back({i, &windows[i]});
  }
  return out;
}

json Summary(const json& window) {
  json out = {{"kind", Str(window, "kind")},
              {"schedule", Str(window, "schedule")},
              {"duration", Str(window, "duration")},
              {"manualSync", Bool(window, "manualSync")}};
  return out;
}

}  // namespace

std::vector<json> MatchingSyncWindows(const json& project, const json& app) {
  std::vector<json> out;
  for (const Indexed& w : Matching(project, app)) out.push_back(*w.window);
  return out;
}

absl::StatusOr<bool> SyncWindowActive(const json& window, absl::Time now) {
  const std::string kind = Str(window, "kind");
  if (kind != "allow" && kind != "deny") {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: \"", kind, "\" is not one of allow, deny"));
  }
  absl::TimeZone zone = absl::UTCTimeZone();
  const std::string tz = Str(window, "timeZone");
  if (!tz.empty() && !absl::LoadTimeZone(tz, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("timeZone: unknown time zone \"", tz, "\""));
  }
  absl::StatusOr<cron::Schedule> schedule = cron::Schedule::Parse(Str(window, "schedule"), zone);
  if (!schedule.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule: ", schedule.status().message()));
  }
  absl::StatusOr<absl::Duration> duration = base::ParseGoDuration(Str(window, "duration"));
  if (!duration.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("duration: ", duration.status().message()));
  }
  // Argo CD: active when the first activation after now - duration is before now.
  absl::StatusOr<absl::Time> next = schedule->Next(now - *duration);
  if (!next.ok()) return false;  // never fires (e.g. 30 February): never active
  return *next < now;
}

SyncWindowsState EvaluateSyncWindows(const json& project, const json& app, absl::Time now) {
  SyncWindowsState state;
  bool deny_active = false, deny_manual = true;
  bool allow_active = false, allow_inactive = false, inactive_allow_manual = false;
  for (const Indexed& w : Matching(project, app)) {
    state.assigned.push_back(*w.window);
    absl::StatusOr<bool> active = SyncWindowActive(*w.window, now);
    if (!active.ok()) {
      if (state.error.ok()) {
        state.error = absl::InvalidArgumentError(
            absl::StrCat("spec.syncWindows[", w.index, "].", active.status().message()));
      }
      continue;
    }
    const bool deny = Str(*w.window, "kind") == "deny";
    const bool manual = Bool(*w.window, "manualSync");
    if (*active) {
      state.active.push_back(*w.window);
      if (deny) {
        deny_active = true;
        deny_manual = deny_manual && manual;
      } else {
        allow_active = true;
      }
    } else if (!deny) {
      allow_inactive = true;
      inactive_allow_manual = inactive_allow_manual || manual;
    }
  }
  if (!state.error.ok()) {
    state.automated_allowed = state.manual_allowed = false;
  } else if (deny_active) {
    state.automated_allowed = false;
    state.manual_allowed = deny_manual;
  } else if (allow_active) {
    state.automated_allowed = state.manual_allowed = true;
  } else if (allow_inactive) {
    state.automated_allowed = false;
    state.manual_allowed = inactive_allow_manual;
  }
  return state;
}

json SyncWindowsResponse(const SyncWindowsState& state) {
  json active = json::array(), assigned = json::array();
  for (const json& w : state.active) active.push_back(Summary(w));
  for (const json& w : state.assigned) assigned.push_back(Summary(w));
  return json{{"activeWindows", std::move(active)},
              {"assignedWindows", std::move(assigned)},
              {"canSync", state.manual_allowed}};
}

}  // namespace argonaut::cd::engine
