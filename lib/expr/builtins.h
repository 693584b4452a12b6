// Builtin functions of expr-lang plus the extras Argo Workflows registers
// (asInt, asFloat, jsonpath, toJson). Closure-taking builtins (filter, map,
// all, ...) live in the evaluator because they run AST nodes.
#pragma once

#include <string_view>

#include "lib/expr/exprlang.h"

namespace argonaut::expr::internal {

const Function* FindBuiltin(std::string_view name);

// Builtins whose second argument is a predicate closure.
bool IsPredicateBuiltin(std::string_view name);

}  // namespace argonaut::expr::internal
