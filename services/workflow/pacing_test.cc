#include "services/workflow/pacing.h"

#include "gtest/gtest.h"

namespace argonaut::workflow {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(ReconcilePacingTest, UnknownWorkflowsAreNotDelayed) {
  ReconcilePacing p;
  EXPECT_EQ(p.DelayAt("ns/wf", kT0), absl::ZeroDuration());
  EXPECT_FALSE(p.IsOwnWrite("ns/wf", 7));
}

TEST(ReconcilePacingTest, PodEventsWaitThreeTimesTheLastReconcile) {
  ReconcilePacing p;
  p.Finished("ns/wf", kT0, kT0 + absl::Milliseconds(40), 0);
  EXPECT_EQ(p.DelayAt("ns/wf", kT0 + absl::Milliseconds(40)), absl::Milliseconds(120));
  EXPECT_EQ(p.DelayAt("ns/wf", kT0 + absl::Milliseconds(150)), absl::Milliseconds(10));
  EXPECT_EQ(p.DelayAt("ns/wf", kT0 + absl::Milliseconds(160)), absl::ZeroDuration());
  EXPECT_EQ(p.DelayAt("ns/other", kT0 + absl::Milliseconds(40)), absl::ZeroDuration());
}

TEST(ReconcilePacingTest, DelayIsCapped) {
  ReconcilePacing p;
  p.Finished("ns/wf", kT0, kT0 + absl::Seconds(30), 0);
  EXPECT_EQ(p.DelayAt("ns/wf", kT0 + absl::Seconds(30)), ReconcilePacing::kMaxDelay);
}

TEST(ReconcilePacingTest, OwnWritesAreRecognisedUntilForgotten) {
  ReconcilePacing p;
  p.Finished("ns/wf", kT0, kT0 + absl::Milliseconds(1), 12);
  EXPECT_TRUE(p.IsOwnWrite("ns/wf", 12));
  EXPECT_FALSE(p.IsOwnWrite("ns/wf", 13));
  // A reconcile that wrote nothing keeps the last written version.
  p.Finished("ns/wf", kT0 + absl::Seconds(1), kT0 + absl::Seconds(1), 0);
  EXPECT_TRUE(p.IsOwnWrite("ns/wf", 12));
  p.Forget("ns/wf");
  EXPECT_FALSE(p.IsOwnWrite("ns/wf", 12));
  EXPECT_EQ(p.DelayAt("ns/wf", kT0), absl::ZeroDuration());
}

}  // namespace
}  // namespace argonaut::workflow
