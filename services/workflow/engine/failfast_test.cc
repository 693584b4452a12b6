// Template-level `failFast` (Argo checkParallelism): a steps/dag template with failFast starts no
// new child once one of its children failed, and fails once none of its pods is still active.
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

constexpr char kFailFastMessage[] = "template has failed or errored children and failFast enabled";

using ::argonaut::workflow::testing::Yaml;

int CountNodesWithPrefix(const json& wf, const std::string& prefix) {
  int n = 0;
  for (const auto& [id, node] : wf["status"]["nodes"].items()) {
    (void)id;
    if (node.value("name", "").rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

// examples/loops-arbitrary-sequential-steps.yaml: parallelism 1 runs the items one by one; the
// 4th fails and the 5th and 6th are never created.
TEST(FailFastTest, SequentialLoopStopsAfterFailingItem) {
  Sim sim(Yaml(R"(
metadata: {name: seq}
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: step_params
      value: |
        [{"exit_code": 0, "message": "a"}, {"exit_code": 0, "message": "b"},
         {"exit_code": 0, "message": "c"}, {"exit_code": 1, "message": "d"},
         {"exit_code": 0, "message": "e"}, {"exit_code": 0, "message": "f"}]
  templates:
  - name: main
    inputs: {parameters: [{name: step_params}]}
    parallelism: 1
    failFast: true
    steps:
    - - name: unit-step
        template: unit
        arguments:
          parameters:
          - {name: exit_code, value: "{{item.exit_code}}"}
          - {name: message, value: "{{item.message}}"}
        withParam: "{{inputs.parameters.step_params}}"
  - name: unit
    inputs: {parameters: [{name: exit_code}, {name: message}]}
    container:
      image: alpine
      command: [/bin/sh, -c]
      args: ["echo {{inputs.parameters.message}}; exit {{inputs.parameters.exit_code}}"]
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.workflow()["status"].value("message", ""), kFailFastMessage);
  EXPECT_EQ(CountNodesWithPrefix(sim.workflow(), "seq[0].unit-step("), 4);
  const json* failed = sim.Node("seq[0].unit-step(3:exit_code:1,message:d)");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->at("phase"), "Failed");
  EXPECT_EQ(sim.Node("seq[0].unit-step(4:exit_code:0,message:e)"), nullptr);
  EXPECT_EQ(sim.Node("seq[0]")->at("phase"), "Failed");
  EXPECT_EQ(sim.Node("seq")->at("phase"), "Failed");
}

// Without failFast the same loop runs every item (Argo's default).
TEST(FailFastTest, WithoutFailFastEveryItemRuns) {
  Sim sim(Yaml(R"(
metadata: {name: all}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    steps:
    - - name: s
        template: unit
        arguments: {parameters: [{name: code, value: "{{item}}"}]}
        withItems: ["0", "1", "0"]
  - name: unit
    inputs: {parameters: [{name: code}]}
    container: {image: alpine, command: [sh, -c, "exit {{inputs.parameters.code}}"]}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(CountNodesWithPrefix(sim.workflow(), "all[0].s("), 3);
}

// test/e2e/expectedfailures/parallelism-step-fail-fast.yaml: both steps already run when step1
// fails; step2 is left to finish and only then the steps template fails.
TEST(FailFastTest, StepsWaitForRunningSiblingsBeforeFailing) {
  Sim sim(Yaml(R"(
metadata: {name: par}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 2
    failFast: true
    steps:
    - - {name: step1, template: fail}
      - {name: step2, template: sleep}
  - name: fail
    container: {image: alpine, command: [sh, -c], args: ["exit 1"]}
  - name: sleep
    container: {image: alpine, command: [sh, -c], args: ["sleep 5"]}
)"),
          [](const std::string& node, const json& tmpl) {
            PodRun r = DefaultBehaviour(node, tmpl);
            if (node.find("step2") != std::string::npos) r.running_ticks = 6;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.workflow()["status"].value("message", ""), kFailFastMessage);
  EXPECT_EQ(sim.Node("par[0].step1")->at("phase"), "Failed");
  EXPECT_EQ(sim.Node("par[0].step2")->at("phase"), "Succeeded");
  EXPECT_EQ(sim.Node("par[0]")->at("phase"), "Failed");
}

// test/e2e/expectedfailures/parallelism-dag-fail-fast.yaml: the same rule for a dag template; a
// third task that could start later never does.
TEST(FailFastTest, DagStopsSchedulingAfterFailure) {
  Sim sim(Yaml(R"(
metadata: {name: dag}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 2
    failFast: true
    dag:
      tasks:
      - {name: task1, template: fail}
      - {name: task2, template: sleep}
      - {name: task3, template: sleep}
  - name: fail
    container: {image: alpine, command: [sh, -c], args: ["exit 1"]}
  - name: sleep
    container: {image: alpine, command: [sh, -c], args: ["sleep 5"]}
)"),
          [](const std::string& node, const json& tmpl) {
            PodRun r = DefaultBehaviour(node, tmpl);
            if (node.find("task2") != std::string::npos) r.running_ticks = 6;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.workflow()["status"].value("message", ""), kFailFastMessage);
  EXPECT_EQ(sim.Node("dag.task1")->at("phase"), "Failed");
  EXPECT_EQ(sim.Node("dag.task2")->at("phase"), "Succeeded");
  EXPECT_EQ(sim.Node("dag.task3"), nullptr);
}

}  // namespace
}  // namespace argonaut::workflow::engine
