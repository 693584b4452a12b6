// Synchronization in the engine, with lock decisions given as fixed inputs.
#include <set>
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

constexpr char kMutexKey[] = "argo/Mutex/test";
constexpr char kSemKey[] = "argo/ConfigMap/my-config/template";

const char* kWfLevel = R"(
metadata: {name: wf, namespace: argo, creationTimestamp: "2023-11-14T22:00:00Z"}
spec:
  entrypoint: main
  priority: 3
  synchronization:
    mutexes: [{name: test}]
  templates:
  - name: main
    container: {image: busybox, command: [echo], args: [hi]}
)";

// Grants a request only while `open` is true; records what was asked.
struct Gate {
  bool open = false;
  std::vector<LockRequest> asked;
  LockArbiter Arbiter() {
    return [this](const LockRequest& r) -> absl::StatusOr<LockDecision> {
      asked.push_back(r);
      LockDecision d;
      d.acquired = open;
      for (const std::string& k : r.keys) {
        d.holders[k] =
            open ? std::vector<std::string>{r.holder} : std::vector<std::string>{"argo/other"};
      }
      if (!open) {
        d.waiting_on = r.keys.front();
        d.message = "Waiting for " + r.keys.front() + " lock. Lock status: 0/1";
      }
      return d;
    };
  }
};

TEST(SyncTest, WorkflowWaitsPendingThenRunsAndReleases) {
  Gate gate;
  Sim sim(Yaml(kWfLevel));
  sim.locks = gate.Arbiter();
  ASSERT_OK(sim.Step());
  ASSERT_OK(sim.Step());
  const json& st = sim.workflow()["status"];
  EXPECT_EQ(st["phase"], "Pending");
  EXPECT_EQ(st["message"], "Waiting for argo/Mutex/test lock. Lock status: 0/1");
  EXPECT_FALSE(st.contains("startedAt"));
  EXPECT_FALSE(st.contains("nodes"));
  EXPECT_EQ(
      st["synchronization"],
      json::parse(R"({"mutex":{"waiting":[{"mutex":"argo/Mutex/test","holder":"argo/other"}]}})"));
  ASSERT_EQ(gate.asked.size(), 2u);
  EXPECT_EQ(gate.asked[0].holder, "argo/wf");
  EXPECT_EQ(gate.asked[0].keys, std::vector<std::string>{kMutexKey});
  EXPECT_EQ(gate.asked[0].priority, 3);
  EXPECT_EQ(gate.asked[0].created, absl::FromUnixSeconds(1700000000 - 800));
  EXPECT_TRUE(sim.created[0].empty() && sim.created[1].empty());

  gate.open = true;
  sim.now += absl::Seconds(30);
  const absl::Time acquired_at = sim.now;
  ASSERT_OK(sim.Step());
  const json& running = sim.workflow()["status"];
  EXPECT_EQ(running["phase"], "Running");
  EXPECT_FALSE(running.contains("message"));
  EXPECT_EQ(running["startedAt"], FormatTimestamp(acquired_at));
  EXPECT_EQ(
      running["synchronization"],
      json::parse(R"({"mutex":{"holding":[{"mutex":"argo/Mutex/test","holder":"argo/wf"}]}})"));
  EXPECT_EQ(sim.created.back(), std::vector<std::string>{"wf"});
  // Held already: the arbiter is not asked again while the workflow runs.
  const size_t asked = gate.asked.size();
  gate.open = false;
  ASSERT_OK(sim.Run());
  EXPECT_EQ(gate.asked.size(), asked);
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_FALSE(sim.workflow()["status"].contains("synchronization"));
  ASSERT_EQ(sim.releases.size(), 1u);
  EXPECT_EQ(sim.releases[0].holder, "argo/wf");
  EXPECT_EQ(sim.releases[0].keys, std::vector<std::string>{kMutexKey});
}

const char* kTmplLevel = R"(
metadata: {name: wf, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: locked}
  - name: locked
    synchronization:
      semaphore: {configMapKeyRef: {name: my-config, key: template}}
    container: {image: busybox, command: [echo], args: [hi]}
)";

TEST(SyncTest, TemplateNodeWaitsThenRunsAndReleases) {
  Gate gate;
  Sim sim(Yaml(kTmplLevel));
  sim.locks = gate.Arbiter();
  ASSERT_OK(sim.Step());
  const json* a = sim.Node("wf[0].a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->at("phase"), "Pending");
  EXPECT_EQ(a->at("type"), "Pod");
  EXPECT_EQ(a->at("message"), std::string("Waiting for ") + kSemKey + " lock. Lock status: 0/1");
  EXPECT_EQ(a->at("synchronizationStatus"), json({{"waiting", kSemKey}}));
  EXPECT_EQ(sim.workflow()["status"]["phase"], "Running");
  EXPECT_EQ(
      sim.workflow()["status"]["synchronization"]["semaphore"]["waiting"],
      json::parse(std::string(R"([{"semaphore":")") + kSemKey + R"(","holders":["argo/other"]}])"));
  EXPECT_TRUE(sim.created[0].empty());
  const std::string holder = "argo/wf/" + NodeId("wf", "wf[0].a");
  EXPECT_EQ(gate.asked.back().holder, holder);

  gate.open = true;
  ASSERT_OK(sim.Step());
  a = sim.Node("wf[0].a");
  EXPECT_FALSE(a->contains("synchronizationStatus"));
  EXPECT_FALSE(a->contains("message"));
  EXPECT_EQ(sim.created.back(), std::vector<std::string>{"wf[0].a"});
  EXPECT_EQ(sim.workflow()["status"]["synchronization"],
            json::parse(std::string(R"({"semaphore":{"holding":[{"semaphore":")") + kSemKey +
                        R"(","holders":[")" + holder + R"("]}]}})"));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_FALSE(sim.workflow()["status"].contains("synchronization"));
  ASSERT_FALSE(sim.releases.empty());
  EXPECT_EQ(sim.releases[0].holder, holder);
  EXPECT_EQ(sim.releases[0].keys, std::vector<std::string>{kSemKey});
}

TEST(SyncTest, SemaphoreWithoutConfigMapRefIsAnErrorNamingTheField) {
  json wf = Yaml(kWfLevel);
  wf["spec"]["synchronization"] = json::parse(R"({"semaphores":[{"namespace":"x"}]})");
  Sim sim(wf);
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Error");
  EXPECT_NE(sim.workflow()["status"]["message"].get<std::string>().find(
                "spec.synchronization.semaphores[0].configMapKeyRef"),
            std::string::npos)
      << sim.workflow()["status"]["message"];
}

TEST(SyncTest, EmptyTemplateMutexNameFailsTheNode) {
  json wf = Yaml(kTmplLevel);
  wf["spec"]["templates"][1]["synchronization"] = json::parse(R"({"mutexes":[{"name":""}]})");
  Sim sim(wf);
  ASSERT_OK(sim.Run());
  EXPECT_TRUE(PhaseFailedOrError(sim.phase())) << sim.phase();
  const json* a = sim.Node("wf[0].a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->at("phase"), "Error");
  EXPECT_NE(a->at("message").get<std::string>().find("synchronization.mutexes[0].name"),
            std::string::npos);
}

TEST(SyncTest, ArbiterErrorFailsTheWorkflow) {
  Sim sim(Yaml(kWfLevel));
  sim.locks = [](const LockRequest&) -> absl::StatusOr<LockDecision> {
    return absl::NotFoundError("ConfigMap \"my-config\" not found");
  };
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_EQ(sim.workflow()["status"]["message"], "ConfigMap \"my-config\" not found");
}

TEST(SyncTest, StoppedWorkflowDoesNotWaitForItsLock) {
  Gate gate;
  Sim sim(Yaml(kWfLevel));
  sim.locks = gate.Arbiter();
  ASSERT_OK(sim.Step());
  EXPECT_EQ(sim.phase(), "Pending");
  sim.workflow()["spec"]["shutdown"] = "Terminate";
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Failed");
  EXPECT_FALSE(sim.workflow()["status"].contains("synchronization"));
  EXPECT_TRUE(sim.created[0].empty());
}

TEST(SyncTest, MultipleAndLegacyLocksAreRequestedTogether) {
  json wf = Yaml(kWfLevel);
  wf["spec"]["synchronization"] = json::parse(R"({
    "mutexes": [{"name": "a"}, {"name": "b", "namespace": "other"}],
    "semaphores": [{"configMapKeyRef": {"name": "cm", "key": "k"}}],
    "mutex": {"name": "a"}})");
  Gate gate;
  gate.open = true;
  Sim sim(wf);
  sim.locks = gate.Arbiter();
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  ASSERT_EQ(gate.asked.size(), 1u);
  EXPECT_EQ(gate.asked[0].keys,
            (std::vector<std::string>{"argo/Mutex/a", "other/Mutex/b", "argo/ConfigMap/cm/k"}));
}

TEST(SyncTest, WithoutArbiterLocksAreFree) {
  Sim sim(Yaml(kTmplLevel));
  ASSERT_OK(sim.Run());
  EXPECT_EQ(sim.phase(), "Succeeded");
  ASSERT_EQ(sim.releases.size(), 1u);
}

}  // namespace
}  // namespace argonaut::workflow::engine
