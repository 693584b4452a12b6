// The rollout controller end to end inside one process: an in-memory rollout
// store, a real LocalCluster (plain processes) running the ReplicaSets'
// pods, the pure engine, and a FakeClock for the timed pauses.
#include "services/rollout/controller.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/service_endpoints.h"
#include "lib/cluster/validator.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/rollout/test_util.h"

namespace argonaut::rollout {
namespace {

using nlohmann::json;

// Argo's seed canary (examples/rollout-canary.yaml) with a pod that is ready
// at once and stops at once.
constexpr char kCanary[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout-canary, namespace: default}
spec:
  replicas: 5
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: rollout-canary}
  template:
    metadata:
      labels: {app: rollout-canary}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: debian:12
        command: [sleep, "3600"]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 40
      - pause: {duration: 40s}
      - setWeight: 60
      - pause: {duration: 20s}
      - setWeight: 80
      - pause: {duration: 20s}
)";

constexpr char kName[] = "rollout-canary";
constexpr char kKey[] = "default/rollout-canary";

std::string Str(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return "";
  return o[key].get<std::string>();
}

int Int(const json& o, const char* key, int fallback = 0) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_number()) return fallback;
  return o[key].get<int>();
}

json StatusOf(const json& r) { return r.value("status", json::object()); }

class RolloutControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = test_util::StartTestCluster("roc-");
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_env_ = *std::move(c);
    cluster_ = cluster_env_.cluster.get();
    rollouts_ = test_util::NewRolloutStore();
    rapi_ = rollouts_.api.get();
    StartController();
  }
  void TearDown() override {
    StopRecorder();
    if (controller_) controller_->Stop();
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  void StartController() {
    controller_ = std::make_unique<RolloutController>(
        rapi_, cluster_, RolloutControllerOptions{.clock = &clock_, .metrics = &registry_});
    ASSERT_OK(controller_->Start());
  }

  json Create(const std::string& yaml) {
    auto docs = manifest::ParseDocuments(yaml);
    EXPECT_TRUE(docs.ok()) << docs.status();
    auto out = rapi_->CreateObject("Rollout", (*docs)[0], false);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : json();
  }

  json Get() {
    auto r = rapi_->GetObject("Rollout", "default", kName);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : json();
  }

  // Read-modify-write of the rollout, retried when the controller's own
  // status write lands in between (as the CLI's patches are).
  // `status`: the change is to the status (through the status subresource
  // when the kind has one).
  void Modify(const std::function<void(json&)>& change, bool status = false) {
    auto kind = rapi_->Resolve("Rollout");
    ASSERT_TRUE(kind.ok());
    for (int attempt = 0; attempt < 50; ++attempt) {
      json r = Get();
      change(r);
      absl::StatusOr<json> written = status && (*kind)->status_subresource
                                         ? rapi_->UpdateStatusObject("Rollout", r)
                                         : rapi_->UpdateObject("Rollout", r);
      if (written.ok()) return;
      ASSERT_TRUE(absl::IsAborted(written.status())) << written.status();
    }
    FAIL() << "rollout kept changing";
  }

  // What `argonaut rollouts promote` does to a rollout paused at a step.
  void Promote() {
    Modify([](json& r) { r["status"].erase("pauseConditions"); }, /*status=*/true);
  }

  // Polls until `pred` holds for the rollout; fails the test otherwise.
  json WaitFor(const std::string& what, const std::function<bool(const json&)>& pred,
               absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    json r;
    while (absl::Now() < deadline) {
      r = Get();
      if (pred(r)) return r;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; rollout status: " << StatusOf(r).dump();
    return r;
  }

  // Paused at a pause step with index `step`, and the ReplicaSets settled.
  json WaitPausedAt(int step, int canary_pods, int stable_pods) {
    json r = WaitFor(absl::StrCat("pause at step ", step), [&](const json& r) {
      const json s = StatusOf(r);
      return Int(s, "currentStepIndex", -1) == step && Str(s, "phase") == "Paused" &&
             s.contains("pauseConditions") && s["pauseConditions"].is_array() &&
             !s["pauseConditions"].empty();
    });
    ExpectPods(Str(StatusOf(r), "currentPodHash"), canary_pods);
    ExpectPods(Str(StatusOf(r), "stableRS"), stable_pods);
    return r;
  }

  // Pods of a revision that are running and not being deleted.
  int RunningPods(const std::string& hash) {
    auto pods =
        cluster_->List("Pod", "default", absl::StrCat(engine::kPodTemplateHashLabel, "=", hash));
    if (!pods.ok()) return -1;
    int n = 0;
    for (const json& p : *pods) {
      const json meta = p.value("metadata", json::object());
      if (meta.contains("deletionTimestamp")) continue;
      if (Str(p.value("status", json::object()), "phase") == "Running") ++n;
    }
    return n;
  }

  void ExpectPods(const std::string& hash, int want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    int n = RunningPods(hash);
    while (n != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      n = RunningPods(hash);
    }
    EXPECT_EQ(n, want) << "running pods of revision " << hash;
  }

  int ReplicaSets() {
    auto rs = cluster_->List("ReplicaSet", "default", engine::kPodTemplateHashLabel);
    return rs.ok() ? static_cast<int>(rs->size()) : -1;
  }

  // The pause step the rollout is in, after the fake clock passes it.
  void PassTimedPause(int step, int canary_pods, int stable_pods, absl::Duration duration) {
    WaitPausedAt(step, canary_pods, stable_pods);
    clock_.Advance(duration + absl::Seconds(1));
    controller_->Enqueue(kKey);
  }

  // A new revision: the pod template changes.
  void UpdateTemplate(const std::string& arg) {
    Modify([&](json& r) {
      r["spec"]["template"]["spec"]["containers"][0]["command"] = json::array({"sleep", arg});
    });
  }

  // Fully promoted: every replica of the revision `hash` is updated (old
  // ones may still wait for their scale-down delay).
  json WaitHealthyAt(const std::string& hash, int replicas = 5) {
    return WaitFor(absl::StrCat("Healthy at ", hash), [&](const json& r) {
      const json s = StatusOf(r);
      return Str(s, "phase") == "Healthy" && Str(s, "stableRS") == hash &&
             Str(s, "currentPodHash") == hash && Int(s, "updatedReplicas") == replicas;
    });
  }

  // Records every status the store holds, in order, to check that steps
  // only move forward.
  void StartRecorder() {
    recording_ = true;
    recorder_ = std::thread([this] {
      auto watch = rapi_->Watch("Rollout", "default", "", "0");
      if (!watch.ok()) return;
      while (recording_) {
        auto events = (*watch)->Next(absl::Now() + absl::Milliseconds(100));
        if (!events.ok()) return;
        absl::MutexLock lock(&mu_);
        for (const auto& e : *events) statuses_.push_back(StatusOf(e.object));
      }
    });
  }
  void StopRecorder() {
    recording_ = false;
    if (recorder_.joinable()) recorder_.join();
  }
  // Step indices seen for the revision `hash`, in order.
  std::vector<int> StepsOf(const std::string& hash) {
    absl::MutexLock lock(&mu_);
    std::vector<int> steps;
    for (const json& s : statuses_) {
      if (Str(s, "currentPodHash") != hash || !s.contains("currentStepIndex")) continue;
      const int step = Int(s, "currentStepIndex");
      if (steps.empty() || steps.back() != step) steps.push_back(step);
    }
    return steps;
  }

  // No step ran twice: the indices only grow, up to the end of the steps.
  static void ExpectStepsForward(const std::vector<int>& steps, int last) {
    ASSERT_FALSE(steps.empty());
    for (size_t i = 1; i < steps.size(); ++i) {
      EXPECT_GT(steps[i], steps[i - 1]) << "step " << steps[i] << " after " << steps[i - 1];
    }
    EXPECT_EQ(steps.back(), last);
  }

  controller::FakeClock clock_;
  metrics::MetricsRegistry registry_;
  test_util::TestCluster cluster_env_;
  test_util::TestRolloutStore rollouts_;
  cluster::LocalCluster* cluster_ = nullptr;  // cluster_env_'s
  resource::ResourceApi* rapi_ = nullptr;     // rollouts_'
  std::unique_ptr<RolloutController> controller_;
  std::atomic<bool> recording_{false};
  std::thread recorder_;
  absl::Mutex mu_;
  std::vector<json> statuses_;
};

TEST_F(RolloutControllerTest, SeedCanaryStepsThroughToHealthy) {
  Create(kCanary);
  // The first revision goes straight to 5 pods: there is nothing to canary against.
  json r = WaitFor("first revision Healthy", [](const json& r) {
    return Str(StatusOf(r), "phase") == "Healthy" && Int(StatusOf(r), "availableReplicas") == 5;
  });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  ASSERT_FALSE(v1.empty());
  ExpectPods(v1, 5);
  EXPECT_EQ(ReplicaSets(), 1);

  StartRecorder();
  UpdateTemplate("3601");
  // setWeight 20 of 5 replicas: 1 canary pod, 4 stable, then an indefinite pause.
  r = WaitPausedAt(1, 1, 4);
  const std::string v2 = Str(StatusOf(r), "currentPodHash");
  ASSERT_NE(v2, v1);
  EXPECT_EQ(Str(StatusOf(r), "stableRS"), v1);
  EXPECT_EQ(StatusOf(r)["pauseConditions"][0]["reason"], "CanaryPauseStep");
  // It stays paused, in real time and in the controller's time.
  clock_.Advance(absl::Hours(1));
  controller_->Enqueue(kKey);
  absl::SleepFor(absl::Seconds(2));
  r = Get();
  EXPECT_EQ(Int(StatusOf(r), "currentStepIndex"), 1);
  EXPECT_EQ(Str(StatusOf(r), "phase"), "Paused");
  ExpectPods(v2, 1);
  ExpectPods(v1, 4);

  Promote();
  PassTimedPause(3, 2, 3, absl::Seconds(40));
  PassTimedPause(5, 3, 2, absl::Seconds(20));
  PassTimedPause(7, 4, 1, absl::Seconds(20));
  r = WaitHealthyAt(v2);
  ExpectPods(v2, 5);
  ExpectPods(v1, 0);
  EXPECT_EQ(ReplicaSets(), 2);
  WaitFor("5 available", [](const json& r) { return Int(StatusOf(r), "availableReplicas") == 5; });
  StopRecorder();
  ExpectStepsForward(StepsOf(v2), 8);

  // The metrics carry Argo's names and the rollout's labels.
  const std::string text = registry_.Serialize();
  EXPECT_NE(text.find("rollout_info{"), std::string::npos) << text;
  EXPECT_NE(text.find("phase=\"Completed\""), std::string::npos);
  EXPECT_NE(text.find("strategy=\"canary\""), std::string::npos);
  EXPECT_NE(text.find("rollout_reconcile_bucket"), std::string::npos);
}

TEST_F(RolloutControllerTest, RestartAtReplacesEveryPodOneAtATime) {
  Create(kCanary);
  json r = WaitFor("first revision Healthy", [](const json& r) {
    return Str(StatusOf(r), "phase") == "Healthy" && Int(StatusOf(r), "availableReplicas") == 5;
  });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  ExpectPods(v1, 5);
  auto before = cluster_->List("Pod", "default", engine::kPodTemplateHashLabel);
  ASSERT_OK(before.status());
  std::set<std::string> old_names;
  for (const json& p : *before) old_names.insert(Str(p["metadata"], "name"));
  // Pods' creation times are the cluster's real time; the controller's clock catches up.
  absl::SleepFor(absl::Seconds(1.1));
  const absl::Time at = absl::Now();
  clock_.Advance(at - clock_.Now() + absl::Seconds(1));
  const std::string at_text = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone());
  Modify([&](json& r) { r["spec"]["restartAt"] = at_text; });
  int min_available = 5;
  r = WaitFor(
      "restartedAt",
      [&](const json& r) {
        int running = RunningPods(v1);
        if (running >= 0) min_available = std::min(min_available, running);
        return Str(StatusOf(r), "restartedAt") == at_text;
      },
      absl::Seconds(90));
  // maxUnavailable 25% of 5: one pod at a time.
  EXPECT_GE(min_available, 4);
  ExpectPods(v1, 5);
  auto after = cluster_->List("Pod", "default", engine::kPodTemplateHashLabel);
  ASSERT_OK(after.status());
  for (const json& p : *after) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    EXPECT_FALSE(old_names.contains(Str(p["metadata"], "name"))) << Str(p["metadata"], "name");
  }
  EXPECT_EQ(Str(StatusOf(Get()), "phase"), "Healthy");
  EXPECT_EQ(ReplicaSets(), 1);
  EXPECT_NE(registry_.Serialize().find("rollout_events_total"), std::string::npos);
}

TEST_F(RolloutControllerTest, AbortReturnsEveryPodToStable) {
  Create(kCanary);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  UpdateTemplate("3601");
  r = WaitPausedAt(1, 1, 4);
  const std::string v2 = Str(StatusOf(r), "currentPodHash");

  Modify([](json& r) { r["status"]["abort"] = true; }, /*status=*/true);
  r = WaitFor("Degraded after abort",
              [](const json& r) { return Str(StatusOf(r), "phase") == "Degraded"; });
  EXPECT_NE(Str(StatusOf(r), "message").find("RolloutAborted"), std::string::npos)
      << StatusOf(r).dump();
  EXPECT_EQ(Str(StatusOf(r), "stableRS"), v1);
  ExpectPods(v1, 5);
  ExpectPods(v2, 0);
  // The template still names the new revision: the rollout stays Degraded.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Str(StatusOf(Get()), "phase"), "Degraded");
}

// canaryMetadata/stableMetadata reach the running pods in place: same pods (uid), no restart.
TEST_F(RolloutControllerTest, EphemeralMetadataPatchesRunningPods) {
  Create(kCanary);
  json r = WaitFor("first revision Healthy", [](const json& r) {
    return Str(StatusOf(r), "phase") == "Healthy" && Int(StatusOf(r), "availableReplicas") == 5;
  });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  ExpectPods(v1, 5);
  // Pod uid -> the first container's restart count.
  auto pods_of = [&](const std::string& hash) {
    std::map<std::string, json> out;
    auto pods =
        cluster_->List("Pod", "default", absl::StrCat(engine::kPodTemplateHashLabel, "=", hash));
    EXPECT_TRUE(pods.ok()) << pods.status();
    for (const json& p : pods.ok() ? *pods : std::vector<json>{}) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      out[Str(p["metadata"], "uid")] = p;
    }
    return out;
  };
  auto restarts = [](const json& pod) {
    const json& cs = pod.value("status", json::object()).value("containerStatuses", json::array());
    return cs.empty() ? 0 : Int(cs[0], "restartCount");
  };
  // Every pod of `hash` carries label role=`role` ("" = no role label) and, for canary ones,
  // the annotation.
  auto wait_role = [&](const std::string& hash, const std::string& role) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    std::map<std::string, json> pods;
    while (absl::Now() < deadline) {
      pods = pods_of(hash);
      bool all = !pods.empty();
      for (const auto& [uid, p] : pods) {
        const json labels = p["metadata"].value("labels", json::object());
        const json ann = p["metadata"].value("annotations", json::object());
        all = all && Str(labels, "role") == role &&
              (Str(ann, "stage") == "canary") == (role == "canary");
      }
      if (all) return pods;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "pods of " << hash << " never all had role '" << role << "'";
    return pods;
  };
  const auto before = pods_of(v1);
  ASSERT_EQ(before.size(), 5u);
  Modify([](json& r) {
    r["spec"]["strategy"]["canary"]["canaryMetadata"] =
        json{{"labels", {{"role", "canary"}}}, {"annotations", {{"stage", "canary"}}}};
    r["spec"]["strategy"]["canary"]["stableMetadata"] = json{{"labels", {{"role", "stable"}}}};
  });
  auto stable = wait_role(v1, "stable");
  for (const auto& [uid, p] : before) {
    ASSERT_TRUE(stable.contains(uid)) << "pod " << uid << " was replaced";
    EXPECT_EQ(restarts(stable[uid]), restarts(p));
  }

  UpdateTemplate("3601");
  r = WaitPausedAt(1, 1, 4);
  const std::string v2 = Str(StatusOf(r), "currentPodHash");
  const auto canary = wait_role(v2, "canary");
  ASSERT_EQ(canary.size(), 1u);
  wait_role(v1, "stable");

  Modify([](json& r) { r["status"]["promoteFull"] = true; }, /*status=*/true);
  WaitHealthyAt(v2);
  // The canary pod, still the same pod, switched from canary to stable metadata.
  const auto promoted = wait_role(v2, "stable");
  for (const auto& [uid, p] : canary) {
    ASSERT_TRUE(promoted.contains(uid)) << "canary pod " << uid << " was replaced";
    EXPECT_EQ(restarts(promoted.at(uid)), restarts(p));
  }
}

TEST_F(RolloutControllerTest, RestartedControllerContinuesWithoutRepeating) {
  Create(kCanary);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  StartRecorder();
  UpdateTemplate("3601");
  r = WaitPausedAt(1, 1, 4);
  const std::string v2 = Str(StatusOf(r), "currentPodHash");
  Promote();
  WaitPausedAt(3, 2, 3);

  // A new controller on the same store and cluster takes over mid-rollout.
  controller_->Stop();
  controller_.reset();
  StartController();
  absl::SleepFor(absl::Seconds(1));
  r = Get();
  EXPECT_EQ(Int(StatusOf(r), "currentStepIndex"), 3) << StatusOf(r).dump();
  EXPECT_EQ(ReplicaSets(), 2);
  ExpectPods(v2, 2);
  ExpectPods(v1, 3);

  PassTimedPause(3, 2, 3, absl::Seconds(40));
  PassTimedPause(5, 3, 2, absl::Seconds(20));
  PassTimedPause(7, 4, 1, absl::Seconds(20));
  WaitHealthyAt(v2);
  EXPECT_EQ(ReplicaSets(), 2);
  StopRecorder();
  ExpectStepsForward(StepsOf(v2), 8);
}

// A Service of the cluster selecting app=<app>.
json Service(const std::string& name, const std::string& app) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"selector", {{"app", app}}},
            {"ports", json::array({{{"port", 80}, {"targetPort", 8080}}})}}}};
}

constexpr char kTrafficRouted[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout-canary, namespace: default}
spec:
  replicas: 5
  selector:
    matchLabels: {app: routed}
  template:
    metadata:
      labels: {app: routed}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: debian:12, command: [sleep, "3600"]}
  strategy:
    canary:
      canaryService: routed-canary
      stableService: routed-stable
      trafficRouting:
        smi: {}
      steps:
      - setWeight: 20
      - pause: {}
)";

TEST_F(RolloutControllerTest, TrafficRoutingSplitsTheStableServiceByHash) {
  ASSERT_OK(cluster_->Create(Service("routed-canary", "routed")).status());
  ASSERT_OK(cluster_->Create(Service("routed-stable", "routed")).status());
  Create(kTrafficRouted);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  UpdateTemplate("3601");
  r = WaitFor("pause at step 1", [](const json& r) {
    return Int(StatusOf(r), "currentStepIndex", -1) == 1 && Str(StatusOf(r), "phase") == "Paused";
  });
  const std::string v2 = Str(StatusOf(r), "currentPodHash");
  ASSERT_NE(v2, v1);
  // The split carries the weight exactly; the canary Service selects only the
  // new pods, the Service carrying the split both versions.
  json stable;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  cluster::TrafficSplit split;
  while (absl::Now() < deadline) {
    stable = *cluster_->Get("Service", "default", "routed-stable");
    split = cluster::TrafficSplitOf(stable);
    if (split.weights.size() == 2) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(split.group_label, engine::kPodTemplateHashLabel);
  EXPECT_EQ(split.weights, (std::map<std::string, int>{{v1, 80}, {v2, 20}})) << stable.dump();
  EXPECT_FALSE(stable["spec"]["selector"].contains(engine::kPodTemplateHashLabel)) << stable.dump();
  json canary = *cluster_->Get("Service", "default", "routed-canary");
  EXPECT_EQ(Str(canary["spec"]["selector"], engine::kPodTemplateHashLabel), v2) << canary.dump();
  EXPECT_EQ(Str(canary["spec"]["selector"], "app"), "routed");

  Promote();
  WaitHealthyAt(v2);
  WaitFor("all traffic to the new revision", [&](const json&) {
    const cluster::TrafficSplit s =
        cluster::TrafficSplitOf(*cluster_->Get("Service", "default", "routed-stable"));
    auto it = s.weights.find(v2);
    return it != s.weights.end() && it->second == 100;
  });
  // With traffic routing the old pods stay for scaleDownDelaySeconds (30 s).
  ExpectPods(v1, 5);
  clock_.Advance(absl::Seconds(31));
  controller_->Enqueue(kKey);
  ExpectPods(v1, 0);
  ExpectPods(v2, 5);
  const std::string text = registry_.Serialize();
  EXPECT_NE(text.find("traffic_router=\"SMI\""), std::string::npos) << text;
}

constexpr char kBlueGreen[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout-canary, namespace: default}
spec:
  replicas: 2
  selector:
    matchLabels: {app: bg}
  template:
    metadata:
      labels: {app: bg}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: debian:12, command: [sleep, "3600"]}
  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
)";

TEST_F(RolloutControllerTest, BlueGreenSwitchesSelectorsAndScalesDownAfterTheDelay) {
  ASSERT_OK(cluster_->Create(Service("bg-active", "bg")).status());
  ASSERT_OK(cluster_->Create(Service("bg-preview", "bg")).status());
  Create(kBlueGreen);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  auto selector_of = [&](const char* svc) {
    auto s = cluster_->Get("Service", "default", svc);
    return s.ok() ? Str((*s)["spec"]["selector"], engine::kPodTemplateHashLabel) : "";
  };
  EXPECT_EQ(selector_of("bg-active"), v1);

  UpdateTemplate("3601");
  r = WaitFor("BlueGreenPause", [](const json& r) {
    const json s = StatusOf(r);
    return Str(s, "phase") == "Paused" && s.contains("pauseConditions") &&
           s["pauseConditions"].is_array() && !s["pauseConditions"].empty();
  });
  const std::string v2 = Str(StatusOf(r), "currentPodHash");
  ASSERT_NE(v2, v1);
  EXPECT_EQ(selector_of("bg-preview"), v2);
  EXPECT_EQ(selector_of("bg-active"), v1);
  ExpectPods(v2, 2);
  ExpectPods(v1, 2);

  Promote();
  WaitHealthyAt(v2, 2);
  EXPECT_EQ(selector_of("bg-active"), v2);
  // The old version stays up for scaleDownDelaySeconds (30 by default) ...
  absl::SleepFor(absl::Seconds(1));
  ExpectPods(v1, 2);
  // ... and goes once the controller's clock passes it.
  clock_.Advance(absl::Seconds(31));
  controller_->Enqueue(kKey);
  ExpectPods(v1, 0);
  ExpectPods(v2, 2);
}

constexpr char kAnalysisStep[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout-canary, namespace: default}
spec:
  replicas: 2
  selector:
    matchLabels: {app: an}
  template:
    metadata:
      labels: {app: an}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: debian:12, command: [sleep, "3600"]}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates:
          - templateName: no-such-template
)";

TEST_F(RolloutControllerTest, MissingAnalysisTemplateAbortsNamingIt) {
  Create(kAnalysisStep);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  const std::string v1 = Str(StatusOf(r), "stableRS");
  UpdateTemplate("3601");
  r = WaitFor("Degraded", [](const json& r) { return Str(StatusOf(r), "phase") == "Degraded"; });
  EXPECT_NE(Str(StatusOf(r), "message").find("no-such-template"), std::string::npos)
      << StatusOf(r).dump();
  ExpectPods(v1, 2);
  // The run the controller could not build is recorded as errored.
  auto runs = rapi_->ListObjects("AnalysisRun", "default", "");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0]["status"]["phase"], "Error");
}

constexpr char kDeployment[] = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: wl, namespace: default}
spec:
  replicas: 2
  selector:
    matchLabels: {app: wl}
  template:
    metadata:
      labels: {app: wl}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: debian:12, command: [sleep, "3600"]}
)";

constexpr char kWorkloadRef[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout-canary, namespace: default}
spec:
  replicas: 3
  selector:
    matchLabels: {app: wl}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: wl}
  strategy:
    canary:
      steps:
      - setWeight: 50
)";

TEST_F(RolloutControllerTest, WorkloadRefRunsTheDeploymentsTemplateAndScalesItToZero) {
  auto docs = manifest::ParseDocuments(kDeployment);
  ASSERT_TRUE(docs.ok());
  ASSERT_OK(cluster_->Create((*docs)[0]).status());
  Create(kWorkloadRef);
  json r = WaitFor("Healthy from the Deployment's template", [](const json& r) {
    return Str(StatusOf(r), "phase") == "Healthy" && Int(StatusOf(r), "availableReplicas") == 3;
  });
  ExpectPods(Str(StatusOf(r), "stableRS"), 3);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  json deployment;
  while (absl::Now() < deadline) {
    deployment = *cluster_->Get("Deployment", "default", "wl");
    if (Int(deployment["spec"], "replicas", -1) == 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Int(deployment["spec"], "replicas", -1), 0) << deployment.dump();
}

TEST_F(RolloutControllerTest, DeletedRolloutTakesItsReplicaSetsAndRuns) {
  Create(kAnalysisStep);
  json r = WaitFor("first revision Healthy",
                   [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
  UpdateTemplate("3601");
  WaitFor("Degraded", [](const json& r) { return Str(StatusOf(r), "phase") == "Degraded"; });
  ASSERT_EQ(ReplicaSets(), 2);
  ASSERT_OK(rapi_->Delete("Rollout", "default", kName, ""));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && ReplicaSets() != 0) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ReplicaSets(), 0);
  auto runs = rapi_->ListObjects("AnalysisRun", "default", "");
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  ExpectPods(Str(StatusOf(r), "stableRS"), 0);
}

TEST_F(RolloutControllerTest, MissingAnalysisTemplateGivesAnErroredRun) {
  json rollout = {{"apiVersion", "argoproj.io/v1alpha1"},
                  {"kind", "Rollout"},
                  {"metadata", {{"name", "r"}, {"namespace", "default"}, {"uid", "u-1"}}}};
  engine::AnalysisRunRequest req{
      .name = "r-abc-2-0",
      .type = "Step",
      .labels = {{"rollout-type", "Step"}},
      .analysis = {{"templates", json::array({{{"templateName", "missing"}}})}}};
  const json run = controller_->AnalysisRunFor(rollout, req);
  EXPECT_EQ(run["status"]["phase"], "Error");
  EXPECT_NE(Str(run["status"], "message").find("missing"), std::string::npos) << run.dump();
  EXPECT_EQ(run["metadata"]["ownerReferences"][0]["uid"], "u-1");
  EXPECT_EQ(run["metadata"]["labels"]["rollout-type"], "Step");
}

}  // namespace
}  // namespace argonaut::rollout
