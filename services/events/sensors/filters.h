// A dependency's `transform` and `filters` over one event (Argo Events'
// dependencies/transform.go and filter.go semantics; see README.md).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/events/event.h"

namespace argonaut::events::sensors {

struct FilterResult {
  bool pass = false;
  std::string reason;  // why it did not pass (or the errors tolerated by `or`)
};

// Checks the shape of `dependency.filters` (an object of filter kinds) and
// `filtersLogicalOperator`; the seed's list of named filters is refused with
// Argo's shape in the message.
absl::Status CheckFilters(const nlohmann::json& dependency);

// Evaluates `dependency.filters` (with dataLogicalOperator, exprLogicalOperator,
// filtersLogicalOperator) on an event. No filters: passes.
FilterResult ApplyFilters(const nlohmann::json& dependency, const CloudEvent& event);

// `dependency.transform`: jq (its first output, which must be an object) or
// else script (Lua, must return a table) replaces data.
absl::StatusOr<CloudEvent> ApplyTransform(const nlohmann::json& dependency, CloudEvent event);

// Single filter kinds, exposed for the table tests.
absl::StatusOr<bool> DataFilter(const nlohmann::json& filter, const nlohmann::json& data);
absl::StatusOr<bool> ExprFilter(const nlohmann::json& filter, const nlohmann::json& data);
absl::StatusOr<bool> ContextFilter(const nlohmann::json& filter, const CloudEvent& event);
absl::StatusOr<bool> TimeFilter(const nlohmann::json& filter, absl::Time event_time);
absl::StatusOr<bool> ScriptFilter(const std::string& script, const nlohmann::json& data);

}  // namespace argonaut::events::sensors
