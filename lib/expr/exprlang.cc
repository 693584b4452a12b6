#include "lib/expr/exprlang.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/expr/builtins.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/exprlang_ast.h"
#include "lib/expr/exprlang_eval.h"
#include "lib/expr/exprlang_parser.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr {

void FunctionTable::Add(std::string name, Function f) {
  functions_[std::move(name)] = std::move(f);
}

const Function* FunctionTable::Find(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

namespace {

using internal::Json;

absl::Status Arity(const std::vector<Json>& args, size_t n) {
  if (args.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", n, " argument(s), got ", args.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> FloatArg(const Json& v) {
  if (!internal::IsNumber(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a number, got ", internal::TypeName(v)));
  }
  return internal::AsDouble(v);
}

FunctionTable MakeRolloutsFunctions() {
  FunctionTable t;
  t.Add("isNaN", [](std::vector<Json>& args) -> absl::StatusOr<Json> {
    if (auto s = Arity(args, 1); !s.ok()) return s;
    absl::StatusOr<double> f = FloatArg(args[0]);
    if (!f.ok()) return f.status();
    return Json(std::isnan(*f));
  });
  t.Add("isInf", [](std::vector<Json>& args) -> absl::StatusOr<Json> {
    if (auto s = Arity(args, 1); !s.ok()) return s;
    absl::StatusOr<double> f = FloatArg(args[0]);
    if (!f.ok()) return f.status();
    return Json(std::isinf(*f));
  });
  // Rollouts' isNil and default inspect `result` whatever argument is passed
  // (utils/evaluate); here they inspect their argument, which agrees for the
  // documented use `default(result, 0)`.
  t.Add("isNil", [](std::vector<Json>& args) -> absl::StatusOr<Json> {
    if (auto s = Arity(args, 1); !s.ok()) return s;
    return Json(args[0].is_null());
  });
  t.Add("default", [](std::vector<Json>& args) -> absl::StatusOr<Json> {
    if (auto s = Arity(args, 2); !s.ok()) return s;
    return args[0].is_null() ? std::move(args[1]) : std::move(args[0]);
  });
  // asInt/asFloat are also builtins; Rollouts' versions behave the same.
  for (const char* name : {"asInt", "asFloat"}) {
    if (const Function* f = internal::FindBuiltin(name)) t.Add(name, *f);
  }
  return t;
}

}  // namespace

nlohmann::json TimeValue(absl::Time t) { return internal::MakeTimeClamped(t); }

nlohmann::json DurationValue(absl::Duration d) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (d >= absl::Nanoseconds(kMax)) return internal::MakeDuration(kMax);
  if (d <= absl::Nanoseconds(kMin)) return internal::MakeDuration(kMin);
  return internal::MakeDuration(absl::ToInt64Nanoseconds(d));
}

const FunctionTable& RolloutsFunctions() {
  static const FunctionTable* table = new FunctionTable(MakeRolloutsFunctions());
  return *table;
}

absl::StatusOr<ExprProgram> ExprProgram::Compile(std::string_view source,
                                                 const ExprOptions& options) {
  absl::StatusOr<internal::NodePtr> root = internal::Parse(source, options);
  if (!root.ok()) return root.status();
  ExprProgram program;
  program.source_ = std::make_shared<const std::string>(source);
  program.root_ = *std::move(root);
  program.max_depth_ = options.max_depth;
  return program;
}

absl::StatusOr<nlohmann::json> ExprProgram::Eval(const nlohmann::json& env) const {
  if (!env.is_object() && !env.is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat("env must be an object, got ", internal::TypeName(env)));
  }
  absl::StatusOr<nlohmann::json> result = internal::Evaluate(*root_, env, *source_, max_depth_);
  if (result.ok()) internal::ToPlainJson(*result);
  return result;
}

absl::StatusOr<bool> ExprProgram::EvalBool(const nlohmann::json& env) const {
  absl::StatusOr<nlohmann::json> v = Eval(env);
  if (!v.ok()) return v.status();
  if (!v->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("expected bool result but got ",
                                                   internal::TypeName(*v), " from \"",
                                                   source_->substr(0, 200), "\""));
  }
  return v->get<bool>();
}

}  // namespace argonaut::expr
