// The rollout's side of analysis: runs requested at the right moments with resolved args, and
// their phases steering the rollout.
#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

// The seed's analysis demo shape: a step analysis between two weights, plus background
// analysis from step 1.
constexpr char kAnalysisCanary[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
  labels: {team: a}
spec:
  replicas: 5
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
      - setWeight: 20
      - analysis:
          templates:
          - templateName: success-rate
          args:
          - name: hash
            valueFrom:
              podTemplateHashValue: Latest
          - name: stable
            valueFrom:
              podTemplateHashValue: Stable
          - name: team
            valueFrom:
              fieldRef:
                fieldPath: metadata.labels['team']
          - name: image
            valueFrom:
              fieldRef:
                fieldPath: spec.template.spec.containers[0].image
          - name: plain
            value: x
      - setWeight: 60
      - pause: {}
)";

class AnalysisTest : public ::testing::Test {
 protected:
  explicit AnalysisTest(const char* yaml = kAnalysisCanary) : sim_(ParseYaml(yaml)) {}
  void Update() {
    sim_.Settle();
    blue_ = sim_.status()["stableRS"];
    sim_.SetImage("argoproj/rollouts-demo:yellow");
    sim_.Settle();
    yellow_ = sim_.status()["currentPodHash"];
    step_run_ = "demo-" + yellow_ + "-2-1";
  }
  Sim sim_;
  std::string blue_, yellow_, step_run_;
};

TEST_F(AnalysisTest, StepRunIsRequestedWithResolvedArgs) {
  Update();
  ASSERT_EQ(sim_.runs().count(step_run_), 1u) << sim_.status().dump(1);
  const nlohmann::json& run = sim_.runs().at(step_run_);
  EXPECT_EQ(run["metadata"]["labels"]["rollout-type"], "Step");
  EXPECT_EQ(run["metadata"]["labels"]["step-index"], "1");
  EXPECT_EQ(run["metadata"]["labels"]["rollouts-pod-template-hash"], yellow_);
  const nlohmann::json& args = run["spec"]["analysis"]["args"];
  EXPECT_EQ(args[0], (nlohmann::json{{"name", "hash"}, {"value", yellow_}}));
  EXPECT_EQ(args[1], (nlohmann::json{{"name", "stable"}, {"value", blue_}}));
  EXPECT_EQ(args[2], (nlohmann::json{{"name", "team"}, {"value", "a"}}));
  EXPECT_EQ(args[3]["value"], "argoproj/rollouts-demo:yellow");
  EXPECT_EQ(args[4]["value"], "x");
  EXPECT_EQ(
      run["spec"]["analysis"]["analysisRunMetadata"]["annotations"]["rollout.argoproj.io/revision"],
      "2");
  EXPECT_EQ(sim_.status()["canary"]["currentStepAnalysisRunStatus"]["name"], step_run_);
  EXPECT_EQ(sim_.status()["currentStepIndex"], 1);
  EXPECT_EQ(sim_.Phase(), "Progressing");
  EXPECT_EQ(sim_.Message(), "more replicas need to be updated");
}

TEST_F(AnalysisTest, SuccessfulRunAdvances) {
  Update();
  sim_.SetRunPhase(step_run_, "Successful");
  sim_.Settle();
  EXPECT_EQ(sim_.status()["currentStepIndex"], 3);
  EXPECT_EQ(sim_.Replicas(yellow_), 3);
  EXPECT_EQ(sim_.Replicas(blue_), 2);
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_FALSE(
      sim_.status().contains(nlohmann::json::json_pointer("/canary/currentStepAnalysisRunStatus")));
  EXPECT_TRUE(sim_.terminated.empty());  // a finished run is left alone
}

TEST_F(AnalysisTest, FailedRunAbortsWithItsMessageAndEverythingReturnsToStable) {
  Update();
  sim_.SetRunPhase(step_run_, "Failed",
                   "Metric \"success-rate\" assessed Failed due to failed (3) > failureLimit (2)");
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Degraded");
  EXPECT_EQ(
      sim_.Message(),
      "RolloutAborted: Rollout aborted update to revision 2: Metric \"success-rate\" assessed "
      "Failed due to failed (3) > failureLimit (2)");
  EXPECT_EQ(sim_.Replicas(yellow_), 0);
  EXPECT_EQ(sim_.Replicas(blue_), 5);
  EXPECT_EQ(sim_.status()["currentStepIndex"], 0);
  EXPECT_TRUE(sim_.status().value("abort", false));

  // Retry runs the analysis again under a new name; the failed one stays for the record.
  sim_.Retry();
  sim_.Settle();
  EXPECT_EQ(sim_.runs().count(step_run_ + ".1"), 1u);
  EXPECT_EQ(sim_.runs().count(step_run_), 1u);
  EXPECT_EQ(sim_.status()["canary"]["currentStepAnalysisRunStatus"]["name"], step_run_ + ".1");
  EXPECT_EQ(sim_.Phase(), "Progressing");
}

TEST_F(AnalysisTest, ErrorRunNamesTheRunWhenItHasNoMessage) {
  Update();
  sim_.SetRunPhase(step_run_, "Error");
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Degraded");
  EXPECT_NE(sim_.Message().find("AnalysisRun \"" + step_run_ + "\" errored"), std::string::npos)
      << sim_.Message();
}

TEST_F(AnalysisTest, InconclusivePausesUntilPromoted) {
  Update();
  sim_.SetRunPhase(step_run_, "Inconclusive");
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(sim_.Message(), "InconclusiveAnalysisRun");
  EXPECT_EQ(sim_.status()["currentStepIndex"], 1);
  sim_.Promote();
  sim_.Settle();
  EXPECT_EQ(sim_.status()["currentStepIndex"], 3);
}

TEST_F(AnalysisTest, AbortTerminatesRunningRuns) {
  Update();
  sim_.Abort();
  sim_.Settle();
  EXPECT_EQ(sim_.terminated, std::vector<std::string>{step_run_});
  EXPECT_TRUE(sim_.runs().at(step_run_)["spec"].value("terminate", false));
}

constexpr char kBackground[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bg
spec:
  replicas: 2
  selector:
    matchLabels: {app: bg}
  template:
    metadata:
      labels: {app: bg}
    spec:
      containers:
      - name: c
        image: demo:1
  analysis:
    successfulRunHistoryLimit: 1
  strategy:
    canary:
      analysis:
        startingStep: 1
        templates:
        - templateName: error-rate
      steps:
      - setWeight: 50
      - pause: {}
)";

TEST(BackgroundAnalysisTest, StartsAtStartingStepAndStopsOnCompletion) {
  Sim sim(ParseYaml(kBackground));
  sim.Settle();
  EXPECT_TRUE(sim.runs().empty());  // never for the first version
  for (const char* image : {"demo:2", "demo:3"}) {
    sim.SetImage(image);
    sim.Reconcile();
    EXPECT_TRUE(sim.last().analysis_runs_to_create.empty());  // step 0 < startingStep
    sim.Kubelet();
    sim.Settle();
    const std::string hash = sim.status()["currentPodHash"];
    const std::string rev = image == std::string("demo:2") ? "2" : "3";
    const std::string run = "bg-" + hash + "-" + rev;
    ASSERT_EQ(sim.runs().count(run), 1u) << sim.status().dump(1);
    EXPECT_EQ(sim.runs().at(run)["metadata"]["labels"]["rollout-type"], "Background");
    EXPECT_EQ(sim.status()["canary"]["currentBackgroundAnalysisRunStatus"]["name"], run);
    sim.Promote();
    sim.Settle();
    EXPECT_EQ(sim.Phase(), "Healthy");
    // The background run is stopped once the rollout completes.
    EXPECT_EQ(sim.terminated.back(), run);
    sim.SetRunPhase(run, "Successful");
  }
  // successfulRunHistoryLimit: 1 keeps only the newest finished run.
  sim.Settle();
  EXPECT_EQ(sim.runs().size(), 1u);
}

TEST(BackgroundAnalysisTest, FailureAbortsMidStep) {
  Sim sim(ParseYaml(kBackground));
  sim.Settle();
  const std::string v1 = sim.status()["stableRS"];
  sim.SetImage("demo:2");
  sim.Settle();
  const std::string run = "bg-" + sim.status()["currentPodHash"].get<std::string>() + "-2";
  sim.SetRunPhase(run, "Failed",
                  "Metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)");
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_EQ(sim.Replicas(v1), 2);
  EXPECT_NE(sim.Message().find("error-rate"), std::string::npos);
}

}  // namespace
}  // namespace argonaut::rollout::engine
