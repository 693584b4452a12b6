// Pieces shared by the per-kind validators (event_source.cc, sensor.cc, validate.cc).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/base/field_errors.h"

namespace argonaut::events::validation::internal {

// Every violation as "<path>: <message>" (lib/base/field_errors.h).
using Errors = ::argonaut::base::FieldErrors;
using ::argonaut::base::Field;
using ::argonaut::base::Index;
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
