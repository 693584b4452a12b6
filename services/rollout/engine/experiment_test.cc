// Canary experiment steps through the simulated cluster (which runs the Experiments with
// experiment::ReconcileExperiment), at fixed instants.
#include <string>

#include "gtest/gtest.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

constexpr char kRollout[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
  labels: {team: a}
spec:
  replicas: 2
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
      - setWeight: 50
      - experiment:
          duration: 1m
          templates:
          - name: baseline
            specRef: stable
          - name: canary
            specRef: canary
            replicas: 2
            metadata:
              labels: {role: exp}
          analyses:
          - name: compare
            templateName: compare
            args:
            - name: canary-hash
              valueFrom:
                podTemplateHashValue: Latest
            - name: rs
              value: "{{templates.canary.replicaset.name}}"
      - setWeight: 100
)";

class ExperimentStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_.Settle();
    ASSERT_EQ(sim_.Phase(), "Healthy");
    stable_ = sim_.status().value("stableRS", "");
    sim_.SetImage("argoproj/rollouts-demo:green");
    sim_.Settle();
    canary_ = sim_.status().value("currentPodHash", "");
    ASSERT_EQ(sim_.status().value("currentStepIndex", -1), 1);
    name_ = "demo-" + canary_ + "-2-1";
  }
  const nlohmann::json& Experiment() { return sim_.experiments().at(name_); }

  Sim sim_{ParseYaml(kRollout)};
  std::string stable_, canary_, name_;
};

TEST_F(ExperimentStepTest, ExperimentBuiltFromTheReplicaSets) {
  ASSERT_EQ(sim_.experiments().count(name_), 1u);
  const nlohmann::json& ex = Experiment();
  EXPECT_EQ(sim_.status()["canary"].value("currentExperiment", ""), name_);
  EXPECT_EQ(ex["metadata"]["ownerReferences"][0]["kind"], "Rollout");
  EXPECT_EQ(ex["metadata"]["labels"]["rollouts-pod-template-hash"], canary_);
  EXPECT_EQ(ex["metadata"]["labels"]["team"], "a");
  EXPECT_EQ(ex["metadata"]["annotations"][kRevisionAnnotation], "2");
  EXPECT_EQ(ex["spec"]["duration"], "1m");
  const nlohmann::json& t = ex["spec"]["templates"];
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["template"]["spec"]["containers"][0]["image"], "argoproj/rollouts-demo:blue");
  EXPECT_EQ(t[1]["template"]["spec"]["containers"][0]["image"], "argoproj/rollouts-demo:green");
  EXPECT_EQ(t[1]["replicas"], 2);
  EXPECT_EQ(t[1]["template"]["metadata"]["labels"]["role"], "exp");
  EXPECT_EQ(t[1]["selector"]["matchLabels"]["role"], "exp");
  const nlohmann::json& args = ex["spec"]["analyses"][0]["args"];
  EXPECT_EQ(args[0]["value"], canary_);
  EXPECT_EQ(args[1]["value"], "{{templates.canary.replicaset.name}}");
  // The experiment's own ReplicaSets run beside the rollout's, which stay at 50%.
  EXPECT_EQ(sim_.experiment_replica_sets().count(name_ + "-canary"), 1u);
  EXPECT_EQ(sim_.Replicas(canary_), 1);
  EXPECT_EQ(sim_.Replicas(stable_), 1);
  EXPECT_EQ(sim_.Phase(), "Progressing");
  // The run got the experiment's values.
  ASSERT_EQ(sim_.experiment_runs().count(name_ + "-compare"), 1u);
  EXPECT_EQ(sim_.experiment_runs().at(name_ + "-compare")["spec"]["args"][1]["value"],
            name_ + "-canary");
}

TEST_F(ExperimentStepTest, SuccessfulExperimentMovesOn) {
  sim_.Advance(absl::Seconds(30));
  sim_.Settle();
  EXPECT_EQ(sim_.status().value("currentStepIndex", -1), 1);
  sim_.SetExperimentRunPhase(name_ + "-compare", "Successful");
  sim_.Advance(absl::Seconds(31));
  sim_.Settle();
  EXPECT_EQ(Experiment()["status"]["phase"], "Successful");
  EXPECT_EQ(sim_.Phase(), "Healthy");
  EXPECT_EQ(sim_.status().value("stableRS", ""), canary_);
  EXPECT_FALSE(sim_.status().contains("canary") &&
               sim_.status()["canary"].contains("currentExperiment"));
  // Scale-down of the experiment's ReplicaSets after its 30 s delay.
  sim_.Advance(absl::Seconds(30));
  sim_.Settle();
  EXPECT_EQ(sim_.experiment_replica_sets().at(name_ + "-canary")["spec"]["replicas"], 0);
}

TEST_F(ExperimentStepTest, FailedExperimentAborts) {
  sim_.SetExperimentRunPhase(name_ + "-compare", "Failed", "Metric \"m\" assessed Failed");
  sim_.Settle();
  EXPECT_EQ(Experiment()["status"]["phase"], "Failed");
  EXPECT_EQ(sim_.Phase(), "Degraded");
  EXPECT_EQ(sim_.status().value("abort", false), true);
  EXPECT_EQ(sim_.Message(),
            "RolloutAborted: Rollout aborted update to revision 2: Experiment analysis phase is "
            "error/failed: Metric \"m\" assessed Failed");
  EXPECT_EQ(sim_.Replicas(stable_), 2);
  EXPECT_EQ(sim_.Replicas(canary_), 0);

  // Retry starts over with a new experiment next to the failed one.
  sim_.Retry();
  sim_.Settle();
  EXPECT_EQ(sim_.status().value("currentStepIndex", -1), 1);
  EXPECT_EQ(sim_.experiments().count(name_ + "-1"), 1u);
  EXPECT_EQ(sim_.status()["canary"].value("currentExperiment", ""), name_ + "-1");
}

TEST_F(ExperimentStepTest, InconclusiveExperimentPausesUntilPromoted) {
  sim_.SetExperimentRunPhase(name_ + "-compare", "Inconclusive");
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(sim_.Message(), "InconclusiveExperiment");
  sim_.Promote();
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Healthy");
  EXPECT_EQ(sim_.status().value("stableRS", ""), canary_);
}

TEST_F(ExperimentStepTest, AbortAndSkipTerminateTheExperiment) {
  sim_.SkipStep();
  sim_.Settle();
  EXPECT_EQ(Experiment()["spec"].value("terminate", false), true);
  EXPECT_EQ(Experiment()["status"]["phase"], "Successful");  // terminated: Argo's rule
  EXPECT_EQ(sim_.Phase(), "Healthy");
}

TEST_F(ExperimentStepTest, AbortTerminatesTheExperiment) {
  sim_.Abort();
  sim_.Settle();
  EXPECT_EQ(Experiment()["spec"].value("terminate", false), true);
  EXPECT_EQ(sim_.Phase(), "Degraded");
  EXPECT_FALSE(sim_.status().contains(nlohmann::json::json_pointer("/canary/currentExperiment")));
}

TEST(ExperimentStepTrafficTest, WeightedTemplateNeedsARouter) {
  nlohmann::json r = ParseYaml(kRollout);
  r["spec"]["strategy"]["canary"]["stableService"] = "stable";
  r["spec"]["strategy"]["canary"]["canaryService"] = "canary";
  r["spec"]["strategy"]["canary"]["trafficRouting"] = {{"smi", nlohmann::json::object()}};
  r["spec"]["strategy"]["canary"]["steps"][1]["experiment"]["templates"][1]["weight"] = 10;
  Sim sim(r);
  sim.Settle();
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_NE(sim.Message().find("spec.strategy.canary.steps[1].experiment.templates[1].weight: "
                               "weighted experiment templates need a traffic router"),
            std::string::npos)
      << sim.Message();
  EXPECT_TRUE(sim.experiments().empty());
}

}  // namespace
}  // namespace argonaut::rollout::engine
