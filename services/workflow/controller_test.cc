// The workflow controller end to end inside one process: real stores, the
// local cluster running real pods (through the executor), the engine. The
// controller's time is a FakeClock: pods run in real time, but every timer of
// the controller (suspend durations, resource polls, requeues) waits for the
// test to advance it, so no test sleeps for time to pass. Order is checked on
// the pods' own timestamps, which the cluster writes in real time.
#include "services/workflow/controller.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/controller/clock.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/workflow/controller_fixture.h"
#include "services/workflow/resources.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

class ControllerTest : public testing::ControllerFixture {
 protected:
  // The step's pod: created (metadata.creationTimestamp) and finished (main's
  // finishedAt) in the cluster's real time, whatever the controller's clock says.
  std::pair<absl::Time, absl::Time> PodSpan(const json& wf, const std::string& display) {
    const json* node = Node(wf, display);
    EXPECT_NE(node, nullptr) << display;
    if (node == nullptr) return {};
    auto pods = cluster_->List(
        "Pod", "default",
        absl::StrCat(kWorkflowLabel, "=", wf["metadata"]["name"].get<std::string>()));
    EXPECT_OK(pods.status());
    for (const json& pod : pods.ok() ? *pods : std::vector<json>{}) {
      const json annotations = pod["metadata"].value("annotations", json::object());
      if (annotations.value("workflows.argoproj.io/node-id", "") != (*node).value("id", ""))
        continue;
      absl::Time created, finished = absl::InfinitePast();
      std::string err;
      EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full,
                                  pod["metadata"].value("creationTimestamp", ""), &created, &err));
      const engine::PodState state = WorkflowController::ObservePod(pod);
      finished = state.finished_at;
      return {created, finished};
    }
    ADD_FAILURE() << "no pod for node " << display;
    return {};
  }
};

// A pod the cluster refuses (an unknown capability name) ends its
// node, and the workflow, in Error with the reason; before, the create was
// retried forever and the workflow sat Pending with no message.
TEST_F(ControllerTest, RefusedPodEndsTheWorkflowInErrorWithTheReason) {
  const std::string name = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: refused-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 1, retryPolicy: Always}
    container:
      image: alpine:3.7
      command: ["true"]
      securityContext: {capabilities: {add: [NOT_A_CAPABILITY]}}
)");
  json wf = WaitDone(name, absl::Seconds(30), absl::Seconds(1));
  EXPECT_EQ(wf["status"]["phase"], "Error") << wf["status"].dump();
  int refused = 0;
  for (const auto& [id, n] : wf["status"]["nodes"].items()) {
    if (n.value("type", "") != "Pod") continue;
    EXPECT_EQ(n.value("phase", ""), "Error") << n.dump();
    EXPECT_THAT(n.value("message", ""), ::testing::HasSubstr("failed to create pod:"));
    EXPECT_THAT(n.value("message", ""), ::testing::HasSubstr("capabilities.add[0]"));
    ++refused;
  }
  EXPECT_EQ(refused, 2) << "the first try and its one retry: " << wf["status"].dump();
  auto pods = cluster_->List("Pod", "default", absl::StrCat(kWorkflowLabel, "=", name));
  ASSERT_OK(pods.status());
  EXPECT_TRUE(pods->empty());
}

TEST_F(ControllerTest, StepsRunInOrderAndPassOutputs) {
  const std::string name = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: steps-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hello1, template: say, arguments: {parameters: [{name: m, value: one}]}}
    - - {name: hello2a, template: say, arguments: {parameters: [{name: m, value: two-a}]}}
      - {name: hello2b, template: say, arguments: {parameters: [{name: m, value: two-b}]}}
    - - name: hello3
        template: say
        arguments: {parameters: [{name: m, value: "after {{steps.hello2a.outputs.result}}"}]}
  - name: say
    inputs: {parameters: [{name: m}]}
    container: {image: alpine:3.7, command: [echo], args: ["{{inputs.parameters.m}}"]}
)");
  json wf = WaitDone(name);
  ASSERT_EQ(wf["status"]["phase"], "Succeeded") << wf["status"].dump();
  const json* h3 = Node(wf, "hello3");
  ASSERT_NE(h3, nullptr);
  EXPECT_EQ((*h3)["outputs"]["result"], "after two-a");
  EXPECT_EQ(wf["status"]["progress"], "4/4");
  // hello3's pod was made only after both hello2 pods finished (second precision).
  const absl::Time h3_created = PodSpan(wf, "hello3").first;
  EXPECT_GE(absl::ToUnixSeconds(h3_created), absl::ToUnixSeconds(PodSpan(wf, "hello2a").second));
  EXPECT_GE(absl::ToUnixSeconds(h3_created), absl::ToUnixSeconds(PodSpan(wf, "hello2b").second));
}

TEST_F(ControllerTest, OutputParameterFromFileAndFailingStep) {
  const std::string name = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: outputs-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen}
    - - name: use
        template: fail
        arguments: {parameters: [{name: msg, value: "{{steps.gen.outputs.parameters.msg}}"}]}
  - name: gen
    container:
      image: busybox
      command: [sh, -c, "echo -n hello world > /tmp/msg.txt"]
    outputs:
      parameters: [{name: msg, valueFrom: {path: /tmp/msg.txt}}]
  - name: fail
    inputs: {parameters: [{name: msg}]}
    script:
      image: python:alpine3.6
      command: [python]
      source: |
        import sys
        print("got {{inputs.parameters.msg}}")
        sys.exit(3)
)");
  json wf = WaitDone(name);
  EXPECT_EQ(wf["status"]["phase"], "Failed");
  const json* gen = Node(wf, "gen");
  ASSERT_NE(gen, nullptr);
  EXPECT_EQ((*gen)["outputs"]["parameters"][0]["value"], "hello world");
  const json* use = Node(wf, "use");
  ASSERT_NE(use, nullptr);
  EXPECT_EQ((*use)["phase"], "Failed");
  EXPECT_EQ((*use)["outputs"]["result"], "got hello world");
  EXPECT_EQ((*use)["outputs"]["exitCode"], "3");
  EXPECT_EQ((*use)["message"], "Error (exit code 3)");
}

TEST_F(ControllerTest, ResourceTemplateCreatesAJobAndWaitsForItsCondition) {
  const std::string name = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: k8s-job-}
spec:
  entrypoint: job
  templates:
  - name: job
    resource:
      action: create
      successCondition: status.succeeded > 0
      failureCondition: status.failed > 3
      manifest: |
        apiVersion: batch/v1
        kind: Job
        metadata: {generateName: pi-job-}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: pi, image: busybox, command: [sh, -c, "echo 3.14"]}]
)");
  // The Job's condition is polled every second of the controller's clock.
  json wf = WaitDone(name, absl::Seconds(60), absl::Seconds(1));
  EXPECT_EQ(wf["status"]["phase"], "Succeeded") << wf["status"].dump();
  auto jobs = cluster_->List("Job", "default", "");
  ASSERT_OK(jobs.status());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0]["status"]["succeeded"], 1);
}

TEST(ResourceConditionTest, ArgoRequirementSyntax) {
  const json obj = json::parse(R"({"status": {"succeeded": 2, "phase": "Running",
      "conditions": [{"type": "Ready", "status": "True"}]},
      "metadata": {"labels": {"app": "web"}}})");
  auto holds = [&](const char* c) {
    auto r = EvaluateResourceCondition(c, obj);
    EXPECT_TRUE(r.ok()) << c << ": " << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(holds("status.succeeded > 0"));
  EXPECT_FALSE(holds("status.succeeded > 2"));
  EXPECT_TRUE(holds("status.succeeded > 1, status.phase == Running"));
  EXPECT_FALSE(holds("status.failed > 3"));  // absent is not > 3
  EXPECT_TRUE(holds("status.phase in (Running, Succeeded)"));
  EXPECT_FALSE(holds("status.phase notin (Running)"));
  EXPECT_TRUE(holds("status.conditions[0].status = True"));
  EXPECT_TRUE(holds("metadata.labels.app"));
  EXPECT_TRUE(holds("!status.failed"));
  EXPECT_TRUE(holds("status.phase != Failed"));
  EXPECT_FALSE(EvaluateResourceCondition("status phase", obj).ok());
  EXPECT_FALSE(EvaluateResourceCondition("status.phase in Running", obj).ok());
}

// Seconds of a status timestamp (second precision, so ordering survives the truncation).
int64_t Seconds(const json& status, const char* key) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, status.value(key, ""), &t, &err)) << key;
  return absl::ToUnixSeconds(t);
}

constexpr char kSemaphoreWorkflow[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sem-}
spec:
  entrypoint: main
  synchronization:
    semaphores: [{configMapKeyRef: {name: my-config, key: workflow}}]
  templates:
  - name: main
    container: {image: alpine:3.7, command: [sh, -c], args: ["sleep 1"]}
)";

TEST_F(ControllerTest, SemaphoreAdmitsTwoWorkflowsAtATime) {
  ASSERT_OK(cluster_
                ->Create(json{{"apiVersion", "v1"},
                              {"kind", "ConfigMap"},
                              {"metadata", {{"name", "my-config"}, {"namespace", "default"}}},
                              {"data", {{"workflow", "2"}}}})
                .status());
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(Submit(kSemaphoreWorkflow));
  const std::string key = "default/ConfigMap/my-config/workflow";
  size_t most = 0, most_running = 0;
  bool saw_waiting = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  for (size_t done = 0; done < names.size() && absl::Now() < deadline;) {
    most = std::max(most, controller_->locks()->Holders(key).size());
    done = 0;
    size_t running = 0;
    for (const std::string& n : names) {
      json wf = *manifest::ParseJsonText(*wapi_->Get("Workflow", "default", n));
      const json st = wf.value("status", json::object());
      const std::string phase = st.value("phase", "");
      if (phase == "Pending" && absl::StrContains(st.value("message", ""), "Waiting for " + key)) {
        saw_waiting = true;
        EXPECT_FALSE(st.contains("startedAt"));
        EXPECT_EQ(st["message"].get<std::string>().find("Lock status: 0/2"),
                  st["message"].get<std::string>().size() - 16)
            << st["message"];
      }
      if (phase == "Succeeded" || phase == "Failed" || phase == "Error") ++done;
      if (phase == "Running") ++running;
    }
    most_running = std::max(most_running, running);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_LE(most, 2u);
  EXPECT_LE(most_running, 2u);
  EXPECT_TRUE(saw_waiting);
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const std::string& n : names) {
    json wf = WaitDone(n);
    ASSERT_EQ(wf["status"]["phase"], "Succeeded") << wf["status"].dump();
    EXPECT_FALSE(wf["status"].contains("synchronization"));
    const auto [created, finished] = PodSpan(wf, n);
    spans.emplace_back(absl::ToUnixSeconds(created), absl::ToUnixSeconds(finished));
  }
  // At no instant were more than two workflows' pods between creation and finish.
  for (const auto& [s, f] : spans) {
    int overlapping = 0;
    for (const auto& [s2, f2] : spans) overlapping += s2 <= s && s < f2 ? 1 : 0;
    EXPECT_LE(overlapping, 2);
  }
  EXPECT_TRUE(controller_->locks()->Holders(key).empty());
}

TEST_F(ControllerTest, RestartRebuildsLockHoldersFromStatus) {
  const std::string a = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: mutex-a-}
spec:
  entrypoint: main
  synchronization: {mutexes: [{name: test}]}
  templates:
  - name: main
    container: {image: alpine:3.7, command: [sh, -c], args: ["sleep 3"]}
)");
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && controller_->locks()->Holders("default/Mutex/test") !=
                                       std::vector<std::string>{"default/" + a}) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  // A new controller (the process restarted) knows who holds the mutex before it works.
  controller_->Stop();
  controller_ = std::make_unique<WorkflowController>(wapi_.get(), cluster_.get(),
                                                     WorkflowControllerOptions{.clock = &clock_});
  ASSERT_OK(controller_->Start());
  EXPECT_EQ(controller_->locks()->Holders("default/Mutex/test"),
            std::vector<std::string>{"default/" + a});
  const std::string b = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: mutex-b-}
spec:
  entrypoint: main
  synchronization: {mutex: {name: test}}
  templates:
  - name: main
    container: {image: alpine:3.7, command: [echo], args: [b]}
)");
  json wa = WaitDone(a);
  json wb = WaitDone(b);
  ASSERT_EQ(wa["status"]["phase"], "Succeeded") << wa["status"].dump();
  ASSERT_EQ(wb["status"]["phase"], "Succeeded") << wb["status"].dump();
  EXPECT_LE(absl::ToUnixSeconds(PodSpan(wa, a).second), absl::ToUnixSeconds(PodSpan(wb, b).first));
}

// A one-hour suspend ends when the controller's clock says an hour has
// passed, at once in real time: the engine's now and the requeue both come
// from the injected clock.
TEST_F(ControllerTest, SuspendDurationWaitsOnTheInjectedClock) {
  const std::string name = Submit(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: suspend-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: wait, template: wait}
    - - {name: after, template: say}
  - name: wait
    suspend: {duration: "1h"}
  - name: say
    container: {image: alpine:3.7, command: [echo], args: [done]}
)");
  const absl::Time start = clock_.Now();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool suspended = false;
  while (!suspended && absl::Now() < deadline) {
    json wf = *manifest::ParseJsonText(*wapi_->Get("Workflow", "default", name));
    const json* wait =
        wf.value("status", json::object()).contains("nodes") ? Node(wf, "wait") : nullptr;
    suspended = wait != nullptr && (*wait).value("phase", "") == "Running";
    if (!suspended) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(suspended);
  // The resync loop and the queue's delayed requeue of the workflow both wait on the clock.
  while (clock_.NumWaiters() < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_GE(clock_.NumWaiters(), 2);
  clock_.Advance(absl::Hours(1));
  json wf = WaitDone(name);
  ASSERT_EQ(wf["status"]["phase"], "Succeeded") << wf["status"].dump();
  const json* wait = Node(wf, "wait");
  ASSERT_NE(wait, nullptr);
  EXPECT_EQ(Seconds(*wait, "startedAt"), absl::ToUnixSeconds(start));
  EXPECT_EQ(Seconds(*wait, "finishedAt"), absl::ToUnixSeconds(start + absl::Hours(1)));
  EXPECT_NE(Node(wf, "after"), nullptr);
}

}  // namespace
}  // namespace argonaut::workflow
