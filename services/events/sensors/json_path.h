// The subset of gjson (read) and sjson (write) paths that Argo Events'
// filters and parameters use, over nlohmann::json.
//
// Get: components split on `.`, `\.` is a literal dot; a number indexes an
// array; `#` is an array's length; `*` and `?` are wildcards within one
// object key (the first matching key in key order; gjson uses document order,
// nlohmann objects are sorted).
// Set: the same components; a number indexes (or creates) an array element,
// `-1` appends; missing containers are created (an array when the next
// component is a number or -1, an object otherwise).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::events::sensors {

std::vector<std::string> SplitPath(std::string_view path);

// nullopt when the path does not exist.
std::optional<nlohmann::json> GetPath(const nlohmann::json& doc, std::string_view path);

// gjson's Result.String(): strings raw, numbers in Go's shortest form,
// bools true/false, null "", objects/arrays compact JSON.
std::string JsonString(const nlohmann::json& v);

// Sets `value` at `path`; INVALID_ARGUMENT when the path crosses a scalar.
absl::Status SetPath(nlohmann::json& doc, std::string_view path, nlohmann::json value);

}  // namespace argonaut::events::sensors
