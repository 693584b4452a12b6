// govaluate (github.com/Knetic/govaluate, v3 as vendored by Argo Workflows) for step/task `when`
// conditions, evaluated after {{...}} substitution.
//
//   ASSIGN_OR_RETURN(auto program, GovaluateProgram::Compile("heads == heads && 5 > 3"));
//   ASSIGN_OR_RETURN(bool run, program.EvalBool());
//
// Argo quirk reproduced on purpose: Argo's shouldExecute (workflow/controller/steps.go) parses the
// expression, rewrites every VARIABLE token into a STRING token and evaluates with no parameters,
// so the bare word `tails` in `heads == tails` is the string "tails". Here a bare word that is not
// a key of `params` evaluates to its own name; with the default empty params that is exactly
// Argo's behaviour. Dotted words (`a.B`) are govaluate ACCESSOR tokens, which Argo does not
// rewrite: they must resolve through params or evaluation fails ("No parameter 'a' found"), and a
// lower-case segment after a dot (`a.b`) is a parse error, as in govaluate.
//
// Values follow govaluate: numbers are float64, `==` is deep equality without coercion (so
// "5" == 5 is false), `< <= > >=` need two numbers or two strings, `+` concatenates when either
// side is a string, `=~`/`!~` are unanchored RE2 searches (Go regexp syntax is RE2's).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr {

namespace govaluate_internal {
struct Program;
}  // namespace govaluate_internal

inline constexpr size_t kGovaluateMaxLength = size_t{1} << 20;
// Parenthesis nesting and operator-chain depth; deeper input is rejected at Compile.
inline constexpr int kGovaluateMaxDepth = 256;
inline constexpr int kGovaluateMaxTreeDepth = 2000;

class GovaluateProgram {
 public:
  // Parses once. Errors are InvalidArgument with a 1-based column:
  //   column 14: unexpected ')' in "a == (b + )"
  static absl::StatusOr<GovaluateProgram> Compile(std::string_view source);

  // params: an object whose keys are variable names (values: number, string, bool, null, array,
  // or objects for dotted accessors). Returns a number, string, bool, null or array.
  absl::StatusOr<nlohmann::json> Eval(
      const nlohmann::json& params = nlohmann::json::object()) const;
  absl::StatusOr<bool> EvalBool(const nlohmann::json& params = nlohmann::json::object()) const;

  const std::string& source() const;

 private:
  explicit GovaluateProgram(std::shared_ptr<const govaluate_internal::Program> program)
      : program_(std::move(program)) {}

  std::shared_ptr<const govaluate_internal::Program> program_;
};

// Argo's shouldExecute: an empty `when` runs; otherwise the already-substituted condition must
// evaluate to a boolean. Errors carry Argo's "Invalid 'when' expression" wording.
absl::StatusOr<bool> ShouldExecute(std::string_view when);

// Go's fmt "%v" rendering of a float64 (shortest repr, exponent form outside [1e-4, 1e6)),
// which govaluate uses for string concatenation of numbers.
std::string FormatGoFloat(double v);

}  // namespace argonaut::expr
