// Engine scale: drive services/workflow/engine's Operate() over a 10,000-node workflow against an
// "instant executor" (every pod the engine asks for is reported Succeeded on the next call), and
// print nodes scheduled per second and memory per node.
//
//   bazel run -c opt //bench:engine_scale -- [nodes] [dag|steps|both]
//
// Shapes: `dag` is `nodes` tasks in layers of 100, each task depending on three tasks of the layer
// before (fan-out/fan-in); `steps` is one step with `withSequence: {count: nodes}` (one wide step
// group). The measured loop is exactly what the controller does per reconcile, minus the store and
// the cluster: hand the workflow in, Operate, write the status back, create/delete pods.
//
// Time: the whole loop (nodes/s) and Operate alone (mean and max per call: the controller makes one
// call per reconcile, so the per-call cost matters as much as the total).
//
// Memory: the RSS delta from before the workflow is built to the moment it succeeds (state still
// held), and the live heap delta (mallinfo2), each divided by the number of status nodes.
//
// ENGINE_SCALE_DUMP=<dir> writes each final status to <dir>/<shape>-<nodes>.json, to check that
// an engine change kept the outcome byte for byte.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace engine = argonaut::workflow::engine;
using nlohmann::json;

namespace {

constexpr int kLayerWidth = 100;
// A run that has not finished after this long is reported as such, not waited for.
constexpr absl::Duration kWallLimit = absl::Minutes(10);

json Metadata(std::string_view name) {
  return {{"name", std::string(name)},
          {"namespace", "default"},
          {"uid", "00000000-0000-0000-0000-000000000001"},
          {"creationTimestamp", "2024-01-01T00:00:00Z"}};
}

json TrueTemplate() {
  return {{"name", "true"}, {"container", {{"image", "alpine"}, {"command", {"true"}}}}};
}

// Layers of kLayerWidth tasks; task j of layer l depends on tasks j, j+1 and j+7 (mod width) of
// layer l-1.
json DagWorkflow(int nodes) {
  json tasks = json::array();
  for (int i = 0; i < nodes; ++i) {
    const int layer = i / kLayerWidth;
    const int j = i % kLayerWidth;
    json task = {{"name", absl::StrCat("t", layer, "-", j)}, {"template", "true"}};
    if (layer > 0) {
      // Only the last layer may be partial, so the layer before is always full.
      std::vector<int> deps = {j, (j + 1) % kLayerWidth, (j + 7) % kLayerWidth};
      std::sort(deps.begin(), deps.end());
      deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
      json d = json::array();
      for (int k : deps) d.push_back(absl::StrCat("t", layer - 1, "-", k));
      task["dependencies"] = d;
    }
    tasks.push_back(std::move(task));
  }
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Workflow"},
          {"metadata", Metadata("scale-dag")},
          {"spec",
           {{"entrypoint", "main"},
            {"templates", {{{"name", "main"}, {"dag", {{"tasks", tasks}}}}, TrueTemplate()}}}}};
}

json StepsWorkflow(int nodes) {
  json step = {
      {"name", "run"}, {"template", "true"}, {"withSequence", {{"count", std::to_string(nodes)}}}};
  return {
      {"apiVersion", "argoproj.io/v1alpha1"},
      {"kind", "Workflow"},
      {"metadata", Metadata("scale-steps")},
      {"spec",
       {{"entrypoint", "main"},
        {"templates",
         {{{"name", "main"}, {"steps", json::array({json::array({step})})}}, TrueTemplate()}}}}};
}

double RssBytes() {
  auto st = argonaut::metrics::ReadProcessStats();
  return st.ok() ? st->resident_memory_bytes : 0;
}

double HeapBytes() { return static_cast<double>(mallinfo2().uordblks); }

struct Outcome {
  std::string shape;
  std::string phase;
  std::string error;
  size_t status_nodes = 0;
  size_t pods = 0;
  int calls = 0;
  double seconds = 0;
  double operate_seconds = 0;  // inside Operate only (the rest is this harness)
  double max_call_seconds = 0;
  double rss_delta = 0;
  double heap_delta = 0;
};

Outcome Run(const std::string& shape, int nodes) {
  Outcome o;
  o.shape = shape;
  const double rss0 = RssBytes();
  const double heap0 = HeapBytes();
  json wf = shape == "dag" ? DagWorkflow(nodes) : StepsWorkflow(nodes);
  std::map<std::string, engine::PodState> pods;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  const int max_calls = 4 * nodes + 1000;  // far above any sane schedule; guards a stuck engine
  const absl::Time start = absl::Now();
  while (o.calls < max_calls) {
    if (absl::Now() - start > kWallLimit) {
      o.error = absl::StrCat("not finished after ", absl::FormatDuration(kWallLimit));
      break;
    }
    engine::EngineInput in;
    // Moved in and back out: the harness should not add a copy of 10,000 nodes per call. The
    // status goes into the engine (OperateConsumingStatus) and comes back as out->status.
    in.workflow = std::move(wf);
    in.pods = std::move(pods);
    in.now = now;
    in.lookup = [](std::string_view, std::string_view) { return std::optional<json>(); };
    const absl::Time call_start = absl::Now();
    absl::StatusOr<engine::EngineOutput> out = engine::OperateConsumingStatus(in);
    const double call_seconds = absl::ToDoubleSeconds(absl::Now() - call_start);
    o.operate_seconds += call_seconds;
    o.max_call_seconds = std::max(o.max_call_seconds, call_seconds);
    ++o.calls;
    wf = std::move(in.workflow);
    pods = std::move(in.pods);
    if (!out.ok()) {
      o.error = std::string(out.status().message());
      break;
    }
    wf["status"] = std::move(out->status);
    // The instant executor: what was asked for has already run `true` by the next call.
    for (const json& pod : out->pods_to_create) {
      engine::PodState st;
      st.phase = "Succeeded";
      st.exit_code = 0;
      st.outputs = {{"result", ""}, {"exitCode", "0"}};
      st.started_at = now;
      st.finished_at = now;
      pods[pod["metadata"]["name"].get<std::string>()] = std::move(st);
      ++o.pods;
    }
    for (const std::string& name : out->pods_to_delete) pods.erase(name);
    o.phase = wf["status"].value("phase", "");
    if (o.phase == "Succeeded" || o.phase == "Failed" || o.phase == "Error") break;
    now += absl::Seconds(1);
  }
  o.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (o.error.empty() && o.phase != "Succeeded") {
    o.error = absl::StrCat("ended ", o.phase.empty() ? "without a phase" : o.phase, " after ",
                           o.calls, " calls: ", wf["status"].value("message", ""));
  }
  if (wf["status"].contains("nodes")) o.status_nodes = wf["status"]["nodes"].size();
  o.rss_delta = RssBytes() - rss0;
  o.heap_delta = HeapBytes() - heap0;
  // Comparing the final status across engine changes shows a speed-up did not change the outcome.
  if (const char* dir = std::getenv("ENGINE_SCALE_DUMP"); dir != nullptr && *dir != '\0') {
    const std::string path = absl::StrCat(dir, "/", shape, "-", nodes, ".json");
    if (std::FILE* f = std::fopen(path.c_str(), "w"); f != nullptr) {
      const std::string text = wf["status"].dump(1);
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
  }
  return o;
}

void Print(const Outcome& o) {
  const double per_node = o.status_nodes > 0 ? 1.0 / static_cast<double>(o.status_nodes) : 0;
  std::printf(
      "%-5s phase=%s calls=%d pods=%zu nodes=%zu time=%.3fs  nodes/s=%.0f  "
      "bytes/node: rss=%.0f heap=%.0f  operate: %.2f ms/call, max %.2f ms\n",
      o.shape.c_str(), o.phase.empty() ? "-" : o.phase.c_str(), o.calls, o.pods, o.status_nodes,
      o.seconds, o.seconds > 0 ? static_cast<double>(o.status_nodes) / o.seconds : 0,
      o.rss_delta * per_node, o.heap_delta * per_node,
      o.calls > 0 ? 1000 * o.operate_seconds / o.calls : 0, 1000 * o.max_call_seconds);
  if (!o.error.empty()) std::printf("%-5s error: %s\n", o.shape.c_str(), o.error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 10000;
  if (argc > 1 && (!absl::SimpleAtoi(argv[1], &nodes) || nodes < 1 || nodes > 1000000)) {
    std::fprintf(stderr, "usage: engine_scale [nodes (1..1000000)] [dag|steps|both]\n");
    return 2;
  }
  const std::string which = argc > 2 ? argv[2] : "both";
  if (which != "dag" && which != "steps" && which != "both") {
    std::fprintf(stderr, "unknown shape %s (dag|steps|both)\n", which.c_str());
    return 2;
  }
  std::printf("engine_scale: %d tasks per workflow, instant executor\n", nodes);
  bool ok = true;
  for (const std::string shape : {"dag", "steps"}) {
    if (which != "both" && which != shape) continue;
    Outcome o = Run(shape, nodes);
    Print(o);
    ok = ok && o.error.empty();
  }
  if (auto st = argonaut::metrics::ReadProcessStats(); st.ok()) {
    std::printf("process rss at exit: %.1f MiB\n", st->resident_memory_bytes / (1 << 20));
  }
  return ok ? 0 : 1;
}
