// expr-lang (github.com/expr-lang/expr) as Argo uses it: `{{=...}}` workflow
// templates, `expression:` fields, Rollouts analysis conditions.
//
//   ASSIGN_OR_RETURN(auto program, ExprProgram::Compile("result[0] >= 0.95"));
//   ASSIGN_OR_RETURN(bool ok, program.EvalBool({{"result", {0.97}}}));
//
// Values are nlohmann::json. Integers and floats stay distinct the way expr
// keeps int and float64 apart: integer arithmetic stays integral, `/` and
// `**` always produce floats.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr {

// Arguments are passed mutable so a function may move out of them.
using Function = std::function<absl::StatusOr<nlohmann::json>(std::vector<nlohmann::json>& args)>;

// Functions a caller adds on top of the builtins; they take precedence over a
// builtin of the same name, as expr.Function does.
class FunctionTable {
 public:
  void Add(std::string name, Function f);
  const Function* Find(std::string_view name) const;
  size_t size() const { return functions_.size(); }

 private:
  std::map<std::string, Function, std::less<>> functions_;
};

// isNaN, isInf, asInt, asFloat, isNil, default: the extras Argo Rollouts adds
// for analysis successCondition/failureCondition.
const FunctionTable& RolloutsFunctions();

// expr's time.Time and time.Duration as env values, e.g. Argo's
// cronworkflow.lastScheduledTime: {{"lastScheduledTime", TimeValue(t)}}. The
// values are tagged binary JSON that no JSON text can produce, so an RFC 3339
// string in the env stays a string (`now() - "2024-..."` is an error; write
// `now() - date("2024-...")`). Times are kept within about ±34,000 years of
// 1970 (clamped); durations are int64 nanoseconds (saturated).
nlohmann::json TimeValue(absl::Time t);
nlohmann::json DurationValue(absl::Duration d);

struct ExprOptions {
  const FunctionTable* extra_functions = nullptr;
  size_t max_length = 64 * 1024;
  int max_depth = 200;
};

namespace internal {
struct Node;
}  // namespace internal

class ExprProgram {
 public:
  static absl::StatusOr<ExprProgram> Compile(std::string_view source,
                                             const ExprOptions& options = {});

  // env must be an object (or null for no variables). Times and durations in
  // the result come back the way Go's encoding/json writes them: RFC 3339
  // text with nanoseconds, and integer nanoseconds.
  absl::StatusOr<nlohmann::json> Eval(const nlohmann::json& env) const;
  absl::StatusOr<bool> EvalBool(const nlohmann::json& env) const;

  const std::string& source() const { return *source_; }

 private:
  ExprProgram() = default;

  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const internal::Node> root_;
  int max_depth_ = 200;
};

}  // namespace argonaut::expr
