// Ephemeral pod metadata: canaryMetadata/stableMetadata, previewMetadata/activeMetadata on the
// ReplicaSets' pod templates and, in place, on their running pods.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/rollout/engine/engine.h"
#include "services/rollout/engine/test_sim.h"

namespace argonaut::rollout::engine {
namespace {

using testing::Json;
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
      canaryMetadata:
        labels:
          role: canary
        annotations:
          note: new
      stableMetadata:
        labels:
          role: stable
      steps:
      - setWeight: 20
      - pause: {}
)";

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
      previewMetadata:
        labels:
          role: preview
      activeMetadata:
        labels:
          role: active
        annotations:
          live: "yes"
)";

// The pod template metadata of the ReplicaSet with this hash.
Json TemplateMeta(const Sim& sim, const std::string& hash) {
  const Json* rs = sim.ReplicaSet(hash);
  if (rs == nullptr) return Json();
  return (*rs)["spec"]["template"].value("metadata", Json::object());
}

std::string Label(const Json& meta, const std::string& key) {
  return meta.value("labels", Json::object()).value(key, "<none>");
}
std::string Annotation(const Json& meta, const std::string& key) {
  return meta.value("annotations", Json::object()).value(key, "<none>");
}

// A running pod of the ReplicaSet `hash` carrying `labels` and `annotations` besides its own.
Json PodOf(const Sim& sim, const std::string& hash, const std::string& name, Json labels,
           Json annotations) {
  const Json& rs = *sim.ReplicaSet(hash);
  labels["app"] = rs["spec"]["template"]["metadata"]["labels"]["app"];
  labels[kPodTemplateHashLabel] = hash;
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", name},
                {"uid", name + "-uid"},
                {"resourceVersion", "7"},
                {"labels", labels},
                {"ownerReferences", Json::array({{{"apiVersion", "apps/v1"},
                                                  {"kind", "ReplicaSet"},
                                                  {"name", rs["metadata"]["name"]},
                                                  {"controller", true}}})}}},
              {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", "x"}}})}}},
              {"status", {{"phase", "Running"}}}};
  if (!annotations.empty()) pod["metadata"]["annotations"] = annotations;
  return pod;
}

// One reconcile of the sim's current state with `pods` observed.
RolloutOutput ReconcileWithPods(const Sim& sim, std::vector<Json> pods) {
  RolloutInput in{.rollout = sim.rollout(), .now = sim.now()};
  for (const auto& [name, rs] : sim.replica_sets()) in.replica_sets.push_back(rs);
  in.services["bg-active"] = Json::object();
  in.services["bg-preview"] = Json::object();
  in.pods = std::move(pods);
  absl::StatusOr<RolloutOutput> out = Reconcile(in);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : RolloutOutput{};
}

TEST(EphemeralMetadataTest, CanaryTemplatesFollowTheRoles) {
  Sim sim(ParseYaml(kCanary));
  sim.Settle();
  const std::string blue = sim.status().value("currentPodHash", "");
  // The first version is fully rolled out: stable metadata only.
  EXPECT_EQ(Label(TemplateMeta(sim, blue), "role"), "stable");
  EXPECT_EQ(Annotation(TemplateMeta(sim, blue), "note"), "<none>");
  EXPECT_EQ(Label(TemplateMeta(sim, blue), kPodTemplateHashLabel), blue);

  sim.Advance(absl::Seconds(10));
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Paused");
  const std::string green = sim.status().value("currentPodHash", "");
  EXPECT_EQ(Label(TemplateMeta(sim, green), "role"), "canary");
  EXPECT_EQ(Annotation(TemplateMeta(sim, green), "note"), "new");
  EXPECT_EQ(Label(TemplateMeta(sim, green), "app"), "web");
  EXPECT_EQ(Label(TemplateMeta(sim, blue), "role"), "stable");
  // The metadata does not change the revision: still the same two ReplicaSets.
  EXPECT_EQ(sim.Hashes().size(), 2u);

  sim.PromoteFull();
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Healthy") << sim.Message();
  // The canary became stable: canary keys gone, stable ones on; the old stable has none.
  EXPECT_EQ(Label(TemplateMeta(sim, green), "role"), "stable");
  EXPECT_EQ(Annotation(TemplateMeta(sim, green), "note"), "<none>");
  EXPECT_EQ(Label(TemplateMeta(sim, blue), "role"), "<none>");
  EXPECT_EQ(Label(TemplateMeta(sim, blue), "app"), "web");
  const Json& ann = (*sim.ReplicaSet(green))["metadata"]["annotations"];
  EXPECT_EQ(Json::parse(ann.value(kEphemeralMetadataAnnotation, "{}")),
            Json::parse(R"({"labels":{"role":"stable"}})"));
  EXPECT_FALSE(
      (*sim.ReplicaSet(blue))["metadata"]["annotations"].contains(kEphemeralMetadataAnnotation));
}

TEST(EphemeralMetadataTest, RunningPodsArePatchedInPlace) {
  Sim sim(ParseYaml(kCanary));
  sim.Settle();
  const std::string blue = sim.status().value("currentPodHash", "");
  sim.Advance(absl::Seconds(10));
  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Paused");
  const std::string green = sim.status().value("currentPodHash", "");

  struct Case {
    std::string name;
    std::string hash;          // the pod's ReplicaSet
    Json labels, annotations;  // as observed (besides app and the hash)
    bool promote;              // reconcile after promote --full
    std::string want_role;     // "" = no update expected
    std::string want_note;
  };
  const std::vector<Case> cases = {
      {"canary pod up to date", green, {{"role", "canary"}}, {{"note", "new"}}, false, "", ""},
      {"canary pod missed", green, Json::object(), Json::object(), false, "canary", "new"},
      {"stable pod missed", blue, Json::object(), Json::object(), false, "stable", "<none>"},
      {"stable pod with canary keys",
       blue,
       {{"role", "canary"}},
       {{"note", "new"}},
       false,
       "stable",
       "<none>"},
      {"canary becomes stable",
       green,
       {{"role", "canary"}},
       {{"note", "new"}},
       true,
       "stable",
       "<none>"},
      {"old stable loses its keys",
       blue,
       {{"role", "stable"}},
       Json::object(),
       true,
       "<none>",
       "<none>"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    Sim s = sim;
    if (tc.promote) {
      s.PromoteFull();
      s.Settle();
      ASSERT_EQ(s.Phase(), "Healthy") << s.Message();
    }
    Json pod = PodOf(s, tc.hash, "p1", tc.labels, tc.annotations);
    pod["metadata"]["annotations"]["user"] = "kept";
    const RolloutOutput out = ReconcileWithPods(s, {pod});
    if (tc.want_role.empty()) {
      EXPECT_TRUE(out.pods_to_update.empty()) << out.pods_to_update.size();
      continue;
    }
    ASSERT_EQ(out.pods_to_update.size(), 1u);
    const Json& got = out.pods_to_update[0];
    EXPECT_EQ(Label(got["metadata"], "role"), tc.want_role);
    EXPECT_EQ(Annotation(got["metadata"], "note"), tc.want_note);
    // Only metadata changes: the pod is the same pod, its other labels/annotations kept.
    EXPECT_EQ(Label(got["metadata"], "app"), "web");
    EXPECT_EQ(Label(got["metadata"], kPodTemplateHashLabel), tc.hash);
    EXPECT_EQ(Annotation(got["metadata"], "user"), "kept");
    EXPECT_EQ(got["metadata"]["uid"], "p1-uid");
    EXPECT_EQ(got["metadata"]["resourceVersion"], "7");
    EXPECT_EQ(got["spec"], pod["spec"]);
    EXPECT_EQ(got["status"], pod["status"]);
  }
}

TEST(EphemeralMetadataTest, BlueGreenPreviewThenActive) {
  Sim sim(ParseYaml(kBlueGreen));
  sim.Settle();
  const std::string v1 = sim.status().value("currentPodHash", "");
  EXPECT_EQ(Label(TemplateMeta(sim, v1), "role"), "active");
  EXPECT_EQ(Annotation(TemplateMeta(sim, v1), "live"), "yes");

  sim.SetImage("argoproj/rollouts-demo:green");
  sim.Settle();
  ASSERT_EQ(sim.Phase(), "Paused");
  const std::string v2 = sim.status().value("currentPodHash", "");
  EXPECT_EQ(Label(TemplateMeta(sim, v2), "role"), "preview");
  EXPECT_EQ(Annotation(TemplateMeta(sim, v2), "live"), "<none>");
  EXPECT_EQ(Label(TemplateMeta(sim, v1), "role"), "active");
  // A v2 pod created before the metadata was set gets it in place.
  RolloutOutput out = ReconcileWithPods(sim, {PodOf(sim, v2, "p2", Json::object(), Json())});
  ASSERT_EQ(out.pods_to_update.size(), 1u);
  EXPECT_EQ(Label(out.pods_to_update[0]["metadata"], "role"), "preview");

  sim.Promote();
  sim.Settle();
  ASSERT_EQ(sim.status()["blueGreen"].value("activeSelector", ""), v2);
  EXPECT_EQ(Label(TemplateMeta(sim, v2), "role"), "active");
  EXPECT_EQ(Annotation(TemplateMeta(sim, v2), "live"), "yes");
  EXPECT_EQ(Label(TemplateMeta(sim, v1), "role"), "<none>");
  EXPECT_EQ(Annotation(TemplateMeta(sim, v1), "live"), "<none>");
  out = ReconcileWithPods(sim, {PodOf(sim, v2, "p2", {{"role", "preview"}}, Json()),
                                PodOf(sim, v1, "p1", {{"role", "active"}}, {{"live", "yes"}})});
  ASSERT_EQ(out.pods_to_update.size(), 2u);
  for (const Json& pod : out.pods_to_update) {
    const bool is_v2 = pod["metadata"]["name"] == "p2";
    EXPECT_EQ(Label(pod["metadata"], "role"), is_v2 ? "active" : "<none>");
    EXPECT_EQ(Annotation(pod["metadata"], "live"), is_v2 ? "yes" : "<none>");
  }
}

TEST(EphemeralMetadataTest, BadMetadataIsRefusedNamingTheField) {
  struct Case {
    std::string yaml_tail;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"      canaryMetadata:\n        labels:\n          role: 3\n",
       "spec.strategy.canary.canaryMetadata.labels.role"},
      {"      stableMetadata: [a]\n", "spec.strategy.canary.stableMetadata"},
      {"      canaryMetadata:\n        labels:\n          rollouts-pod-template-hash: x\n",
       "spec.strategy.canary.canaryMetadata.labels.rollouts-pod-template-hash"},
  };
  const std::string base = R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
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
        image: nginx
  strategy:
    canary:
)";
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.want);
    Sim sim(ParseYaml(base + tc.yaml_tail));
    const RolloutOutput out = sim.Reconcile();
    EXPECT_EQ(sim.Phase(), "Degraded");
    EXPECT_NE(sim.Message().find(tc.want), std::string::npos) << sim.Message();
    EXPECT_TRUE(out.replica_sets_to_create.empty());
  }
}

}  // namespace
}  // namespace argonaut::rollout::engine
