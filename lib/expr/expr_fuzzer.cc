// libFuzzer entry point: compiles the input as expr-lang (with and without
// the Rollouts functions) and as govaluate, evaluating each against a small
// fixed environment. Any crash, sanitizer report or hang is a bug; errors
// are the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/govaluate.h"
#include "nlohmann/json.hpp"

namespace {

const nlohmann::json& Env() {
  static const nlohmann::json* env = [] {
    auto* e = new nlohmann::json(nlohmann::json::parse(R"({
    "a": 1, "b": 2.5, "s": "str", "t": "a,b,c", "n": null, "ok": true,
    "arr": [1, 2, 3], "strs": ["x", "y"], "m": {"k": "v", "n": {"d": [1, {"e": 2}]}},
    "result": [0.97, 0.99],
    "users": [{"name": "ann", "age": 31}, {"name": "bob", "age": 17}],
    "json": "{\"a\": [1, 2, {\"b\": \"c\"}]}",
    "inputs": {"parameters": {"x": "41", "week-temps": "{\"avg\": 21.5}"}}
  })"));
    // Time values as Argo's cron env passes them, so methods and time
    // arithmetic are reachable from short inputs.
    (*e)["tm"] = argonaut::expr::TimeValue(absl::FromUnixSeconds(1704067200));
    (*e)["du"] = argonaut::expr::DurationValue(absl::Minutes(90));
    (*e)["cronworkflow"] = {{"lastScheduledTime", (*e)["tm"]}};
    return e;
  }();
  return *env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view src(reinterpret_cast<const char*>(data), size);
  argonaut::expr::ExprOptions plain;
  if (auto p = argonaut::expr::ExprProgram::Compile(src, plain); p.ok()) {
    (void)p->Eval(Env());
    (void)p->EvalBool(Env());
  }
  argonaut::expr::ExprOptions rollouts;
  rollouts.extra_functions = &argonaut::expr::RolloutsFunctions();
  if (auto p = argonaut::expr::ExprProgram::Compile(src, rollouts); p.ok()) {
    (void)p->Eval(Env());
  }
  if (auto g = argonaut::expr::GovaluateProgram::Compile(src); g.ok()) {
    (void)g->Eval(Env()["inputs"]["parameters"]);
  }
  return 0;
}
