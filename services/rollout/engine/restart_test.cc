// spec.restartAt, table-tested: the sim brings a rollout to a state, then each case builds the
// pods of its ReplicaSets (created before or after restartAt, some terminating) and asks the
// engine once.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using nlohmann::json;
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

std::string Ts(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Pods for every ReplicaSet of the sim: `spec.replicas` of them, created at `created` (the first
// `terminating` of the first RS given carry a deletionTimestamp).
std::vector<json> PodsOf(const Sim& sim, absl::Time created) {
  std::vector<json> pods;
  for (const auto& [name, rs] : sim.replica_sets()) {
    const int n = rs["spec"].value("replicas", 0);
    for (int i = 0; i < n; ++i) {
      pods.push_back(
          json{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata",
                {{"name", name + "-p" + std::to_string(i)},
                 {"creationTimestamp", Ts(created + absl::Seconds(i))},
                 {"labels", rs["spec"]["template"]["metadata"]["labels"]},
                 {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                   {"kind", "ReplicaSet"},
                                                   {"name", name},
                                                   {"controller", true}}})}}},
               {"status",
                {{"phase", "Running"},
                 {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}});
    }
  }
  return pods;
}

RolloutInput InputOf(const Sim& sim, json rollout, std::vector<json> pods, absl::Time now) {
  RolloutInput in{.rollout = std::move(rollout), .now = now};
  for (const auto& [name, rs] : sim.replica_sets()) in.replica_sets.push_back(rs);
  in.pods = std::move(pods);
  return in;
}

std::string StableHash(const Sim& sim) { return sim.status().value("stableRS", ""); }

struct Case {
  std::string name;
  absl::Duration restart_after_pods;  // restartAt - pods' creation
  absl::Duration now_after_restart;   // now - restartAt
  json max_unavailable;               // canary.maxUnavailable (null: default 25% = 1)
  int terminating = 0;                // pods already being deleted
  int unavailable = 0;                // subtracted from the RS's availableReplicas
  bool already_restarted = false;     // status.restartedAt == restartAt
  int want_evicted;
  bool want_restarted;
  std::string want_phase, want_message;
  int gone = 0;  // pods already deleted that the ReplicaSet's status still counts
};

TEST(RestartTest, HealthyRolloutTable) {
  const std::vector<Case> cases = {
      {"restartAt in the future", absl::Minutes(1), -absl::Seconds(30), nullptr, 0, 0, false, 0,
       false, "Healthy", ""},
      {"reached: one pod at a time (25% of 5)", absl::Minutes(1), absl::Seconds(1), nullptr, 0, 0,
       false, 1, false, "Progressing", "rollout is restarting"},
      {"maxUnavailable 2", absl::Minutes(1), absl::Seconds(1), 2, 0, 0, false, 2, false,
       "Progressing", "rollout is restarting"},
      {"maxUnavailable 40%", absl::Minutes(1), absl::Seconds(1), "40%", 0, 0, false, 2, false,
       "Progressing", "rollout is restarting"},
      {"an unavailable pod uses the budget", absl::Minutes(1), absl::Seconds(1), nullptr, 0, 1,
       false, 0, false, "Progressing", "rollout is restarting"},
      {"a terminating pod uses the budget", absl::Minutes(1), absl::Seconds(1), 2, 1, 0, false, 1,
       false, "Progressing", "rollout is restarting"},
      {"all pods newer: done", -absl::Minutes(1), absl::Seconds(1), nullptr, 0, 0, false, 0, true,
       "Healthy", ""},
      {"an evicted pod its ReplicaSet still counts uses the budget", absl::Minutes(1),
       absl::Seconds(1), nullptr, 0, 0, false, 0, false, "Progressing", "rollout is restarting", 1},
      {"already restarted", absl::Minutes(1), absl::Seconds(1), nullptr, 0, 0, true, 0, true,
       "Healthy", ""},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    Sim sim(ParseYaml(kCanary));
    sim.Settle();
    ASSERT_EQ(sim.Phase(), "Healthy");
    const absl::Time created = sim.now() - absl::Hours(1);
    const absl::Time restart_at = created + tc.restart_after_pods;
    json rollout = sim.rollout();
    rollout["spec"]["restartAt"] = Ts(restart_at);
    if (!tc.max_unavailable.is_null()) {
      rollout["spec"]["strategy"]["canary"]["maxUnavailable"] = tc.max_unavailable;
    }
    if (tc.already_restarted) rollout["status"]["restartedAt"] = Ts(restart_at);
    std::vector<json> pods = PodsOf(sim, created);
    for (int i = 0; i < tc.terminating; ++i) {
      pods[i]["metadata"]["deletionTimestamp"] = Ts(sim.now());
    }
    pods.erase(pods.begin(), pods.begin() + tc.gone);
    RolloutInput in = InputOf(sim, rollout, pods, restart_at + tc.now_after_restart);
    for (json& rs : in.replica_sets) {
      const int available = rs["status"].value("availableReplicas", 0);
      rs["status"]["availableReplicas"] = available - tc.unavailable;
    }
    absl::StatusOr<RolloutOutput> got = Reconcile(in);
    ASSERT_OK(got);
    const RolloutOutput& out = *got;
    ASSERT_EQ(out.pods_to_evict.size(), static_cast<size_t>(tc.want_evicted));
    // The oldest of the old pods go first.
    for (int i = 0; i < tc.want_evicted; ++i) {
      EXPECT_EQ(out.pods_to_evict[i],
                pods[tc.terminating + i]["metadata"]["name"].get<std::string>());
    }
    EXPECT_EQ(out.status.contains("restartedAt"), tc.want_restarted);
    if (tc.want_restarted) {
      EXPECT_EQ(out.status["restartedAt"], Ts(restart_at));
    }
    EXPECT_EQ(out.status.value("phase", ""), tc.want_phase);
    EXPECT_EQ(out.status.value("message", ""), tc.want_message);
    if (tc.now_after_restart < absl::ZeroDuration()) {
      ASSERT_TRUE(out.requeue_after.has_value());
      EXPECT_LE(*out.requeue_after, -tc.now_after_restart);
    }
  }
}

TEST(RestartTest, StableReplicaSetFirstThenCanary) {
  Sim sim(ParseYaml(kCanary));
  sim.Settle();
  const std::string stable = StableHash(sim);
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Paused");
  ASSERT_EQ(sim.Replicas(stable), 4);
  const absl::Time created = sim.now() - absl::Hours(1);
  json rollout = sim.rollout();
  rollout["spec"]["restartAt"] = Ts(created + absl::Minutes(1));
  rollout["spec"]["strategy"]["canary"]["maxUnavailable"] = 5;
  std::vector<json> pods = PodsOf(sim, created);
  absl::StatusOr<RolloutOutput> got =
      Reconcile(InputOf(sim, rollout, pods, created + absl::Minutes(2)));
  ASSERT_OK(got);
  const RolloutOutput& out = *got;
  ASSERT_EQ(out.pods_to_evict.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out.pods_to_evict[i], "web-" + stable + "-p" + std::to_string(i));
  }
  EXPECT_NE(out.pods_to_evict[4].find(sim.status().value("currentPodHash", "")), std::string::npos);
  // A paused rollout stays Paused while restarting: the pause is checked first.
  EXPECT_EQ(out.status.value("phase", ""), "Paused");
}

TEST(RestartTest, TemplateChangeCancelsTheRestart) {
  Sim sim(ParseYaml(kCanary));
  sim.Settle();
  const absl::Time created = sim.now() - absl::Hours(1);
  json rollout = sim.rollout();
  const absl::Time at = created + absl::Minutes(1);
  rollout["spec"]["restartAt"] = Ts(at);
  rollout["spec"]["template"]["spec"]["containers"][0]["image"] = "argoproj/rollouts-demo:green";
  absl::StatusOr<RolloutOutput> got =
      Reconcile(InputOf(sim, rollout, PodsOf(sim, created), at + absl::Minutes(1)));
  ASSERT_OK(got);
  const RolloutOutput& out = *got;
  EXPECT_TRUE(out.pods_to_evict.empty());
  EXPECT_EQ(out.status.value("restartedAt", ""), Ts(at));
}

TEST(RestartTest, BadRestartAtIsInvalidSpec) {
  Sim sim(ParseYaml(kCanary));
  sim.Settle();
  json rollout = sim.rollout();
  rollout["spec"]["restartAt"] = "yesterday";
  absl::StatusOr<RolloutOutput> got = Reconcile(InputOf(sim, rollout, {}, sim.now()));
  ASSERT_OK(got);
  const RolloutOutput& out = *got;
  EXPECT_EQ(out.status.value("phase", ""), "Degraded");
  EXPECT_NE(out.status.value("message", "").find("spec.restartAt"), std::string::npos);
  EXPECT_TRUE(out.pods_to_evict.empty());
}

TEST(RestartTest, BlueGreenDefaultsToOnePodAtATime) {
  Sim sim(ParseYaml(R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bg
spec:
  replicas: 3
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
)"));
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Healthy");
  const absl::Time created = sim.now() - absl::Hours(1);
  json rollout = sim.rollout();
  rollout["spec"]["restartAt"] = Ts(created + absl::Minutes(1));
  RolloutInput in = InputOf(sim, rollout, PodsOf(sim, created), created + absl::Minutes(2));
  in.services["bg-active"] = json{{"apiVersion", "v1"},
                                  {"kind", "Service"},
                                  {"metadata", {{"name", "bg-active"}}},
                                  {"spec", {{"selector", {{"app", "bg"}}}}}};
  absl::StatusOr<RolloutOutput> got = Reconcile(in);
  ASSERT_OK(got);
  const RolloutOutput& out = *got;
  EXPECT_EQ(out.pods_to_evict.size(), 1u);
  EXPECT_EQ(out.status.value("message", ""), "rollout is restarting");
}

}  // namespace
}  // namespace argonaut::rollout::engine
