// Recursive-descent parser for expr-lang, precedence climbing with expr's
// operator table (parser/operator in expr-lang/expr).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/exprlang_ast.h"

namespace argonaut::expr::internal {

absl::StatusOr<NodePtr> Parse(std::string_view source, const ExprOptions& options);

// Compiles a regular expression with the size caps every `matches` and
// regex builtin shares.
absl::StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern);

}  // namespace argonaut::expr::internal
