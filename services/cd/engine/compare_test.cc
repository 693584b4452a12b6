#include "services/cd/engine/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/manifest/yaml.h"
#include "services/cd/engine/tracking.h"

namespace argonaut::cd::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;

json Yaml(const std::string& text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok() && docs->size() == 1) << text;
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

const json kApp = Yaml(R"(
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source: {repoURL: 'https://example.com/repo.git', path: guestbook, targetRevision: HEAD}
  destination: {server: 'https://kubernetes.default.svc', namespace: dev}
)");

json Target(const std::string& yaml) { return PrepareTarget(Yaml(yaml), "guestbook", "dev"); }

// The target as it runs: applied with last-applied, server fields, `status`.
json Running(const json& target, const std::string& status_yaml) {
  json live = WithLastApplied(target);
  live["metadata"]["uid"] = "uid-" + target["metadata"]["name"].get<std::string>();
  live["metadata"]["resourceVersion"] = "5";
  if (!status_yaml.empty()) live["status"] = Yaml(status_yaml);
  return live;
}

const std::string kDeployment =
    "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 1, "
    "template: {spec: {containers: [{name: web, image: 'nginx:1'}]}}}}";
const std::string kDeploymentHealthy =
    "{observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1}";
const std::string kService =
    "{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}";
const std::string kConfigMap =
    "{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, annotations: "
    "{argocd.argoproj.io/sync-wave: '-1'}}, data: {a: b}}";

struct Case {
  std::string name;
  std::vector<json> targets;
  std::vector<json> live;
  std::string want_sync;
  std::string want_health;
  std::string want_health_message = "";  // checked with HasSubstr when set
  std::string generation_error = "";
  json app = kApp;
};

std::vector<Case> Cases() {
  json dep = Target(kDeployment), svc = Target(kService), cm = Target(kConfigMap);
  json dep_live = Running(dep, kDeploymentHealthy), svc_live = Running(svc, ""),
       cm_live = Running(cm, "");
  json extra = Running(Target("{apiVersion: v1, kind: ConfigMap, metadata: {name: old}}"), "");
  json extra_ignored = extra;
  extra_ignored["metadata"]["annotations"][kCompareOptionsAnnotation] = "IgnoreExtraneous";
  json hook = Target(
      "{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, annotations: "
      "{argocd.argoproj.io/hook: PreSync}}, spec: {template: {spec: {containers: [{name: m, "
      "image: 'alpine:3'}]}}}}");
  json hook_live = Running(hook, "{conditions: [{type: Failed, status: 'True'}]}");
  json skipped = Target(
      "{apiVersion: v1, kind: ConfigMap, metadata: {name: skip, annotations: "
      "{argocd.argoproj.io/hook: Skip}}}");
  json dep_rolling = Running(dep, "{observedGeneration: 1, replicas: 1, updatedReplicas: 0}");
  json dep_ignored_health = dep_rolling;
  dep_ignored_health["metadata"]["annotations"][kIgnoreHealthcheckAnnotation] = "true";
  json pod = Target(
      "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: "
      "'x:bad'}]}}");
  json pod_crash = Running(pod,
                           "{phase: Pending, containerStatuses: [{state: {waiting: {reason: "
                           "ImagePullBackOff, message: 'cannot pull x:bad'}}}]}");
  json child = Target(
      "{apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: child}, spec: {}}");
  json child_missing = Running(child, "{health: {status: Missing}}");
  json child_degraded = Running(child, "{health: {status: Degraded, message: broken}}");
  json changed = dep_live;
  changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  json bad_ignore = kApp;
  bad_ignore["spec"]["ignoreDifferences"] = Yaml("[{group: apps}]");

  std::vector<json> pods;
  for (int i = 0; i < 5; ++i) {
    json p = pod;
    p["metadata"]["name"] = "p" + std::to_string(i);
    p = PrepareTarget(p, "guestbook", "dev");
    pods.push_back(p);
  }
  std::vector<json> pods_live;
  for (const json& p : pods) pods_live.push_back(Running(p, "{phase: Failed, message: 'exit 1'}"));

  return {
      {"all synced and healthy",
       {dep, svc, cm},
       {dep_live, svc_live, cm_live},
       "Synced",
       "Healthy"},
      {"changed by hand", {dep, svc}, {changed, svc_live}, "OutOfSync", "Healthy"},
      {"one missing: app not Missing (3.4)", {dep, svc}, {dep_live}, "OutOfSync", "Healthy"},
      {"all missing", {dep, svc}, {}, "OutOfSync", "Missing"},
      {"extra live object", {dep}, {dep_live, extra}, "OutOfSync", "Healthy"},
      {"extra with IgnoreExtraneous", {dep}, {dep_live, extra_ignored}, "Synced", "Healthy"},
      {"hooks neither sync nor health", {dep, hook}, {dep_live, hook_live}, "Synced", "Healthy"},
      {"Skip never counts", {dep, skipped}, {dep_live}, "Synced", "Healthy"},
      {"worst wins",
       {dep, pod},
       {dep_rolling, pod_crash},
       "Synced",
       "Degraded",
       "Pod/p: cannot pull x:bad"},
      {"progressing",
       {dep, svc},
       {dep_rolling, svc_live},
       "Synced",
       "Progressing",
       "Deployment/web: Waiting for rollout to finish"},
      {"ignore-healthcheck", {dep, svc}, {dep_ignored_health, svc_live}, "Synced", "Healthy"},
      {"child app missing does not count",
       {dep, child},
       {dep_live, child_missing},
       "Synced",
       "Healthy"},
      {"child app degraded counts",
       {dep, child},
       {dep_live, child_degraded},
       "Synced",
       "Degraded",
       "Application/child: broken"},
      {"generation failed", {}, {dep_live}, "Unknown", "Healthy", "", "rpc error: no such path"},
      {"bad ignoreDifferences", {dep}, {dep_live}, "Unknown", "Healthy", "", "", bad_ignore},
      {"message names at most 3", pods, pods_live, "Synced", "Degraded", "Pod/p2: exit 1"},
  };
}

TEST(Compare, Table) {
  HealthScripts scripts;
  for (const Case& c : Cases()) {
    CompareInput in{.app = &c.app,
                    .targets = c.targets,
                    .live = c.live,
                    .revision = c.generation_error.empty() ? "abc123" : "",
                    .generation_error = c.generation_error,
                    .scripts = &scripts};
    CompareResult r = Compare(in);
    EXPECT_EQ(r.sync["status"], c.want_sync) << c.name << "\n" << r.resources_status.dump(1);
    EXPECT_EQ(r.health["status"], c.want_health) << c.name << ": " << r.health.dump();
    if (!c.want_health_message.empty()) {
      EXPECT_THAT(r.health["message"].get<std::string>(), HasSubstr(c.want_health_message))
          << c.name;
    }
    EXPECT_EQ(r.resources.size(), r.resources_status.size()) << c.name;
    for (size_t i = 1; i < r.resources.size(); ++i)
      EXPECT_LT(r.resources[i - 1].key, r.resources[i].key) << c.name;
  }
}

TEST(Compare, ResourceDetails) {
  json dep = Target(kDeployment), cm = Target(kConfigMap), svc = Target(kService);
  json hook = Target(
      "{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, annotations: "
      "{argocd.argoproj.io/hook: PreSync}}}");
  json extra = Running(Target("{apiVersion: v1, kind: ConfigMap, metadata: {name: old}}"), "");
  json changed = Running(dep, kDeploymentHealthy);
  changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  CompareInput in{.app = &kApp,
                  .targets = {dep, cm, svc, hook},
                  .live = {changed, Running(cm, ""), extra, Running(hook, "")},
                  .revision = "abc123"};
  CompareResult r = Compare(in);
  EXPECT_EQ(r.sync["revision"], "abc123");
  EXPECT_EQ(r.sync["comparedTo"]["source"]["path"], "guestbook");
  EXPECT_EQ(r.sync["comparedTo"]["destination"]["namespace"], "dev");
  EXPECT_THAT(r.images, ElementsAre("nginx:2"));  // what runs, not what git says
  // Sorted by key: core kinds (group "") first, then apps/Deployment, batch/Job.
  EXPECT_EQ(r.resources_status, Yaml(R"(
- {version: v1, kind: ConfigMap, namespace: dev, name: cfg, status: Synced, syncWave: -1}
- {version: v1, kind: ConfigMap, namespace: dev, name: old, status: OutOfSync, requiresPruning: true}
- {version: v1, kind: Service, namespace: dev, name: web, status: OutOfSync, health: {status: Missing}}
- {group: apps, version: v1, kind: Deployment, namespace: dev, name: web, status: OutOfSync,
   health: {status: Healthy}}
- {group: batch, version: v1, kind: Job, namespace: dev, name: migrate, hook: true}
)")) << r.resources_status.dump(1);
  const ResourceState& d = r.resources[3];
  EXPECT_TRUE(d.diff.modified);
  EXPECT_THAT(d.diff.text, HasSubstr("-        - image: nginx:2\n+        - image: nginx:1\n"));
  EXPECT_TRUE(d.target.has_value());
  EXPECT_TRUE(d.live.has_value());
  EXPECT_FALSE(r.resources[2].live.has_value());
  EXPECT_THAT(r.resources[2].diff.text, HasSubstr("+kind: Service"));
}

TEST(Compare, Conditions) {
  json dep = Target(kDeployment);
  CompareInput failed{.app = &kApp,
                      .live = {Running(dep, kDeploymentHealthy)},
                      .generation_error = "path does not exist"};
  CompareResult r = Compare(failed);
  ASSERT_EQ(r.conditions.size(), 1u);
  EXPECT_EQ(r.conditions[0]["type"], "ComparisonError");
  EXPECT_FALSE(r.sync.contains("revision"));
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].sync_status, "Unknown");
  EXPECT_FALSE(r.resources[0].requires_pruning) << "nothing is extra when nothing rendered";

  json app = kApp;
  app["spec"]["ignoreDifferences"] = Yaml("[{group: apps}]");
  CompareInput bad{.app = &app, .targets = {dep}, .live = {Running(dep, kDeploymentHealthy)}};
  r = Compare(bad);
  ASSERT_EQ(r.conditions.size(), 1u);
  EXPECT_THAT(r.conditions[0]["message"].get<std::string>(),
              HasSubstr("ignoreDifferences[0].kind: required"));

  CompareInput twice{.app = &kApp, .targets = {dep, dep}, .live = {}};
  r = Compare(twice);
  ASSERT_EQ(r.conditions.size(), 1u);
  EXPECT_EQ(r.conditions[0]["type"], "RepeatedResourceWarning");
  EXPECT_EQ(r.resources.size(), 1u);
}

TEST(Compare, IgnoreDifferencesFromApp) {
  json dep = Target(kDeployment);
  json changed = Running(dep, kDeploymentHealthy);
  changed["spec"]["replicas"] = 4;
  json app = kApp;
  app["spec"]["ignoreDifferences"] =
      Yaml("[{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]");
  CompareInput in{.app = &app, .targets = {dep}, .live = {changed}};
  CompareResult r = Compare(in);
  EXPECT_EQ(r.sync["status"], "Synced");
  EXPECT_EQ(r.sync["comparedTo"]["ignoreDifferences"], app["spec"]["ignoreDifferences"]);
}

TEST(Compare, SystemIgnoreDifferences) {
  json dep = Target(kDeployment);
  json changed = Running(dep, kDeploymentHealthy);
  changed["spec"]["replicas"] = 4;
  changed["status"]["replicas"] = 4;
  changed["status"]["updatedReplicas"] = 4;
  changed["status"]["availableReplicas"] = 4;
  CompareInput in{.app = &kApp, .targets = {dep}, .live = {changed}};
  EXPECT_EQ(Compare(in).sync["status"], "OutOfSync");
  in.system_ignore_differences =
      SystemIgnoreDifferences({{"resource.customizations.ignoreDifferences.apps_Deployment",
                                "jsonPointers:\n- /spec/replicas\n"}});
  CompareResult r = Compare(in);
  EXPECT_EQ(r.sync["status"], "Synced") << r.resources[0].diff.text;
  EXPECT_FALSE(r.sync["comparedTo"].contains("ignoreDifferences"));
}

TEST(Compare, CustomHealthScript) {
  json widget = Target("{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}");
  HealthScripts scripts = HealthScripts::FromConfigMap(
      {{"resource.customizations.health.example.com_Widget",
        "hs = {}\nhs.status = 'Degraded'\nhs.message = obj.status.why\nreturn hs"}});
  CompareInput in{.app = &kApp,
                  .targets = {widget},
                  .live = {Running(widget, "{why: 'no gears'}")},
                  .scripts = &scripts};
  CompareResult r = Compare(in);
  EXPECT_EQ(r.health["status"], "Degraded");
  EXPECT_EQ(r.health["message"], "Widget/w: no gears");
}

}  // namespace
}  // namespace argonaut::cd::engine
