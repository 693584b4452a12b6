#include "lib/cluster/workloads/replicaset.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

RandomSource Counter() {
  auto n = std::make_shared<uint32_t>(0);
  return [n]() { return (*n)++ * 2654435761u; };
}

Json MakeRs(int replicas, int min_ready = 0) {
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "ReplicaSet"},
      {"metadata", {{"name", "web"}, {"namespace", "ns"}, {"uid", "rs-uid"}, {"generation", 4}}},
      {"spec",
       {{"replicas", replicas},
        {"minReadySeconds", min_ready},
        {"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "web"}, {"extra", "1"}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "i"}}}}}}}}}}};
}

struct PodOpts {
  std::string phase = "Running";
  bool ready = true;
  absl::Time ready_since = kT0;
  absl::Time created = kT0;
  std::string node = "local";
  int restarts = 0;
  bool deleting = false;
  bool owned = true;
  Json labels = {{"app", "web"}, {"extra", "1"}};
};

Json MakePod(const std::string& name, const PodOpts& o = {}) {
  Json pod = {{"metadata",
               {{"name", name},
                {"namespace", "ns"},
                {"labels", o.labels},
                {"creationTimestamp", FormatK8sTime(o.created)}}},
              {"spec", {{"nodeName", o.node}}},
              {"status",
               {{"phase", o.phase},
                {"containerStatuses", {{{"name", "c"}, {"restartCount", o.restarts}}}},
                {"conditions",
                 {{{"type", "Ready"},
                   {"status", o.ready ? "True" : "False"},
                   {"lastTransitionTime", FormatK8sTime(o.ready_since)}}}}}}};
  if (o.owned) {
    pod["metadata"]["ownerReferences"] = {
        {{"kind", "ReplicaSet"}, {"name", "web"}, {"uid", "rs-uid"}, {"controller", true}}};
  }
  if (o.deleting) pod["metadata"]["deletionTimestamp"] = FormatK8sTime(kT0);
  return pod;
}

TEST(ReplicaSetTest, CreatesMissingPods) {
  auto d = ReconcileReplicaSet(MakeRs(3), {MakePod("a")}, kT0, Counter());
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_THAT(d->pods_to_create, SizeIs(2));
  EXPECT_TRUE(d->pods_to_delete.empty());
  EXPECT_EQ(d->pods_to_create[0]["metadata"]["ownerReferences"][0]["uid"], "rs-uid");
  EXPECT_EQ(d->pods_to_create[0]["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(d->status["replicas"], 1);
  EXPECT_EQ(d->status["readyReplicas"], 1);
  EXPECT_EQ(d->status["availableReplicas"], 1);
  EXPECT_EQ(d->status["fullyLabeledReplicas"], 1);
  EXPECT_EQ(d->status["observedGeneration"], 4);
}

TEST(ReplicaSetTest, IgnoresForeignTerminatingAndFinishedPods) {
  PodOpts foreign;
  foreign.owned = false;
  PodOpts deleting;
  deleting.deleting = true;
  PodOpts failed;
  failed.phase = "Failed";
  PodOpts succeeded;
  succeeded.phase = "Succeeded";
  PodOpts mislabeled;
  mislabeled.labels = {{"app", "other"}};
  auto d =
      ReconcileReplicaSet(MakeRs(2),
                          {MakePod("a"), MakePod("f", foreign), MakePod("d", deleting),
                           MakePod("x", failed), MakePod("s", succeeded), MakePod("m", mislabeled)},
                          kT0, Counter());
  ASSERT_TRUE(d.ok());
  // Failed and terminating pods are replaced right away; they are not active.
  EXPECT_THAT(d->pods_to_create, SizeIs(1));
  EXPECT_EQ(d->status["replicas"], 1);
}

TEST(ReplicaSetTest, FullyLabeledCountsTemplateLabels) {
  PodOpts partial;
  partial.labels = {{"app", "web"}};
  auto d = ReconcileReplicaSet(MakeRs(2), {MakePod("a"), MakePod("b", partial)}, kT0, Counter());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status["replicas"], 2);
  EXPECT_EQ(d->status["fullyLabeledReplicas"], 1);
}

TEST(ReplicaSetTest, MinReadySecondsAndRequeue) {
  PodOpts fresh;
  fresh.ready_since = kT0 - absl::Seconds(3);
  PodOpts old;
  old.ready_since = kT0 - absl::Seconds(60);
  auto d =
      ReconcileReplicaSet(MakeRs(2, 10), {MakePod("a", fresh), MakePod("b", old)}, kT0, Counter());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status["readyReplicas"], 2);
  EXPECT_EQ(d->status["availableReplicas"], 1);
  ASSERT_TRUE(d->requeue_after.has_value());
  EXPECT_EQ(*d->requeue_after, absl::Seconds(7));
  auto later = ReconcileReplicaSet(MakeRs(2, 10), {MakePod("a", fresh), MakePod("b", old)},
                                   kT0 + absl::Seconds(7), Counter());
  EXPECT_EQ(later->status["availableReplicas"], 2);
  EXPECT_FALSE(later->requeue_after.has_value());
}

TEST(ReplicaSetTest, ScaleDownVictimRanking) {
  PodOpts unassigned;
  unassigned.node = "";
  unassigned.phase = "Pending";
  unassigned.ready = false;
  PodOpts pending;
  pending.phase = "Pending";
  pending.ready = false;
  PodOpts unknown;
  unknown.phase = "Unknown";
  unknown.ready = false;
  PodOpts not_ready;
  not_ready.ready = false;
  PodOpts recently_ready;
  recently_ready.ready_since = kT0 + absl::Seconds(100);
  PodOpts crashy;
  crashy.restarts = 5;
  PodOpts newer;
  newer.created = kT0 + absl::Seconds(10);
  PodOpts plain;
  const std::vector<Json> pods = {
      MakePod("plain", plain),        MakePod("newer", newer),
      MakePod("crashy", crashy),      MakePod("recent", recently_ready),
      MakePod("notready", not_ready), MakePod("unknown", unknown),
      MakePod("pending", pending),    MakePod("unassigned", unassigned)};
  std::vector<const Json*> ptrs;
  for (const Json& p : pods) ptrs.push_back(&p);
  EXPECT_THAT(ChooseVictims(ptrs, 8), ElementsAre("unassigned", "pending", "unknown", "notready",
                                                  "recent", "crashy", "newer", "plain"));
  auto d = ReconcileReplicaSet(MakeRs(5), pods, kT0, Counter());
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(d->pods_to_delete, ElementsAre("unassigned", "pending", "unknown"));
  EXPECT_TRUE(d->pods_to_create.empty());
}

TEST(ReplicaSetTest, DeletionCostOrdersReadyPods) {
  Json cheap = MakePod("cheap");
  cheap["metadata"]["annotations"][kPodDeletionCostAnnotation] = "-10";
  Json dear = MakePod("dear");
  dear["metadata"]["annotations"][kPodDeletionCostAnnotation] = "100";
  std::vector<Json> pods = {dear, MakePod("zero"), cheap};
  auto d = ReconcileReplicaSet(MakeRs(1), pods, kT0, Counter());
  EXPECT_THAT(d->pods_to_delete, ElementsAre("cheap", "zero"));
}

TEST(ReplicaSetTest, BurstLimitAndDeletingOwner) {
  auto d = ReconcileReplicaSet(MakeRs(100000), {}, kT0, Counter());
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(d->pods_to_create, SizeIs(kMaxPodChangesPerSync));
  Json rs = MakeRs(3);
  rs["metadata"]["deletionTimestamp"] = FormatK8sTime(kT0);
  auto gone = ReconcileReplicaSet(rs, {}, kT0, Counter());
  EXPECT_TRUE(gone->pods_to_create.empty());
}

TEST(ReplicaSetTest, HostileSpecs) {
  Json rs = MakeRs(2);
  rs["spec"]["replicas"] = "two";
  EXPECT_THAT(ReconcileReplicaSet(rs, {}, kT0, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.replicas")));
  rs = MakeRs(-1);
  EXPECT_THAT(ReconcileReplicaSet(rs, {}, kT0, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.replicas")));
  rs = MakeRs(1);
  rs["spec"].erase("selector");
  EXPECT_THAT(ReconcileReplicaSet(rs, {}, kT0, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.selector")));
  rs = MakeRs(1);
  rs["spec"]["selector"] = {{"matchExpressions", "x"}};
  EXPECT_THAT(
      ReconcileReplicaSet(rs, {MakePod("a")}, kT0, Counter()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.selector.matchExpressions")));
  EXPECT_THAT(ReconcileReplicaSet(Json("junk"), {}, kT0, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Junk pods are ignored rather than crashing the controller.
  auto d = ReconcileReplicaSet(MakeRs(1), {Json(3), Json::array(), Json{{"metadata", 5}}}, kT0,
                               Counter());
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(d->pods_to_create, SizeIs(1));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
