#include "lib/cluster/workloads/deployment.h"

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/workloads/replicaset.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

Json MakeDeployment(int replicas, const std::string& version, Json strategy = nullptr) {
  Json d = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "web"}, {"namespace", "ns"}, {"uid", "d-uid"}, {"generation", 1}}},
      {"spec",
       {{"replicas", replicas},
        {"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "web"}, {"version", version}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "img:" + version}}}}}}}}}}};
  if (!strategy.is_null()) d["spec"]["strategy"] = strategy;
  return d;
}

Json Rolling(Json surge, Json unavailable) {
  return {{"type", "RollingUpdate"},
          {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}};
}

// Steps the real Deployment and ReplicaSet controllers against a simulated kubelet in
// which pods become ready `ready_after` after creation and vanish `grace` after deletion.
class Cluster {
 public:
  explicit Cluster(Json deployment) : deployment_(std::move(deployment)) {}

  Json& deployment() { return deployment_; }
  absl::Time now() const { return now_; }
  std::map<std::string, Json>& replica_sets() { return rss_; }
  const DeploymentDecision& last() const { return last_; }
  absl::Duration ready_after = absl::Seconds(5);
  absl::Duration grace = absl::Seconds(2);
  bool pods_never_ready = false;

  void UpdateSpec(const std::function<void(Json&)>& edit) {
    edit(deployment_["spec"]);
    deployment_["metadata"]["generation"] = deployment_["metadata"]["generation"].get<int>() + 1;
  }

  absl::Status Step(absl::Duration dt = absl::Seconds(1)) {
    now_ += dt;
    Kubelet();
    if (absl::Status s = SyncReplicaSets(); !s.ok()) return s;
    if (absl::Status s = SyncDeployment(); !s.ok()) return s;
    return SyncReplicaSets();
  }

  // Pods counted the way a Service would: ready and not terminating.
  int ReadyPods(const std::string& version = "") const {
    int n = 0;
    for (const auto& [name, pod] : pods_) {
      if (IsPodReady(pod) && !IsTerminating(pod) &&
          (version.empty() || pod["metadata"]["labels"]["version"] == version)) {
        ++n;
      }
    }
    return n;
  }
  int LivePods(const std::string& version = "") const {
    int n = 0;
    for (const auto& [name, pod] : pods_) {
      if (!IsTerminating(pod) &&
          (version.empty() || pod["metadata"]["labels"]["version"] == version)) {
        ++n;
      }
    }
    return n;
  }
  int AllPods() const { return static_cast<int>(pods_.size()); }

  const Json* RsWithVersion(const std::string& version) const {
    for (const auto& [name, rs] : rss_) {
      if (rs["spec"]["template"]["metadata"]["labels"]["version"] == version) return &rs;
    }
    return nullptr;
  }

 private:
  void Kubelet() {
    for (auto it = pods_.begin(); it != pods_.end();) {
      Json& pod = it->second;
      if (auto del = TimeField(pod["metadata"], "deletionTimestamp"); del && *del + grace <= now_) {
        it = pods_.erase(it);
        continue;
      }
      const absl::Time created = *TimeField(pod["metadata"], "creationTimestamp");
      if (!pods_never_ready && PodPhase(pod) == "Pending" && created + ready_after <= now_) {
        pod["status"]["phase"] = "Running";
        pod["status"]["conditions"] = {
            {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", FormatK8sTime(now_)}}};
      }
      ++it;
    }
  }

  absl::Status SyncReplicaSets() {
    std::vector<Json> pods;
    for (const auto& [n, p] : pods_) pods.push_back(p);
    for (auto& [name, rs] : rss_) {
      auto d = ReconcileReplicaSet(rs, pods, now_, rand_);
      if (!d.ok()) return d.status();
      for (Json& pod : d->pods_to_create) {
        pod["metadata"]["uid"] = absl::StrCat("pod-", ++uid_);
        pod["metadata"]["creationTimestamp"] = FormatK8sTime(now_);
        pod["spec"]["nodeName"] = "local";
        pods_[pod["metadata"]["name"]] = pod;
      }
      for (const std::string& victim : d->pods_to_delete) {
        pods_[victim]["metadata"]["deletionTimestamp"] = FormatK8sTime(now_);
      }
      rs["status"] = d->status;
    }
    return absl::OkStatus();
  }

  absl::Status SyncDeployment() {
    std::vector<Json> rss, pods;
    for (const auto& [n, rs] : rss_) rss.push_back(rs);
    for (const auto& [n, p] : pods_) pods.push_back(p);
    auto d = ReconcileDeployment(deployment_, rss, pods, now_);
    if (!d.ok()) return d.status();
    for (Json rs : d->replica_sets_to_create) {
      rs["metadata"]["uid"] = absl::StrCat("rs-", ++uid_);
      rs["metadata"]["creationTimestamp"] = FormatK8sTime(now_);
      rs["metadata"]["generation"] = 1;
      rss_[rs["metadata"]["name"]] = rs;
    }
    for (const Json& rs : d->replica_sets_to_update) {
      Json& cur = rss_[rs["metadata"]["name"]];
      const bool spec_changed = cur["spec"] != rs["spec"];
      const Json status = cur["status"];
      cur = rs;
      cur["status"] = status;
      if (spec_changed)
        cur["metadata"]["generation"] = cur["metadata"]["generation"].get<int>() + 1;
    }
    for (const std::string& name : d->replica_sets_to_delete) rss_.erase(name);
    deployment_["status"] = d->status;
    if (!d->revision.empty()) {
      deployment_["metadata"]["annotations"][kRevisionAnnotation] = d->revision;
    }
    last_ = *d;
    return absl::OkStatus();
  }

  Json deployment_;
  absl::Time now_ = kT0;
  std::map<std::string, Json> rss_;
  std::map<std::string, Json> pods_;
  int uid_ = 0;
  std::shared_ptr<uint32_t> counter_ = std::make_shared<uint32_t>(0);
  RandomSource rand_ = [c = counter_]() { return (*c)++ * 2654435761u; };
  DeploymentDecision last_;
};

const Json* Condition(const Json& d, const std::string& type) {
  return GetCondition(d["status"]["conditions"], type);
}

// Steps until the Deployment reports NewReplicaSetAvailable; bounded in steps.
int Converge(
    Cluster& c, const std::function<void()>& invariant = [] {}, int max_steps = 200) {
  for (int i = 0; i < max_steps; ++i) {
    EXPECT_OK(c.Step());
    invariant();
    const Json* p = Condition(c.deployment(), "Progressing");
    const Json& st = c.deployment()["status"];
    const int want = c.deployment()["spec"]["replicas"];
    if (p != nullptr && (*p)["reason"] == "NewReplicaSetAvailable" && c.AllPods() == want &&
        c.ReadyPods() == want && st["updatedReplicas"] == want && st["replicas"] == want &&
        st["availableReplicas"] == want &&
        st["observedGeneration"] == c.deployment()["metadata"]["generation"]) {
      return i + 1;
    }
  }
  ADD_FAILURE() << "did not converge: " << c.deployment()["status"].dump();
  return -1;
}

TEST(DeploymentTest, InitialRolloutCreatesRevisionOne) {
  Cluster c(MakeDeployment(3, "v1"));
  ASSERT_OK(c.Step());
  ASSERT_THAT(c.replica_sets(), SizeIs(1));
  const Json& rs = c.replica_sets().begin()->second;
  const std::string hash = rs["metadata"]["labels"][kPodTemplateHashLabel];
  EXPECT_EQ(rs["metadata"]["name"], "web-" + hash);
  EXPECT_EQ(rs["spec"]["selector"]["matchLabels"][kPodTemplateHashLabel], hash);
  EXPECT_EQ(rs["spec"]["template"]["metadata"]["labels"][kPodTemplateHashLabel], hash);
  EXPECT_EQ(rs["metadata"]["annotations"][kRevisionAnnotation], "1");
  EXPECT_EQ(rs["metadata"]["annotations"][kDesiredReplicasAnnotation], "3");
  EXPECT_EQ(rs["metadata"]["annotations"][kMaxReplicasAnnotation], "4");  // 3 + ceil(25% of 3)
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["uid"], "d-uid");
  EXPECT_EQ(rs["spec"]["replicas"], 3);
  EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], "1");
  EXPECT_EQ((*Condition(c.deployment(), "Progressing"))["reason"], "NewReplicaSetCreated");
  EXPECT_EQ((*Condition(c.deployment(), "Available"))["status"], "False");
  EXPECT_GT(Converge(c), 0);
  const Json& st = c.deployment()["status"];
  EXPECT_EQ(st["replicas"], 3);
  EXPECT_EQ(st["updatedReplicas"], 3);
  EXPECT_EQ(st["readyReplicas"], 3);
  EXPECT_EQ(st["availableReplicas"], 3);
  EXPECT_EQ(st["unavailableReplicas"], 0);
  EXPECT_EQ(st["observedGeneration"], 1);
  EXPECT_EQ((*Condition(c.deployment(), "Available"))["reason"], "MinimumReplicasAvailable");
  EXPECT_EQ((*Condition(c.deployment(), "Progressing"))["status"], "True");
}

TEST(DeploymentTest, RollingUpdateSurgeOneUnavailableZeroKeepsCapacity) {
  Cluster c(MakeDeployment(3, "v1", Rolling(1, 0)));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) {
    s["template"]["metadata"]["labels"]["version"] = "v2";
    s["template"]["spec"]["containers"][0]["image"] = "img:v2";
  });
  int max_live = 0;
  int min_ready = 100;
  const int steps = Converge(c, [&] {
    min_ready = std::min(min_ready, c.ReadyPods());
    max_live = std::max(max_live, c.LivePods());
  });
  ASSERT_GT(steps, 0);
  EXPECT_GE(min_ready, 3);  // maxUnavailable 0: never below spec.replicas ready
  EXPECT_LE(max_live, 4);   // maxSurge 1
  EXPECT_EQ(c.ReadyPods("v2"), 3);
  EXPECT_EQ(c.LivePods("v1"), 0);
  ASSERT_NE(c.RsWithVersion("v1"), nullptr);  // kept as history, scaled to zero
  EXPECT_EQ((*c.RsWithVersion("v1"))["spec"]["replicas"], 0);
  EXPECT_EQ((*c.RsWithVersion("v2"))["metadata"]["annotations"][kRevisionAnnotation], "2");
  EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], "2");
  EXPECT_EQ(c.deployment()["status"]["observedGeneration"], 2);
}

TEST(DeploymentTest, RollingUpdateSurgeZeroUnavailableOne) {
  Cluster c(MakeDeployment(4, "v1", Rolling(0, 1)));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  int min_ready = 100, max_live = 0;
  ASSERT_GT(Converge(c,
                     [&] {
                       min_ready = std::min(min_ready, c.ReadyPods());
                       max_live = std::max(max_live, c.LivePods());
                     }),
            0);
  EXPECT_EQ(min_ready, 3);  // exactly one unavailable at a time
  EXPECT_LE(max_live, 4);   // no surge
  EXPECT_EQ(c.ReadyPods("v2"), 4);
}

TEST(DeploymentTest, RollingStepMath) {
  // First sync after a template change, with 10 available v1 replicas and 25%/25%:
  // maxSurge = ceil(2.5) = 3, maxUnavailable = floor(2.5) = 2.
  Cluster c(MakeDeployment(10, "v1"));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  ASSERT_OK(c.Step());
  const DeploymentDecision& d = c.last();
  ASSERT_THAT(d.replica_sets_to_create, SizeIs(1));
  EXPECT_EQ(d.replica_sets_to_create[0]["spec"]["replicas"], 3);  // 13 total allowed
  // In the same sync old may drop by maxUnavailable: 13 - 8 min available - 3 new unavailable.
  EXPECT_EQ(c.RsWithVersion("v1")->at("spec")["replicas"], 8);
  EXPECT_EQ(d.scale.at(c.RsWithVersion("v1")->at("metadata")["name"]), 8);
  ASSERT_OK(c.Step());
  // Room for 13 again: new grows to 5; old must wait for new pods to become available.
  EXPECT_EQ(c.RsWithVersion("v1")->at("spec")["replicas"], 8);
  EXPECT_EQ(c.RsWithVersion("v2")->at("spec")["replicas"], 5);
  ASSERT_OK(c.Step());
  EXPECT_EQ(c.RsWithVersion("v1")->at("spec")["replicas"], 8);
  EXPECT_EQ(c.RsWithVersion("v2")->at("spec")["replicas"], 5);
  EXPECT_GT(Converge(c), 0);
}

TEST(DeploymentTest, RecreateScalesOldToZeroFirst) {
  Cluster c(MakeDeployment(3, "v1", Json{{"type", "Recreate"}}));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  bool overlap = false;
  ASSERT_GT(Converge(c,
                     [&] {
                       // Recreate never runs old and new pods together, not even terminating ones.
                       const int v2 = c.LivePods("v2");
                       const int v1 = c.AllPods() - v2;
                       if (v1 > 0 && v2 > 0) overlap = true;
                     }),
            0);
  EXPECT_FALSE(overlap);
  EXPECT_EQ(c.ReadyPods("v2"), 3);
  EXPECT_EQ((*Condition(c.deployment(), "Available"))["status"], "True");
}

TEST(DeploymentTest, RecreateDoesNotCreateNewWhileOldPodsTerminate) {
  Cluster c(MakeDeployment(2, "v1", Json{{"type", "Recreate"}}));
  c.grace = absl::Seconds(30);
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  for (int i = 0; i < 20; ++i) ASSERT_OK(c.Step());
  EXPECT_EQ(c.RsWithVersion("v2"), nullptr);  // old pods still terminating
  EXPECT_GT(Converge(c), 0);
  EXPECT_EQ(c.ReadyPods("v2"), 2);
}

TEST(DeploymentTest, RollbackReusesOldReplicaSetWithBumpedRevision) {
  Cluster c(MakeDeployment(2, "v1", Rolling(1, 0)));
  ASSERT_GT(Converge(c), 0);
  const std::string v1_name = c.RsWithVersion("v1")->at("metadata")["name"];
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v1"; });
  ASSERT_GT(Converge(c), 0);
  EXPECT_THAT(c.replica_sets(), SizeIs(2));
  const Json& v1 = *c.RsWithVersion("v1");
  EXPECT_EQ(v1["metadata"]["name"], v1_name);
  EXPECT_EQ(v1["metadata"]["annotations"][kRevisionAnnotation], "3");
  EXPECT_EQ(v1["metadata"]["annotations"][kRevisionHistoryAnnotation], "1");
  EXPECT_EQ(v1["spec"]["replicas"], 2);
  EXPECT_EQ(c.RsWithVersion("v2")->at("spec")["replicas"], 0);
  EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], "3");
}

TEST(DeploymentTest, RevisionHistoryLimitDeletesOldestDrained) {
  Cluster c(MakeDeployment(1, "v0", Rolling(1, 0)));
  c.deployment()["spec"]["revisionHistoryLimit"] = 2;
  ASSERT_GT(Converge(c), 0);
  for (int v = 1; v <= 5; ++v) {
    c.UpdateSpec(
        [v](Json& s) { s["template"]["metadata"]["labels"]["version"] = absl::StrCat("v", v); });
    ASSERT_GT(Converge(c), 0);
    ASSERT_OK(c.Step());  // cleanup runs once the status shows completion
  }
  EXPECT_THAT(c.replica_sets(), SizeIs(3));  // new + 2 history
  EXPECT_EQ(c.RsWithVersion("v0"), nullptr);
  EXPECT_EQ(c.RsWithVersion("v2"), nullptr);
  EXPECT_NE(c.RsWithVersion("v3"), nullptr);
  EXPECT_NE(c.RsWithVersion("v4"), nullptr);
  EXPECT_EQ(c.RsWithVersion("v5")->at("metadata")["annotations"][kRevisionAnnotation], "6");
}

TEST(DeploymentTest, PausedStopsRolloutButScales) {
  Cluster c(MakeDeployment(2, "v1"));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) {
    s["paused"] = true;
    s["template"]["metadata"]["labels"]["version"] = "v2";
  });
  for (int i = 0; i < 10; ++i) ASSERT_OK(c.Step());
  EXPECT_EQ(c.RsWithVersion("v2"), nullptr);
  EXPECT_EQ((*Condition(c.deployment(), "Progressing"))["reason"], "DeploymentPaused");
  EXPECT_EQ((*Condition(c.deployment(), "Progressing"))["status"], "Unknown");
  c.UpdateSpec([](Json& s) { s["replicas"] = 4; });
  for (int i = 0; i < 10; ++i) ASSERT_OK(c.Step());
  EXPECT_EQ(c.RsWithVersion("v1")->at("spec")["replicas"], 4);
  EXPECT_EQ(c.ReadyPods("v1"), 4);
  c.UpdateSpec([](Json& s) { s["paused"] = false; });
  ASSERT_OK(c.Step());
  EXPECT_NE(c.RsWithVersion("v2"), nullptr);
  EXPECT_GT(Converge(c), 0);
  EXPECT_EQ(c.ReadyPods("v2"), 4);
}

TEST(DeploymentTest, ProportionalScalingDuringRollout) {
  Cluster c(MakeDeployment(10, "v1"));
  ASSERT_GT(Converge(c), 0);
  c.pods_never_ready = true;  // freeze the rollout mid-way
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  ASSERT_OK(c.Step());
  ASSERT_OK(c.Step());
  EXPECT_EQ(c.RsWithVersion("v1")->at("spec")["replicas"], 8);
  EXPECT_EQ(c.RsWithVersion("v2")->at("spec")["replicas"], 5);
  c.UpdateSpec([](Json& s) { s["replicas"] = 20; });
  ASSERT_OK(c.Step());
  // 20 + ceil(25% of 20) = 25 allowed, spread by the 13 the RSs were sized for:
  // v1 round(8 * 25 / 13) = 15, v2 round(5 * 25 / 13) = 10.
  const int v1 = c.RsWithVersion("v1")->at("spec")["replicas"];
  const int v2 = c.RsWithVersion("v2")->at("spec")["replicas"];
  EXPECT_EQ(v1 + v2, 25);
  EXPECT_EQ(v1, 15);
  EXPECT_EQ(v2, 10);
}

TEST(DeploymentTest, ProgressDeadlineExceeded) {
  Json d = MakeDeployment(2, "v1");
  d["spec"]["progressDeadlineSeconds"] = 30;
  Cluster c(d);
  c.pods_never_ready = true;
  ASSERT_OK(c.Step());
  ASSERT_TRUE(c.last().requeue_after.has_value());
  EXPECT_LE(*c.last().requeue_after, absl::Seconds(31));
  for (int i = 0; i < 29; ++i) ASSERT_OK(c.Step());
  EXPECT_EQ((*Condition(c.deployment(), "Progressing"))["status"], "True");
  for (int i = 0; i < 3; ++i) ASSERT_OK(c.Step());
  const Json& p = *Condition(c.deployment(), "Progressing");
  EXPECT_EQ(p["status"], "False");
  EXPECT_EQ(p["reason"], "ProgressDeadlineExceeded");
  EXPECT_THAT(p["message"].get<std::string>(), HasSubstr("has timed out progressing"));
  // Progress after the deadline flips it back.
  c.pods_never_ready = false;
  EXPECT_GT(Converge(c), 0);
}

TEST(DeploymentTest, ProgressingReasonDuringRollout) {
  Cluster c(MakeDeployment(3, "v1", Rolling(1, 0)));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["template"]["metadata"]["labels"]["version"] = "v2"; });
  bool saw_updated = false;
  ASSERT_GT(Converge(c,
                     [&] {
                       const Json* p = Condition(c.deployment(), "Progressing");
                       if (p && (*p)["reason"] == "ReplicaSetUpdated") saw_updated = true;
                     }),
            0);
  EXPECT_TRUE(saw_updated);
}

TEST(DeploymentTest, ScaleToZeroAndBack) {
  Cluster c(MakeDeployment(3, "v1"));
  ASSERT_GT(Converge(c), 0);
  c.UpdateSpec([](Json& s) { s["replicas"] = 0; });
  for (int i = 0; i < 10; ++i) ASSERT_OK(c.Step());
  EXPECT_EQ(c.AllPods(), 0);
  c.UpdateSpec([](Json& s) { s["replicas"] = 2; });
  EXPECT_GT(Converge(c), 0);
  EXPECT_EQ(c.ReadyPods(), 2);
  EXPECT_THAT(c.replica_sets(), SizeIs(1));
}

TEST(DeploymentTest, StrategyValidation) {
  EXPECT_THAT(ResolveRollingParams(MakeDeployment(3, "v", Rolling(0, 0))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.strategy.rollingUpdate.maxUnavailable")));
  EXPECT_THAT(ResolveRollingParams(MakeDeployment(3, "v", Rolling("0%", 0))),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ResolveRollingParams(MakeDeployment(3, "v", Rolling("x", 1))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.strategy.rollingUpdate.maxSurge")));
  EXPECT_THAT(ResolveRollingParams(MakeDeployment(3, "v", Rolling(1, "150%"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("100%")));
  EXPECT_THAT(
      ResolveRollingParams(
          MakeDeployment(3, "v", Json{{"type", "Recreate"}, {"rollingUpdate", Json::object()}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.strategy.rollingUpdate")));
  EXPECT_THAT(ResolveRollingParams(MakeDeployment(3, "v", Json{{"type", "BlueGreen"}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.strategy.type")));
  auto p = ResolveRollingParams(MakeDeployment(10, "v"));
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->max_surge, 3);
  EXPECT_EQ(p->max_unavailable, 2);
  // 1 replica with 0 surge rounds maxUnavailable 10% to 0: Kubernetes forces it to 1.
  auto q = ResolveRollingParams(MakeDeployment(1, "v", Rolling(0, "10%")));
  ASSERT_THAT(q, IsOk());
  EXPECT_EQ(q->max_unavailable, 1);
  Json bad = MakeDeployment(1, "v");
  bad["spec"]["template"]["metadata"] = "x";
  EXPECT_THAT(ReconcileDeployment(bad, {}, {}, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template.metadata")));
}

TEST(DeploymentTest, NameCollisionBumpsCollisionCount) {
  Json d = MakeDeployment(1, "v1");
  const std::string hash = *ComputeTemplateHash(d["spec"]["template"], std::nullopt);
  Json foreign = {{"metadata", {{"name", "web-" + hash}, {"namespace", "ns"}, {"uid", "other"}}},
                  {"spec", {{"replicas", 1}}}};
  auto out = ReconcileDeployment(d, {foreign}, {}, kT0);
  ASSERT_THAT(out, IsOk());
  ASSERT_THAT(out->replica_sets_to_create, SizeIs(1));
  EXPECT_NE(out->replica_sets_to_create[0]["metadata"]["name"], "web-" + hash);
  EXPECT_EQ(out->status["collisionCount"], 1);
}

}  // namespace
}  // namespace argonaut::cluster::workloads
