// Loops, retries, exit handlers, suspend/resume, shutdown, deadlines, parallelism, continueOn.
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

TEST(FeaturesTest, LoopsWithItemsMapsParamAndSequence) {
  Sim sim(Yaml(R"(
metadata: {name: loops}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: maps
        template: show
        arguments: {parameters: [{name: m, value: "{{item.os}} {{item.v}}"}]}
        withItems: [{os: debian, v: "9.1"}, {os: alpine, v: "3.6"}]
      - name: seq
        template: show
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withSequence: {count: "3", start: "5", format: "n%02d"}
    - - {name: gen, template: gen}
    - - name: fan
        template: show
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
        withParam: "{{steps.gen.outputs.result}}"
  - name: gen
    container: {image: alpine, command: [sh, -c], args: ["echo '[1,2]'"]}
  - name: show
    inputs: {parameters: [{name: m}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.m}}"]}
)"),
          [](const std::string& node, const json&) {
            PodRun r;
            if (node.find(".gen") != std::string::npos) r.result = "[1,2]";
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  const json* m0 = sim.Node("loops[0].maps(0:os:debian,v:9.1)");
  ASSERT_NE(m0, nullptr);
  EXPECT_EQ(m0->at("inputs")["parameters"][0]["value"], "debian 9.1");
  ASSERT_NE(sim.Node("loops[0].seq(2:n07)"), nullptr);
  ASSERT_NE(sim.Node("loops[2].fan(1:2)"), nullptr);
  EXPECT_EQ(sim.workflow()["status"]["progress"], "8/8");
}

TEST(FeaturesTest, BadWithParamNamesTheProblem) {
  Sim sim(Yaml(R"(
metadata: {name: badparam}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: t, withParam: "not json"}
  - {name: t, container: {image: alpine}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  const json* sg = sim.Node("badparam[0]");
  EXPECT_NE(sg->at("message").get<std::string>().find("could not be parsed as a JSON list"),
            std::string::npos);
}

TEST(FeaturesTest, RetryWithBackoff) {
  int attempts = 0;
  Sim sim(Yaml(R"(
metadata: {name: retry}
spec:
  entrypoint: flaky
  templates:
  - name: flaky
    retryStrategy: {limit: "3", backoff: {duration: "10s", factor: "2"}}
    container: {image: alpine, command: [sh, -c, "exit 1"]}
)"),
          [&](const std::string&, const json&) {
            PodRun r;
            r.exit_code = ++attempts < 3 ? 1 : 0;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(attempts, 3);
  const json* root = sim.Node("retry");
  EXPECT_EQ(root->at("type"), "Retry");
  EXPECT_EQ(root->at("children").size(), 3u);
  EXPECT_EQ(sim.Node("retry(1)")->at("phase"), "Failed");
  bool saw10 = false, saw20 = false;
  for (const auto& r : sim.requeues) {
    // The kubelet reports the failure one tick later, so the remaining wait is a bit shorter.
    if (r.has_value() && *r > absl::Seconds(7) && *r <= absl::Seconds(10)) saw10 = true;
    if (r.has_value() && *r > absl::Seconds(17) && *r <= absl::Seconds(20)) saw20 = true;
  }
  EXPECT_TRUE(saw10);
  EXPECT_TRUE(saw20);
}

TEST(FeaturesTest, RetryLimitExhausted) {
  Sim sim(Yaml(R"(
metadata: {name: retry}
spec:
  entrypoint: flaky
  templates:
  - name: flaky
    retryStrategy: {limit: 2}
    container: {image: alpine, command: [sh, -c, "exit 3"]}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.Node("retry")->at("children").size(), 3u);
  EXPECT_EQ(sim.Node("retry")->at("message"), "No more retries left");
}

TEST(FeaturesTest, ExitHandlerSeesStatus) {
  Sim sim(Yaml(R"(
metadata: {name: exit}
spec:
  entrypoint: main
  onExit: handler
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "exit 1"]}
  - name: handler
    container: {image: alpine, command: [echo, "status={{workflow.status}} failures={{workflow.failures}}"]}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  const json* h = sim.Node("exit.onExit");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->at("phase"), "Succeeded");
}

TEST(FeaturesTest, SuspendAndResume) {
  Sim sim(Yaml(R"(
metadata: {name: susp}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: wait, template: wait}
    - - {name: after, template: t}
  - {name: wait, suspend: {}}
  - {name: t, container: {image: alpine}}
)"));
  for (int i = 0; i < 5; ++i) ASSERT_OK(sim.Step());
  EXPECT_EQ(sim.phase(), "Running");
  json* node = nullptr;
  for (auto& [id, n] : sim.workflow()["status"]["nodes"].items()) {
    if (n["name"] == "susp[0].wait") node = &n;
  }
  ASSERT_NE(node, nullptr);
  EXPECT_EQ((*node)["phase"], "Running");
  (*node)["phase"] = "Succeeded";  // what `resume` does
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
}

TEST(FeaturesTest, SuspendWithDurationRequeues) {
  Sim sim(Yaml(R"(
metadata: {name: susp}
spec:
  entrypoint: wait
  templates:
  - {name: wait, suspend: {duration: "20"}}
)"));
  ASSERT_OK(sim.Step());
  ASSERT_TRUE(sim.requeues[0].has_value());
  EXPECT_EQ(*sim.requeues[0], absl::Seconds(20));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
}

TEST(FeaturesTest, TerminateDeletesRunningPods) {
  Sim sim(Yaml(R"(
metadata: {name: term}
spec:
  entrypoint: main
  onExit: handler
  templates:
  - {name: main, container: {image: alpine}}
  - {name: handler, container: {image: alpine}}
)"),
          [](const std::string&, const json&) {
            PodRun r;
            r.running_ticks = 1000;
            return r;
          });
  for (int i = 0; i < 3; ++i) ASSERT_OK(sim.Step());
  sim.workflow()["spec"]["shutdown"] = "Terminate";
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.workflow()["status"]["message"], "Stopped with strategy 'Terminate'");
  EXPECT_EQ(sim.deleted.size(), 1u);
}

TEST(FeaturesTest, ActiveDeadline) {
  Sim sim(Yaml(R"(
metadata: {name: dl}
spec:
  entrypoint: main
  activeDeadlineSeconds: 5
  templates:
  - {name: main, container: {image: alpine}}
)"),
          [](const std::string&, const json&) {
            PodRun r;
            r.running_ticks = 1000;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.Node("dl")->at("message"), "Step exceeded its deadline");
}

TEST(FeaturesTest, ParallelismLimitsPods) {
  Sim sim(Yaml(R"(
metadata: {name: par}
spec:
  entrypoint: main
  parallelism: 2
  templates:
  - name: main
    steps:
    - - {name: s, template: t, withItems: [1, 2, 3, 4, 5]}
  - {name: t, container: {image: alpine}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  for (const auto& c : sim.created) EXPECT_LE(c.size(), 2u);
}

TEST(FeaturesTest, ContinueOnAndDagFailFast) {
  Sim sim(Yaml(R"(
metadata: {name: cont}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: fail, continueOn: {failed: true}}
      - {name: B, dependencies: [A], template: ok}
      - {name: C, depends: "A.Failed", template: ok}
      - {name: D, depends: "A.Succeeded", template: ok}
  - {name: fail, container: {image: alpine, command: [sh, -c, "exit 1"]}}
  - {name: ok, container: {image: alpine}}
)"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.Node("cont.B")->at("phase"), "Succeeded");
  EXPECT_EQ(sim.Node("cont.C")->at("phase"), "Succeeded");
  EXPECT_EQ(sim.Node("cont.D")->at("phase"), "Omitted");
}

TEST(FeaturesTest, DaemonDeletedWhenScopeEnds) {
  Sim sim(Yaml(R"(
metadata: {name: dmn}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: db, template: db}
    - - {name: client, template: t, arguments: {parameters: [{name: ip, value: "{{steps.db.ip}}"}]}}
  - {name: db, daemon: true, container: {image: alpine}}
  - name: t
    inputs: {parameters: [{name: ip}]}
    container: {image: alpine}
)"),
          [](const std::string& node, const json&) {
            PodRun r;
            if (node.find(".db") != std::string::npos) r.running_ticks = 1000;
            return r;
          });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.Node("dmn[1].client")->at("inputs")["parameters"][0]["value"], "10.0.0.1");
  EXPECT_EQ(sim.deleted.size(), 1u);
}

// A workflow a CronWorkflow submitted sees its scheduled time.
TEST(FeaturesTest, ScheduledTimeComesFromTheCronAnnotation) {
  Sim sim(Yaml(R"(
metadata:
  name: cron-1800000000
  annotations: {workflows.argoproj.io/scheduled-time: "2027-01-15T08:00:00Z"}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: show
        template: show
        arguments: {parameters: [{name: m, value: "{{workflow.scheduledTime}}"}]}
  - name: show
    inputs: {parameters: [{name: m}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.m}}"]}
)"),
          [](const std::string&, const json&) { return PodRun(); });
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  const json* show = sim.Node("cron-1800000000[0].show");
  ASSERT_NE(show, nullptr);
  EXPECT_EQ(show->at("inputs")["parameters"][0]["value"], "2027-01-15T08:00:00Z");
}

}  // namespace
}  // namespace argonaut::workflow::engine
