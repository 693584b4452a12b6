// Expression evaluation throughput against Lua 5.1 measured in the same run:
// (1) a Rollouts analysis condition through ExprProgram, (2) a step `when`
// through GovaluateProgram. Each side compiles once and evaluates per
// iteration; the final lines print evals/s ratios argonaut/lua.
//
//   bazel run -c opt //bench:expr_bench
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/govaluate.h"
#include "lua5.1/lua.hpp"
#include "nlohmann/json.hpp"

namespace {

using Json = nlohmann::json;

void SetRate(benchmark::State& state) {
  state.counters["evals/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Analysis_Argonaut(benchmark::State& state) {
  absl::StatusOr<argonaut::expr::ExprProgram> program =
      argonaut::expr::ExprProgram::Compile("result[0] >= 0.95 && len(result) > 0");
  if (!program.ok()) {
    state.SkipWithError(std::string(program.status().message()).c_str());
    return;
  }
  const Json env = {{"result", {0.97, 0.99}}};
  for (auto _ : state) {
    absl::StatusOr<bool> ok = program->EvalBool(env);
    if (!ok.ok() || !*ok) {
      state.SkipWithError("unexpected result");
      break;
    }
    benchmark::DoNotOptimize(*ok);
  }
  SetRate(state);
}

// Compiles `chunk` once and returns its registry reference.
int CompileLua(lua_State* L, const char* chunk) {
  if (luaL_loadstring(L, chunk) != 0) return LUA_NOREF;
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

bool CallLuaBool(lua_State* L, int fn) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
  if (lua_pcall(L, 0, 1, 0) != 0) {
    lua_pop(L, 1);
    return false;
  }
  bool r = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  return r;
}

void BM_Analysis_Lua(benchmark::State& state) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  int fn = CompileLua(L, "return result[1] >= 0.95 and #result > 0");
  // The environment is built once, like the JSON env on the argonaut side;
  // each iteration binds it to the global and runs the compiled chunk.
  lua_createtable(L, 2, 0);
  lua_pushnumber(L, 0.97);
  lua_rawseti(L, -2, 1);
  lua_pushnumber(L, 0.99);
  lua_rawseti(L, -2, 2);
  int table = luaL_ref(L, LUA_REGISTRYINDEX);
  for (auto _ : state) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, table);
    lua_setglobal(L, "result");
    bool ok = CallLuaBool(L, fn);
    if (!ok) {
      state.SkipWithError("unexpected result");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  SetRate(state);
  lua_close(L);
}

void BM_When_Argonaut(benchmark::State& state) {
  absl::StatusOr<argonaut::expr::GovaluateProgram> program =
      argonaut::expr::GovaluateProgram::Compile("heads == heads");
  if (!program.ok()) {
    state.SkipWithError(std::string(program.status().message()).c_str());
    return;
  }
  const Json params = Json::object();
  for (auto _ : state) {
    absl::StatusOr<Json> r = program->Eval(params);
    if (!r.ok() || *r != true) {
      state.SkipWithError("unexpected result");
      break;
    }
    benchmark::DoNotOptimize(*r);
  }
  SetRate(state);
}

void BM_When_Lua(benchmark::State& state) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  int fn = CompileLua(L, "return \"heads\" == \"heads\"");
  for (auto _ : state) {
    bool ok = CallLuaBool(L, fn);
    if (!ok) {
      state.SkipWithError("unexpected result");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  SetRate(state);
  lua_close(L);
}

BENCHMARK(BM_Analysis_Argonaut);
BENCHMARK(BM_Analysis_Lua);
BENCHMARK(BM_When_Argonaut);
BENCHMARK(BM_When_Lua);

// Console output as usual, plus the evals/s of every run for the ratios.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto it = run.counters.find("evals/s");
      if (it != run.counters.end() && !run.error_occurred) {
        rates_[run.benchmark_name()] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  const char* pairs[][3] = {
      {"analysis condition (expr-lang)", "BM_Analysis_Argonaut", "BM_Analysis_Lua"},
      {"when heads == heads (govaluate)", "BM_When_Argonaut", "BM_When_Lua"},
  };
  for (const auto& p : pairs) {
    double ours = reporter.Rate(p[1]), lua = reporter.Rate(p[2]);
    if (ours > 0 && lua > 0) {
      std::printf("ratio argonaut/lua %s: %.3f (%.0f vs %.0f evals/s)\n", p[0], ours / lua, ours,
                  lua);
    }
  }
  return 0;
}
