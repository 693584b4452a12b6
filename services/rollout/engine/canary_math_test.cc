#include "services/rollout/engine/canary_math.h"

#include <tuple>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::rollout::engine {
namespace {

using nlohmann::json;

// Argo's canary_test.go table for approximateWeightedCanaryStableReplicaCounts.
TEST(CanaryMathTest, ApproximateWeightedCountsMatchesArgo) {
  struct Case {
    int32_t r, w, s, canary, stable;
  };
  const Case cases[] = {
      {10, 1, 0, 1, 9}, {10, 15, 0, 2, 8}, {10, 1, 1, 1, 10}, {10, 24, 1, 3, 8},
      {3, 50, 0, 2, 1}, {3, 10, 1, 1, 3},  {1, 49, 0, 0, 1},  {1, 50, 0, 1, 0},
      {2, 99, 1, 2, 1}, {5, 20, 2, 1, 4},  {5, 40, 2, 2, 3},  {5, 60, 2, 3, 2},
      {5, 80, 2, 4, 1}, {5, 100, 2, 5, 0}, {5, 0, 2, 0, 5},   {0, 50, 1, 0, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ApproximateWeightedCounts(c.r, c.w, 100, c.s), std::make_pair(c.canary, c.stable))
        << "R=" << c.r << " W=" << c.w << " S=" << c.s;
  }
  for (int w = 1; w <= 99; ++w) {
    EXPECT_EQ(ApproximateWeightedCounts(1, w, 100, 1), std::make_pair(1, 1)) << "W=" << w;
  }
}

TEST(CanaryMathTest, RollingLimitsTreatEveryStringAsPercent) {
  auto d_or = ResolveRollingLimits(json(), json(), 5, "p");
  ASSERT_OK(d_or);
  const RollingLimits d = *d_or;
  EXPECT_EQ(d.max_surge, 2);        // ceil(1.25)
  EXPECT_EQ(d.max_unavailable, 1);  // floor(1.25)
  auto s_or = ResolveRollingLimits("25", "25", 5, "p");
  ASSERT_OK(s_or);
  const RollingLimits s = *s_or;
  EXPECT_EQ(s.max_surge, 2);
  EXPECT_EQ(s.max_unavailable, 1);
  // Both zero after rounding: one pod may be unavailable.
  auto z_or = ResolveRollingLimits("10%", "10%", 3, "p");
  ASSERT_OK(z_or);
  const RollingLimits z = *z_or;
  EXPECT_EQ(z.max_surge, 1);
  auto z2_or = ResolveRollingLimits(0, "10%", 3, "p");
  ASSERT_OK(z2_or);
  const RollingLimits z2 = *z2_or;
  EXPECT_EQ(z2.max_surge, 0);
  EXPECT_EQ(z2.max_unavailable, 1);
  auto capped_or = ResolveRollingLimits(1, 9, 3, "p");
  ASSERT_OK(capped_or);
  const RollingLimits capped = *capped_or;
  EXPECT_EQ(capped.max_unavailable, 3);
  EXPECT_FALSE(ResolveRollingLimits(-1, json(), 3, "spec.strategy.canary").ok());
  auto bad = ResolveRollingLimits("lots", json(), 3, "spec.strategy.canary");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("spec.strategy.canary.maxSurge"), std::string::npos);
}

TEST(CanaryMathTest, TrafficWeightToReplicas) {
  EXPECT_EQ(TrafficWeightToReplicas(10, 20, 100), 2);
  EXPECT_EQ(TrafficWeightToReplicas(10, 25, 100), 3);
  EXPECT_EQ(TrafficWeightToReplicas(10, 33, 100), 4);
  EXPECT_EQ(TrafficWeightToReplicas(10, 99, 100), 10);
}

BasicCanaryInput Five(int32_t weight, RsSize canary, RsSize stable) {
  return BasicCanaryInput{.replicas = 5,
                          .weight = weight,
                          .max_surge = 2,
                          .max_unavailable = 1,
                          .canary = canary,
                          .stable = stable};
}

TEST(CanaryMathTest, BasicCanaryFiveReplicasAtTwentyPercent) {
  // The update: no canary pods yet, 5 stable. One canary pod, stable drained to 4 at once.
  BasicCanaryInput in = Five(20, {0, 0}, {5, 5});
  EXPECT_EQ(BasicCanaryCounts(in), std::make_pair(1, 4));
  // Settled.
  EXPECT_EQ(BasicCanaryCounts(Five(20, {1, 1}, {4, 4})), std::make_pair(1, 4));
}

TEST(CanaryMathTest, BasicCanaryIncreasesWithinLimits) {
  // 20% -> 40%: canary +1 (surge budget), stable -1 (availability budget).
  EXPECT_EQ(BasicCanaryCounts(Five(40, {1, 1}, {4, 4})), std::make_pair(2, 3));
  // Canary pods not available yet: the stable may not drop below R - maxUnavailable.
  EXPECT_EQ(BasicCanaryCounts(Five(60, {2, 0}, {3, 3})), std::make_pair(3, 3));
  EXPECT_EQ(BasicCanaryCounts(Five(100, {4, 4}, {1, 1})), std::make_pair(5, 0));
}

TEST(CanaryMathTest, BasicCanaryAbortDrainsTheCanary) {
  // 40% (2/3) aborted: stable back up by the surge budget, canary drained while the stable
  // pods are not yet available.
  EXPECT_EQ(BasicCanaryCounts(Five(0, {2, 2}, {3, 3})), std::make_pair(1, 5));
  EXPECT_EQ(BasicCanaryCounts(Five(0, {1, 1}, {5, 5})), std::make_pair(0, 5));
}

TEST(CanaryMathTest, BasicCanaryWaitsForOlderReplicaSets) {
  BasicCanaryInput in = Five(20, {0, 0}, {3, 3});
  in.others_spec = 2;
  // Scale-ups only within R+S; no scale-down while older ReplicaSets still have pods.
  EXPECT_EQ(BasicCanaryCounts(in), std::make_pair(1, 4));
}

TEST(CanaryMathTest, BasicCanaryFirstDeploymentIsAllCanary) {
  BasicCanaryInput in = Five(20, {0, 0}, {0, 0});
  in.stable.reset();
  EXPECT_EQ(BasicCanaryCounts(in), std::make_pair(5, 0));
}

TEST(CanaryMathTest, TrafficRoutedCounts) {
  TrafficRoutedInput in{.replicas = 5, .weight = 20};
  EXPECT_EQ(TrafficRoutedCounts(in), std::make_pair(1, 5));  // stable stays at R
  in.weight = 33;
  EXPECT_EQ(TrafficRoutedCounts(in), std::make_pair(2, 5));
  in.canary_scale_replicas = 4;
  EXPECT_EQ(TrafficRoutedCounts(in), std::make_pair(4, 5));
  in.canary_scale_replicas.reset();
  in.weight = 10;
  in.min_pods_per_rs = 2;
  EXPECT_EQ(TrafficRoutedCounts(in), std::make_pair(2, 5));

  TrafficRoutedInput dss{.replicas = 10, .weight = 20, .dynamic_stable_scale = true};
  EXPECT_EQ(TrafficRoutedCounts(dss), std::make_pair(2, 8));
  // The router still sends 100% to stable: keep every stable pod.
  dss.actual_stable_weight = 100;
  EXPECT_EQ(TrafficRoutedCounts(dss), std::make_pair(2, 10));
  // Aborting: canary pods stay while traffic still reaches them.
  TrafficRoutedInput abort{.replicas = 10,
                           .weight = 0,
                           .dynamic_stable_scale = true,
                           .aborted = true,
                           .actual_canary_weight = 40,
                           .actual_stable_weight = 60};
  EXPECT_EQ(TrafficRoutedCounts(abort), std::make_pair(4, 10));
}

}  // namespace
}  // namespace argonaut::rollout::engine
