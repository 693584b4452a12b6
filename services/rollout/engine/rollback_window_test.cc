// rollbackWindow.revisions: going back to a recent revision skips the canary steps, and the
// blue-green pause and analyses.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

constexpr char kCanary[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 5
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
)";

struct Case {
  int window;                       // 0: no rollbackWindow
  std::vector<std::string> colors;  // released (each promoted) after blue
  bool want_fast;                   // going back to blue skips the steps
};

TEST(RollbackWindowTest, RollbackToARecentRevisionSkipsSteps) {
  const std::vector<Case> cases = {
      {0, {"green"}, false},
      {1, {"green"}, true},
      {1, {"green", "yellow"}, false},  // green lies between blue and the stable yellow
      {2, {"green", "yellow"}, true},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(absl::StrCat("window ", tc.window, ", releases ", tc.colors.size()));
    Sim sim(ParseYaml(kCanary));
    if (tc.window > 0) sim.spec()["rollbackWindow"]["revisions"] = tc.window;
    sim.Settle();
    const std::string blue = sim.status().value("currentPodHash", "");
    for (const std::string& color : tc.colors) {
      sim.Advance(absl::Seconds(10));
      sim.SetImage("argoproj/rollouts-demo:" + color);
      sim.Settle();
      sim.PromoteFull();
      sim.Settle();
      ASSERT_EQ(sim.Phase(), "Healthy") << sim.Message();
    }
    sim.Advance(absl::Seconds(10));
    sim.SetImage("argoproj/rollouts-demo:blue");
    sim.Settle();
    ASSERT_EQ(sim.status().value("currentPodHash", ""), blue);
    if (tc.want_fast) {
      EXPECT_EQ(sim.Phase(), "Healthy") << sim.Message();
      EXPECT_EQ(sim.status().value("stableRS", ""), blue);
      EXPECT_EQ(sim.Replicas(blue), 5);
    } else {
      EXPECT_EQ(sim.Phase(), "Paused");
      EXPECT_EQ(sim.Replicas(blue), 1);
    }
  }
}

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
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
      prePromotionAnalysis:
        templates:
        - templateName: check
      postPromotionAnalysis:
        templates:
        - templateName: check
)";

// Blue-green: the pause and both analyses are skipped; the old revision goes straight to active.
TEST(RollbackWindowTest, BlueGreenRollbackToARecentRevisionGoesStraightToActive) {
  const std::vector<Case> cases = {
      {0, {"green"}, false},
      {1, {"green"}, true},
      {1, {"green", "yellow"}, false},
      {2, {"green", "yellow"}, true},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(absl::StrCat("window ", tc.window, ", releases ", tc.colors.size()));
    Sim sim(ParseYaml(kBlueGreen));
    if (tc.window > 0) sim.spec()["rollbackWindow"]["revisions"] = tc.window;
    sim.Settle();
    const std::string blue = sim.status().value("currentPodHash", "");
    std::string previous = blue;
    for (const std::string& color : tc.colors) {
      sim.Advance(absl::Seconds(10));
      sim.SetImage("argoproj/rollouts-demo:" + color);
      sim.Settle();
      sim.PromoteFull();
      sim.Settle();
      const std::string hash = sim.status().value("currentPodHash", "");
      // The post-promotion analysis of a normal release passes.
      for (const auto& [name, run] : sim.runs()) {
        if (run["metadata"]["labels"].value("rollout-type", "") == "PostPromotion") {
          sim.SetRunPhase(name, "Successful");
        }
      }
      sim.Settle();
      ASSERT_EQ(sim.status().value("stableRS", ""), hash) << sim.Message();
      // Past the old revision's scaleDownDelaySeconds: nothing of it still runs.
      sim.Advance(absl::Seconds(60));
      sim.Settle();
      ASSERT_EQ(sim.Replicas(previous), 0);
      previous = hash;
    }
    const std::string before = sim.status().value("stableRS", "");
    sim.Advance(absl::Seconds(10));
    sim.SetImage("argoproj/rollouts-demo:blue");
    sim.Settle();
    ASSERT_EQ(sim.status().value("currentPodHash", ""), blue);
    const std::string active = sim.status()["blueGreen"].value("activeSelector", "");
    bool analysed = false;
    for (const auto& [name, run] : sim.runs()) {
      analysed = analysed || run["metadata"]["labels"].value(kPodTemplateHashLabel, "") == blue;
    }
    if (tc.want_fast) {
      EXPECT_EQ(sim.Phase(), "Healthy") << sim.Message();
      EXPECT_EQ(active, blue);
      EXPECT_EQ(sim.status().value("stableRS", ""), blue);
      EXPECT_EQ(sim.SelectorOf("bg-active"), blue);
      EXPECT_EQ(sim.Replicas(blue), 2);
      EXPECT_FALSE(analysed) << "no analysis for a rollback within the window";
    } else {
      EXPECT_EQ(active, before);
      EXPECT_EQ(sim.status().value("stableRS", ""), before);
      EXPECT_EQ(sim.SelectorOf("bg-active"), before);
      EXPECT_TRUE(analysed) << "the pre-promotion analysis runs";
    }
  }
}

}  // namespace
}  // namespace argonaut::rollout::engine
