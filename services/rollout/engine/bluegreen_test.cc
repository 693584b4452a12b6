// Blue-green scenarios through the simulated cluster.
#include <string>

#include "gtest/gtest.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

// The seed's blue-green demo.
constexpr char kBlueGreen[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-bluegreen
spec:
  replicas: 2
  revisionHistoryLimit: 2
  selector:
    matchLabels:
      app: rollout-bluegreen
  template:
    metadata:
      labels:
        app: rollout-bluegreen
    spec:
      containers:
      - name: rollouts-demo
        image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen:
      activeService: rollout-bluegreen-active
      previewService: rollout-bluegreen-preview
      autoPromotionEnabled: false
)";

std::string Stable(const Sim& sim) { return sim.status().value("stableRS", ""); }
std::string Current(const Sim& sim) { return sim.status().value("currentPodHash", ""); }
std::string Active(const Sim& sim) { return sim.status()["blueGreen"].value("activeSelector", ""); }

TEST(BlueGreenTest, FirstVersionBecomesActiveWhenAvailable) {
  Sim sim(ParseYaml(kBlueGreen));
  sim.Reconcile();
  EXPECT_EQ(sim.Phase(), "Progressing");
  EXPECT_EQ(Active(sim), "");  // not before its pods are available
  sim.Kubelet();
  sim.Settle();
  const std::string v1 = Current(sim);
  EXPECT_EQ(sim.Phase(), "Healthy") << sim.Message();
  EXPECT_EQ(Active(sim), v1);
  EXPECT_EQ(Stable(sim), v1);
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-active"), v1);
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-preview"), v1);
  EXPECT_EQ(sim.status()["selector"], "app=rollout-bluegreen,rollouts-pod-template-hash=" + v1);
}

TEST(BlueGreenTest, PreviewThenPromoteThenOldScaledDownAfterThirtySeconds) {
  Sim sim(ParseYaml(kBlueGreen));
  sim.Settle();
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  // Preview answers the new version, active still the old one.
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-preview"), green);
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-active"), blue);
  EXPECT_EQ(sim.Replicas(green), 2);
  EXPECT_EQ(sim.Replicas(blue), 2);
  EXPECT_EQ(sim.Phase(), "Paused");
  EXPECT_EQ(sim.Message(), "BlueGreenPause");
  EXPECT_EQ(sim.status()["availableReplicas"], 2);  // the active ReplicaSet's

  sim.Promote();
  sim.Settle();
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-active"), green);
  EXPECT_EQ(Stable(sim), green);
  EXPECT_EQ(sim.Phase(), "Healthy");
  // The old version keeps running for scaleDownDelaySeconds (30 s by default).
  EXPECT_EQ(sim.Replicas(blue), 2);
  const nlohmann::json* old = sim.ReplicaSet(blue);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ((*old)["metadata"]["annotations"]["scale-down-deadline"], "2026-01-01T00:00:30Z");
  ASSERT_TRUE(sim.last().requeue_after.has_value());
  EXPECT_EQ(*sim.last().requeue_after, absl::Seconds(30));
  sim.Advance(absl::Seconds(29));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(blue), 2);
  EXPECT_EQ(*sim.last().requeue_after, absl::Seconds(1));
  sim.Advance(absl::Seconds(1));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(blue), 0);
  EXPECT_EQ(sim.Replicas(green), 2);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(BlueGreenTest, AutoPromotionSecondsPromotesAfterTheDelay) {
  nlohmann::json r = ParseYaml(kBlueGreen);
  r["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] = true;
  r["spec"]["strategy"]["blueGreen"]["autoPromotionSeconds"] = 20;
  Sim sim(r);
  sim.Settle();
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  EXPECT_EQ(sim.Phase(), "Paused");
  EXPECT_EQ(*sim.last().requeue_after, absl::Seconds(20));
  sim.Advance(absl::Seconds(20));
  sim.Settle();
  EXPECT_EQ(Active(sim), green);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(BlueGreenTest, DefaultAutoPromotionSwitchesOnceAvailable) {
  nlohmann::json r = ParseYaml(kBlueGreen);
  r["spec"]["strategy"]["blueGreen"].erase("autoPromotionEnabled");
  Sim sim(r);
  sim.Settle();
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Reconcile();
  const std::string green = Current(sim);
  EXPECT_NE(Active(sim), green);  // not before the preview pods are available
  sim.Kubelet();
  sim.Settle();
  EXPECT_EQ(Active(sim), green);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(BlueGreenTest, PreviewReplicaCountThenFullSizeBeforeTheSwitch) {
  nlohmann::json r = ParseYaml(kBlueGreen);
  r["spec"]["replicas"] = 4;
  r["spec"]["strategy"]["blueGreen"]["previewReplicaCount"] = 1;
  Sim sim(r);
  sim.Settle();
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  EXPECT_EQ(sim.Replicas(green), 1);
  EXPECT_EQ(sim.Phase(), "Paused");
  sim.Promote();
  sim.Reconcile();
  EXPECT_EQ(sim.Replicas(green), 4);
  EXPECT_EQ(Active(sim), blue);  // the switch waits for the full size
  sim.Kubelet();
  sim.Settle();
  EXPECT_EQ(Active(sim), green);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(BlueGreenTest, AbortKeepsActiveOnOldAndScalesPreviewDownAfterDelay) {
  Sim sim(ParseYaml(kBlueGreen));
  sim.Settle();
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  sim.Abort();
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_EQ(sim.Message(), "RolloutAborted: Rollout aborted update to revision 2");
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-active"), blue);
  EXPECT_EQ(sim.Replicas(green), 2);
  sim.Advance(absl::Seconds(30));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(green), 0);
  EXPECT_EQ(sim.Replicas(blue), 2);
}

TEST(BlueGreenTest, PrePromotionAnalysisMustSucceedBeforeTheSwitch) {
  nlohmann::json r = ParseYaml(kBlueGreen);
  r["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] = true;
  r["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"] = {
      {"templates", {{{"templateName", "smoke"}}}},
      {"args", {{{"name", "svc"}, {"valueFrom", {{"podTemplateHashValue", "Latest"}}}}}}};
  Sim sim(r);
  sim.Settle();
  EXPECT_TRUE(sim.runs().empty());  // none for the first version
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  const std::string run = "rollout-bluegreen-" + green + "-2-pre";
  ASSERT_EQ(sim.runs().count(run), 1u);
  EXPECT_EQ(sim.runs().at(run)["metadata"]["labels"]["rollout-type"], "PrePromotion");
  EXPECT_EQ(sim.runs().at(run)["spec"]["analysis"]["args"][0]["value"], green);
  EXPECT_EQ(Active(sim), blue);
  EXPECT_EQ(sim.Message(), "active service cutover pending");
  sim.SetRunPhase(run, "Successful");
  sim.Settle();
  EXPECT_EQ(Active(sim), green);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(BlueGreenTest, FailedPostPromotionAnalysisSwitchesBack) {
  nlohmann::json r = ParseYaml(kBlueGreen);
  r["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] = true;
  r["spec"]["strategy"]["blueGreen"]["postPromotionAnalysis"] = {
      {"templates", {{{"templateName", "smoke"}}}}};
  Sim sim(r);
  sim.Settle();
  const std::string blue = Current(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  const std::string green = Current(sim);
  EXPECT_EQ(Active(sim), green);
  EXPECT_EQ(Stable(sim), blue);
  EXPECT_EQ(sim.Message(), "waiting for post-promotion verification to complete");
  const std::string run = "rollout-bluegreen-" + green + "-2-post";
  ASSERT_EQ(sim.runs().count(run), 1u);
  sim.SetRunPhase(run, "Failed",
                  "Metric \"smoke\" assessed Failed due to failed (1) > failureLimit (0)");
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_EQ(
      sim.Message(),
      "RolloutAborted: Rollout aborted update to revision 2: Metric \"smoke\" assessed Failed "
      "due to failed (1) > failureLimit (0)");
  EXPECT_EQ(sim.SelectorOf("rollout-bluegreen-active"), blue);
  EXPECT_EQ(sim.Replicas(blue), 2);
}

}  // namespace
}  // namespace argonaut::rollout::engine
