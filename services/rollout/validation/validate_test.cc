#include "services/rollout/validation/validate.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::validation {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Yaml(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

const char kCanary[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r, namespace: default}
spec:
  replicas: 5
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: "argoproj/rollouts-demo:blue"}]}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 40
      - pause: {duration: 10}
      - setWeight: 60
      - pause: {duration: 10s}
)yaml";

const char kBlueGreen[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: bg, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: bg}}
  template:
    metadata: {labels: {app: bg, tier: web}}
    spec: {containers: [{name: bg, image: "argoproj/rollouts-demo:blue"}]}
  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
)yaml";

const char kTemplate[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate, namespace: default}
spec:
  args: [{name: service-name}]
  metrics:
  - name: success-rate
    interval: 5m
    count: 3
    failureLimit: 1
    successCondition: result[0] >= 0.95
    provider:
      prometheus: {address: "http://prometheus:9090", query: "sum(rate(x[5m]))"
}
)yaml";

const char kRun[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: run, namespace: default}
spec:
  metrics:
  - name: pass
    provider:
      job:
        spec:
          backoffLimit: 0
          template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}
)yaml";

const char kExperiment[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: exp, namespace: default}
spec:
  duration: 1m
  templates:
  - name: purple
    selector: {matchLabels: {app: demo, color: purple}}
    template:
      metadata: {labels: {app: demo, color: purple}}
      spec: {containers: [{name: demo, image: "argoproj/rollouts-demo:purple"}]}
  analyses:
  - {name: pass, templateName: pass}
)yaml";

struct Case {
  std::string name;
  const char* base;
  std::function<void(json&)> mutate;
  std::string error;  // empty: accepted; else a substring the error must contain
};

json& Canary(json& d) { return d["spec"]["strategy"]["canary"]; }
json& Steps(json& d) { return Canary(d)["steps"]; }
json& BlueGreen(json& d) { return d["spec"]["strategy"]["blueGreen"]; }
json& Metric(json& d) { return d["spec"]["metrics"][0]; }
json Parse(const char* text) { return json::parse(text); }

std::vector<Case> Cases() {
  return {
      // --- Rollout: spec ---
      {"canary base is valid", kCanary, [](json&) {}, ""},
      {"blue-green base is valid", kBlueGreen, [](json&) {}, ""},
      {"setWeight above 100", kCanary, [](json& d) { Steps(d)[2]["setWeight"] = 150; },
       "spec.strategy.canary.steps[2].setWeight: must be between 0 and 100 (got 150)"},
      {"negative setWeight", kCanary, [](json& d) { Steps(d)[0]["setWeight"] = -1; },
       "spec.strategy.canary.steps[0].setWeight: must be between 0 and 100 (got -1)"},
      {"selector does not match template", kCanary,
       [](json& d) { d["spec"]["template"]["metadata"]["labels"]["app"] = "other"; },
       "spec.template.metadata.labels: do not match spec.selector"},
      {"matchExpressions select the template", kCanary,
       [](json& d) {
         d["spec"]["selector"] =
             Parse(R"({"matchExpressions":[{"key":"app","operator":"In","values":["demo"]}]})");
       },
       ""},
      {"matchExpressions exclude the template", kCanary,
       [](json& d) {
         d["spec"]["selector"] =
             Parse(R"({"matchExpressions":[{"key":"app","operator":"NotIn","values":["demo"]}]})");
       },
       "spec.template.metadata.labels: do not match spec.selector"},
      {"bad selector operator", kCanary,
       [](json& d) {
         d["spec"]["selector"] = Parse(R"({"matchExpressions":[{"key":"app","operator":"Is"}]})");
       },
       "spec.selector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist"},
      {"missing selector", kCanary, [](json& d) { d["spec"].erase("selector"); },
       "spec.selector: required"},
      {"empty selector", kCanary, [](json& d) { d["spec"]["selector"] = json::object(); },
       "spec.selector: must not be empty"},
      {"template without containers", kCanary,
       [](json& d) { d["spec"]["template"]["spec"] = json::object(); },
       "spec.template.spec.containers: at least one container is required"},
      {"container without image", kCanary,
       [](json& d) { d["spec"]["template"]["spec"]["containers"][0].erase("image"); },
       "spec.template.spec.containers[0].image: required"},
      {"restartPolicy Never", kCanary,
       [](json& d) { d["spec"]["template"]["spec"]["restartPolicy"] = "Never"; },
       "spec.template.spec.restartPolicy: must be Always"},
      {"negative replicas", kCanary, [](json& d) { d["spec"]["replicas"] = -1; },
       "spec.replicas: must be greater than or equal to 0 (got -1)"},
      {"negative revisionHistoryLimit", kCanary,
       [](json& d) { d["spec"]["revisionHistoryLimit"] = -1; },
       "spec.revisionHistoryLimit: must be"},
      {"progress deadline not above minReadySeconds", kCanary,
       [](json& d) {
         d["spec"]["minReadySeconds"] = 30;
         d["spec"]["progressDeadlineSeconds"] = 30;
       },
       "spec.progressDeadlineSeconds: must be greater than minReadySeconds (30), got 30"},
      {"restartAt not RFC 3339", kCanary, [](json& d) { d["spec"]["restartAt"] = "tomorrow"; },
       "spec.restartAt: must be an RFC 3339 time"},
      {"restartAt RFC 3339", kCanary,
       [](json& d) { d["spec"]["restartAt"] = "2026-01-02T03:04:05Z"; }, ""},
      {"workloadRef without selector or template", kCanary,
       [](json& d) {
         d["spec"].erase("selector");
         d["spec"].erase("template");
         d["spec"]["workloadRef"] =
             Parse(R"({"apiVersion":"apps/v1","kind":"Deployment","name":"web"})");
       },
       ""},
      {"workloadRef beside a template", kCanary,
       [](json& d) {
         d["spec"]["workloadRef"] =
             Parse(R"({"apiVersion":"apps/v1","kind":"Deployment","name":"web"})");
       },
       "spec.template: must be empty when workloadRef is set"},
      {"workloadRef to a StatefulSet", kCanary,
       [](json& d) {
         d["spec"].erase("template");
         d["spec"]["workloadRef"] = Parse(R"({"kind":"StatefulSet","name":"web"})");
       },
       "spec.workloadRef.kind: must be Deployment, ReplicaSet or PodTemplate"},
      {"no strategy", kCanary, [](json& d) { d["spec"].erase("strategy"); },
       "spec.strategy: one of canary and blueGreen is required"},
      {"two strategies", kCanary,
       [](json& d) { d["spec"]["strategy"]["blueGreen"] = Parse(R"({"activeService":"a"})"); },
       "spec.strategy: only one of canary and blueGreen may be set"},
      // --- Rollout: canary ---
      {"two main fields in one step", kCanary,
       [](json& d) { Steps(d)[0]["pause"] = json::object(); },
       "spec.strategy.canary.steps[0]: only one of setWeight, pause, experiment and analysis may "
       "be set in a step (got setWeight, pause)"},
      {"empty step", kCanary, [](json& d) { Steps(d)[1] = json::object(); },
       "spec.strategy.canary.steps[1]: a step must set one of"},
      {"maxSurge and maxUnavailable both 0", kCanary,
       [](json& d) {
         Canary(d)["maxSurge"] = 0;
         Canary(d)["maxUnavailable"] = "0%";
       },
       "spec.strategy.canary.maxSurge: maxSurge and maxUnavailable must not both be 0"},
      {"maxSurge 0 with default maxUnavailable", kCanary,
       [](json& d) { Canary(d)["maxSurge"] = 0; }, ""},
      {"maxSurge not a number", kCanary, [](json& d) { Canary(d)["maxSurge"] = "lots"; },
       "spec.strategy.canary.maxSurge: must be an integer or a percentage (got \"lots\")"},
      {"maxUnavailable above 100%", kCanary, [](json& d) { Canary(d)["maxUnavailable"] = "150%"; },
       "spec.strategy.canary.maxUnavailable: must not be more than 100%"},
      {"same canary and stable service", kCanary,
       [](json& d) {
         Canary(d)["canaryService"] = "svc";
         Canary(d)["stableService"] = "svc";
       },
       "spec.strategy.canary.stableService: must differ from canaryService"},
      {"traffic routing without services", kCanary,
       [](json& d) { Canary(d)["trafficRouting"] = Parse(R"({"smi":{}})"); },
       "spec.strategy.canary.stableService: required when trafficRouting is set"},
      {"traffic routing with services", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] = Parse(R"({"smi":{"rootService":"root"}})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
       },
       ""},
      {"traffic routing without a router", kCanary,
       [](json& d) { Canary(d)["trafficRouting"] = json::object(); },
       "spec.strategy.canary.trafficRouting: at least one traffic router is required"},
      {"nginx without ingress", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] = Parse(R"({"nginx":{}})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
       },
       "spec.strategy.canary.trafficRouting.nginx: exactly one of stableIngress and "
       "stableIngresses is required"},
      {"maxTrafficWeight raises the setWeight bound with nginx", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] =
             Parse(R"({"nginx":{"stableIngress":"web"},"maxTrafficWeight":1000})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[2]["setWeight"] = 150;
       },
       ""},
      {"maxTrafficWeight with smi", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] = Parse(R"({"smi":{},"maxTrafficWeight":1000})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
       },
       "spec.strategy.canary.trafficRouting.maxTrafficWeight: is supported with nginx and "
       "plugins only"},
      {"pause duration not a duration", kCanary,
       [](json& d) { Steps(d)[1]["pause"]["duration"] = "soon"; },
       "spec.strategy.canary.steps[1].pause.duration: invalid duration \"soon\""},
      {"pause duration with units", kCanary,
       [](json& d) { Steps(d)[1]["pause"]["duration"] = "1h30m"; }, ""},
      {"negative pause", kCanary, [](json& d) { Steps(d)[1]["pause"]["duration"] = -5; },
       "spec.strategy.canary.steps[1].pause.duration: must not be negative"},
      {"setCanaryScale without traffic routing", kCanary,
       [](json& d) { Steps(d)[0] = Parse(R"({"setCanaryScale":{"replicas":1}})"); },
       "spec.strategy.canary.steps[0].setCanaryScale: needs spec.strategy.canary.trafficRouting"},
      {"scaleDownDelaySeconds without traffic routing", kCanary,
       [](json& d) { Canary(d)["scaleDownDelaySeconds"] = 30; },
       "spec.strategy.canary.scaleDownDelaySeconds: can only be used with trafficRouting"},
      {"dynamicStableScale without traffic routing", kCanary,
       [](json& d) { Canary(d)["dynamicStableScale"] = true; },
       "spec.strategy.canary.dynamicStableScale: can only be used with trafficRouting"},
      {"dynamicStableScale with scaleDownDelaySeconds", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] = Parse(R"({"smi":{}})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Canary(d)["dynamicStableScale"] = true;
         Canary(d)["scaleDownDelaySeconds"] = 10;
       },
       "spec.strategy.canary.dynamicStableScale: cannot be used together with "
       "scaleDownDelaySeconds"},
      {"header route not in managedRoutes", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] =
             Parse(R"({"istio":{"virtualService":{"name":"vs"}},"managedRoutes":[{"name":"a"}]})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[1] = Parse(
             R"({"setHeaderRoute":{"name":"b","match":[{"headerName":"x","headerValue":{"exact":"1"}}]}})");
       },
       "spec.strategy.canary.steps[1].setHeaderRoute.name: route \"b\" is not listed in "
       "spec.strategy.canary.trafficRouting.managedRoutes"},
      {"header route with smi", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] = Parse(R"({"smi":{},"managedRoutes":[{"name":"a"}]})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[1] = Parse(R"({"setHeaderRoute":{"name":"a"}})");
       },
       "spec.strategy.canary.steps[1].setHeaderRoute: needs trafficRouting with istio, alb, "
       "apisix or a plugin"},
      {"ALB header route with a prefix", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] =
             Parse(R"({"alb":{"ingress":"ing"},"managedRoutes":[{"name":"a"}]})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[1] = Parse(
             R"({"setHeaderRoute":{"name":"a","match":[{"headerName":"x","headerValue":{"prefix":"1"}}]}})");
       },
       "spec.strategy.canary.steps[1].setHeaderRoute.match[0].headerValue: ALB header routes "
       "support an exact value only"},
      {"mirror route percentage above 100", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] =
             Parse(R"({"istio":{"virtualService":{"name":"vs"}},"managedRoutes":[{"name":"m"}]})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[1] = Parse(
             R"({"setMirrorRoute":{"name":"m","percentage":150,"match":[{"method":{"exact":"GET","prefix":"G"}}]}})");
       },
       "spec.strategy.canary.steps[1].setMirrorRoute.percentage: must be between 0 and 100 (got "
       "150)"},
      {"setCanaryScale beside setHeaderRoute (Argo allows it)", kCanary,
       [](json& d) {
         Canary(d)["trafficRouting"] =
             Parse(R"({"apisix":{"route":{"name":"r"}},"managedRoutes":[{"name":"h"}]})");
         Canary(d)["canaryService"] = "c";
         Canary(d)["stableService"] = "s";
         Steps(d)[1] = Parse(R"({"setCanaryScale":{"replicas":1},"setHeaderRoute":{"name":"h",
             "match":[{"headerName":"trace","headerValue":{"exact":"debug"}}]}})");
       },
       ""},
      {"experiment weight without traffic routing", kCanary,
       [](json& d) {
         Steps(d)[1] =
             Parse(R"({"experiment":{"templates":[{"name":"e","specRef":"canary","weight":10}]}})");
       },
       "spec.strategy.canary.steps[1].experiment.templates[0].weight: needs "
       "spec.strategy.canary.trafficRouting"},
      {"experiment template without specRef", kCanary,
       [](json& d) { Steps(d)[1] = Parse(R"({"experiment":{"templates":[{"name":"e"}]}})"); },
       "spec.strategy.canary.steps[1].experiment.templates[0].specRef: must be stable or canary"},
      {"experiment analysis without templateName", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(
             R"({"experiment":{"duration":"5m","templates":[{"name":"e","specRef":"stable"}],"analyses":[{"name":"a"}]}})");
       },
       "spec.strategy.canary.steps[1].experiment.analyses[0].templateName: required"},
      {"analysis step template unnamed", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(R"({"analysis":{"templates":[{"clusterScope":true}]}})");
       },
       "spec.strategy.canary.steps[1].analysis.templates[0].templateName: required"},
      {"analysis step without templates", kCanary,
       [](json& d) { Steps(d)[1] = Parse(R"({"analysis":{}})"); },
       "spec.strategy.canary.steps[1].analysis.templates: at least one template is required"},
      {"analysis arg from an unsupported metadata field", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(R"({"analysis":{"templates":[{"templateName":"t"}],
             "args":[{"name":"a","valueFrom":{"fieldRef":{"fieldPath":"metadata.generation"}}}]}})");
       },
       "spec.strategy.canary.steps[1].analysis.args[0].valueFrom.fieldRef.fieldPath: "
       "\"metadata.generation\" is not a supported metadata field"},
      {"analysis arg from labels and a spec field", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(R"({"analysis":{"templates":[{"templateName":"t"}],
             "args":[{"name":"a","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['app']"}}},
                     {"name":"b","valueFrom":{"fieldRef":{"fieldPath":"spec.template.spec.containers[0].image"}}},
                     {"name":"c","valueFrom":{"podTemplateHashValue":"Latest"}}]}})");
       },
       ""},
      {"podTemplateHashValue not Stable or Latest", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(R"({"analysis":{"templates":[{"templateName":"t"}],
             "args":[{"name":"a","valueFrom":{"podTemplateHashValue":"Canary"}}]}})");
       },
       "spec.strategy.canary.steps[1].analysis.args[0].valueFrom.podTemplateHashValue: must be "
       "Stable or Latest"},
      {"duplicate analysis args", kCanary,
       [](json& d) {
         Steps(d)[1] = Parse(R"({"analysis":{"templates":[{"templateName":"t"}],
             "args":[{"name":"a","value":"1"},{"name":"a","value":"2"}]}})");
       },
       "spec.strategy.canary.steps[1].analysis.args[1].name: duplicate argument \"a\""},
      {"background analysis starting past the last step", kCanary,
       [](json& d) {
         Canary(d)["analysis"] = Parse(R"({"templates":[{"templateName":"t"}],"startingStep":9})");
       },
       "spec.strategy.canary.analysis.startingStep: must be between 0 and 6 (got 9)"},
      {"anti-affinity with both kinds", kCanary,
       [](json& d) {
         Canary(d)["antiAffinity"] = Parse(
             R"({"requiredDuringSchedulingIgnoredDuringExecution":{},"preferredDuringSchedulingIgnoredDuringExecution":{"weight":50}})");
       },
       "spec.strategy.canary.antiAffinity: exactly one of"},
      {"anti-affinity weight 0", kCanary,
       [](json& d) {
         Canary(d)["antiAffinity"] =
             Parse(R"({"preferredDuringSchedulingIgnoredDuringExecution":{"weight":0}})");
       },
       "spec.strategy.canary.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight:"
       " must be between 1 and 100 (got 0)"},
      {"replicaProgressThreshold type", kCanary,
       [](json& d) {
         Canary(d)["replicaProgressThreshold"] = Parse(R"({"type":"Half","value":1})");
       },
       "spec.strategy.canary.replicaProgressThreshold.type: must be Percent or Pods"},
      // --- Rollout: blue-green ---
      {"blue-green without activeService", kBlueGreen,
       [](json& d) { BlueGreen(d).erase("activeService"); },
       "spec.strategy.blueGreen.activeService: required"},
      {"blue-green with the same services", kBlueGreen,
       [](json& d) { BlueGreen(d)["previewService"] = "bg-active"; },
       "spec.strategy.blueGreen.previewService: must differ from activeService"},
      {"blue-green scale-down limit above history", kBlueGreen,
       [](json& d) { BlueGreen(d)["scaleDownDelayRevisionLimit"] = 20; },
       "spec.strategy.blueGreen.scaleDownDelayRevisionLimit: must not exceed "
       "spec.revisionHistoryLimit (10), got 20"},
      {"blue-green with analyses", kBlueGreen,
       [](json& d) {
         BlueGreen(d)["prePromotionAnalysis"] = Parse(
             R"({"templates":[{"templateName":"smoke"}],"args":[{"name":"svc","value":"x"}]})");
         BlueGreen(d)["postPromotionAnalysis"] =
             Parse(R"({"templates":[{"templateName":"soak"}]})");
         BlueGreen(d)["scaleDownDelaySeconds"] = 30;
         BlueGreen(d)["previewReplicaCount"] = 1;
       },
       ""},
      {"blue-green pre-promotion template unnamed", kBlueGreen,
       [](json& d) { BlueGreen(d)["prePromotionAnalysis"] = Parse(R"({"templates":[{}]})"); },
       "spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName: required"},
      {"blue-green negative autoPromotionSeconds", kBlueGreen,
       [](json& d) { BlueGreen(d)["autoPromotionSeconds"] = -1; },
       "spec.strategy.blueGreen.autoPromotionSeconds: must be greater than or equal to 0"},
      // --- decoding ---
      {"unknown field", kCanary, [](json& d) { Canary(d)["stepz"] = json::array(); },
       "spec.strategy.canary.stepz: unknown field"},
      {"wrong type", kCanary, [](json& d) { Steps(d)[0]["setWeight"] = "twenty"; },
       "spec.strategy.canary.steps[0].setWeight: expected integer"},
      // --- AnalysisTemplate ---
      {"template base is valid", kTemplate, [](json&) {}, ""},
      {"duplicate metric names", kTemplate,
       [](json& d) { d["spec"]["metrics"].push_back(Metric(d)); },
       "spec.metrics[1].name: duplicate metric name \"success-rate\""},
      {"metric without name", kTemplate, [](json& d) { Metric(d).erase("name"); },
       "spec.metrics[0].name: required"},
      {"metric without provider", kTemplate, [](json& d) { Metric(d).erase("provider"); },
       "spec.metrics[0].provider: exactly one provider is required (none set)"},
      {"metric with two providers", kTemplate,
       [](json& d) { Metric(d)["provider"]["web"] = Parse(R"({"url":"http://x"})"); },
       "spec.metrics[0].provider: exactly one provider is required (got prometheus, web)"},
      {"count above 1 without interval", kTemplate, [](json& d) { Metric(d).erase("interval"); },
       "spec.metrics[0].interval: required when count > 1 (count is 3)"},
      {"count below failureLimit", kTemplate, [](json& d) { Metric(d)["failureLimit"] = 5; },
       "spec.metrics[0].count: must be >= failureLimit (5), got 3"},
      {"count below inconclusiveLimit", kTemplate,
       [](json& d) { Metric(d)["inconclusiveLimit"] = 4; },
       "spec.metrics[0].count: must be >= inconclusiveLimit (4), got 3"},
      {"failureLimit below -1", kTemplate, [](json& d) { Metric(d)["failureLimit"] = -2; },
       "spec.metrics[0].failureLimit: must be greater than or equal to -1 (got -2)"},
      {"failureLimit -1 without consecutiveSuccessLimit", kTemplate,
       [](json& d) { Metric(d)["failureLimit"] = -1; },
       "spec.metrics[0].failureLimit: -1 (no failure limit) needs consecutiveSuccessLimit"},
      {"failureLimit -1 with consecutiveSuccessLimit", kTemplate,
       [](json& d) {
         Metric(d)["failureLimit"] = -1;
         Metric(d)["consecutiveSuccessLimit"] = 2;
       },
       ""},
      {"count below failureLimit plus consecutiveSuccessLimit", kTemplate,
       [](json& d) { Metric(d)["consecutiveSuccessLimit"] = 3; },
       "spec.metrics[0].count: must be >= failureLimit + consecutiveSuccessLimit (4), got 3"},
      {"negative consecutiveErrorLimit", kTemplate,
       [](json& d) { Metric(d)["consecutiveErrorLimit"] = -1; },
       "spec.metrics[0].consecutiveErrorLimit: must be greater than or equal to 0"},
      {"interval not a duration", kTemplate, [](json& d) { Metric(d)["interval"] = "5 minutes"; },
       "spec.metrics[0].interval: invalid duration \"5 minutes\""},
      {"initialDelay not a duration", kTemplate, [](json& d) { Metric(d)["initialDelay"] = "10"; },
       "spec.metrics[0].initialDelay: invalid duration \"10\": missing unit"},
      {"count from an argument", kTemplate, [](json& d) { Metric(d)["count"] = "{{args.count}}"; },
       ""},
      {"count not a number", kTemplate, [](json& d) { Metric(d)["count"] = "many"; },
       "spec.metrics[0].count: must be an integer (got \"many\")"},
      {"no metrics", kTemplate, [](json& d) { d["spec"].erase("metrics"); },
       "spec.metrics: at least one metric (or spec.templates) is required"},
      {"composed of templates only", kTemplate,
       [](json& d) {
         d["spec"].erase("metrics");
         d["spec"]["templates"] = Parse(R"([{"templateName":"a"},{"templateName":"b"}])");
       },
       ""},
      {"arg with value and valueFrom", kTemplate,
       [](json& d) {
         d["spec"]["args"][0] = Parse(
             R"({"name":"s","value":"v","valueFrom":{"secretKeyRef":{"name":"n","key":"k"}}})");
       },
       "spec.args[0]: only one of value and valueFrom may be set"},
      {"secret arg without key", kTemplate,
       [](json& d) {
         d["spec"]["args"][0] = Parse(R"({"name":"s","valueFrom":{"secretKeyRef":{"name":"n"}}})");
       },
       "spec.args[0].valueFrom.secretKeyRef.key: required"},
      {"web body with GET", kTemplate,
       [](json& d) { Metric(d)["provider"] = Parse(R"({"web":{"url":"http://x","body":"{}"}})"); },
       "spec.metrics[0].provider.web.body: a body needs method POST or PUT"},
      {"web jsonBody with POST", kTemplate,
       [](json& d) {
         Metric(d)["provider"] =
             Parse(R"({"web":{"url":"http://x","method":"POST","jsonBody":{"a":[1,2]}}})");
       },
       ""},
      {"web without url", kTemplate,
       [](json& d) { Metric(d)["provider"] = Parse(R"({"web":{"jsonPath":"{$.ok}"}})"); },
       "spec.metrics[0].provider.web.url: required"},
      {"job without spec", kTemplate,
       [](json& d) {
         Metric(d)["provider"] = Parse(R"({"job":{"metadata":{"labels":{"a":"b"}}}})");
       },
       "spec.metrics[0].provider.job.spec: required"},
      {"plugin provider", kTemplate,
       [](json& d) {
         Metric(d)["provider"] = Parse(R"({"plugin":{"argoproj-labs/sample":{"address":"x"}}})");
       },
       ""},
      {"dryRun without metricName", kTemplate,
       [](json& d) { d["spec"]["dryRun"] = Parse(R"([{}])"); },
       "spec.dryRun[0].metricName: required"},
      {"measurementRetention negative", kTemplate,
       [](json& d) {
         d["spec"]["measurementRetention"] = Parse(R"([{"metricName":".*","limit":-1}])");
       },
       "spec.measurementRetention[0].limit: must be greater than or equal to 0"},
      // --- AnalysisRun ---
      {"run base is valid", kRun, [](json&) {}, ""},
      {"run without metrics", kRun, [](json& d) { d["spec"].erase("metrics"); },
       "spec.metrics: at least one metric is required"},
      {"errored run without metrics (missing template)", kRun,
       [](json& d) {
         d["spec"].erase("metrics");
         d["status"] = Parse(R"({"phase":"Error","message":"template \"x\" not found"})");
       },
       ""},
      {"run with a negative TTL", kRun,
       [](json& d) { d["spec"]["ttlStrategy"] = Parse(R"({"secondsAfterCompletion":-1})"); },
       "spec.ttlStrategy.secondsAfterCompletion: must be greater than or equal to 0"},
      {"run with status measurements", kRun,
       [](json& d) {
         d["status"] = Parse(R"({"phase":"Running","startedAt":"2026-01-01T00:00:00Z",
             "metricResults":[{"name":"pass","phase":"Running","count":0,
               "measurements":[{"phase":"Running","startedAt":"2026-01-01T00:00:00Z",
                                "metadata":{"job-name":"j"}}]}],
             "runSummary":{"count":1,"successful":0}})");
       },
       ""},
      // --- Experiment ---
      {"experiment base is valid", kExperiment, [](json&) {}, ""},
      {"experiment without templates", kExperiment, [](json& d) { d["spec"].erase("templates"); },
       "spec.templates: at least one template is required"},
      {"experiment duplicate template names", kExperiment,
       [](json& d) { d["spec"]["templates"].push_back(d["spec"]["templates"][0]); },
       "spec.templates[1].name: duplicate template name \"purple\""},
      {"experiment selector mismatch", kExperiment,
       [](json& d) { d["spec"]["templates"][0]["selector"]["matchLabels"]["color"] = "orange"; },
       "spec.templates[0].template.metadata.labels: do not match spec.templates[0].selector"},
      {"experiment template without selector", kExperiment,
       [](json& d) { d["spec"]["templates"][0].erase("selector"); },
       "spec.templates[0].selector: required"},
      {"experiment analysis without templateName", kExperiment,
       [](json& d) { d["spec"]["analyses"][0].erase("templateName"); },
       "spec.analyses[0].templateName: required"},
      {"experiment bad duration", kExperiment, [](json& d) { d["spec"]["duration"] = "1 min"; },
       "spec.duration: invalid duration \"1 min\""},
  };
}

TEST(ValidateTest, Table) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    json doc = Yaml(c.base);
    c.mutate(doc);
    const absl::Status s = ValidateManifest(doc);
    if (c.error.empty()) {
      EXPECT_OK(s);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr(c.error));
      // Every message starts with the path of a field.
      EXPECT_TRUE(absl::StartsWith(s.message(), "spec.")) << s;
    }
  }
}

TEST(ValidateTest, ReportsEveryProblem) {
  json doc = Yaml(kCanary);
  Steps(doc)[0]["setWeight"] = 150;
  Steps(doc)[4]["setWeight"] = 101;
  doc["spec"]["template"]["metadata"]["labels"]["app"] = "x";
  const absl::Status s = ValidateManifest(doc);
  EXPECT_THAT(std::string(s.message()), HasSubstr("steps[0].setWeight"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("steps[4].setWeight"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("spec.template.metadata.labels"));
}

TEST(ValidateTest, ManifestOfAnotherKind) {
  EXPECT_THAT(std::string(ValidateManifest(json{{"kind", "Service"}}).message()),
              HasSubstr("kind: Service is not a rollout kind"));
  EXPECT_FALSE(ValidateManifest(json::array()).ok());
  EXPECT_FALSE(ValidateManifest(json{{"spec", json::object()}}).ok());
  EXPECT_TRUE(IsRolloutKind("ClusterAnalysisTemplate"));
  EXPECT_FALSE(IsRolloutKind("Deployment"));
}

TEST(ValidateTest, ClusterAnalysisTemplateHasTheTemplateRules) {
  json doc = Yaml(kTemplate);
  doc["kind"] = "ClusterAnalysisTemplate";
  doc["metadata"].erase("namespace");
  EXPECT_OK(ValidateManifest(doc));
  Metric(doc).erase("provider");
  EXPECT_THAT(std::string(ValidateManifest(doc).message()),
              HasSubstr("spec.metrics[0].provider: exactly one provider is required"));
}

TEST(ParseGoDurationTest, GoSyntax) {
  EXPECT_EQ(*ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseGoDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("300ms"), absl::Milliseconds(300));
  EXPECT_EQ(*ParseGoDuration("-2m"), absl::Minutes(-2));
  EXPECT_EQ(*ParseGoDuration("1us"), absl::Microseconds(1));
  EXPECT_EQ(*ParseGoDuration("1\xC2\xB5s"), absl::Microseconds(1));
  EXPECT_EQ(*ParseGoDuration("2h45m10s5ns"),
            absl::Hours(2) + absl::Minutes(45) + absl::Seconds(10) + absl::Nanoseconds(5));
  for (const char* bad : {"", "10", "5 minutes", "1d", "h", ".s", "1..5s", "-", "1s2"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseGoDuration("99999999999h").ok());
}

TEST(PauseDurationTest, SecondsOrGoDuration) {
  EXPECT_EQ(*PauseDuration("10"), absl::Seconds(10));
  EXPECT_EQ(*PauseDuration("10s"), absl::Seconds(10));
  EXPECT_EQ(*PauseDuration("2m"), absl::Minutes(2));
  EXPECT_EQ(*PauseDuration("1h"), absl::Hours(1));
  EXPECT_FALSE(PauseDuration("").ok());
  EXPECT_FALSE(PauseDuration("soon").ok());
}

// In front of the store: a bad Rollout is refused with its field path and nothing is stored; a
// good one is stored.
TEST(RolloutValidatorTest, StoreRefusesInvalidRollout) {
  auto kinds = resource::KindsOfService("rollout");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi api(store.get(), kinds, RolloutValidator());
  json bad = Yaml(kCanary);
  Steps(bad)[2]["setWeight"] = 150;
  absl::StatusOr<std::string> created = api.Create("Rollout", bad.dump(), false);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(created.status().message()),
              HasSubstr("spec.strategy.canary.steps[2].setWeight: must be between 0 and 100 (got "
                        "150)"));
  EXPECT_EQ(api.Get("Rollout", "default", "r").status().code(), absl::StatusCode::kNotFound);

  ASSERT_OK(api.Create("Rollout", Yaml(kCanary).dump(), false).status());
  ASSERT_OK(api.Create("AnalysisTemplate", Yaml(kTemplate).dump(), false).status());
  json bad_template = Yaml(kTemplate);
  bad_template["metadata"]["name"] = "other";
  Metric(bad_template).erase("provider");
  EXPECT_FALSE(api.Create("AnalysisTemplate", bad_template.dump(), false).ok());
  ASSERT_OK(api.Create("Experiment", Yaml(kExperiment).dump(), false).status());
  ASSERT_OK(api.Create("AnalysisRun", Yaml(kRun).dump(), false).status());
}

}  // namespace
}  // namespace argonaut::rollout::validation
