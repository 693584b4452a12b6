// The compiled-DAG cache: keys never shared by different graphs, hits equal to misses, bounds,
// concurrent use, and the native `dependencies` decision equal to the expression's.
#include "services/workflow/engine/dag_graph.h"

#include <malloc.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow::engine::internal {
namespace {

using nlohmann::json;

json Tasks(const std::string& text) { return json::parse(text); }

// Layers of `width` tasks named `<prefix><layer>-<j>`, each depending on up to three of the layer
// before.
json LayeredTasks(const std::string& prefix, int n, int width) {
  json tasks = json::array();
  for (int i = 0; i < n; ++i) {
    const int layer = i / width;
    const int j = i % width;
    json t = {{"name", absl::StrCat(prefix, layer, "-", j)}, {"template", "true"}};
    if (layer > 0) {
      json d = json::array();
      for (int k : {j, (j + 1) % width}) d.push_back(absl::StrCat(prefix, layer - 1, "-", k));
      t["dependencies"] = d;
    }
    tasks.push_back(t);
  }
  return tasks;
}

TEST(DagKeyTest, DiffersWhenAnythingTheGraphReadsDiffers) {
  const json base = Tasks(R"([{"name":"a"},{"name":"b","dependencies":["a"]}])");
  const std::string key = DagKey(base);
  EXPECT_EQ(key, DagKey(base));
  // Fields the graph does not read (templates, arguments) do not change the key.
  EXPECT_EQ(key, DagKey(Tasks(R"([{"name":"a","template":"x"},{"name":"b","dependencies":["a"],
                                  "arguments":{"parameters":[{"name":"p","value":"1"}]}}])")));
  for (const char* other : {
           R"([{"name":"a"},{"name":"b"}])",
           R"([{"name":"a"},{"name":"b","depends":"a"}])",
           R"([{"name":"a"},{"name":"c","dependencies":["a"]}])",
           R"([{"name":"a","continueOn":{"failed":true}},{"name":"b","dependencies":["a"]}])",
           R"([{"name":"a","onExit":"x"},{"name":"b","dependencies":["a"]}])",
           R"([{"name":"a","arguments":{"parameters":[{"name":"p","value":"{{tasks.x.id}}"}]}},
               {"name":"b","dependencies":["a"]}])",
           // Length prefixes: names that concatenate alike still differ.
           R"([{"name":"a"},{"name":"b","dependencies":["a","b"]}])",
           R"([{"name":"a"},{"name":"b","dependencies":["ab"]}])",
       }) {
    EXPECT_NE(key, DagKey(Tasks(other))) << other;
  }
}

TEST(CompileDagTest, OrderTargetsAndErrors) {
  CompiledDag g = CompileDag(Tasks(R"([{"name":"c","dependencies":["b"]},
      {"name":"b","depends":"a.Succeeded || a.Failed"},{"name":"a"},{"name":"d"}])"));
  ASSERT_EQ(g.error, "");
  ASSERT_EQ(g.tasks.size(), 4u);
  // Kahn in spec order: a and d have no dependencies.
  EXPECT_EQ(g.order, (std::vector<uint32_t>{2, 3, 1, 0}));
  EXPECT_TRUE(g.tasks[0].sink);
  EXPECT_FALSE(g.tasks[1].sink);
  EXPECT_TRUE(g.tasks[3].sink);
  EXPECT_EQ(g.tasks[0].program, -1);  // a plain list is decided natively
  EXPECT_GE(g.tasks[1].program, 0);   // an expression keeps its program
  EXPECT_EQ(g.Find("b"), std::optional<uint32_t>(1));
  EXPECT_EQ(g.Find("zz"), std::nullopt);

  EXPECT_EQ(CompileDag(Tasks(R"([{"name":"a"},{"name":"a"}])")).error,
            "dag.tasks: duplicate task name \"a\"");
  EXPECT_EQ(CompileDag(Tasks(R"([{"template":"x"}])")).error, "dag.tasks: a task has no name");
  EXPECT_EQ(CompileDag(Tasks(R"([{"name":"a","depends":"b"},{"name":"b","depends":"a"}])")).error,
            "dag.tasks: dependency cycle");
  CompiledDag unknown = CompileDag(Tasks(R"([{"name":"a","dependencies":["nope"]}])"));
  ASSERT_EQ(unknown.error, "");
  ASSERT_GE(unknown.tasks[0].error, 0);
  EXPECT_EQ(unknown.errors[unknown.tasks[0].error], "dag.tasks.a.depends: unknown task \"nope\"");
  CompiledDag bad = CompileDag(Tasks(R"([{"name":"a","depends":"&&"}])"));
  ASSERT_GE(bad.tasks[0].error, 0);
  EXPECT_THAT(bad.errors[bad.tasks[0].error], ::testing::StartsWith("dag.tasks.a.depends: "));
}

// Every phase combination of two dependencies, with each continueOn setting: the native decision
// equals DependsProgram::Decide over the expression DependenciesToDepends builds.
TEST(DependsNativeTest, MatchesTheExpression) {
  using expr::NodePhase;
  const std::vector<NodePhase> phases = {
      NodePhase::kPending, NodePhase::kRunning, NodePhase::kSucceeded, NodePhase::kFailed,
      NodePhase::kErrored, NodePhase::kSkipped, NodePhase::kOmitted};
  int checked = 0;
  for (const char* continue_on :
       {"", R"(,"continueOn":{"failed":true})", R"(,"continueOn":{"error":true})",
        R"(,"continueOn":{"failed":true,"error":true})"}) {
    const json tasks = Tasks(absl::StrCat(R"([{"name":"x")", continue_on, R"(},{"name":"y"},
        {"name":"t","dependencies":["x","y"]}])"));
    const CompiledDag g = CompileDag(tasks);
    ASSERT_EQ(g.error, "");
    const DagTask& t = g.tasks[2];
    ASSERT_EQ(t.program, -1);
    ASSERT_EQ(t.error, -1);
    std::vector<std::string> deps = {"x", "y"};
    const std::string src = expr::DependenciesToDepends(deps, [&](std::string_view d) {
      expr::ContinueOn c;
      c.failed = g.tasks[*g.Find(d)].continue_failed;
      c.error = g.tasks[*g.Find(d)].continue_error;
      return c;
    });
    absl::StatusOr<expr::DependsProgram> prog_or = expr::DependsProgram::Compile(src);
    ASSERT_OK(prog_or.status());
    const expr::DependsProgram& prog = *prog_or;
    for (int x_exists = 0; x_exists < 2; ++x_exists) {
      for (NodePhase px : phases) {
        for (NodePhase py : phases) {
          for (int daemoned = 0; daemoned < 4; ++daemoned) {
            std::vector<DepState> states(3);
            states[0] = DepState{x_exists == 1, px, (daemoned & 1) != 0};
            states[1] = DepState{true, py, (daemoned & 2) != 0};
            const expr::DependsDecision native = DependsNative(g, t, states);
            absl::StatusOr<expr::DependsDecision> want =
                prog.Decide([&](std::string_view d) -> std::optional<expr::TaskStatus> {
                  const DepState& s = states[d == "x" ? 0 : 1];
                  if (!s.exists) return std::nullopt;
                  expr::TaskStatus st;
                  st.phase = s.phase;
                  st.daemoned = s.daemoned;
                  return st;
                });
            ASSERT_OK(want.status());
            EXPECT_EQ(native.ready, want->ready) << src;
            if (native.ready) {
              EXPECT_EQ(native.execute, want->execute) << src;
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 2 * 7 * 7 * 4);
}

TEST(DagCacheTest, HitsShareOneGraphAndDifferentBodiesDoNot) {
  DagCache cache(8, 1000);
  const json a = Tasks(R"([{"name":"a"},{"name":"b","dependencies":["a"]}])");
  const json b = Tasks(R"([{"name":"a"},{"name":"b"}])");  // same names, no dependency
  auto ga = cache.Get(a);
  EXPECT_EQ(cache.Get(a), ga);
  auto gb = cache.Get(b);
  EXPECT_NE(gb, ga);
  EXPECT_EQ(ga->Deps(ga->tasks[1]).size(), 1u);
  EXPECT_EQ(gb->Deps(gb->tasks[1]).size(), 0u);
  DagCache::Stats st = cache.stats();
  EXPECT_EQ(st.entries, 2u);
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 2u);
}

TEST(DagCacheTest, ForgetDropsOnlyTheCachedEntry) {
  DagCache cache(8, 1000);
  const json a = LayeredTasks("a", 6, 3);
  auto g = cache.Get(a);
  CompiledDag other = CompileDag(a);  // equal content, not the cached object
  other.key = g->key;
  cache.Forget(other);
  EXPECT_EQ(cache.stats().entries, 1u);
  cache.Forget(*g);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().tasks, 0u);
  EXPECT_EQ(g->tasks.size(), 6u);  // holders keep their graph
  EXPECT_NE(cache.Get(a), g);
}

TEST(DagCacheTest, BoundedByEntriesAndTasks) {
  DagCache cache(2, 10);
  auto g1 = cache.Get(LayeredTasks("a", 4, 2));
  cache.Get(LayeredTasks("b", 4, 2));
  cache.Get(LayeredTasks("a", 4, 2));  // a is now the most recent
  cache.Get(LayeredTasks("c", 4, 2));  // evicts b
  EXPECT_EQ(cache.stats().entries, 2u);
  EXPECT_EQ(cache.Get(LayeredTasks("a", 4, 2)), g1);
  const uint64_t misses = cache.stats().misses;
  cache.Get(LayeredTasks("b", 4, 2));
  EXPECT_EQ(cache.stats().misses, misses + 1);
  // 8 tasks held at most: a third 4-task graph pushes the oldest out.
  EXPECT_LE(cache.stats().tasks, 10u);
  // A graph over the task bound is compiled but not kept.
  auto big = cache.Get(LayeredTasks("d", 11, 3));
  EXPECT_EQ(big->tasks.size(), 11u);
  EXPECT_LE(cache.stats().tasks, 10u);
  EXPECT_NE(cache.Get(LayeredTasks("d", 11, 3)), big);
}

TEST(DagCacheTest, ConcurrentGetsAgree) {
  DagCache cache(4, 100000);
  std::vector<json> bodies;
  for (int i = 0; i < 6; ++i) bodies.push_back(LayeredTasks(absl::StrCat("w", i, "-"), 200, 20));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 60; ++k) {
        const json& body = bodies[(k + t) % bodies.size()];
        auto g = cache.Get(body);
        if (g->tasks.size() != 200 || g->tasks[0].name != body[0]["name"]) ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.stats().entries, 4u);
}

// What a cached graph costs: kept small, since the process-wide cache holds up to 200,000 tasks.
TEST(DagCacheTest, CompiledGraphIsSmall) {
  const json tasks = LayeredTasks("t", 10000, 100);
  // Large blocks come from mmap, which uordblks leaves out.
  auto heap = [] {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const size_t before = heap();
  auto g = std::make_shared<const CompiledDag>(CompileDag(tasks));
  std::string key = DagKey(tasks);
  const double per_task =
      static_cast<double>(heap() - before) / static_cast<double>(g->tasks.size());
  std::printf("compiled graph + key: %.0f bytes per task\n", per_task);
  EXPECT_LT(per_task, 200);
}

// Through Operate: two workflows whose DAG templates share a name ("main") and task names but not
// dependencies each run their own graph, and a call answered from the cache equals the first.
json Workflow(const std::string& name, const json& tasks) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"entrypoint", "main"},
            {"templates",
             {{{"name", "main"}, {"dag", {{"tasks", tasks}}}},
              {{"name", "true"}, {"container", {{"image", "alpine"}}}}}}}}};
}

std::vector<std::string> CreatedPods(const EngineOutput& out) {
  std::vector<std::string> names;
  for (const json& p : out.pods_to_create) names.push_back(p["metadata"]["name"]);
  return names;
}

TEST(DagCacheEngineTest, SameTemplateNameDifferentBodies) {
  const std::string uniq = absl::StrCat("engine-", reinterpret_cast<uintptr_t>(&uniq));
  const json chained =
      Tasks(absl::StrCat(R"([{"name":")", uniq, R"(-a","template":"true"},
      {"name":")",
                         uniq, R"(-b","template":"true","dependencies":[")", uniq, R"(-a"]}])"));
  const json parallel = Tasks(absl::StrCat(R"([{"name":")", uniq, R"(-a","template":"true"},
      {"name":")",
                                           uniq, R"(-b","template":"true"}])"));
  const DagCache::Stats before = DagCache::Global().stats();
  EngineInput in;
  in.now = absl::FromUnixSeconds(1700000000);
  in.workflow = Workflow("wf-chained", chained);
  absl::StatusOr<EngineOutput> first_or = Operate(in);
  ASSERT_OK(first_or.status());
  const EngineOutput& first = *first_or;  // a miss: these tasks are new
  EXPECT_EQ(CreatedPods(first).size(), 1u);
  absl::StatusOr<EngineOutput> again_or = Operate(in);
  ASSERT_OK(again_or.status());
  const EngineOutput& again = *again_or;  // a hit
  EXPECT_EQ(again.status, first.status);
  EXPECT_EQ(CreatedPods(again), CreatedPods(first));
  const DagCache::Stats after = DagCache::Global().stats();
  EXPECT_EQ(after.misses, before.misses + 1);
  EXPECT_EQ(after.hits, before.hits + 1);

  in.workflow = Workflow("wf-parallel", parallel);
  absl::StatusOr<EngineOutput> par_or = Operate(in);
  ASSERT_OK(par_or.status());
  const EngineOutput& par = *par_or;
  EXPECT_EQ(CreatedPods(par).size(), 2u);  // b does not wait for a here
  EXPECT_EQ(DagCache::Global().stats().misses, after.misses + 1);

  // OperateConsumingStatus gives the same answer and leaves the workflow without a status.
  in.workflow = Workflow("wf-chained", chained);
  in.workflow["status"] = first.status;
  absl::StatusOr<EngineOutput> copied_or = Operate(in);
  ASSERT_OK(copied_or.status());
  const EngineOutput& copied = *copied_or;
  absl::StatusOr<EngineOutput> consumed_or = OperateConsumingStatus(in);
  ASSERT_OK(consumed_or.status());
  const EngineOutput& consumed = *consumed_or;
  EXPECT_EQ(consumed.status, copied.status);
  EXPECT_FALSE(in.workflow.contains("status"));
  EXPECT_EQ(in.workflow["spec"]["entrypoint"], "main");
}

}  // namespace
}  // namespace argonaut::workflow::engine::internal
