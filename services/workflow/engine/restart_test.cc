// Runtime restarts: a step whose pod died with the runtime runs again, completed steps are never
// run again, and a pod deleted by someone else still ends its node with "pod deleted".
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/sim.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using nlohmann::json;

using ::argonaut::workflow::testing::Yaml;

constexpr char kThreeSteps[] = R"(
metadata: {name: rs}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: t}
    - - {name: two, template: t}
    - - {name: three, template: t}
  - {name: t, container: {image: alpine, command: ["true"]}}
)";

PodRun Slow(const std::string&, const json&) {
  PodRun r;
  r.running_ticks = 3;
  return r;
}

std::map<std::string, int> CreatedCounts(const Sim& sim) {
  std::map<std::string, int> counts;
  for (const auto& batch : sim.created) {
    for (const std::string& n : batch) ++counts[n];
  }
  return counts;
}

// Steps until `node` is Running (bounded).
void RunUntilRunning(Sim& sim, const std::string& node) {
  for (int i = 0; i < 50; ++i) {
    const json* n = sim.Node(node);
    if (n != nullptr && n->at("phase") == "Running") return;
    ASSERT_OK(sim.Step());
  }
  FAIL() << node << " never ran";
}

TEST(RestartTest, InterruptedStepRunsAgainCompletedStepsDoNot) {
  Sim sim(Yaml(kThreeSteps), Slow);
  RunUntilRunning(sim, "rs[1].two");
  ASSERT_EQ(sim.Node("rs[0].one")->at("phase"), "Succeeded");
  sim.RestartRuntime();
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  const std::map<std::string, int> counts = CreatedCounts(sim);
  EXPECT_EQ(counts.at("rs[0].one"), 1);
  EXPECT_EQ(counts.at("rs[1].two"), 2);
  EXPECT_EQ(counts.at("rs[2].three"), 1);
  const json* two = sim.Node("rs[1].two");
  EXPECT_EQ(two->at("phase"), "Succeeded");
  EXPECT_EQ(two->at("failedPodRestarts"), 1);
  EXPECT_FALSE(two->contains("message"));
  ASSERT_EQ(sim.deleted.size(), 1u);
  EXPECT_EQ(sim.deleted[0], PodName("rs", "rs[1].two", "t"));
  EXPECT_EQ(sim.workflow()["status"]["progress"], "3/3");
}

TEST(RestartTest, RestartIsNotARetry) {
  Sim sim(Yaml(R"(
metadata: {name: rr}
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {limit: 1}
    container: {image: alpine, command: ["true"]}
)"),
          Slow);
  RunUntilRunning(sim, "rr(0)");
  sim.RestartRuntime();
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(sim.Node("rr")->at("children").size(), 1u);
  EXPECT_EQ(CreatedCounts(sim).at("rr(0)"), 2);
}

TEST(RestartTest, RepeatedRestartsInDagKeepGoing) {
  Sim sim(Yaml(R"(
metadata: {name: rd}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: t}
      - {name: b, template: t, depends: a}
      - {name: c, template: t, depends: a}
  - {name: t, container: {image: alpine, command: ["true"]}}
)"),
          Slow);
  RunUntilRunning(sim, "rd.b");
  sim.RestartRuntime();
  for (int i = 0; i < 3; ++i) ASSERT_OK(sim.Step());
  sim.RestartRuntime();  // again, possibly while the new pods are only Pending
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(CreatedCounts(sim).at("rd.a"), 1);
  for (const char* n : {"rd.b", "rd.c"}) {
    EXPECT_EQ(sim.Node(n)->at("phase"), "Succeeded") << n;
    EXPECT_GE(CreatedCounts(sim).at(n), 2) << n;
  }
}

// The controller is SIGKILLed after acting on pods but before writing the status, around the
// restart: each lost write is repeated by the next call and no pod is asked for twice (the
// simulated kubelet fails the test on a duplicate create).
TEST(RestartTest, LostStatusWritesAroundRestart) {
  Sim sim(Yaml(kThreeSteps), Slow);
  RunUntilRunning(sim, "rs[1].two");
  sim.RestartRuntime();
  for (int i = 0; i < 6; ++i) {
    sim.drop_next_status = i % 2 == 0;
    ASSERT_OK(sim.Step());
  }
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(CreatedCounts(sim).at("rs[0].one"), 1);
  EXPECT_EQ(CreatedCounts(sim).at("rs[2].three"), 1);
}

// Contract at the level of one Operate call.
TEST(RestartTest, TwoStepDeleteThenRecreate) {
  EngineInput in;
  in.workflow = Yaml(kThreeSteps);
  in.now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<EngineOutput> out = Operate(in);
  ASSERT_OK(out.status());
  ASSERT_EQ(out->pods_to_create.size(), 1u);
  const std::string pod = out->pods_to_create[0]["metadata"]["name"];
  const std::string id = NodeId("rs", "rs[0].one");
  in.workflow["status"] = out->status;
  in.pods[pod].phase = "Running";
  out = Operate(in);
  ASSERT_OK(out.status());
  ASSERT_EQ(out->status["nodes"][id]["phase"], "Running");
  in.workflow["status"] = out->status;

  // 1: the pod reports NodeRestarted: back to Pending, the pod is kept for now.
  in.pods[pod].phase = "Failed";
  in.pods[pod].message = "NodeRestarted: the local runtime restarted";
  out = Operate(in);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status["nodes"][id]["phase"], "Pending");
  EXPECT_TRUE(out->pods_to_delete.empty());
  EXPECT_TRUE(out->pods_to_create.empty());
  EXPECT_TRUE(out->requeue_after.has_value());
  const json pending_status = out->status;

  // A lost status write: the stored node is still Running, so the same answer again.
  out = Operate(in);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status["nodes"][id]["phase"], "Pending");
  EXPECT_TRUE(out->pods_to_delete.empty());

  // 2: Pending is stored: the dead pod is deleted, not yet recreated.
  in.workflow["status"] = pending_status;
  out = Operate(in);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->pods_to_delete, std::vector<std::string>{pod});
  EXPECT_TRUE(out->pods_to_create.empty());
  EXPECT_EQ(out->status["nodes"][id]["failedPodRestarts"], 1);

  // 3: the pod is gone: it is created again under the same name, without a retry node.
  in.pods.erase(pod);
  out = Operate(in);
  ASSERT_OK(out.status());
  ASSERT_EQ(out->pods_to_create.size(), 1u);
  EXPECT_EQ(out->pods_to_create[0]["metadata"]["name"], pod);
  EXPECT_TRUE(out->pods_to_delete.empty());
}

TEST(RestartTest, PodDeletedBySomeoneElseIsAnError) {
  Sim sim(Yaml(kThreeSteps), Slow);
  RunUntilRunning(sim, "rs[0].one");
  EngineInput in;
  in.workflow = sim.workflow();
  in.now = sim.now;
  absl::StatusOr<EngineOutput> out = Operate(in);  // no pods observed at all
  ASSERT_OK(out.status());
  const json& node = out->status["nodes"][NodeId("rs", "rs[0].one")];
  EXPECT_EQ(node["phase"], "Error");
  EXPECT_EQ(node["message"], "pod deleted");
  EXPECT_TRUE(out->pods_to_create.empty());
}

TEST(RestartTest, PendingNodeWhosePodNeverAppearedIsCreatedAgain) {
  EngineInput in;
  in.workflow = Yaml(kThreeSteps);
  in.now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<EngineOutput> out = Operate(in);
  ASSERT_OK(out.status());
  ASSERT_EQ(out->pods_to_create.size(), 1u);
  // The controller stored the status but died before creating the pod.
  in.workflow["status"] = out->status;
  absl::StatusOr<EngineOutput> again = Operate(in);
  ASSERT_OK(again.status());
  ASSERT_EQ(again->pods_to_create.size(), 1u);
  EXPECT_EQ(again->pods_to_create[0]["metadata"]["name"],
            out->pods_to_create[0]["metadata"]["name"]);
}

TEST(RestartTest, DaemonInterruptedEndsFailed) {
  Sim sim(Yaml(R"(
metadata: {name: rdm}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: db, template: db}
    - - {name: client, template: t}
  - {name: db, daemon: true, container: {image: alpine}}
  - {name: t, container: {image: alpine}}
)"),
          [](const std::string& node, const json&) {
            PodRun r;
            r.running_ticks = node.find(".db") != std::string::npos ? 1000 : 5;
            return r;
          });
  RunUntilRunning(sim, "rdm[1].client");
  sim.RestartRuntime();
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.Node("rdm[0].db")->at("phase"), "Failed");
  EXPECT_EQ(sim.Node("rdm[1].client")->at("phase"), "Succeeded");
  EXPECT_EQ(CreatedCounts(sim).at("rdm[1].client"), 2);
}

}  // namespace
}  // namespace argonaut::workflow::engine
