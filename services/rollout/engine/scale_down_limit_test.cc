// scaleDownDelayRevisionLimit: how many old revisions stay up during their scaleDownDelaySeconds.
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

constexpr char kBlueGreen[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bg
spec:
  replicas: 2
  selector:
    matchLabels:
      app: bg
  template:
    metadata:
      labels:
        app: bg
    spec:
      containers:
      - name: bg
        image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen:
      activeService: bg-active
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 60
)";

struct Case {
  std::optional<int> limit;
  int want_blue, want_green;  // replicas of the two old revisions 10 s after yellow's promotion
};

TEST(ScaleDownDelayRevisionLimitTest, NewestOldRevisionsKeepTheirDelay) {
  for (const Case& tc : {Case{std::nullopt, 2, 2}, Case{2, 2, 2}, Case{1, 0, 2}, Case{0, 0, 0}}) {
    SCOPED_TRACE(tc.limit.has_value() ? std::to_string(*tc.limit) : "unset");
    Sim sim(ParseYaml(kBlueGreen));
    if (tc.limit.has_value()) {
      sim.spec()["strategy"]["blueGreen"]["scaleDownDelayRevisionLimit"] = *tc.limit;
    }
    sim.Settle();
    const std::string blue = sim.status().value("currentPodHash", "");
    sim.SetImage("argoproj/rollouts-demo:green");
    sim.Settle();
    sim.Promote();
    sim.Settle();
    const std::string green = sim.status().value("currentPodHash", "");
    sim.Advance(absl::Seconds(10));
    sim.SetImage("argoproj/rollouts-demo:yellow");
    sim.Settle();
    sim.Promote();
    sim.Settle();
    const std::string yellow = sim.status().value("currentPodHash", "");
    ASSERT_EQ(sim.status().value("stableRS", ""), yellow);
    sim.Advance(absl::Seconds(10));
    sim.Settle();
    EXPECT_EQ(sim.Replicas(blue), tc.want_blue);
    EXPECT_EQ(sim.Replicas(green), tc.want_green);
    EXPECT_EQ(sim.Replicas(yellow), 2);
    EXPECT_EQ(sim.Phase(), "Healthy");
    // Past every delay only the active revision runs.
    sim.Advance(absl::Seconds(61));
    sim.Settle();
    EXPECT_EQ(sim.Replicas(blue), 0);
    EXPECT_EQ(sim.Replicas(green), 0);
  }
}

TEST(ScaleDownDelayRevisionLimitTest, NegativeIsInvalidSpec) {
  Sim sim(ParseYaml(kBlueGreen));
  sim.spec()["strategy"]["blueGreen"]["scaleDownDelayRevisionLimit"] = -1;
  sim.Reconcile();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_NE(sim.Message().find("spec.strategy.blueGreen.scaleDownDelayRevisionLimit"),
            std::string::npos);
}

}  // namespace
}  // namespace argonaut::rollout::engine
