// The typed rollout.v1 messages keep what Argo writes: manifests using every strategy field,
// step kind, traffic router and metric provider, and statuses as the controllers write them
// (explicit zeros included), decode through lib/manifest and encode back unchanged.

#include <string>
#include <vector>

#include "argonaut/rollout/v1/rollout.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {
namespace {

using nlohmann::json;

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
  // And through the binary form the store keeps.
  T again;
  ASSERT_TRUE(again.ParseFromString(msg.SerializeAsString()));
  EXPECT_EQ(manifest::ToJson(again), doc);
}

TEST(ProtoRoundTripTest, CanaryWithEveryRouterAndStepKind) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r, namespace: default, generation: 3}
spec:
  replicas: 0
  selector:
    matchLabels: {app: r}
    matchExpressions: [{key: tier, operator: In, values: [web]}]
  template:
    metadata: {labels: {app: r, tier: web}, annotations: {a: b}}
    spec: {containers: [{name: r, image: nginx, ports: [{containerPort: 80}]}]}
  minReadySeconds: 0
  revisionHistoryLimit: 0
  paused: false
  progressDeadlineSeconds: 60
  progressDeadlineAbort: true
  restartAt: "2026-01-01T00:00:00Z"
  rollbackWindow: {revisions: 2}
  analysis: {successfulRunHistoryLimit: 1, unsuccessfulRunHistoryLimit: 0}
  strategy:
    canary:
      canaryService: c
      stableService: s
      maxSurge: "25%"
      maxUnavailable: 0
      scaleDownDelaySeconds: 0
      scaleDownDelayRevisionLimit: 1
      abortScaleDownDelaySeconds: 0
      dynamicStableScale: false
      minPodsPerReplicaSet: 2
      replicaProgressThreshold: {type: Percent, value: 90}
      canaryMetadata: {labels: {role: canary}}
      stableMetadata: {annotations: {role: stable}}
      antiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {}}
      analysis:
        templates: [{templateName: bg, clusterScope: true}]
        args:
        - {name: hash, valueFrom: {podTemplateHashValue: Latest}}
        - {name: app, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        startingStep: 0
        dryRun: [{metricName: ".*"}]
        measurementRetention: [{metricName: x, limit: 0}]
        analysisRunMetadata: {labels: {l: v}, annotations: {a: v}}
      trafficRouting:
        maxTrafficWeight: 1000
        managedRoutes: [{name: header}, {name: mirror}]
        istio:
          virtualService: {name: vs, routes: [primary], tlsRoutes: [{port: 443, sniHosts: [a.b]}], tcpRoutes: [{port: 0}]}
          destinationRule: {name: dr, canarySubsetName: canary, stableSubsetName: stable}
        nginx: {stableIngress: ing, annotationPrefix: x, additionalIngressAnnotations: {k: v}, canaryIngressAnnotations: {k: v}}
        alb: {ingress: ing, servicePort: 80, rootService: root, stickinessConfig: {enabled: true, durationSeconds: 3600}}
        smi: {rootService: root, trafficSplitName: split}
        ambassador: {mappings: [m]}
        appMesh: {virtualService: {name: vs, routes: [r]}, virtualNodeGroup: {canaryVirtualNodeRef: {name: c}, stableVirtualNodeRef: {name: s}}}
        traefik: {weightedTraefikServiceName: t}
        apisix: {route: {name: r, rules: [x]}}
        plugins: {argoproj-labs/gatewayAPI: {httpRoute: route, namespace: default, weights: [1, 2.5, null]}}
      steps:
      - setWeight: 0
      - pause: {}
      - pause: {duration: 30}
      - pause: {duration: 1m}
      - setCanaryScale: {weight: 0, replicas: 0, matchTrafficWeight: true}
      - setHeaderRoute: {name: header, match: [{headerName: x, headerValue: {exact: "1"}}]}
      - setMirrorRoute: {name: mirror, percentage: 0, match: [{method: {exact: GET}, path: {prefix: /}, headers: {h: {regex: ".*"}}}]}
      - plugin: {name: p, config: {any: [json, 1]}}
      - analysis: {templates: [{templateName: t}], args: [{name: a, value: x}]}
      - experiment:
          duration: 5m
          scaleDownDelaySeconds: 0
          templates: [{name: e, specRef: canary, replicas: 0, weight: 0, metadata: {labels: {x: y}}, selector: {matchLabels: {x: y}}, service: {name: svc}}]
          analyses: [{name: a, templateName: t, clusterScope: false, requiredForCompletion: true, args: [{name: x, value: y}]}]
          dryRun: [{metricName: a}]
          analysisRunMetadata: {labels: {a: b}}
status:
  abort: false
  abortedAt: "2026-01-01T00:00:00Z"
  pauseConditions: [{reason: CanaryPauseStep, startTime: "2026-01-01T00:00:00Z"}]
  controllerPause: true
  currentPodHash: 6c9d5d7c4b
  currentStepHash: 5b8c6fd7d
  currentStepIndex: 0
  replicas: 0
  updatedReplicas: 0
  readyReplicas: 0
  availableReplicas: 0
  HPAReplicas: 0
  collisionCount: 0
  observedGeneration: "3"
  selector: app=r
  stableRS: 7f9c8d6b5
  restartedAt: "2026-01-01T00:00:00Z"
  promoteFull: false
  phase: Paused
  message: CanaryPauseStep
  workloadObservedGeneration: "1"
  conditions:
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable, message: done, lastUpdateTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z"}
  canary:
    currentStepAnalysisRunStatus: {name: r-1, status: Running}
    currentBackgroundAnalysisRunStatus: {name: r-bg, status: Successful}
    currentExperiment: r-exp
    stablePingPong: ping
    weights:
      canary: {weight: 0, serviceName: c, podTemplateHash: 6c9d5d7c4b}
      stable: {weight: 100, serviceName: s, podTemplateHash: 7f9c8d6b5}
      additional: [{weight: 0, serviceName: e, podTemplateHash: abc}]
      verified: false
    stepPluginStatuses: [{index: 0, name: p, operation: Run, phase: Running, executions: 1, disabled: false, status: {k: v}}]
  blueGreen: {scaleUpPreviewCheckPoint: false}
  alb: {loadBalancer: {name: lb, arn: "arn:x", fullName: f}, ingress: ing}
  albs: [{ingress: ing}]
  duration: {rolloutStartedAt: "2026-01-01T00:00:00Z", totalManualPauseDurationSeconds: 0, completionStatus: Promoted}
)yaml");
  ExpectRoundTrip<v1::Rollout>(doc);
}

TEST(ProtoRoundTripTest, BlueGreenWithStatus) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: bg}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web, scaleDown: progressively}
  strategy:
    blueGreen:
      activeService: a
      previewService: p
      previewReplicaCount: 0
      autoPromotionEnabled: false
      autoPromotionSeconds: 0
      maxUnavailable: "10%"
      scaleDownDelaySeconds: 30
      scaleDownDelayRevisionLimit: 0
      abortScaleDownDelaySeconds: 0
      prePromotionAnalysis: {templates: [{templateName: smoke}]}
      postPromotionAnalysis: {templates: [{templateName: soak}]}
      antiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: {weight: 1}}
      previewMetadata: {labels: {role: preview}}
      activeMetadata: {labels: {role: active}}
status:
  blueGreen:
    activeSelector: aaa
    previewSelector: bbb
    scaleUpPreviewCheckPoint: true
    prePromotionAnalysisRunStatus: {name: pre, status: Successful}
    postPromotionAnalysisRunStatus: {name: post, status: Running}
)yaml");
  ExpectRoundTrip<v1::Rollout>(doc);
}

TEST(ProtoRoundTripTest, AnalysisTemplateWithEveryProvider) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  args:
  - {name: a}
  - {name: b, value: ""}
  - {name: c, valueFrom: {secretKeyRef: {name: s, key: k}}}
  - {name: d, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
  dryRun: [{metricName: wavefront}]
  measurementRetention: [{metricName: ".*", limit: 20}]
  templates: [{templateName: base, clusterScope: true}]
  metrics:
  - name: prometheus
    interval: 1m
    initialDelay: 30s
    count: 0
    failureLimit: -1
    inconclusiveLimit: 0
    consecutiveErrorLimit: 0
    consecutiveSuccessLimit: 3
    successCondition: result[0] >= 0.95
    failureCondition: result[0] < 0.5
    provider:
      prometheus:
        address: http://p:9090
        query: sum(x)
        timeout: 30
        insecure: false
        headers: [{key: X-Scope-OrgID, value: t}]
        rangeQuery: {start: 'now() - duration("1h")', end: 'now()', step: 1m}
        authentication:
          sigv4: {region: us-east-1, profile: p, roleArn: "arn:r"}
          oauth2: {tokenUrl: http://t, clientId: c, clientSecret: s, scopes: [a]}
          basicAuth: {username: u, password: p}
  - name: web
    count: "{{args.count}}"
    failureLimit: "{{args.limit}}"
    provider:
      web: {method: POST, url: "http://x/{{args.a}}", headers: [{key: k, value: v}], timeoutSeconds: 0, jsonPath: "{$.data}", insecure: true, jsonBody: {q: [1, true, "s"]}}
  - name: body
    provider: {web: {method: PUT, url: http://x, body: "{}"}}
  - name: job
    provider:
      job:
        metadata: {labels: {a: b}, annotations: {c: d}}
        spec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox, command: [sh, -c, "exit 0"]}]}}}
  - name: kayenta
    provider:
      kayenta:
        address: http://k
        application: app
        canaryConfigName: cfg
        metricsAccountName: m
        configurationAccountName: c
        storageAccountName: s
        threshold: {pass: 90, marginal: 0}
        lookback: true
        scopes: [{name: default, controlScope: {scope: app, region: us, step: 60, start: a, end: b}, experimentScope: {scope: app, step: 0}}]
  - name: datadog
    provider: {datadog: {interval: 5m, query: avg(x), queries: {a: q}, formula: a, apiVersion: v2, aggregator: avg, secretRef: {name: dd, namespaced: true}}}
  - name: wavefront
    provider: {wavefront: {address: w, query: q}}
  - name: newrelic
    provider: {newRelic: {profile: p, query: q, timeout: 10}}
  - name: cloudwatch
    provider:
      cloudWatch:
        interval: 5m
        metricDataQueries:
        - {id: a, expression: "SUM(b)", label: l, returnData: false, period: 300}
        - id: b
          metricStat: {period: 300, stat: Sum, unit: Count, metric: {namespace: AWS/ELB, metricName: RequestCount, dimensions: [{name: n, value: v}]}}
  - name: graphite
    provider: {graphite: {address: g, query: q}}
  - name: influxdb
    provider: {influxdb: {profile: p, query: q}}
  - name: skywalking
    provider: {skywalking: {address: s, query: q, interval: 1m}}
  - name: plugin
    provider: {plugin: {argoproj-labs/sample-prometheus: {address: http://p, query: q}}}
)yaml");
  ExpectRoundTrip<v1::AnalysisTemplate>(doc);
  EXPECT_OK(ValidateManifest(doc));
}

TEST(ProtoRoundTripTest, AnalysisRunStatusAsTheControllerWritesIt) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: run, labels: {rollout-type: Step, step-index: "2"}}
spec:
  terminate: false
  ttlStrategy: {secondsAfterCompletion: 0, secondsAfterFailure: 10, secondsAfterSuccess: 5}
  args: [{name: svc, value: web}]
  metrics:
  - name: m
    provider: {web: {url: http://x}}
status:
  phase: Failed
  message: "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)"
  startedAt: "2026-01-01T00:00:00Z"
  completedAt: "2026-01-01T00:01:00Z"
  runSummary: {count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0}
  dryRunSummary: {count: 0}
  metricResults:
  - name: m
    phase: Failed
    count: 2
    successful: 0
    failed: 2
    inconclusive: 0
    error: 0
    consecutiveError: 0
    consecutiveSuccess: 0
    dryRun: false
    metadata: {k: v}
    measurements:
    - {phase: Failed, value: "[0.4]", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:01Z"}
    - {phase: Error, message: "connection refused", startedAt: "2026-01-01T00:00:30Z", finishedAt: "2026-01-01T00:00:31Z", resumeAt: "2026-01-01T00:00:41Z", metadata: {job-name: j}}
)yaml");
  ExpectRoundTrip<v1::AnalysisRun>(doc);
  EXPECT_OK(ValidateManifest(doc));
}

TEST(ProtoRoundTripTest, ExperimentWithStatus) {
  const json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: exp}
spec:
  duration: 5m
  progressDeadlineSeconds: 0
  terminate: false
  scaleDownDelaySeconds: 30
  dryRun: [{metricName: a}]
  measurementRetention: [{metricName: a, limit: 5}]
  analysisRunMetadata: {labels: {a: b}}
  templates:
  - name: purple
    replicas: 0
    minReadySeconds: 0
    selector: {matchLabels: {app: e}}
    template: {metadata: {labels: {app: e}}, spec: {containers: [{name: c, image: i}]}}
    service: {name: s}
  analyses:
  - {name: a, templateName: t, clusterScope: true, requiredForCompletion: false, args: [{name: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]}
status:
  phase: Running
  availableAt: "2026-01-01T00:00:00Z"
  templateStatuses:
  - {name: purple, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, collisionCount: 0, status: Running, lastTransitionTime: "2026-01-01T00:00:00Z", serviceName: s, podTemplateHash: abc}
  conditions:
  - {type: Progressing, status: "True", reason: ReplicaSetUpdated, message: m, lastUpdateTime: "2026-01-01T00:00:00Z", lastTransitionTime: "2026-01-01T00:00:00Z"}
  analysisRuns: [{name: a, analysisRun: exp-a, phase: Running}]
)yaml");
  ExpectRoundTrip<v1::Experiment>(doc);
  EXPECT_OK(ValidateManifest(doc));
}

TEST(ProtoRoundTripTest, UnknownFieldsAreRefusedByPath) {
  json doc = Yaml(R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  strategy:
    canary:
      trafficRouting:
        istio: {virtualService: {name: vs, rotes: [primary]}}
)yaml");
  v1::Rollout r;
  absl::Status s = manifest::FromJson(doc, &r);
  EXPECT_EQ(s.message(),
            "spec.strategy.canary.trafficRouting.istio.virtualService.rotes: unknown field");
  doc = Yaml("kind: AnalysisRun\nstatus: {metricResults: [{measurements: [{valu: 1}]}]}\n");
  v1::AnalysisRun run;
  s = manifest::FromJson(doc, &run);
  EXPECT_EQ(s.message(), "status.metricResults[0].measurements[0].valu: unknown field");
}

}  // namespace
}  // namespace argonaut::rollout::validation
