#include "services/cd/engine/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cd::engine {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using json = nlohmann::json;

json Yaml(const char* text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok() && docs->size() == 1) << text;
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

constexpr char kDeployment[] = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dev, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
)";

// Builds live from the target as kubectl apply + the API server would, then
// applies `mutate` (a YAML object merged on top: JSON merge patch).
json Live(const json& target, const char* mutate, bool with_last_applied) {
  json live = with_last_applied ? WithLastApplied(target) : target;
  live["metadata"]["uid"] = "u-1";
  live["metadata"]["resourceVersion"] = "17";
  live["metadata"]["generation"] = 3;
  live["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  live["status"] = {{"replicas", 2}};
  if (mutate != nullptr && *mutate != '\0') live.merge_patch(Yaml(mutate));
  return live;
}

TEST(Diff, Table) {
  const json dep = Yaml(kDeployment);
  struct Row {
    const char* name;
    const char* mutate;  // merge patch on the applied live object
    const char* ignore;
    bool modified;
    const char* text_has;
    bool with_last_applied;
    const char* target_patch;  // merge patch on the target
  } rows[] = {
      {"identical apart from server fields", "", "", false, nullptr, true, ""},
      {"server defaults are not drift",
       "{spec: {revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy: {type: "
       "RollingUpdate}, template: {spec: {restartPolicy: Always, dnsPolicy: ClusterFirst}}}, "
       "metadata: {annotations: {deployment.kubernetes.io/revision: '1'}}}",
       "", false, nullptr, true, ""},
      {"replicas changed by hand", "{spec: {replicas: 5}}", "", true, "-  replicas: 5", true, ""},
      {"replicas changed, ignored by pointer", "{spec: {replicas: 5}}",
       "[{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]", false, nullptr, true,
       ""},
      {"ignore entry for another name does not apply", "{spec: {replicas: 5}}",
       "[{group: apps, kind: Deployment, name: other, jsonPointers: [/spec/replicas]}]", true,
       nullptr, true, ""},
      {"wildcard group/kind", "{spec: {replicas: 5}}",
       "[{group: '*', kind: '*', jsonPointers: [/spec/replicas]}]", false, nullptr, true, ""},
      {"ignored by jq path", "{spec: {replicas: 5}}",
       "[{group: apps, kind: Deployment, jqPathExpressions: [.spec.replicas]}]", false, nullptr,
       true, ""},
      {"target changed", "", "", true, "+  replicas: 3", true, "{spec: {replicas: 3}}"},
      {"label removed from git that was last-applied is drift", "", "", true, "-    app: web", true,
       "{metadata: {labels: {app: null}}}"},
      {"label removed without last-applied is not drift (2-way)", "", "", false, nullptr, false,
       "{metadata: {labels: {app: null}}}"},
      {"live-only label never applied is not drift", "{metadata: {labels: {extra: x}}}", "", false,
       nullptr, true, ""},
      {"status differences never count", "{status: {replicas: 0, readyReplicas: 0}}", "", false,
       nullptr, true, ""},
  };
  for (const Row& r : rows) {
    json target = dep;
    if (*r.target_patch != '\0') target.merge_patch(Yaml(r.target_patch));
    json live = Live(dep, r.mutate, r.with_last_applied);
    json ignore = *r.ignore == '\0' ? json() : Yaml(r.ignore);
    auto d = Diff(&target, &live, ignore);
    ASSERT_TRUE(d.ok()) << r.name << ": " << d.status();
    EXPECT_EQ(d->modified, r.modified) << r.name << "\n" << d->text;
    if (r.text_has != nullptr) {
      EXPECT_THAT(d->text, HasSubstr(r.text_has)) << r.name;
    }
    if (!r.modified) {
      EXPECT_EQ(d->text, "") << r.name;
    }
  }
}

TEST(Diff, StrategicListsMergeByKey) {
  const json dep = Yaml(kDeployment);
  struct Row {
    const char* name;
    const char* live_containers;  // YAML list replacing spec.template.spec.containers
    const char* target_containers;
    bool modified;
  } rows[] = {
      {"defaults inside containers",
       "[{name: web, image: 'nginx:1', imagePullPolicy: IfNotPresent, terminationMessagePath: "
       "/dev/termination-log, terminationMessagePolicy: File, resources: {}, ports: "
       "[{containerPort: 80, protocol: TCP}], env: [{name: A, value: '1'}]}]",
       nullptr, false},
      {"injected sidecar never applied",
       "[{name: proxy, image: envoy}, {name: web, image: 'nginx:1', ports: [{containerPort: 80}], "
       "env: [{name: A, value: '1'}]}]",
       nullptr, false},
      {"image changed by hand",
       "[{name: web, image: 'nginx:2', ports: [{containerPort: 80}], env: [{name: A, value: "
       "'1'}]}]",
       nullptr, true},
      {"env value changed",
       "[{name: web, image: 'nginx:1', ports: [{containerPort: 80}], env: [{name: A, value: "
       "'2'}]}]",
       nullptr, true},
      {"container removed from git (was applied)", nullptr, "[]", true},
      {"container added in git", nullptr,
       "[{name: web, image: 'nginx:1', ports: [{containerPort: 80}], env: [{name: A, value: "
       "'1'}]}, {name: side, image: busybox}]",
       true},
  };
  for (const Row& r : rows) {
    json target = dep;
    if (r.target_containers != nullptr)
      target["spec"]["template"]["spec"]["containers"] = Yaml(r.target_containers);
    json live = Live(dep, "", true);
    if (r.live_containers != nullptr)
      live["spec"]["template"]["spec"]["containers"] = Yaml(r.live_containers);
    auto d = Diff(&target, &live, json());
    ASSERT_TRUE(d.ok()) << r.name;
    EXPECT_EQ(d->modified, r.modified) << r.name << "\n" << d->text;
  }
}

TEST(Diff, UnknownKindsReplaceLists) {
  json target = Yaml(
      "{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: "
      "{items: [{name: a}]}}");
  json live = WithLastApplied(target);
  live["spec"]["items"][0]["extra"] = 1;  // a server-side default inside a CRD list
  auto d = Diff(&target, &live, json());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->modified) << "JSON merge replaces the whole list, as kubectl does for CRDs";
}

TEST(Diff, MissingAndExtra) {
  json target = Yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {k: v}}");
  auto missing = Diff(&target, nullptr, json());
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->modified);
  EXPECT_TRUE(missing->normalized_live.is_null());
  EXPECT_THAT(missing->text, HasSubstr("+kind: ConfigMap"));
  auto extra = Diff(nullptr, &target, json());
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->modified);
  EXPECT_TRUE(extra->predicted_live.is_null());
  EXPECT_THAT(extra->text, HasSubstr("-kind: ConfigMap"));
  EXPECT_THAT(Diff(nullptr, nullptr, json()), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Diff, SecretsFoldStringDataAndHideValues) {
  json target =
      Yaml("{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {pw: hunter2}}");
  json live = Yaml("{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {pw: aHVudGVyMg==}}");
  auto same = Diff(&target, &live, json());
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->modified) << same->text;
  EXPECT_EQ(same->normalized_live["data"]["pw"], "++++++++");

  live["data"]["pw"] = "b3RoZXI=";
  auto changed = Diff(&target, &live, json());
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(changed->modified);
  EXPECT_THAT(changed->text, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(changed->text, ::testing::Not(HasSubstr("b3RoZXI=")));
  EXPECT_THAT(changed->text, HasSubstr("+  pw: +++++++++\n"));
}

TEST(Diff, HideSecretValuesMasksDataAndLastApplied) {
  json secret = Yaml(
      "{apiVersion: v1, kind: Secret, metadata: {name: s, annotations: {keep: me}}, "
      "data: {pw: aHVudGVyMg==}, stringData: {tk: hunter2}}");
  secret = WithLastApplied(secret);
  const json hidden = HideSecretValues(secret);
  const std::string text = hidden.dump();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("aHVudGVyMg==")));
  EXPECT_EQ(hidden["data"]["pw"], "++++++++");
  EXPECT_EQ(hidden["stringData"]["tk"], "++++++++");
  EXPECT_EQ(hidden["metadata"]["annotations"], json({{"keep", "me"}}));
  json cm = secret;
  cm["kind"] = "ConfigMap";
  EXPECT_EQ(HideSecretValues(cm), cm);
}

TEST(Diff, ManagedFieldsManagers) {
  json target = Yaml(kDeployment);
  json live = Live(target, "{spec: {replicas: 7}}", true);
  live["metadata"]["managedFields"] = Yaml(
      "[{manager: hpa-controller, operation: Update, fieldsV1: {'f:spec': {'f:replicas': {}}}}, "
      "{manager: kubectl, operation: Update, fieldsV1: {'f:spec': {'f:template': {}}}}]");
  auto ignored = Diff(&target, &live,
                      Yaml("[{group: apps, kind: Deployment, "
                           "managedFieldsManagers: [hpa-controller]}]"));
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->modified) << ignored->text;
  auto other = Diff(&target, &live,
                    Yaml("[{group: apps, kind: Deployment, "
                         "managedFieldsManagers: [someone-else]}]"));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->modified);
}

TEST(Diff, JqSelectsListItems) {
  json target = Yaml(kDeployment);
  json live = Live(target, "", true);
  live["spec"]["template"]["spec"]["containers"][0]["env"].push_back({{"name", "B"}});
  json applied = target;  // B was applied once and is gone from git: drift
  applied["spec"]["template"]["spec"]["containers"][0]["env"].push_back({{"name", "B"}});
  live["metadata"]["annotations"][kLastAppliedAnnotation] = applied.dump();
  auto d = Diff(&target, &live, json());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->modified);
  auto ignored =
      Diff(&target, &live,
           Yaml("[{group: apps, kind: Deployment, jqPathExpressions: ['.spec.template.spec."
                "containers[] | select(.name == \"web\") | .env[] | select(.name == \"B\")']}]"));
  ASSERT_TRUE(ignored.ok()) << ignored.status();
  EXPECT_FALSE(ignored->modified) << ignored->text;
}

TEST(Diff, InvalidUtf8DoesNotThrow) {
  json target = Yaml(kDeployment);
  target["metadata"]["labels"]["bad"] = std::string("\xff\xfe");
  json live = Live(target, "", true);
  auto d = Diff(&target, &live,
                Yaml("[{group: apps, kind: Deployment, jqPathExpressions: [.spec.replicas]}]"));
  ASSERT_TRUE(d.ok()) << d.status();
}

TEST(Diff, BadIgnoreDifferences) {
  json target = Yaml(kDeployment);
  struct Row {
    const char* ignore;
    const char* error;
  } rows[] = {
      {"{kind: x}", "ignoreDifferences: must be a list"},
      {"[{group: apps}]", "ignoreDifferences[0].kind: required"},
      {"[{group: apps, kind: Deployment, jsonPointers: [spec]}]",
       "ignoreDifferences[0].jsonPointers[0]: \"spec\" is not a JSON pointer"},
      {"[{group: apps, kind: Deployment, jqPathExpressions: ['.a', 'range(1e9)']}]",
       "ignoreDifferences[0].jqPathExpressions[1]: \"range\" is not supported"},
      {"[{group: apps, kind: Deployment, jqPathExpressions: ['.a | recurse(.b)']}]",
       "\"recurse\" is not supported"},
      {"[{group: apps, kind: Deployment, jqPathExpressions: ['\"x\" * 100000000']}]",
       "the * operator is not supported"},
      {"[{group: apps, kind: Deployment, jqPathExpressions: [5]}]",
       "jqPathExpressions[0]: must be a string"},
  };
  for (const Row& r : rows) {
    EXPECT_THAT(Diff(&target, &target, Yaml(r.ignore)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(r.error)))
        << r.ignore;
  }
}

TEST(SystemIgnoreDifferences, FromArgocdCm) {
  std::vector<std::string> errors;
  json got = SystemIgnoreDifferences(
      {
          {"resource.customizations.ignoreDifferences.all",
           "managedFieldsManagers:\n- kube-controller-manager\n"},
          {"resource.customizations.ignoreDifferences.admissionregistration.k8s.io_"
           "MutatingWebhookConfiguration",
           "jqPathExpressions:\n- '.webhooks[]?.clientConfig.caBundle'\n"},
          {"resource.customizations.ignoreDifferences.Service", "jsonPointers: [/spec/clusterIP]"},
          {"resource.customizations",
           "apps/Deployment:\n  ignoreDifferences: |\n    jsonPointers:\n    - /spec/replicas\n"},
          {"resource.customizations.ignoreDifferences.a_b_c", "jsonPointers: [/x]"},
          {"resource.customizations.ignoreDifferences.Pod", "[unclosed"},
      },
      &errors);
  EXPECT_EQ(got, Yaml(R"(
- {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
- {group: '', kind: Service, jsonPointers: [/spec/clusterIP]}
- {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration,
   jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle']}
- {group: '*', kind: '*', managedFieldsManagers: [kube-controller-manager]}
)")) << got.dump(1);
  EXPECT_EQ(errors.size(), 2u);
}

TEST(Jq, DeleteAndErrors) {
  json obj = {{"a", {{"b", 1}, {"c", 2}}}, {"l", {{{"name", "x"}}, {{"name", "y"}}}}};
  auto out = JqDelete(".a.b", obj);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["a"], json({{"c", 2}}));
  out = JqDelete(".l[] | select(.name | startswith(\"x\"))", obj);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["l"], json::array({{{"name", "y"}}}));
  out = JqDelete(".a[]?.nope", obj);  // a run-time error leaves the object alone
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, obj);
  EXPECT_TRUE(CheckJqExpression(".l[] | select(.n > 1e3 and (.name | test(\"^x\")))").ok());
  EXPECT_TRUE(CheckJqExpression(".metadata.annotations[\"a.b/c\"]").ok());
  EXPECT_TRUE(CheckJqExpression("{name: 1} | .name").ok());
  EXPECT_THAT(JqDelete(".a[", obj), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("jq")));
  EXPECT_THAT(JqDelete("def f: f; f", obj), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JqDelete(".x | \"\\(range(9))\"", obj), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UnifiedDiff, Hunks) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\n", "a\nb\nc\n"), "");
  EXPECT_EQ(UnifiedDiff("a\nb\nc\n", "a\nB\nc\n"), "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  EXPECT_EQ(UnifiedDiff("", "x\n"), "@@ -0,0 +1,1 @@\n+x\n");
  std::string before, after;
  for (int i = 0; i < 20; ++i) {
    before += absl::StrCat("l", i, "\n");
    after += absl::StrCat(i == 2 || i == 17 ? "X" : "l", i, "\n");
  }
  std::string d = UnifiedDiff(before, after);
  EXPECT_EQ(std::count(d.begin(), d.end(), '@'), 8) << d;  // two hunks
  EXPECT_THAT(d, HasSubstr("@@ -1,6 +1,6 @@\n l0\n l1\n-l2\n+X2\n l3\n l4\n l5\n"));
}

}  // namespace
}  // namespace argonaut::cd::engine
