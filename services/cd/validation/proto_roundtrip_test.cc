// The typed cd.v1 messages keep what Argo CD writes: an Application using every spec field,
// operation and status as the controller writes them (explicit zeros and falses included), and
// an AppProject using every field, decode through lib/manifest and encode back unchanged, also
// through the binary form the store keeps. Unknown or mistyped keys are refused with their path.

#include <string>
#include <vector>

#include "argonaut/cd/v1/cd.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::validation {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

json Yaml(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

template <typename T>
void ExpectRoundTrip(const json& doc) {
  T msg;
  ASSERT_OK(manifest::FromJson(doc, &msg));
  EXPECT_EQ(manifest::ToJson(msg), doc) << manifest::ToYaml(manifest::ToJson(msg));
  T again;
  ASSERT_TRUE(again.ParseFromString(msg.SerializeAsString()));
  EXPECT_EQ(manifest::ToJson(again), doc);
}

// Every field of ApplicationSpec, ApplicationSource (all four tool blocks appear, across
// source and sources), Operation and ApplicationStatus.
constexpr char kFullApplication[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  labels: {team: a}
  annotations: {argocd.argoproj.io/refresh: hard}
  finalizers: [resources-finalizer.argocd.argoproj.io]
  generation: 4
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
    name: main
    tagPrefix: v
    directory:
      recurse: false
      include: "{*.yml,*.yaml}"
      exclude: config.yaml
      disableExtensionFilter: false
      jsonnet:
        extVars: [{name: foo, value: bar}, {name: code, value: "1 + 1", code: true}]
        tlas: [{name: tla, value: x, code: false}]
        libs: [vendor]
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: false, selfHeal: false, allowEmpty: false, enabled: true}
    syncOptions: [Validate=false, CreateNamespace=true, PruneLast=true, ServerSideApply=true]
    managedNamespaceMetadata:
      labels: {any: label}
      annotations: {the: same}
    retry:
      limit: 0
      refresh: false
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    name: guestbook-ui
    namespace: guestbook
    jsonPointers: [/spec/replicas]
    jqPathExpressions: [".spec.template.spec.initContainers[] | select(.name == \"x\")"]
    managedFieldsManagers: [kube-controller-manager]
  info:
  - {name: Example, value: "https://example.com"}
  revisionHistoryLimit: 0
  sourceHydrator:
    drySource: {repoURL: "https://git/x", targetRevision: HEAD, path: dry, helm: {releaseName: r}}
    syncSource: {targetBranch: env/dev, path: hydrated, repoURL: "https://git/y"}
    hydrateTo: {targetBranch: env/dev-next}
operation:
  initiatedBy: {username: admin, automated: false}
  info: [{name: reason, value: demo}]
  retry: {limit: 5, backoff: {duration: "5", factor: 2, maxDuration: 3m}}
  sync:
    revision: 8f1c6a2
    revisions: [a, b]
    prune: true
    dryRun: false
    syncOptions: [Replace=true]
    syncStrategy: {hook: {force: false}}
    resources: [{group: apps, kind: Deployment, name: guestbook-ui, namespace: guestbook}]
    source: {repoURL: "https://git/x", path: p, targetRevision: v1}
    sources: [{repoURL: "https://git/x", path: p}]
    manifests: ["apiVersion: v1\nkind: ConfigMap\n"]
    autoHealAttemptsCount: 0
status:
  sourceType: Directory
  sourceTypes: [Directory, Helm]
  reconciledAt: "2026-12-07T10:00:00Z"
  observedAt: "2026-12-07T10:00:00Z"
  controllerNamespace: argocd
  resourceHealthSource: appTree
  summary: {externalURLs: ["http://x"], images: ["gcr.io/heptio-images/ks-guestbook-demo:0.2"], isAppOfApps: false}
  sync:
    status: Synced
    revision: 8f1c6a2
    revisions: [a]
    comparedTo:
      source: {repoURL: "https://git/x", path: p}
      sources: [{repoURL: "https://git/x", path: p}]
      destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
      ignoreDifferences: [{kind: Service, jsonPointers: [/spec/clusterIP]}]
  health: {status: Healthy, message: ok, lastTransitionTime: "2026-12-07T10:00:00Z"}
  conditions:
  - {type: SyncError, message: boom, lastTransitionTime: "2026-12-07T10:00:00Z"}
  resources:
  - {group: apps, version: v1, kind: Deployment, namespace: guestbook, name: guestbook-ui, status: Synced, health: {status: Healthy}, hook: false, requiresPruning: false, syncWave: 0, requiresDeletionConfirmation: false}
  - {version: v1, kind: Service, namespace: guestbook, name: guestbook-ui, status: OutOfSync, syncWave: -1}
  history:
  - id: 0
    revision: 8f1c6a2
    revisions: [a]
    deployedAt: "2026-12-07T10:00:00Z"
    deployStartedAt: "2026-12-07T09:59:59Z"
    source: {repoURL: "https://git/x", path: p}
    sources: [{repoURL: "https://git/x", path: p}]
    initiatedBy: {automated: true}
  operationState:
    phase: Succeeded
    message: successfully synced (all tasks run)
    startedAt: "2026-12-07T09:59:59Z"
    finishedAt: "2026-12-07T10:00:00Z"
    retryCount: 0
    operation:
      sync: {revision: 8f1c6a2, prune: false, syncStrategy: {apply: {force: true}}}
      initiatedBy: {username: admin}
    syncResult:
      revision: 8f1c6a2
      revisions: [a]
      source: {repoURL: "https://git/x", path: p}
      sources: [{repoURL: "https://git/x", path: p}]
      managedNamespaceMetadata: {labels: {a: b}}
      resources:
      - {group: batch, version: v1, kind: Job, namespace: guestbook, name: before, status: Synced, message: job created, hookType: PreSync, hookPhase: Succeeded, syncPhase: PreSync, images: [alpine]}
  sourceHydrator:
    lastComparedDryRevision: abc
    currentOperation: {startedAt: "2026-12-07T10:00:00Z", finishedAt: "2026-12-07T10:00:01Z", phase: Hydrated, message: ok, drySHA: abc, hydratedSHA: def, sourceHydrator: {hydrateTo: {targetBranch: x}}}
    lastSuccessfulOperation: {drySHA: abc, hydratedSHA: def, sourceHydrator: {syncSource: {targetBranch: y}}}
)yaml";

TEST(ProtoRoundTripTest, ApplicationWithEveryField) {
  const json doc = Yaml(kFullApplication);
  ExpectRoundTrip<v1::Application>(doc);
  EXPECT_OK(ValidateManifest(doc));
}

TEST(ProtoRoundTripTest, MultipleSourcesWithHelmKustomizeAndPlugin) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: multi, namespace: argocd}
spec:
  destination: {name: in-cluster, namespace: apps}
  sources:
  - repoURL: https://charts.example.com
    chart: guestbook
    targetRevision: 1.2.*
    helm:
      releaseName: gb
      valueFiles: [$values/env/prod.yaml, values.yaml]
      ignoreMissingValueFiles: true
      values: |
        replicas: 2
      valuesObject:
        replicas: 3
        image: {tag: v2, pullPolicy: null}
        list: [1, 2.5, "three", true]
      parameters: [{name: image.tag, value: v3, forceString: true}, {name: a, value: "0", forceString: false}]
      fileParameters: [{name: config, path: files/config.json}]
      passCredentials: false
      skipCrds: true
      skipTests: false
      skipSchemaValidation: true
      version: v3
      namespace: other
      kubeVersion: 1.30.0
      apiVersions: [networking.k8s.io/v1/Ingress]
  - repoURL: https://github.com/org/values.git
    targetRevision: main
    ref: values
  - repoURL: https://github.com/argoproj/argocd-example-apps.git
    path: kustomize-guestbook
    kustomize:
      namePrefix: p-
      nameSuffix: -s
      images: [gcr.io/heptio-images/ks-guestbook-demo:0.2]
      commonLabels: {env: prod}
      commonAnnotations: {team: a}
      commonAnnotationsEnvsubst: true
      forceCommonLabels: false
      forceCommonAnnotations: true
      labelWithoutSelector: true
      labelIncludeTemplates: false
      namespace: apps
      version: v5.4.3
      kubeVersion: "1.30"
      apiVersions: [apps/v1]
      components: [../components/x]
      ignoreMissingComponents: true
      replicas: [{name: guestbook-ui, count: 4}, {name: other, count: 2}]
      patches:
      - target: {group: apps, version: v1, kind: Deployment, name: guestbook-ui, namespace: apps, labelSelector: "a=b", annotationSelector: "c=d"}
        patch: |-
          - op: replace
            path: /spec/replicas
            value: 1
        options: {allowNameChange: true, allowKindChange: false}
      - path: patch.yaml
  - repoURL: https://github.com/org/cmp.git
    path: app
    plugin:
      name: kasane-v1.0
      env: [{name: FOO, value: bar}]
      parameters:
      - {name: s, string: ""}
      - {name: a, array: [x, y]}
      - {name: m, map: {k: v}}
)yaml");
  ExpectRoundTrip<v1::Application>(doc);
  EXPECT_OK(ValidateManifest(doc));
  v1::Application app;
  ASSERT_OK(manifest::FromJson(doc, &app));
  EXPECT_EQ(app.spec().sources(2).kustomize().replicas(0).count(), "4");
  EXPECT_EQ(app.spec().sources(3).plugin().parameters(2).map_value().at("k"), "v");
  EXPECT_EQ(app.spec().sources(2).kustomize().patches(0).target().kind(), "Deployment");
}

TEST(ProtoRoundTripTest, AppProjectWithEveryField) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: my-project, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
spec:
  description: Example Project
  sourceRepos: ["*", "!https://github.com/bad/*"]
  sourceNamespaces: [argocd-apps-*]
  destinations:
  - {namespace: guestbook, server: https://kubernetes.default.svc}
  - {namespace: "!kube-system", server: "*"}
  - {namespace: "*", name: in-cluster}
  clusterResourceWhitelist: [{group: "", kind: Namespace}, {group: rbac.authorization.k8s.io, kind: ClusterRole, name: "team-*"}]
  clusterResourceBlacklist: [{group: "*", kind: CustomResourceDefinition}]
  namespaceResourceWhitelist: [{group: apps, kind: Deployment}, {group: apps, kind: StatefulSet}]
  namespaceResourceBlacklist: [{group: "", kind: ResourceQuota}, {group: "", kind: LimitRange}]
  permitOnlyProjectScopedClusters: false
  orphanedResources:
    warn: false
    ignore: [{group: apps, kind: Deployment, name: keep-me}]
  roles:
  - name: read-only
    description: Read-only privileges to my-project
    policies:
    - p, proj:my-project:read-only, applications, get, my-project/*, allow
    groups: [my-oidc-group]
  - name: ci-role
    description: Sync privileges for guestbook-dev
    policies:
    - p, proj:my-project:ci-role, applications, sync, my-project/guestbook-dev, allow
    jwtTokens:
    - {iat: 1535390316, exp: 0, id: token-1}
  syncWindows:
  - {kind: allow, schedule: "10 1 * * *", duration: 1h, applications: ["*-prod"], manualSync: true, timeZone: Europe/Amsterdam, description: nightly}
  - {kind: deny, schedule: "0 22 * * *", duration: 1h, namespaces: [default], andOperator: false, syncOverrun: true}
  - {kind: allow, schedule: "0 23 * * *", duration: 1h, clusters: [in-cluster, cluster1]}
  signatureKeys: [{keyID: ABCDEF1234567890}]
  destinationServiceAccounts:
  - {server: https://kubernetes.default.svc, namespace: guestbook, defaultServiceAccount: guestbook-deployer}
  sourceIntegrity:
    git:
      policies:
      - repos: [{url: "https://github.com/org/*"}]
        gpg: {mode: head, keys: [ABCDEF1234567890]}
status:
  jwtTokensByRole:
    ci-role:
      items: [{iat: 1535390316, id: token-1}]
)yaml");
  ExpectRoundTrip<v1::AppProject>(doc);
  EXPECT_OK(ValidateManifest(doc));
}

TEST(ProtoRoundTripTest, DefaultProjectRoundTripsAndValidates) {
  ExpectRoundTrip<v1::AppProject>(DefaultProject("argocd"));
  EXPECT_OK(ValidateManifest(DefaultProject("argocd")));
}

TEST(ProtoRoundTripTest, UnknownAndMistypedFieldsNameTheirPath) {
  v1::Application app;
  EXPECT_THAT(manifest::FromJson(Yaml(R"yaml(
kind: Application
spec: {source: {repoUrl: x}}
)yaml"),
                                 &app),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.source.repoUrl")));
  EXPECT_THAT(
      manifest::FromJson(Yaml(R"yaml(
kind: Application
spec: {syncPolicy: {automated: {prune: "yes"}}}
)yaml"),
                         &app),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.syncPolicy.automated.prune")));
  EXPECT_THAT(manifest::FromJson(Yaml(R"yaml(
kind: Application
spec: {revisionHistoryLimit: ten}
)yaml"),
                                 &app),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.revisionHistoryLimit")));
  // The swagger document's protobuf names of the inline Go structs are not manifest keys.
  EXPECT_THAT(manifest::FromJson(Yaml(R"yaml(
kind: Application
operation: {sync: {syncStrategy: {hook: {syncStrategyApply: {force: true}}}}}
)yaml"),
                                 &app),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("syncStrategyApply")));
}

}  // namespace
}  // namespace argonaut::cd::validation
