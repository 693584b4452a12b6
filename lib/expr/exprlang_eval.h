// Tree-walking evaluator for parsed expr-lang programs.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "lib/expr/exprlang_ast.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr::internal {

absl::StatusOr<nlohmann::json> Evaluate(const Node& root, const nlohmann::json& env,
                                        std::string_view source, int max_depth);

}  // namespace argonaut::expr::internal
