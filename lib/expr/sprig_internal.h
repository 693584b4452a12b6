// Conversions shared by the sprig function files, following sprig's own
// helpers (strval, spf13/cast, empty).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/expr/expr_value.h"

namespace argonaut::expr::internal {

using SprigFn = absl::StatusOr<Json> (*)(std::vector<Json>& args);

std::string StrVal(const Json& v);
int64_t ToInt64(const Json& v);
double ToFloat64(const Json& v);
bool Empty(const Json& v);

// Registers list/dict/JSON functions (sprig_lists.cc).
void AddSprigListFunctions(std::map<std::string, SprigFn, std::less<>>& table);

}  // namespace argonaut::expr::internal
