// Immutable syntax tree produced by the parser and walked by the evaluator.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "lib/expr/exprlang.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace argonaut::expr::internal {

enum class NodeKind {
  kLiteral,      // value
  kIdent,        // name
  kEnv,          // $env
  kPointer,      // # / #index / #acc inside a closure; name is "", "index" or "acc"
  kMember,       // children[0].name, optional for ?.
  kIndex,        // children[0][children[1]]
  kSlice,        // children[0][children[1]:children[2]], null children when omitted
  kUnary,        // name is the operator
  kBinary,       // name is the operator; regex set for `matches` with a literal pattern
  kConditional,  // children[0] ? children[1] : children[2]
  kArray,        // children are the elements
  kMap,          // children alternate key, value
  kCall,         // function, args in children
  kMethod,       // children[0].name(children[1..]), optional for ?.
  kPredicate,    // name is the builtin; children[0] collection, children[1] closure, rest extra
  kClosure,      // children[0] is the body
  kLet,          // let name = children[0]; children[1]
};

// Operator codes resolved at parse time so evaluation does not compare
// operator strings.
enum class Op {
  kNone,
  kAnd,
  kOr,
  kCoalesce,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kMatches,
  kContains,
  kStartsWith,
  kEndsWith,
  kRange,
  kArithmetic,
  kLen,  // call of the builtin len with one argument, evaluated without copying it
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t pos = 0;  // byte offset of the token that starts the node
  int depth = 1;   // height of the subtree, bounded by ExprOptions::max_depth
  std::string name;
  Op op = Op::kNone;
  nlohmann::json value;
  bool optional = false;  // member/index reached through ?. somewhere in the chain
  Function function;
  std::shared_ptr<const re2::RE2> regex;
  std::vector<std::shared_ptr<const Node>> children;
};

using NodePtr = std::shared_ptr<const Node>;

}  // namespace argonaut::expr::internal
