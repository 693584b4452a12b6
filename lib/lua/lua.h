// Lua 5.1 (Argo's tools embed gopher-lua, a Lua 5.1) for scripts users write in
// Argo objects: the events service's `script` filter and transform (global
// `event`) and the CD service's custom health checks (global `obj`).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::lua {

// Runs `script` with the global `global_name` set to `value` (converted to Lua
// tables) and returns its (first) returned value as JSON: tables with keys
// 1..n become arrays, other tables objects, no value null. Only the base,
// string, table and math libraries are open (no io, os, require, load). A
// script that runs too long (an instruction budget) or raises is an error.
absl::StatusOr<nlohmann::json> RunLua(std::string_view script, std::string_view global_name,
                                      const nlohmann::json& value);

}  // namespace argonaut::lua
