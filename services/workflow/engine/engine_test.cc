#include "services/workflow/engine/engine.h"

#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/sim.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using nlohmann::json;

using ::argonaut::workflow::testing::Yaml;

const char* kSteps = R"(
metadata: {name: steps}
spec:
  entrypoint: hello-hello-hello
  templates:
  - name: hello-hello-hello
    steps:
    - - name: hello1
        template: print-message
        arguments: {parameters: [{name: message, value: "hello1"}]}
    - - name: hello2a
        template: print-message
        arguments: {parameters: [{name: message, value: "hello2a"}]}
      - name: hello2b
        template: print-message
        arguments: {parameters: [{name: message, value: "hello2b"}]}
    - - name: hello3
        template: print-message
        arguments: {parameters: [{name: message, value: "{{steps.hello2a.outputs.result}}"}]}
  - name: print-message
    inputs: {parameters: [{name: message}]}
    container:
      image: busybox
      command: [echo]
      args: ["{{inputs.parameters.message}}"]
)";

TEST(EngineTest, StepsRunInOrderWithParallelGroup) {
  Sim sim(Yaml(kSteps));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  std::vector<std::vector<std::string>> batches;
  for (const auto& c : sim.created) {
    if (!c.empty()) batches.push_back(c);
  }
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], std::vector<std::string>{"steps[0].hello1"});
  EXPECT_EQ(batches[1], (std::vector<std::string>{"steps[1].hello2a", "steps[1].hello2b"}));
  EXPECT_EQ(batches[2], std::vector<std::string>{"steps[2].hello3"});
  const json* h3 = sim.Node("steps[2].hello3");
  ASSERT_NE(h3, nullptr);
  EXPECT_EQ(h3->at("inputs")["parameters"][0]["value"], "hello2a");
  EXPECT_EQ(h3->at("type"), "Pod");
  EXPECT_EQ(h3->at("displayName"), "hello3");
  EXPECT_EQ(sim.workflow()["status"]["progress"], "4/4");
  const json* root = sim.Node("steps");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->at("type"), "Steps");
  EXPECT_EQ(root->at("id"), "steps");
  EXPECT_EQ(sim.Node("steps[1]")->at("type"), "StepGroup");
  EXPECT_TRUE(sim.workflow()["status"].contains("finishedAt"));
}

TEST(EngineTest, PodContract) {
  json wf = Yaml(kSteps);
  EngineInput in;
  in.workflow = wf;
  in.now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<EngineOutput> out_or = Operate(in);
  ASSERT_OK(out_or.status());
  const EngineOutput& out = *out_or;
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& pod = out.pods_to_create[0];
  EXPECT_EQ(pod["metadata"]["name"], PodName("steps", "steps[0].hello1", "print-message"));
  EXPECT_EQ(pod["metadata"]["labels"]["workflows.argoproj.io/workflow"], "steps");
  EXPECT_EQ(pod["spec"]["containers"][0]["command"], json::array({"argoexec", "emissary"}));
  EXPECT_EQ(pod["spec"]["restartPolicy"], "Never");
  json tmpl = json::parse(
      pod["metadata"]["annotations"]["workflows.argoproj.io/template"].get<std::string>());
  EXPECT_EQ(tmpl["container"]["args"][0], "hello1");
  // Same input again: the pod exists (Pending) so it is not asked for twice.
  in.workflow["status"] = out.status;
  in.pods[pod["metadata"]["name"]].phase = "Pending";
  absl::StatusOr<EngineOutput> again_or = Operate(in);
  ASSERT_OK(again_or.status());
  const EngineOutput& again = *again_or;
  EXPECT_TRUE(again.pods_to_create.empty());
  EXPECT_EQ(again.status["phase"], "Running");
}

TEST(EngineTest, DiamondDag) {
  Sim sim(Yaml(R"(
metadata: {name: diamond}
spec:
  entrypoint: diamond
  templates:
  - name: echo
    inputs: {parameters: [{name: message}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.message}}"]}
  - name: diamond
    dag:
      tasks:
      - {name: A, template: echo, arguments: {parameters: [{name: message, value: A}]}}
      - {name: B, depends: "A", template: echo, arguments: {parameters: [{name: message, value: B}]}}
      - {name: C, depends: "A", template: echo, arguments: {parameters: [{name: message, value: C}]}}
      - {name: D, depends: "B && C", template: echo, arguments: {parameters: [{name: message, value: D}]}}
      - {name: E, dependencies: [D], template: echo, arguments: {parameters: [{name: message, value: E}]}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  std::vector<std::vector<std::string>> batches;
  for (const auto& c : sim.created) {
    if (!c.empty()) batches.push_back(c);
  }
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[1], (std::vector<std::string>{"diamond.B", "diamond.C"}));
  EXPECT_EQ(sim.workflow()["status"]["progress"], "5/5");
}

TEST(EngineTest, CoinFlipWhen) {
  Sim sim(Yaml(R"(
metadata: {name: coinflip}
spec:
  entrypoint: coinflip
  templates:
  - name: coinflip
    steps:
    - - {name: flip-coin, template: flip-coin}
    - - {name: heads, template: heads, when: "{{steps.flip-coin.outputs.result}} == heads"}
      - {name: tails, template: tails, when: "{{steps.flip-coin.outputs.result}} == tails"}
  - name: flip-coin
    script:
      image: python:alpine3.6
      command: [python]
      source: |
        import random
        print("heads" if random.randint(0,1) == 0 else "tails")
  - name: heads
    container: {image: alpine, command: [sh, -c], args: ["echo \"it was heads\""]}
  - name: tails
    container: {image: alpine, command: [sh, -c], args: ["echo \"it was tails\""]}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.Node("coinflip[1].heads")->at("phase"), "Succeeded");
  const json* tails = sim.Node("coinflip[1].tails");
  ASSERT_NE(tails, nullptr);
  EXPECT_EQ(tails->at("type"), "Skipped");
  EXPECT_EQ(tails->at("phase"), "Skipped");
  EXPECT_EQ(tails->at("message"), "when 'heads == tails' evaluated false");
}

TEST(EngineTest, OutputParameterAndGlobal) {
  Sim sim(Yaml(R"(
metadata: {name: outparam}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: generate, template: gen}
    - - name: consume
        template: show
        arguments: {parameters: [{name: message, value: "{{steps.generate.outputs.parameters.hello-param}}"}]}
  - name: gen
    container: {image: busybox, command: [sh, -c], args: ["echo -n hello world > /tmp/hello_world.txt"]}
    outputs:
      parameters:
      - name: hello-param
        globalName: my-global
        valueFrom: {path: /tmp/hello_world.txt}
      - name: missing
        valueFrom: {path: /tmp/nope, default: "fallback"}
  - name: show
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.message}} {{workflow.outputs.parameters.my-global}}"]}
)"),
          [](const std::string& node, const json& t) {
            PodRun r;
            if (node.find("generate") != std::string::npos)
              r.params = {{"hello-param", "hello world"}};
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  const json* gen = sim.Node("outparam[0].generate");
  EXPECT_EQ(gen->at("outputs")["parameters"][1]["value"], "fallback");
  const json* consume = sim.Node("outparam[1].consume");
  EXPECT_EQ(consume->at("inputs")["parameters"][0]["value"], "hello world");
  EXPECT_EQ(sim.workflow()["status"]["outputs"]["parameters"][0],
            (json{{"name", "my-global"}, {"value", "hello world"}}));
}

TEST(EngineTest, MissingTemplateIsWorkflowError) {
  Sim sim(Yaml(R"(
metadata: {name: bad}
spec:
  entrypoint: nope
  templates:
  - {name: a, container: {image: alpine}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Error");
  EXPECT_EQ(sim.workflow()["status"]["message"], "template \"nope\" not found");
}

TEST(EngineTest, RequiredWorkflowParameterMissing) {
  Sim sim(Yaml(R"(
metadata: {name: bad}
spec:
  entrypoint: a
  arguments: {parameters: [{name: msg}]}
  templates:
  - {name: a, container: {image: alpine}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Error");
  EXPECT_NE(sim.workflow()["status"]["message"].get<std::string>().find("msg"), std::string::npos);
}

TEST(EngineTest, HostileSpecsDoNotCrash) {
  for (const char* text : {
           "metadata: {name: x}\nspec: {entrypoint: a, templates: 5}",
           "metadata: {name: x}\nspec: {entrypoint: a, templates: [{name: a, steps: 3}]}",
           "metadata: {name: x}\nspec: {entrypoint: a, templates: [{name: a, dag: {tasks: [{name: "
           "b, depends: \"c &&\"}]}}]}",
           "metadata: {name: x}\nspec: {entrypoint: a, templates: [{name: a, steps: [[{name: s, "
           "template: a}]]}]}",
           "metadata: {name: x}\nspec: {entrypoint: a, templates: [{name: a, dag: {tasks: [{name: "
           "b, depends: c, template: a}, {name: c, depends: b, template: a}]}}]}",
       }) {
    Sim sim(Yaml(text));
    ASSERT_OK(sim.Run(400)) << text;
    // Spec errors inside steps surface as a failed step group (as in Argo); either way the
    // workflow ends with a message.
    EXPECT_TRUE(sim.phase() == "Error" || sim.phase() == "Failed") << text;
    EXPECT_FALSE(sim.workflow()["status"].value("message", std::string()).empty()) << text;
  }
}

}  // namespace
}  // namespace argonaut::workflow::engine
