// Tokens, values and the lexer of the govaluate engine (govaluate.h). Internal to lib/expr.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr::govaluate_internal {

struct Value;
using Array = std::vector<Value>;

struct Value {
  std::variant<std::monostate, double, bool, std::string, Array> v;

  bool IsNil() const { return std::holds_alternative<std::monostate>(v); }
  bool IsNum() const { return std::holds_alternative<double>(v); }
  bool IsBool() const { return std::holds_alternative<bool>(v); }
  bool IsStr() const { return std::holds_alternative<std::string>(v); }
  bool IsArr() const { return std::holds_alternative<Array>(v); }
  double Num() const { return std::get<double>(v); }
  bool Bool() const { return std::get<bool>(v); }
  const std::string& Str() const { return std::get<std::string>(v); }
  const Array& Arr() const { return std::get<Array>(v); }
};

// Go's reflect.DeepEqual over the value kinds govaluate produces.
bool DeepEqual(const Value& a, const Value& b);
// Go's fmt "%v" of a value.
std::string GoString(const Value& v);
nlohmann::json ToJson(const Value& v);
absl::StatusOr<Value> FromJson(const nlohmann::json& j, std::string_view name, int depth);

enum class Kind {
  kNumeric,
  kBoolean,
  kString,
  kVariable,
  kAccessor,
  kPattern,  // never produced by the lexer; regex literals are compiled in place
  kComparator,
  kLogical,
  kModifier,
  kPrefix,
  kTernary,
  kSeparator,
  kClause,
  kClauseClose,
};

struct Token {
  Kind kind;
  int column;                     // 1-based byte column of the first character
  std::string text;               // source spelling, for error messages
  Value value;                    // literal value, or the operator spelling
  std::vector<std::string> path;  // accessor segments
};

// Whether a token of kind `k` ends an operand (govaluate lexer states).
bool IsValueKind(Kind k);
// `prev` is nullopt at the start of the expression.
bool CanTransition(std::optional<Kind> prev, Kind next);
bool CanEnd(Kind k);

std::string Truncated(std::string_view s);
absl::Status ErrorAt(std::string_view source, int column, std::string_view msg);
std::string Describe(const Token& t);

// Splits `src` into govaluate tokens; errors carry a 1-based column.
absl::StatusOr<std::vector<Token>> Lex(std::string_view src);

}  // namespace argonaut::expr::govaluate_internal
