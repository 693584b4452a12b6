// Argument checking and conversion helpers shared by builtins and sprig.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/expr/expr_value.h"

namespace argonaut::expr::internal {

absl::Status ArgCount(const std::vector<Json>& args, size_t min, size_t max);
absl::StatusOr<std::string> StringArg(const std::vector<Json>& args, size_t i);
absl::StatusOr<int64_t> IntArg(const std::vector<Json>& args, size_t i);

// Go's strconv.Atoi / ParseFloat acceptance rules (no surrounding spaces).
bool ParseGoInt(std::string_view s, int64_t* out);
bool ParseGoFloat(std::string_view s, double* out);

// Parses JSON text the way Go's json.Unmarshal into interface{} does: every
// number becomes a float64. Rejects nesting deeper than kMaxJsonDepth so the
// recursive formatters stay within the stack.
inline constexpr int kMaxJsonDepth = 256;
absl::StatusOr<Json> ParseGoJson(std::string_view text);

std::string Base64Encode(std::string_view in);
absl::StatusOr<std::string> Base64Decode(std::string_view in);

// Evaluates a jsonpath query ($.a.b[0], $..x, [*], [0:2], [?(@.x > 1)]).
absl::StatusOr<Json> JsonPath(const Json& doc, std::string_view path);

}  // namespace argonaut::expr::internal
