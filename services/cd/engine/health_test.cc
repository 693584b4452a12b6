#include "services/cd/engine/health.h"

#include <gtest/gtest.h>

#include "lib/manifest/yaml.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

json Yaml(const char* text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok() && docs->size() == 1) << text;
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

struct Case {
  const char* name;
  const char* yaml;
  const char* status;             // nullptr: no health
  const char* message = nullptr;  // checked when set
};

void RunCases(const std::vector<Case>& cases, const HealthScripts& scripts = {}) {
  for (const Case& c : cases) {
    auto got = AssessHealth(Yaml(c.yaml), scripts);
    if (c.status == nullptr) {
      EXPECT_FALSE(got.has_value()) << c.name;
      continue;
    }
    ASSERT_TRUE(got.has_value()) << c.name;
    EXPECT_EQ(got->status, c.status) << c.name << ": " << got->message;
    if (c.message != nullptr) {
      EXPECT_EQ(got->message, c.message) << c.name;
    }
  }
}

TEST(Health, Deployment) {
  RunCases({
      {"paused", "{apiVersion: apps/v1, kind: Deployment, spec: {paused: true}}", "Suspended"},
      {"generation not observed",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 2}, status: "
       "{observedGeneration: 1}}",
       "Progressing"},
      {"deadline exceeded",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 1}, status: "
       "{observedGeneration: 1, conditions: [{type: Progressing, reason: "
       "ProgressDeadlineExceeded}]}}",
       "Degraded", "Deployment \"web\" exceeded its progress deadline"},
      {"updating",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 1}, spec: {replicas: 3}, "
       "status: {observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 3}}",
       "Progressing",
       "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
      {"old pods terminating",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 1}, spec: {replicas: 2}, "
       "status: {observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2}}",
       "Progressing"},
      {"not yet available",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 1}, spec: {replicas: 2}, "
       "status: {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1}}",
       "Progressing"},
      {"healthy",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 1}, spec: {replicas: 2}, "
       "status: {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2}}",
       "Healthy"},
      {"scaled to zero",
       "{apiVersion: apps/v1, kind: Deployment, metadata: {generation: 1}, spec: {replicas: 0}, "
       "status: {observedGeneration: 1}}",
       "Healthy"},
  });
}

TEST(Health, ReplicaSetStatefulSetDaemonSet) {
  RunCases({
      {"rs failure",
       "{apiVersion: apps/v1, kind: ReplicaSet, status: {conditions: [{type: ReplicaFailure, "
       "status: 'True', message: quota}]}}",
       "Degraded", "quota"},
      {"rs progressing",
       "{apiVersion: apps/v1, kind: ReplicaSet, spec: {replicas: 2}, status: {availableReplicas: "
       "1}}",
       "Progressing"},
      {"rs not observed",
       "{apiVersion: apps/v1, kind: ReplicaSet, metadata: {generation: 3}, status: "
       "{observedGeneration: 2}}",
       "Progressing"},
      {"rs healthy",
       "{apiVersion: apps/v1, kind: ReplicaSet, spec: {replicas: 2}, status: {availableReplicas: "
       "2}}",
       "Healthy"},
      {"sts never observed", "{apiVersion: apps/v1, kind: StatefulSet, status: {}}", "Progressing"},
      {"sts not ready",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 3}, status: "
       "{observedGeneration: 1, readyReplicas: 1}}",
       "Progressing", "Waiting for 2 pods to be ready..."},
      {"sts partition pending",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 3, updateStrategy: {type: "
       "RollingUpdate, rollingUpdate: {partition: 1}}}, status: {observedGeneration: 1, "
       "readyReplicas: 3, updatedReplicas: 1}}",
       "Progressing"},
      {"sts partition done",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 3, updateStrategy: {type: "
       "RollingUpdate, rollingUpdate: {partition: 1}}}, status: {observedGeneration: 1, "
       "readyReplicas: 3, updatedReplicas: 2}}",
       "Healthy"},
      {"sts on delete",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 1, updateStrategy: {type: "
       "OnDelete}}, status: {observedGeneration: 1, readyReplicas: 1, updateRevision: b, "
       "currentRevision: a}}",
       "Healthy"},
      {"sts revision rolling",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 1}, status: "
       "{observedGeneration: 1, readyReplicas: 1, updateRevision: b, currentRevision: a}}",
       "Progressing"},
      {"sts healthy",
       "{apiVersion: apps/v1, kind: StatefulSet, spec: {replicas: 1}, status: "
       "{observedGeneration: 1, readyReplicas: 1, currentReplicas: 1, updateRevision: a, "
       "currentRevision: a}}",
       "Healthy", "statefulset rolling update complete 1 pods at revision a..."},
      {"ds updating",
       "{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: d}, status: "
       "{desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2}}",
       "Progressing"},
      {"ds unavailable",
       "{apiVersion: apps/v1, kind: DaemonSet, status: {desiredNumberScheduled: 2, "
       "updatedNumberScheduled: 2, numberAvailable: 1}}",
       "Progressing"},
      {"ds on delete",
       "{apiVersion: apps/v1, kind: DaemonSet, spec: {updateStrategy: {type: OnDelete}}, status: "
       "{desiredNumberScheduled: 2}}",
       "Healthy"},
      {"ds healthy",
       "{apiVersion: apps/v1, kind: DaemonSet, status: {desiredNumberScheduled: 2, "
       "updatedNumberScheduled: 2, numberAvailable: 2}}",
       "Healthy"},
  });
}

TEST(Health, Pod) {
  RunCases({
      {"image pull backoff",
       "{apiVersion: v1, kind: Pod, spec: {restartPolicy: Always}, status: {phase: Pending, "
       "containerStatuses: [{name: c, state: {waiting: {reason: ImagePullBackOff, message: "
       "'Back-off pulling image \"x:bad\"'}}}]}}",
       "Degraded", "Back-off pulling image \"x:bad\""},
      {"err image pull, default policy",
       "{apiVersion: v1, kind: Pod, status: {phase: Pending, containerStatuses: [{state: "
       "{waiting: {reason: ErrImagePull}}}]}}",
       "Degraded", "ErrImagePull"},
      {"never policy ignores waiting errors",
       "{apiVersion: v1, kind: Pod, spec: {restartPolicy: Never}, status: {phase: Pending, "
       "containerStatuses: [{state: {waiting: {reason: CrashLoopBackOff}}}]}}",
       "Progressing"},
      {"pending", "{apiVersion: v1, kind: Pod, status: {phase: Pending}}", "Progressing"},
      {"succeeded", "{apiVersion: v1, kind: Pod, status: {phase: Succeeded}}", "Healthy"},
      {"failed with message",
       "{apiVersion: v1, kind: Pod, status: {phase: Failed, message: evicted}}", "Degraded",
       "evicted"},
      {"failed exit code",
       "{apiVersion: v1, kind: Pod, spec: {restartPolicy: Never}, status: {phase: Failed, "
       "containerStatuses: [{name: main, state: {terminated: {exitCode: 3}}}]}}",
       "Degraded", "container \"main\" failed with exit code 3"},
      {"failed oom",
       "{apiVersion: v1, kind: Pod, spec: {restartPolicy: Never}, status: {phase: Failed, "
       "initContainerStatuses: [{name: init, state: {terminated: {exitCode: 137, reason: "
       "OOMKilled}}}]}}",
       "Degraded", "OOMKilled"},
      {"running ready",
       "{apiVersion: v1, kind: Pod, status: {phase: Running, conditions: [{type: Ready, status: "
       "'True'}]}}",
       "Healthy"},
      {"running restarted, not ready",
       "{apiVersion: v1, kind: Pod, status: {phase: Running, containerStatuses: [{lastState: "
       "{terminated: {exitCode: 1}}}]}}",
       "Degraded"},
      {"running not ready", "{apiVersion: v1, kind: Pod, status: {phase: Running}}", "Progressing"},
      {"running to completion",
       "{apiVersion: v1, kind: Pod, spec: {restartPolicy: OnFailure}, status: {phase: Running}}",
       "Progressing"},
      {"no phase", "{apiVersion: v1, kind: Pod}", "Unknown"},
  });
}

TEST(Health, JobServiceIngressPvcHpaApiService) {
  RunCases({
      {"job running", "{apiVersion: batch/v1, kind: Job, status: {active: 1}}", "Progressing"},
      {"job complete",
       "{apiVersion: batch/v1, kind: Job, status: {conditions: [{type: Complete, status: "
       "'True'}]}}",
       "Healthy"},
      {"job failed",
       "{apiVersion: batch/v1, kind: Job, status: {conditions: [{type: Failed, status: 'True', "
       "message: BackoffLimitExceeded}]}}",
       "Degraded", "BackoffLimitExceeded"},
      {"job suspended",
       "{apiVersion: batch/v1, kind: Job, status: {conditions: [{type: Suspended, status: "
       "'True'}]}}",
       "Suspended"},
      {"service", "{apiVersion: v1, kind: Service, spec: {type: ClusterIP}}", "Healthy"},
      {"lb pending", "{apiVersion: v1, kind: Service, spec: {type: LoadBalancer}}", "Progressing"},
      {"lb ready",
       "{apiVersion: v1, kind: Service, spec: {type: LoadBalancer}, status: {loadBalancer: "
       "{ingress: [{ip: 127.0.0.1}]}}}",
       "Healthy"},
      {"ingress pending", "{apiVersion: networking.k8s.io/v1, kind: Ingress}", "Progressing"},
      {"ingress ready",
       "{apiVersion: networking.k8s.io/v1, kind: Ingress, status: {loadBalancer: {ingress: "
       "[{ip: 1.2.3.4}]}}}",
       "Healthy"},
      {"pvc bound", "{apiVersion: v1, kind: PersistentVolumeClaim, status: {phase: Bound}}",
       "Healthy"},
      {"pvc pending", "{apiVersion: v1, kind: PersistentVolumeClaim, status: {phase: Pending}}",
       "Progressing"},
      {"pvc lost", "{apiVersion: v1, kind: PersistentVolumeClaim, status: {phase: Lost}}",
       "Degraded"},
      {"pvc none", "{apiVersion: v1, kind: PersistentVolumeClaim}", "Unknown"},
      {"hpa v2 healthy",
       "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, status: {conditions: [{type: "
       "AbleToScale, status: 'True', message: ok}]}}",
       "Healthy", "ok"},
      {"hpa v2 degraded",
       "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, status: {conditions: [{type: "
       "ScalingActive, status: 'False', reason: FailedGetResourceMetric, message: no metrics}]}}",
       "Degraded", "no metrics"},
      {"hpa v1 annotation",
       "{apiVersion: autoscaling/v1, kind: HorizontalPodAutoscaler, metadata: {annotations: "
       "{autoscaling.alpha.kubernetes.io/conditions: '[{\"type\":\"AbleToScale\",\"status\":"
       "\"False\",\"reason\":\"FailedGetScale\",\"message\":\"no scale\"}]'}}}",
       "Degraded", "no scale"},
      {"hpa waiting", "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler}", "Progressing",
       "Waiting to Autoscale"},
      {"apiservice available",
       "{apiVersion: apiregistration.k8s.io/v1, kind: APIService, status: {conditions: [{type: "
       "Available, status: 'True', reason: Passed, message: all checks passed}]}}",
       "Healthy", "Passed: all checks passed"},
      {"apiservice waiting", "{apiVersion: apiregistration.k8s.io/v1, kind: APIService}",
       "Progressing"},
  });
}

TEST(Health, ArgoKinds) {
  RunCases({
      {"workflow running", "{apiVersion: argoproj.io/v1alpha1, kind: Workflow}", "Progressing"},
      {"workflow ok",
       "{apiVersion: argoproj.io/v1alpha1, kind: Workflow, status: {phase: Succeeded}}", "Healthy"},
      {"workflow failed",
       "{apiVersion: argoproj.io/v1alpha1, kind: Workflow, status: {phase: Failed, message: "
       "boom}}",
       "Degraded", "boom"},
      {"rollout no status", "{apiVersion: argoproj.io/v1alpha1, kind: Rollout}", "Progressing"},
      {"rollout generation not observed",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {generation: 3}, status: "
       "{observedGeneration: '2', phase: Healthy}}",
       "Progressing", "Waiting for rollout spec update to be observed"},
      {"rollout paused",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {generation: 2}, status: "
       "{observedGeneration: '2', phase: Paused, message: CanaryPauseStep}}",
       "Suspended", "CanaryPauseStep"},
      {"rollout degraded",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {generation: 1}, status: "
       "{observedGeneration: '1', phase: Degraded, message: 'RolloutAborted: metric failed'}}",
       "Degraded", "RolloutAborted: metric failed"},
      {"rollout healthy",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {generation: 1}, status: "
       "{observedGeneration: '1', phase: Healthy}}",
       "Healthy"},
      {"rollout invalid spec beats phase",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, status: {phase: Progressing, "
       "conditions: [{type: InvalidSpec, status: 'True', message: bad}]}}",
       "Degraded", "bad"},
      {"rollout progress deadline",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, status: {conditions: [{type: "
       "Progressing, status: 'False', reason: ProgressDeadlineExceeded, message: slow}]}}",
       "Degraded", "slow"},
      {"rollout aborted",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, status: {conditions: [{type: "
       "Progressing, status: 'False', reason: RolloutAborted, message: stop}]}}",
       "Degraded", "stop"},
      {"rollout legacy hash generation counts as observed",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {generation: 5}, status: "
       "{observedGeneration: 7d66d4485f, phase: Healthy}}",
       "Healthy"},
      {"rollout without phase, paused",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, spec: {paused: true}, status: {}}",
       "Suspended", "Rollout is paused"},
      {"rollout without phase, not reconciled",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, status: {replicas: 1}}", "Progressing",
       "Waiting for rollout to finish: status has not been reconciled."},
      {"rollout without phase, old replicas",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, spec: {replicas: 2, strategy: {canary: "
       "{}}}, status: {currentPodHash: a, stableRS: a, replicas: 3, updatedReplicas: 2, "
       "availableReplicas: 2}}",
       "Progressing", "Waiting for roll out to finish: old replicas are pending termination"},
      {"rollout without phase, canary steps left",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, spec: {replicas: 1, strategy: {canary: "
       "{}}}, status: {currentPodHash: b, stableRS: a, replicas: 1, updatedReplicas: 1, "
       "availableReplicas: 1}}",
       "Progressing", "Waiting for rollout to finish steps"},
      {"rollout without phase, blue-green cutover pending",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, spec: {replicas: 1, strategy: "
       "{blueGreen: {}}}, status: {currentPodHash: b, replicas: 1, updatedReplicas: 1, "
       "availableReplicas: 1, blueGreen: {activeSelector: a}}}",
       "Progressing", "active service cutover pending"},
      {"rollout without phase, healthy",
       "{apiVersion: argoproj.io/v1alpha1, kind: Rollout, spec: {replicas: 1, strategy: "
       "{blueGreen: {}}}, status: {currentPodHash: b, stableRS: b, replicas: 1, updatedReplicas: "
       "1, availableReplicas: 1, blueGreen: {activeSelector: b}}}",
       "Healthy"},
      {"analysisrun running",
       "{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, status: {phase: Running}}",
       "Progressing"},
      {"analysisrun ok",
       "{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, status: {phase: Successful}}",
       "Healthy"},
      {"analysisrun failed",
       "{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, status: {phase: Failed, message: "
       "'metric \"x\" assessed Failed'}}",
       "Degraded", "metric \"x\" assessed Failed"},
      {"analysisrun inconclusive",
       "{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, status: {phase: Inconclusive}}",
       "Unknown"},
      {"analysisrun new", "{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun}", "Progressing"},
      {"child app",
       "{apiVersion: argoproj.io/v1alpha1, kind: Application, status: {health: {status: "
       "Degraded, message: pods crash}}}",
       "Degraded", "pods crash"},
      {"child app no status", "{apiVersion: argoproj.io/v1alpha1, kind: Application}",
       "Progressing"},
      {"no rule: configmap", "{apiVersion: v1, kind: ConfigMap}", nullptr},
      {"no rule: crd", "{apiVersion: example.com/v1, kind: Widget}", nullptr},
      {"pending deletion wins",
       "{apiVersion: v1, kind: ConfigMap, metadata: {deletionTimestamp: "
       "'2026-01-01T00:00:00Z'}}",
       "Progressing", "Pending deletion"},
  });
}

// A script in the shape Argo CD's documentation shows, unchanged.
constexpr char kCertScript[] = R"(hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Ready" and condition.status == "False" then
        hs.status = "Degraded"
        hs.message = condition.message
        return hs
      end
      if condition.type == "Ready" and condition.status == "True" then
        hs.status = "Healthy"
        hs.message = condition.message
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
)";

TEST(Health, CustomLua) {
  json cm = {
      {"resource.customizations.health.cert-manager.io_Certificate", kCertScript},
      {"resource.customizations.health.ConfigMap",
       "return {status = obj.data.state, message = 'from data'}"},
      {"resource.customizations",
       "apps/Deployment:\n  health.lua: |\n    return {status = 'Suspended'}\n"
       "'*.example.com/*':\n  health.lua: return {status = 'Healthy', message = 'wild'}\n"},
      {"resource.customizations.health.bad_key_x", "return {}"},
      {"unrelated", 5},
  };
  HealthScripts scripts = HealthScripts::FromConfigMap(cm);
  EXPECT_EQ(scripts.errors().size(), 1u);
  ASSERT_NE(scripts.Find("cert-manager.io", "Certificate"), nullptr);
  EXPECT_EQ(scripts.Find("", "Certificate"), nullptr);
  RunCases(
      {
          {"cert ready",
           "{apiVersion: cert-manager.io/v1, kind: Certificate, status: {conditions: [{type: "
           "Ready, status: 'True', message: issued}]}}",
           "Healthy", "issued"},
          {"cert failing",
           "{apiVersion: cert-manager.io/v1, kind: Certificate, status: {conditions: [{type: "
           "Ready, status: 'False', message: denied}]}}",
           "Degraded", "denied"},
          {"cert waiting", "{apiVersion: cert-manager.io/v1, kind: Certificate}", "Progressing",
           "Waiting for certificate"},
          {"core kind key", "{apiVersion: v1, kind: ConfigMap, data: {state: Degraded}}",
           "Degraded", "from data"},
          {"legacy key overrides built-in", "{apiVersion: apps/v1, kind: Deployment}", "Suspended"},
          {"wildcard", "{apiVersion: a.example.com/v1, kind: Thing}", "Healthy", "wild"},
          {"script error", "{apiVersion: v1, kind: ConfigMap}", "Unknown"},
          {"invalid status", "{apiVersion: v1, kind: ConfigMap, data: {state: Great}}", "Unknown",
           "health script returned an invalid status \"Great\""},
      },
      scripts);
}

TEST(Health, Glob) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*.crossplane.io", "aws.crossplane.io"));
  EXPECT_FALSE(GlobMatch("*.crossplane.io", "crossplane.io"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
}

TEST(Health, Rank) {
  const char* order[] = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"};
  for (int i = 0; i + 1 < 6; ++i) EXPECT_LT(HealthRank(order[i]), HealthRank(order[i + 1]));
  EXPECT_EQ(HealthRank("bogus"), HealthRank("Unknown"));
}

}  // namespace
}  // namespace argonaut::cd::engine
