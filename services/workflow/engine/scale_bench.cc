// Local measurement of Operate() at scale against an instant executor (not a test; W3's
// bench/engine_scale.cc is the reported benchmark). Prints wall time, Operate calls, the slowest
// call, nodes per second and status bytes per node for:
//   seq     steps withSequence count N (one wide step group)
//   dag     layered DAG of N tasks, WIDTH wide, task j depending on j, j+1, j+7 of the layer before
// Modes: "instant" completes every pod on the call after it was asked for; "trickle" completes at
// most two pods per call (what a controller sees when pods finish one by one, as with make -j2).
//
//   bazel run -c opt //services/workflow/engine:scale_bench -- dag 1000 100 trickle
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace {

using argonaut::workflow::engine::EngineInput;
using argonaut::workflow::engine::EngineOutput;
using argonaut::workflow::engine::Operate;
using nlohmann::json;

json SeqWorkflow(int n) {
  return json::parse(absl::StrCat(R"({"metadata":{"name":"seq","namespace":"b"},"spec":{
    "entrypoint":"main","templates":[
    {"name":"main","steps":[[{"name":"s","template":"t","withSequence":{"count":")",
                                  n, R"("}}]]},
    {"name":"t","container":{"image":"alpine","command":["true"]}}]}})"));
}

json DagWorkflow(int n, int width) {
  json tasks = json::array();
  for (int i = 0; i < n; ++i) {
    const int layer = i / width, j = i % width;
    json t = {{"name", absl::StrCat("t", layer, "-", j)}, {"template", "t"}};
    if (layer > 0) {
      json deps = json::array();
      std::set<int> ks = {j, (j + 1) % width, (j + 7) % width};
      for (int k : ks) deps.push_back(absl::StrCat("t", layer - 1, "-", k));
      t["dependencies"] = deps;
    }
    tasks.push_back(t);
  }
  return {{"metadata", {{"name", "dag"}, {"namespace", "b"}}},
          {"spec",
           {{"entrypoint", "main"},
            {"templates",
             {{{"name", "main"}, {"dag", {{"tasks", tasks}}}},
              {{"name", "t"}, {"container", {{"image", "alpine"}, {"command", {"true"}}}}}}}}}};
}

long RssKb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, rss = 0;
  if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  std::fclose(f);
  return rss * 4;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: scale_bench seq|dag N [WIDTH] [instant|trickle]\n");
    return 2;
  }
  const std::string kind = argv[1];
  const int n = std::atoi(argv[2]);
  const int width = argc > 3 ? std::atoi(argv[3]) : 100;
  const bool trickle = argc > 4 && std::string(argv[4]) == "trickle";
  const long rss0 = RssKb();
  EngineInput in;
  in.workflow = kind == "seq" ? SeqWorkflow(n) : DagWorkflow(n, width);
  in.now = absl::FromUnixSeconds(1700000000);
  std::deque<std::string> running;
  int calls = 0;
  absl::Duration total, slowest;
  const int max_calls = 4 * n + 100;
  for (; calls < max_calls; ++calls) {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<EngineOutput> out = Operate(in);
    const absl::Duration d = absl::Now() - t0;
    total += d;
    if (d > slowest) slowest = d;
    if (!out.ok()) {
      std::fprintf(stderr, "Operate: %s\n", std::string(out.status().message()).c_str());
      return 1;
    }
    in.workflow["status"] = std::move(out->status);
    const std::string phase = in.workflow["status"].value("phase", "");
    if (phase == "Succeeded" || phase == "Failed" || phase == "Error") break;
    for (const json& p : out->pods_to_create) {
      const std::string name = p["metadata"]["name"];
      in.pods[name].phase = "Running";
      running.push_back(name);
    }
    const size_t finish = trickle ? std::min<size_t>(2, running.size()) : running.size();
    for (size_t i = 0; i < finish; ++i) {
      auto& ps = in.pods[running.front()];
      ps.phase = "Succeeded";
      ps.exit_code = 0;
      ps.finished_at = in.now;
      running.pop_front();
    }
    in.now += absl::Seconds(1);
  }
  const json& st = in.workflow["status"];
  const size_t nodes = st.contains("nodes") ? st["nodes"].size() : 0;
  const size_t bytes = st.dump().size();
  std::printf(
      "%s n=%d width=%d mode=%s phase=%s nodes=%zu calls=%d total=%.3fs slowest=%.1fms "
      "nodes/s=%.0f status_bytes/node=%zu rss_delta_kb/node=%.2f\n",
      kind.c_str(), n, width, trickle ? "trickle" : "instant", st.value("phase", "").c_str(), nodes,
      calls + 1, absl::ToDoubleSeconds(total), absl::ToDoubleMilliseconds(slowest),
      nodes / std::max(1e-9, absl::ToDoubleSeconds(total)), nodes ? bytes / nodes : 0,
      nodes ? static_cast<double>(RssKb() - rss0) / nodes : 0.0);
  return 0;
}
