// Lua 5.1 for the `script` filter and transform (Argo uses gopher-lua, a Lua
// 5.1): the global `event` is the event data as a table.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::events::sensors {

// Runs `script` with `event` = data and returns its (first) returned value as
// JSON: tables with keys 1..n become arrays, other tables objects. A script
// that runs too long (an instruction budget) or raises is an error.
absl::StatusOr<nlohmann::json> RunLua(std::string_view script, const nlohmann::json& data);

}  // namespace argonaut::events::sensors
