#include "lib/cluster/workloads/validation.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

Json Pod() {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "p"}, {"namespace", "default"}, {"labels", {{"app", "web"}}}}},
          {"spec",
           {{"containers",
             {{{"name", "app"},
               {"image", "nginx"},
               {"ports", {{{"containerPort", 80}, {"name", "http"}}}}}}}}}};
}

Json Deployment() {
  Json pod = Pod();
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec",
           {{"replicas", 3},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", pod["spec"]}}}}}};
}

Json Job() {
  Json pod = Pod();
  pod["spec"]["restartPolicy"] = "Never";
  return {{"metadata", {{"name", "pi"}, {"namespace", "default"}}},
          {"spec", {{"template", {{"spec", pod["spec"]}}}}}};
}

Json Service() {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec",
           {{"selector", {{"app", "web"}}},
            {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}}}}}};
}

struct Case {
  const char* name;
  std::function<absl::Status(const Json&)> validate;
  std::function<Json()> base;
  std::function<void(Json&)> mutate;
  const char* path;  // empty: expect OK
};

TEST(ValidationTest, Table) {
  auto pod = [](const Json& j) { return ValidatePod(j); };
  auto dep = [](const Json& j) { return ValidateDeployment(j); };
  auto rs = [](const Json& j) { return ValidateReplicaSet(j); };
  auto job = [](const Json& j) { return ValidateJob(j); };
  auto svc = [](const Json& j) { return ValidateService(j); };
  const std::vector<Case> cases = {
      {"valid pod", pod, Pod, [](Json&) {}, ""},
      {"uppercase name", pod, Pod, [](Json& j) { j["metadata"]["name"] = "Web"; }, "metadata.name"},
      {"dotted pod name ok", pod, Pod, [](Json& j) { j["metadata"]["name"] = "a.b-c"; }, ""},
      {"no name", pod, Pod, [](Json& j) { j["metadata"].erase("name"); }, "metadata.name"},
      {"bad namespace", pod, Pod, [](Json& j) { j["metadata"]["namespace"] = "a.b"; },
       "metadata.namespace"},
      {"bad label value", pod, Pod, [](Json& j) { j["metadata"]["labels"]["app"] = "-x"; },
       "metadata.labels.app"},
      {"bad label key", pod, Pod, [](Json& j) { j["metadata"]["labels"]["a b"] = "x"; },
       "metadata.labels.a b"},
      {"prefixed label ok", pod, Pod,
       [](Json& j) { j["metadata"]["labels"]["example.com/tier"] = "x"; }, ""},
      {"no containers", pod, Pod, [](Json& j) { j["spec"]["containers"] = Json::array(); },
       "spec.containers"},
      {"container no name", pod, Pod, [](Json& j) { j["spec"]["containers"][0].erase("name"); },
       "spec.containers[0].name"},
      {"container no image", pod, Pod, [](Json& j) { j["spec"]["containers"][0].erase("image"); },
       "spec.containers[0].image"},
      {"duplicate container", pod, Pod,
       [](Json& j) {
         j["spec"]["initContainers"] = {{{"name", "app"}, {"image", "x"}}};
       },
       "spec.containers[0].name"},
      {"port range", pod, Pod,
       [](Json& j) { j["spec"]["containers"][0]["ports"][0]["containerPort"] = 70000; },
       "spec.containers[0].ports[0].containerPort"},
      {"port name", pod, Pod,
       [](Json& j) { j["spec"]["containers"][0]["ports"][0]["name"] = "123"; },
       "spec.containers[0].ports[0].name"},
      {"protocol", pod, Pod,
       [](Json& j) { j["spec"]["containers"][0]["ports"][0]["protocol"] = "ICMP"; },
       "spec.containers[0].ports[0].protocol"},
      {"restart policy", pod, Pod, [](Json& j) { j["spec"]["restartPolicy"] = "Sometimes"; },
       "spec.restartPolicy"},
      {"env name", pod, Pod,
       [](Json& j) {
         j["spec"]["containers"][0]["env"] = {{{"name", "A=B"}, {"value", "x"}}};
       },
       "spec.containers[0].env[0].name"},
      {"init probe", pod, Pod,
       [](Json& j) {
         j["spec"]["initContainers"] = {
             {{"name", "i"}, {"image", "x"}, {"readinessProbe", {{"exec", Json::object()}}}}};
       },
       "spec.initContainers[0].readinessProbe"},
      {"probe threshold", pod, Pod,
       [](Json& j) {
         j["spec"]["containers"][0]["livenessProbe"] = {{"httpGet", {{"port", 80}}},
                                                        {"failureThreshold", 0}};
       },
       "spec.containers[0].livenessProbe.failureThreshold"},
      {"deadline", pod, Pod, [](Json& j) { j["spec"]["activeDeadlineSeconds"] = 0; },
       "spec.activeDeadlineSeconds"},
      {"args type", pod, Pod, [](Json& j) { j["spec"]["containers"][0]["args"] = {1}; },
       "spec.containers[0].args[0]"},
      {"valid deployment", dep, Deployment, [](Json&) {}, ""},
      {"selector mismatch", dep, Deployment,
       [](Json& j) { j["spec"]["selector"]["matchLabels"]["app"] = "db"; },
       "spec.template.metadata.labels"},
      {"empty selector", dep, Deployment, [](Json& j) { j["spec"]["selector"] = Json::object(); },
       "spec.selector"},
      {"no selector", dep, Deployment, [](Json& j) { j["spec"].erase("selector"); },
       "spec.selector"},
      {"negative replicas", dep, Deployment, [](Json& j) { j["spec"]["replicas"] = -1; },
       "spec.replicas"},
      {"deployment restart policy", dep, Deployment,
       [](Json& j) { j["spec"]["template"]["spec"]["restartPolicy"] = "Never"; },
       "spec.template.spec.restartPolicy"},
      {"both zero", dep, Deployment,
       [](Json& j) {
         j["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "0%"}}}};
       },
       "spec.strategy.rollingUpdate.maxUnavailable"},
      {"bad surge", dep, Deployment,
       [](Json& j) {
         j["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", "lots"}}}};
       },
       "spec.strategy.rollingUpdate.maxSurge"},
      {"deadline vs minReady", dep, Deployment,
       [](Json& j) {
         j["spec"]["minReadySeconds"] = 10;
         j["spec"]["progressDeadlineSeconds"] = 10;
       },
       "spec.progressDeadlineSeconds"},
      {"history", dep, Deployment, [](Json& j) { j["spec"]["revisionHistoryLimit"] = -2; },
       "spec.revisionHistoryLimit"},
      {"valid rs", rs, Deployment, [](Json&) {}, ""},
      {"rs nested template error", rs, Deployment,
       [](Json& j) { j["spec"]["template"]["spec"]["containers"][0]["name"] = "Bad_Name"; },
       "spec.template.spec.containers[0].name"},
      {"valid job", job, Job, [](Json&) {}, ""},
      {"job always", job, Job,
       [](Json& j) { j["spec"]["template"]["spec"]["restartPolicy"] = "Always"; },
       "spec.template.spec.restartPolicy"},
      {"job default policy", job, Job,
       [](Json& j) { j["spec"]["template"]["spec"].erase("restartPolicy"); },
       "spec.template.spec.restartPolicy"},
      {"job parallelism", job, Job, [](Json& j) { j["spec"]["parallelism"] = -1; },
       "spec.parallelism"},
      {"job long name", job, Job, [](Json& j) { j["metadata"]["name"] = std::string(70, 'a'); },
       "metadata.name"},
      {"job indexed", job, Job, [](Json& j) { j["spec"]["completionMode"] = "Indexed"; },
       "spec.completions"},
      {"job selector mismatch", job, Job,
       [](Json& j) {
         j["spec"]["selector"] = {{"matchLabels", {{"x", "y"}}}};
       },
       "spec.template.metadata.labels"},
      {"valid service", svc, Service, [](Json&) {}, ""},
      {"service name dns1035", svc, Service, [](Json& j) { j["metadata"]["name"] = "1web"; },
       "metadata.name"},
      {"service no ports", svc, Service, [](Json& j) { j["spec"].erase("ports"); }, "spec.ports"},
      {"headless no ports ok", svc, Service,
       [](Json& j) {
         j["spec"].erase("ports");
         j["spec"]["clusterIP"] = "None";
       },
       ""},
      {"service port range", svc, Service, [](Json& j) { j["spec"]["ports"][0]["port"] = 0; },
       "spec.ports[0].port"},
      {"service target", svc, Service, [](Json& j) { j["spec"]["ports"][0]["targetPort"] = 99999; },
       "spec.ports[0].targetPort"},
      {"service names", svc, Service,
       [](Json& j) {
         j["spec"]["ports"].push_back({{"port", 81}});
       },
       "spec.ports[1].name"},
      {"service dup", svc, Service,
       [](Json& j) {
         j["spec"]["ports"].push_back({{"name", "b"}, {"port", 80}});
       },
       "spec.ports[1]"},
      {"nodeport range", svc, Service,
       [](Json& j) {
         j["spec"]["type"] = "NodePort";
         j["spec"]["ports"][0]["nodePort"] = 80;
       },
       "spec.ports[0].nodePort"},
      {"nodeport on clusterip", svc, Service,
       [](Json& j) { j["spec"]["ports"][0]["nodePort"] = 30080; }, "spec.ports[0].nodePort"},
      {"service type", svc, Service, [](Json& j) { j["spec"]["type"] = "Magic"; }, "spec.type"},
      {"external name", svc, Service, [](Json& j) { j["spec"]["type"] = "ExternalName"; },
       "spec.externalName"},
  };
  for (const Case& c : cases) {
    Json obj = c.base();
    c.mutate(obj);
    absl::Status s = c.validate(obj);
    if (std::string(c.path).empty()) {
      EXPECT_THAT(s, IsOk()) << c.name;
    } else {
      EXPECT_THAT(
          s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(c.path) + ":")))
          << c.name;
    }
  }
}

TEST(ValidationTest, HostileShapes) {
  for (const Json& junk : {Json(), Json(5), Json::array(), Json{{"metadata", "x"}},
                           Json{{"metadata", {{"name", "a"}}}, {"spec", 7}}}) {
    EXPECT_THAT(ValidatePod(junk), StatusIs(absl::StatusCode::kInvalidArgument)) << junk.dump();
    EXPECT_THAT(ValidateDeployment(junk), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ValidateJob(junk), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ValidateService(junk), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  Json deep = Pod();
  Json nest = Json::object();
  for (int i = 0; i < 500; ++i) nest = Json{{"n", nest}};
  deep["spec"]["extra"] = nest;
  EXPECT_THAT(ValidatePod(deep), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested")));
  EXPECT_THAT(ValidateDns1123Subdomain(std::string(300, 'a'), "metadata.name"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.name")));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
