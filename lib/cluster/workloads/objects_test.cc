#include "lib/cluster/workloads/objects.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ObjectsTest, TypedFieldsReportPath) {
  const Json obj = {{"n", 3}, {"f", 4.0}, {"half", 2.5}, {"s", "x"}, {"big", 1LL << 40}};
  EXPECT_EQ(*Int32Field(obj, "n", 0, "spec.n"), 3);
  EXPECT_EQ(*Int32Field(obj, "f", 0, "spec.f"), 4);
  EXPECT_EQ(*Int32Field(obj, "missing", 7, "spec.m"), 7);
  EXPECT_THAT(Int32Field(obj, "half", 0, "spec.half"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.half")));
  EXPECT_THAT(Int32Field(obj, "s", 0, "spec.s"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.s: expected integer")));
  EXPECT_THAT(Int32Field(obj, "big", 0, "spec.big"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32-bit")));
  EXPECT_THAT(StringField(obj, "n", "", "spec.n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.n")));
  EXPECT_THAT(BoolField(obj, "s", false, "spec.paused"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.paused")));
  EXPECT_EQ(IntOr(Json("not an object"), "n", 9), 9);
}

TEST(ObjectsTest, TimeRoundTrip) {
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(FormatK8sTime(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(*ParseK8sTime("2023-11-14T22:13:20Z"), t);
  EXPECT_EQ(*ParseK8sTime("2023-11-14T23:13:20+01:00"), t);
  EXPECT_THAT(ParseK8sTime("yesterday"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(TimeField(Json{{"t", 5}}, "t").has_value());
}

TEST(ObjectsTest, IntOrPercentRounding) {
  EXPECT_EQ(*ScaledIntOrPercent("25%", 10, true, "x"), 3);
  EXPECT_EQ(*ScaledIntOrPercent("25%", 10, false, "x"), 2);
  EXPECT_EQ(*ScaledIntOrPercent("25%", 1, true, "x"), 1);
  EXPECT_EQ(*ScaledIntOrPercent("25%", 1, false, "x"), 0);
  EXPECT_EQ(*ScaledIntOrPercent(2, 10, false, "x"), 2);
  EXPECT_EQ(*ScaledIntOrPercent("100%", 7, false, "x"), 7);
  for (const Json& bad : {Json("25"), Json("%"), Json("-5%"), Json(-1), Json(1.5), Json("2x%")}) {
    EXPECT_THAT(ScaledIntOrPercent(bad, 10, true, "spec.strategy.rollingUpdate.maxSurge"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("maxSurge")))
        << bad.dump();
  }
}

TEST(ObjectsTest, SelectorMatching) {
  const Json labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(*SelectorMatches(Json{{"matchLabels", {{"app", "web"}}}}, labels, "s"));
  EXPECT_FALSE(*SelectorMatches(Json{{"matchLabels", {{"app", "db"}}}}, labels, "s"));
  EXPECT_TRUE(*SelectorMatches(Json::object(), labels, "s"));
  auto expr = [](std::string op, Json values) {
    Json e = {{"key", "tier"}, {"operator", op}};
    if (!values.is_null()) e["values"] = values;
    return Json{{"matchExpressions", Json::array({e})}};
  };
  EXPECT_TRUE(*SelectorMatches(expr("In", {"front", "back"}), labels, "s"));
  EXPECT_FALSE(*SelectorMatches(expr("NotIn", {"front"}), labels, "s"));
  EXPECT_TRUE(*SelectorMatches(expr("Exists", nullptr), labels, "s"));
  EXPECT_FALSE(*SelectorMatches(expr("DoesNotExist", nullptr), labels, "s"));
  EXPECT_THAT(SelectorMatches(expr("Near", {"x"}), labels, "spec.selector"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.selector.matchExpressions[0].operator")));
  EXPECT_THAT(SelectorMatches(expr("In", Json::array()), labels, "spec.selector"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("values")));
  EXPECT_THAT(
      SelectorMatches(Json{{"matchLabels", {{"a", 1}}}}, labels, "spec.selector"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.selector.matchLabels.a")));
}

TEST(ObjectsTest, PodAvailabilityHonoursMinReadySeconds) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Json pod = {
      {"status",
       {{"phase", "Running"},
        {"conditions",
         {{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", FormatK8sTime(t0)}}}}}}};
  EXPECT_TRUE(IsPodReady(pod));
  EXPECT_TRUE(IsPodActive(pod));
  EXPECT_TRUE(IsPodAvailable(pod, 0, t0));
  EXPECT_FALSE(IsPodAvailable(pod, 10, t0 + absl::Seconds(9)));
  EXPECT_TRUE(IsPodAvailable(pod, 10, t0 + absl::Seconds(10)));
  pod["metadata"]["deletionTimestamp"] = FormatK8sTime(t0);
  EXPECT_FALSE(IsPodActive(pod));
  pod["status"]["conditions"][0]["status"] = "False";
  EXPECT_FALSE(IsPodAvailable(pod, 0, t0));
}

TEST(ObjectsTest, SetConditionKeepsTransitionTime) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  Json conds;
  SetCondition(conds, "Ready", "True", "A", "m", t0);
  SetCondition(conds, "Ready", "True", "B", "m2", t0 + absl::Seconds(5));
  ASSERT_EQ(conds.size(), 1u);
  EXPECT_EQ(conds[0]["reason"], "B");
  EXPECT_EQ(conds[0]["lastTransitionTime"], FormatK8sTime(t0));
  SetCondition(conds, "Ready", "False", "B", "m3", t0 + absl::Seconds(9));
  EXPECT_EQ(conds[0]["lastTransitionTime"], FormatK8sTime(t0 + absl::Seconds(9)));
  RemoveCondition(conds, "Ready");
  EXPECT_TRUE(conds.empty());
}

TEST(ObjectsTest, DepthLimitIsIterative) {
  Json deep = Json::array();
  for (int i = 0; i < 100; ++i) deep = Json::array({deep});
  EXPECT_THAT(CheckDepth(deep, 64, "spec.template"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template")));
  EXPECT_THAT(CheckDepth(Json{{"a", {{"b", 1}}}}, 64, "x"), IsOk());
}

TEST(ObjectsTest, ControllerRef) {
  const Json owner = {{"apiVersion", "apps/v1"},
                      {"kind", "ReplicaSet"},
                      {"metadata", {{"name", "rs"}, {"uid", "u1"}}}};
  Json pod = {{"metadata", {{"ownerReferences", {MakeControllerRef(owner)}}}}};
  EXPECT_TRUE(IsControlledBy(pod, owner));
  EXPECT_EQ((*ControllerRef(pod))["blockOwnerDeletion"], true);
  pod["metadata"]["ownerReferences"][0]["controller"] = false;
  EXPECT_FALSE(IsControlledBy(pod, owner));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
