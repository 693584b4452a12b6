// Canary scenarios through the simulated cluster, at fixed instants.
#include "services/rollout/engine/engine.h"

#include <string>

#include "gtest/gtest.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::ParseYaml;
using testing::Sim;

// The seed's canary: 5 replicas, 20% until promoted, then 40/60/80 with 10 s pauses.
constexpr char kSeedCanary[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 5
  revisionHistoryLimit: 2
  selector:
    matchLabels:
      app: rollouts-demo
  template:
    metadata:
      labels:
        app: rollouts-demo
    spec:
      containers:
      - name: rollouts-demo
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 40
      - pause: {duration: 10}
      - setWeight: 60
      - pause: {duration: 10s}
      - setWeight: 80
      - pause: {duration: 10}
)";

std::string StableHash(const Sim& sim) { return sim.status().value("stableRS", ""); }
std::string CurrentHash(const Sim& sim) { return sim.status().value("currentPodHash", ""); }
int StepIndex(const Sim& sim) { return sim.status().value("currentStepIndex", -1); }

TEST(CanaryTest, FirstDeploymentGoesStraightToFullSize) {
  Sim sim(ParseYaml(kSeedCanary));
  RolloutOutput first = sim.Reconcile();
  ASSERT_EQ(first.replica_sets_to_create.size(), 1u);
  const nlohmann::json& rs = first.replica_sets_to_create[0];
  const std::string hash = CurrentHash(sim);
  EXPECT_EQ(rs["metadata"]["name"], "rollouts-demo-" + hash);
  EXPECT_EQ(rs["spec"]["replicas"], 5);
  EXPECT_EQ(rs["metadata"]["labels"]["rollouts-pod-template-hash"], hash);
  EXPECT_EQ(rs["spec"]["selector"]["matchLabels"]["rollouts-pod-template-hash"], hash);
  EXPECT_EQ(rs["spec"]["template"]["metadata"]["labels"]["rollouts-pod-template-hash"], hash);
  EXPECT_EQ(rs["metadata"]["annotations"]["rollout.argoproj.io/revision"], "1");
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["uid"], "uid-1");
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["kind"], "Rollout");
  EXPECT_EQ(StableHash(sim), hash);  // no steps, no analysis for the first version
  EXPECT_EQ(sim.Phase(), "Progressing");
  EXPECT_EQ(sim.Message(), "more replicas need to be updated");

  sim.Kubelet();
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Healthy");
  EXPECT_EQ(sim.Message(), "");
  EXPECT_EQ(sim.status()["currentStepIndex"], 8);
  EXPECT_EQ(sim.status()["availableReplicas"], 5);
  EXPECT_EQ(sim.status()["updatedReplicas"], 5);
  EXPECT_EQ(sim.status()["observedGeneration"], "1");
  EXPECT_EQ(sim.status()["selector"], "app=rollouts-demo");
  EXPECT_FALSE(sim.last().requeue_after.has_value());
}

class SeedCanaryTest : public ::testing::Test {
 protected:
  SeedCanaryTest() : sim_(ParseYaml(kSeedCanary)) {}
  void SetUp() override {
    sim_.Settle();
    ASSERT_EQ(sim_.Phase(), "Healthy");
    blue_ = StableHash(sim_);
    sim_.SetImage("argoproj/rollouts-demo:yellow");
    sim_.Settle();
    yellow_ = CurrentHash(sim_);
  }
  Sim sim_;
  std::string blue_, yellow_;
};

TEST_F(SeedCanaryTest, TwentyPercentIsOnePodAndWaitsForPromote) {
  ASSERT_NE(blue_, yellow_);
  EXPECT_EQ(sim_.Replicas(yellow_), 1);
  EXPECT_EQ(sim_.Replicas(blue_), 4);
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(sim_.Message(), "CanaryPauseStep");
  EXPECT_EQ(StepIndex(sim_), 1);
  EXPECT_EQ(sim_.status()["pauseConditions"][0]["reason"], "CanaryPauseStep");
  EXPECT_EQ(sim_.status()["controllerPause"], true);
  EXPECT_EQ(StableHash(sim_), blue_);
  const nlohmann::json* rs = sim_.ReplicaSet(yellow_);
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ((*rs)["metadata"]["annotations"]["rollout.argoproj.io/revision"], "2");
  // An indefinite pause has no timer.
  EXPECT_FALSE(sim_.last().requeue_after.has_value() &&
               *sim_.last().requeue_after < absl::Seconds(60));
  // Time alone changes nothing.
  sim_.Advance(absl::Minutes(5));
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(sim_.Replicas(yellow_), 1);
}

TEST_F(SeedCanaryTest, PromoteThenTimedPausesThenHealthy) {
  sim_.Promote();
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 3);
  EXPECT_EQ(sim_.Replicas(yellow_), 2);
  EXPECT_EQ(sim_.Replicas(blue_), 3);
  EXPECT_EQ(sim_.Phase(), "Paused");
  ASSERT_TRUE(sim_.last().requeue_after.has_value());
  EXPECT_EQ(*sim_.last().requeue_after, absl::Seconds(10));

  sim_.Advance(absl::Seconds(9));
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 3);
  EXPECT_EQ(*sim_.last().requeue_after, absl::Seconds(1));
  sim_.Advance(absl::Seconds(1));
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 5);
  EXPECT_EQ(sim_.Replicas(yellow_), 3);
  EXPECT_EQ(sim_.Replicas(blue_), 2);

  sim_.Advance(absl::Seconds(10));
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 7);
  EXPECT_EQ(sim_.Replicas(yellow_), 4);
  EXPECT_EQ(sim_.Replicas(blue_), 1);

  sim_.Advance(absl::Seconds(10));
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 8);
  EXPECT_EQ(sim_.Phase(), "Healthy");
  EXPECT_EQ(StableHash(sim_), yellow_);
  EXPECT_EQ(sim_.Replicas(yellow_), 5);
  EXPECT_EQ(sim_.Replicas(blue_), 0);
  EXPECT_EQ(sim_.status()["availableReplicas"], 5);
  EXPECT_FALSE(sim_.status().contains("pauseConditions"));
  EXPECT_FALSE(sim_.status().contains("controllerPause"));
}

TEST_F(SeedCanaryTest, AbortReturnsEveryPodToStable) {
  sim_.Promote();
  sim_.Settle();
  ASSERT_EQ(sim_.Replicas(yellow_), 2);
  sim_.Abort();
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Degraded");
  EXPECT_EQ(sim_.Message(), "RolloutAborted: Rollout aborted update to revision 2");
  EXPECT_EQ(sim_.Replicas(yellow_), 0);
  EXPECT_EQ(sim_.Replicas(blue_), 5);
  EXPECT_EQ(StepIndex(sim_), 0);
  EXPECT_EQ(StableHash(sim_), blue_);
  EXPECT_EQ(sim_.status()["abort"], true);
  EXPECT_TRUE(sim_.status().contains("abortedAt"));
  EXPECT_FALSE(sim_.status().contains("pauseConditions"));

  // Retry starts the update again from step 0.
  sim_.Retry();
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(StepIndex(sim_), 1);
  EXPECT_EQ(sim_.Replicas(yellow_), 1);
  EXPECT_EQ(sim_.Replicas(blue_), 4);
  EXPECT_FALSE(sim_.status().contains("abortedAt"));
}

TEST_F(SeedCanaryTest, PromoteFullSkipsRemainingSteps) {
  Sim& sim = sim_;
  sim.PromoteFull();
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Healthy");
  EXPECT_EQ(StableHash(sim), yellow_);
  EXPECT_EQ(sim.Replicas(yellow_), 5);
  EXPECT_EQ(sim.Replicas(blue_), 0);
  EXPECT_FALSE(sim.status().contains("promoteFull"));
}

TEST_F(SeedCanaryTest, ManualPauseHaltsProgress) {
  sim_.spec()["paused"] = true;
  sim_.Promote();
  sim_.Settle();
  EXPECT_EQ(sim_.Phase(), "Paused");
  EXPECT_EQ(sim_.Message(), "manually paused");
  EXPECT_EQ(sim_.Replicas(yellow_), 1);
  sim_.spec()["paused"] = false;
  sim_.Settle();
  EXPECT_EQ(StepIndex(sim_), 3);
  EXPECT_EQ(sim_.Replicas(yellow_), 2);
}

TEST_F(SeedCanaryTest, GoingBackToTheStableTemplateSkipsSteps) {
  sim_.SetImage("argoproj/rollouts-demo:blue");
  sim_.Settle();
  EXPECT_EQ(CurrentHash(sim_), blue_);
  EXPECT_EQ(sim_.Phase(), "Healthy");
  EXPECT_EQ(sim_.Replicas(blue_), 5);
  EXPECT_EQ(sim_.Replicas(yellow_), 0);
  // The re-used ReplicaSet is the newest revision.
  EXPECT_EQ((*sim_.ReplicaSet(blue_))["metadata"]["annotations"]["rollout.argoproj.io/revision"],
            "3");
}

TEST_F(SeedCanaryTest, RevisionHistoryLimitDeletesOldScaledDownReplicaSets) {
  for (const char* color : {"green", "red", "purple", "orange"}) {
    sim_.SetImage(std::string("argoproj/rollouts-demo:") + color);
    sim_.Reconcile();  // the update is observed before the API accepts promote --full
    sim_.PromoteFull();
    sim_.Settle();
    ASSERT_EQ(sim_.Phase(), "Healthy") << color;
  }
  // The live one and revisionHistoryLimit (2) scaled-down ones.
  EXPECT_EQ(sim_.replica_sets().size(), 3u);
}

TEST_F(SeedCanaryTest, SameInputSameOutputAndNoExtraReplicaSetAfterACrash) {
  sim_.Promote();
  RolloutInput in;
  in.rollout = sim_.rollout();
  for (const auto& [name, rs] : sim_.replica_sets()) in.replica_sets.push_back(rs);
  in.now = sim_.now();
  absl::StatusOr<RolloutOutput> a = Reconcile(in);
  absl::StatusOr<RolloutOutput> b = Reconcile(in);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->status, b->status);
  EXPECT_EQ(a->replica_sets_to_update, b->replica_sets_to_update);
  EXPECT_EQ(a->requeue_after, b->requeue_after);

  // A new template whose ReplicaSet was created but whose status write was lost: the next
  // reconcile finds it by hash instead of creating another.
  sim_.SetImage("argoproj/rollouts-demo:green");
  RolloutInput first;
  first.rollout = sim_.rollout();
  for (const auto& [name, rs] : sim_.replica_sets()) first.replica_sets.push_back(rs);
  first.now = sim_.now();
  absl::StatusOr<RolloutOutput> created = Reconcile(first);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->replica_sets_to_create.size(), 1u);
  first.replica_sets.push_back(created->replica_sets_to_create[0]);
  absl::StatusOr<RolloutOutput> again = Reconcile(first);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replica_sets_to_create.empty());
  EXPECT_EQ(again->status["currentPodHash"], created->status["currentPodHash"]);
}

constexpr char kTrafficCanary[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        smi:
          rootService: web
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 50
      - pause: {}
)";

TEST(TrafficRoutedCanaryTest, WeightsFollowSetWeightAndStableStaysFull) {
  Sim sim(ParseYaml(kTrafficCanary));
  sim.Settle();
  const std::string v1 = StableHash(sim);
  ASSERT_TRUE(sim.last().traffic.has_value());
  EXPECT_EQ(sim.last().traffic->service, "web");
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 100}}));

  sim.SetImage("nginx:2");
  // Before the canary pod is available no traffic goes to it.
  sim.Reconcile();
  const std::string v2 = CurrentHash(sim);
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 100}, {v2, 0}}));
  sim.Kubelet();
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v2), 1);  // ceil(20% of 5)
  EXPECT_EQ(sim.Replicas(v1), 5);  // stable stays at full size
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 80}, {v2, 20}}));
  EXPECT_EQ(sim.status()["canary"]["weights"]["canary"]["weight"], 20);
  EXPECT_EQ(sim.status()["canary"]["weights"]["stable"]["podTemplateHash"], v1);
  EXPECT_EQ(sim.SelectorOf("web-canary"), v2);
  EXPECT_EQ(sim.SelectorOf("web-stable"), v1);
  EXPECT_EQ(sim.Phase(), "Paused");

  sim.Promote();
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v2), 3);  // ceil(50% of 5)
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 50}, {v2, 50}}));

  // Promoted: the old stable keeps its pods for scaleDownDelaySeconds (30 s).
  sim.Promote();
  sim.Settle();
  EXPECT_EQ(StableHash(sim), v2);
  EXPECT_EQ(sim.Replicas(v2), 5);
  EXPECT_EQ(sim.Replicas(v1), 5);
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v2, 100}}));
  EXPECT_EQ(sim.SelectorOf("web-stable"), v2);
  const nlohmann::json* old = sim.ReplicaSet(v1);
  ASSERT_NE(old, nullptr);
  EXPECT_TRUE((*old)["metadata"]["annotations"].contains("scale-down-deadline"));
  ASSERT_TRUE(sim.last().requeue_after.has_value());
  EXPECT_LE(*sim.last().requeue_after, absl::Seconds(30));
  sim.Advance(absl::Seconds(29));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v1), 5);
  sim.Advance(absl::Seconds(1));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v1), 0);
  EXPECT_EQ(sim.Phase(), "Healthy");
}

TEST(TrafficRoutedCanaryTest, AbortMovesTrafficAtOnceAndPodsAfterTheDelay) {
  Sim sim(ParseYaml(kTrafficCanary));
  sim.Settle();
  const std::string v1 = StableHash(sim);
  sim.SetImage("nginx:2");
  sim.Settle();
  const std::string v2 = CurrentHash(sim);
  ASSERT_EQ(sim.Replicas(v2), 1);
  sim.Abort();
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Degraded");
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 100}, {v2, 0}}));
  EXPECT_EQ(sim.Replicas(v2), 1);  // abortScaleDownDelaySeconds: 30 s by default
  sim.Advance(absl::Seconds(30));
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v2), 0);
  EXPECT_EQ(sim.Replicas(v1), 5);
}

TEST(TrafficRoutedCanaryTest, SetCanaryScaleAndDynamicStableScale) {
  nlohmann::json r = ParseYaml(kTrafficCanary);
  r["spec"]["replicas"] = 10;
  r["spec"]["strategy"]["canary"]["steps"] = ParseYaml(R"(
- setCanaryScale: {replicas: 3}
- setWeight: 10
- pause: {}
- setCanaryScale: {matchTrafficWeight: true}
- setWeight: 40
- pause: {}
)");
  Sim sim(r);
  sim.Settle();
  const std::string v1 = StableHash(sim);
  sim.SetImage("nginx:2");
  sim.Settle();
  const std::string v2 = CurrentHash(sim);
  // setCanaryScale holds 3 pods while only 10% of the traffic goes to them.
  EXPECT_EQ(sim.Replicas(v2), 3);
  EXPECT_EQ(sim.Replicas(v1), 10);
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 90}, {v2, 10}}));
  sim.Promote();
  sim.Settle();
  EXPECT_EQ(sim.Replicas(v2), 4);  // back to the weight: ceil(40% of 10)
  EXPECT_EQ(sim.last().traffic->weights, (std::map<std::string, int>{{v1, 60}, {v2, 40}}));

  // dynamicStableScale: the stable shrinks as the canary's weight grows.
  nlohmann::json d = ParseYaml(kTrafficCanary);
  d["spec"]["replicas"] = 10;
  d["spec"]["strategy"]["canary"]["dynamicStableScale"] = true;
  Sim dss(d);
  dss.Settle();
  const std::string d1 = StableHash(dss);
  dss.SetImage("nginx:2");
  dss.Settle();
  const std::string d2 = CurrentHash(dss);
  EXPECT_EQ(dss.Replicas(d2), 2);
  EXPECT_EQ(dss.Replicas(d1), 8);
  dss.Promote();
  dss.Settle();
  EXPECT_EQ(dss.Replicas(d2), 5);
  EXPECT_EQ(dss.Replicas(d1), 5);
  // Abort: traffic steps back as the stable regains pods, canary pods go last.
  dss.Abort();
  dss.Settle();
  EXPECT_EQ(dss.Phase(), "Degraded");
  EXPECT_EQ(dss.Replicas(d1), 10);
  EXPECT_EQ(dss.last().traffic->weights, (std::map<std::string, int>{{d1, 100}, {d2, 0}}));
  EXPECT_EQ(dss.Replicas(d2), 0);
}

TEST(InvalidSpecTest, BadSpecsAreDegradedWithTheFieldAndNoActions) {
  struct Case {
    std::string name, edit, want;
  };
  const Case cases[] = {
      {"setWeight 150", "/spec/strategy/canary/steps/0", "spec.strategy.canary.steps[0].setWeight"},
      {"both strategies", "/spec/strategy/blueGreen", "Multiple Strategies can not be listed"},
      {"selector", "/spec/selector/matchLabels/app", "`selector` does not match template"},
      {"pause duration", "/spec/strategy/canary/steps/1",
       "spec.strategy.canary.steps[1].pause.duration"},
  };
  for (const Case& c : cases) {
    nlohmann::json r = ParseYaml(kSeedCanary);
    if (c.name == "setWeight 150") r[nlohmann::json::json_pointer(c.edit)] = {{"setWeight", 150}};
    if (c.name == "both strategies") {
      r[nlohmann::json::json_pointer(c.edit)] = {{"activeService", "x"}};
    }
    if (c.name == "selector") r[nlohmann::json::json_pointer(c.edit)] = "other";
    if (c.name == "pause duration") {
      r[nlohmann::json::json_pointer(c.edit)] = {{"pause", {{"duration", "10 parsecs"}}}};
    }
    Sim sim(r);
    RolloutOutput out = sim.Reconcile();
    EXPECT_EQ(sim.Phase(), "Degraded") << c.name;
    EXPECT_NE(sim.Message().find("InvalidSpec: The Rollout \"rollouts-demo\" is invalid: "),
              std::string::npos)
        << sim.Message();
    EXPECT_NE(sim.Message().find(c.want), std::string::npos) << c.name << ": " << sim.Message();
    EXPECT_TRUE(out.replica_sets_to_create.empty()) << c.name;
    EXPECT_TRUE(out.service_selectors.empty()) << c.name;
    EXPECT_EQ(sim.status()["conditions"][0]["type"], "InvalidSpec");
  }
}

TEST(InvalidSpecTest, MissingServiceIsNamed) {
  nlohmann::json r = ParseYaml(kTrafficCanary);
  RolloutInput in{.rollout = r, .now = absl::FromUnixSeconds(1767225600)};
  absl::StatusOr<RolloutOutput> out = Reconcile(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->status["phase"], "Degraded");
  EXPECT_NE(out->status["message"].get<std::string>().find(
                "spec.strategy.canary.canaryService: service \"web-canary\" not found"),
            std::string::npos)
      << out->status["message"];
}

TEST(ProgressDeadlineTest, AnalysisStepsAreNotTimedOut) {
  nlohmann::json r = ParseYaml(kSeedCanary);
  r["spec"]["progressDeadlineSeconds"] = 60;
  r["spec"]["strategy"]["canary"]["steps"] = ParseYaml(R"(
- setWeight: 20
- analysis: {templates: [{templateName: slow}]}
)");
  Sim sim(r);
  sim.Settle();
  sim.SetImage("argoproj/rollouts-demo:yellow");
  sim.Settle();
  ASSERT_EQ(sim.status()["currentStepIndex"], 1);
  sim.Advance(absl::Minutes(30));
  sim.Settle();
  EXPECT_EQ(sim.Phase(), "Progressing") << sim.Message();
}

TEST(RobustnessTest, OddStatusShapesNeverCrash) {
  nlohmann::json r = ParseYaml(kSeedCanary);
  for (const nlohmann::json& status :
       {nlohmann::json{{"stableRS", 5}}, nlohmann::json{{"canary", "x"}},
        nlohmann::json{{"pauseConditions", {1, 2}}, {"currentStepIndex", "two"}},
        nlohmann::json{{"conditions", "none"}}, nlohmann::json("status")}) {
    r["status"] = status;
    RolloutInput in{.rollout = r, .now = absl::FromUnixSeconds(1767225600)};
    absl::StatusOr<RolloutOutput> out = Reconcile(in);  // an answer or an error, never a crash
    if (out.ok()) {
      EXPECT_TRUE(out->status.is_object()) << status;
    }
  }
}

TEST(WorkloadRefTest, TemplateComesFromTheDeploymentWhichIsScaledToZero) {
  nlohmann::json r = ParseYaml(kSeedCanary);
  nlohmann::json tmpl = r["spec"]["template"];
  r["spec"].erase("template");
  r["spec"]["workloadRef"] = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "d"}};
  RolloutInput in{.rollout = r, .now = absl::FromUnixSeconds(1767225600)};
  in.workload = nlohmann::json{{"metadata", {{"name", "d"}}},
                               {"spec", {{"replicas", 3}, {"template", tmpl}}}};
  absl::StatusOr<RolloutOutput> out = Reconcile(in);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->replica_sets_to_create.size(), 1u);
  EXPECT_EQ(out->replica_sets_to_create[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            "argoproj/rollouts-demo:blue");
  EXPECT_EQ(out->workload_replicas, 0);

  in.workload.reset();
  out = Reconcile(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->status["phase"], "Degraded");
  EXPECT_NE(out->status["message"].get<std::string>().find("Deployment \"d\" not found"),
            std::string::npos);
}

TEST(ProgressDeadlineTest, NoProgressIsDegradedAndAbortsWhenAsked) {
  nlohmann::json r = ParseYaml(kSeedCanary);
  r["spec"]["progressDeadlineSeconds"] = 60;
  r["spec"]["progressDeadlineAbort"] = true;
  Sim sim(r);
  sim.Settle();
  sim.SetImage("argoproj/rollouts-demo:yellow");
  // The canary pod never becomes available: reconcile without the kubelet.
  sim.Reconcile();
  sim.Reconcile();
  ASSERT_TRUE(sim.last().requeue_after.has_value());
  EXPECT_LE(*sim.last().requeue_after, absl::Seconds(61));
  sim.Advance(absl::Seconds(61));
  sim.Reconcile();
  sim.Reconcile();
  EXPECT_EQ(sim.Phase(), "Degraded") << sim.status().dump(1);
  EXPECT_TRUE(sim.status().value("abort", false));
  EXPECT_NE(sim.Message().find("timed out progressing"), std::string::npos) << sim.Message();
}

}  // namespace
}  // namespace argonaut::rollout::engine
