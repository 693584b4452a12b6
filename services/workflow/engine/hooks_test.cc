// Lifecycle hooks triggered by expressions (docs/lifecyclehook.md): workflow level and step/task
// level, at most once each, before the node's exit hook; an Error hook fails its scope.
#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/sim.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using nlohmann::json;

using ::argonaut::workflow::testing::Yaml;

int Created(const Sim& sim, const std::string& node) {
  int n = 0;
  for (const auto& batch : sim.created) {
    for (const std::string& c : batch) n += c == node ? 1 : 0;
  }
  return n;
}

TEST(HooksTest, WorkflowLevelRunningHookAndExitHook) {
  Sim sim(Yaml(R"(
metadata: {name: wh}
spec:
  entrypoint: main
  hooks:
    exit: {template: note}
    running: {expression: workflow.status == "Running", template: note}
    done: {expression: 'workflow.status == "Succeeded"', template: note}
    failed: {expression: 'workflow.status == "Failed"', template: note}
  templates:
  - name: main
    steps:
    - - {name: step1, template: work}
  - {name: work, container: {image: alpine, command: ["true"]}}
  - {name: note, container: {image: alpine, command: [echo, "{{workflow.status}}"]}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(Created(sim, "wh.hooks.running"), 1);
  EXPECT_EQ(Created(sim, "wh.hooks.done"), 1);
  EXPECT_EQ(Created(sim, "wh.hooks.failed"), 0);
  EXPECT_EQ(Created(sim, "wh.onExit"), 1);
  const json* running = sim.Node("wh.hooks.running");
  ASSERT_NE(running, nullptr);
  EXPECT_EQ(running->at("phase"), "Succeeded");
  EXPECT_EQ(running->at("displayName"), "wh.hooks.running");
  bool child_of_root = false;
  for (const json& c : sim.Node("wh")->at("children")) child_of_root |= c == running->at("id");
  EXPECT_TRUE(child_of_root);
}

constexpr char kStepHooks[] = R"(
metadata: {name: sh}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: step-1
        template: work
        hooks:
          running: {expression: 'steps["step-1"].status == "Running"', template: note}
          success: {expression: 'steps["step-1"].status == "Succeeded"', template: note}
          failure: {expression: 'steps["step-1"].status == "Failed"', template: note}
          exit: {template: note}
    - - {name: step2, template: work}
  - {name: work, container: {image: alpine, command: ["true"]}}
  - {name: note, container: {image: alpine, command: [echo, hi]}}
)";

TEST(HooksTest, StepHooksFireOnceAndExitHookWaitsForThem) {
  Sim sim(Yaml(kStepHooks), [](const std::string& node, const json&) {
    PodRun r;
    r.running_ticks = node.find("hooks.success") != std::string::npos ? 4 : 2;
    return r;
  });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(Created(sim, "sh[0].step-1.hooks.running"), 1);
  EXPECT_EQ(Created(sim, "sh[0].step-1.hooks.success"), 1);
  EXPECT_EQ(Created(sim, "sh[0].step-1.hooks.failure"), 0);
  // The exit hook starts only after the success hook ended, and step2 after both.
  size_t success_done = 0, exit_start = 0, step2_start = 0;
  for (size_t i = 0; i < sim.created.size(); ++i) {
    for (const std::string& c : sim.created[i]) {
      if (c == "sh[0].step-1.onExit") exit_start = i;
      if (c == "sh[1].step2") step2_start = i;
    }
  }
  const json* success = sim.Node("sh[0].step-1.hooks.success");
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(success->at("phase"), "Succeeded");
  for (size_t i = 0; i < sim.created.size(); ++i) {
    for (const std::string& c : sim.created[i]) {
      if (c == "sh[0].step-1.hooks.success") success_done = i + 4;
    }
  }
  EXPECT_GE(exit_start, success_done);
  EXPECT_GT(step2_start, exit_start);
}

TEST(HooksTest, FailedHookIsIgnoredErrorHookFailsTheSteps) {
  Sim ignored(Yaml(kStepHooks), [](const std::string& node, const json&) {
    PodRun r;
    if (node.find("hooks.running") != std::string::npos) r.exit_code = 1;
    return r;
  });
  ASSERT_OK(ignored.Run());
  EXPECT_EQ(ignored.phase(), "Succeeded");
  EXPECT_EQ(ignored.Node("sh[0].step-1.hooks.running")->at("phase"), "Failed");

  json wf = Yaml(kStepHooks);
  wf["spec"]["templates"][0]["steps"][0][0]["hooks"]["running"]["template"] = "missing";
  Sim errored(wf);
  ASSERT_OK(errored.Run());
  EXPECT_EQ(errored.phase(), "Failed");
  const std::string msg = errored.Node("sh[0]")->at("message");
  EXPECT_NE(msg.find("sh[0].step-1.hooks.running errored"), std::string::npos) << msg;
}

TEST(HooksTest, DagTaskHooksAndDependentsWait) {
  Sim sim(Yaml(R"(
metadata: {name: dh}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: work
        hooks:
          ok: {expression: 'tasks.a.status == "Succeeded"', template: slow}
      - {name: b, template: work, depends: a}
  - {name: work, container: {image: alpine, command: ["true"]}}
  - {name: slow, container: {image: alpine, command: [sleep, "5"]}}
)"),
          [](const std::string& node, const json&) {
            PodRun r;
            r.running_ticks = node.find("hooks.ok") != std::string::npos ? 5 : 1;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  size_t hook_at = 0, b_at = 0;
  for (size_t i = 0; i < sim.created.size(); ++i) {
    for (const std::string& c : sim.created[i]) {
      if (c == "dh.a.hooks.ok") hook_at = i;
      if (c == "dh.b") b_at = i;
    }
  }
  ASSERT_GT(hook_at, 0u);
  EXPECT_GE(b_at, hook_at + 5);
}

TEST(HooksTest, BadHookExpressionNamesTheHook) {
  json wf = Yaml(kStepHooks);
  wf["spec"]["templates"][0]["steps"][0][0]["hooks"]["running"]["expression"] = "steps[";
  Sim sim(wf);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  const std::string msg = sim.Node("sh[0]")->at("message");
  EXPECT_NE(msg.find("hooks.running.expression"), std::string::npos) << msg;
}

}  // namespace
}  // namespace argonaut::workflow::engine
