// Pieces shared by the per-kind validators (event_source.cc, sensor.cc, validate.cc).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace argonaut::events::validation::internal {

// Collects every violation, each as "<path>: <message>", like Kubernetes' field.ErrorList.
class Errors {
 public:
  void Add(absl::string_view path, absl::string_view message) {
    items_.push_back(absl::StrCat(path, ": ", message));
  }
  bool empty() const { return items_.empty(); }
  absl::Status ToStatus() const;

 private:
  std::vector<std::string> items_;
};

inline std::string Field(absl::string_view path, absl::string_view name) {
  return absl::StrCat(path, ".", name);
}
inline std::string Index(absl::string_view path, int i) { return absl::StrCat(path, "[", i, "]"); }
// A map entry as lib/manifest spells it: `.key` when plain, else `["a.b/c"]`.
std::string Key(absl::string_view path, absl::string_view key);

// Go's strconv.Atoi over the whole text, within 1..65535.
bool IsPort(absl::string_view text);
// An IANA zone name absl can load ("" is UTC).
bool IsTimeZone(absl::string_view name);
// Checks `value` as a Go duration when non-empty.
void CheckDuration(absl::string_view path, const std::string& value, Errors* errors);
// A 5-field cron (minute hour dom month dow) as robfig's parser without descriptors reads it,
// in `timezone` (empty: UTC).
void CheckCron(absl::string_view path, const std::string& cron, const std::string& timezone,
               Errors* errors);

}  // namespace argonaut::events::validation::internal
