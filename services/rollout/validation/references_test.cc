#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<json> Docs(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() ? *docs : std::vector<json>{};
}

// A canary behind nginx with its Services, Ingress and templates, all consistent.
constexpr char kFile[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      canaryMetadata: {labels: {role: canary}}
      trafficRouting: {nginx: {stableIngress: web}}
      analysis:
        templates: [{templateName: background}]
        args: [{name: service, value: web-canary}]
      steps:
      - setWeight: 20
      - analysis:
          templates: [{templateName: success-rate}, {templateName: smoke, clusterScope: true}]
          args: [{name: service, value: web-canary}]
---
apiVersion: v1
kind: Service
metadata: {name: web-stable}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-canary}
spec: {selector: {app: web, role: canary}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {number: 80}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args: [{name: service}]
  metrics:
  - {name: rate, interval: 1m, count: 3, provider: {web: {url: "http://{{args.service}}/rate"}}}
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata: {name: smoke}
spec:
  args: [{name: retries, value: "3"}]
  metrics:
  - {name: ok, provider: {job: {spec: {template: {spec: {containers: [{name: c, image: busybox}]}}}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: background}
spec:
  args: [{name: service}]
  metrics:
  - {name: errors, interval: 30s, provider: {web: {url: "http://{{args.service}}/errors"}}}
)yaml";

TEST(LintTest, ConsistentFileHasNoProblems) { EXPECT_THAT(LintDocuments(Docs(kFile)), IsEmpty()); }

TEST(LintTest, ServiceSelectingLabelsThePodsLack) {
  std::vector<json> docs = Docs(kFile);
  docs[1]["spec"]["selector"]["tier"] = "frontend";
  docs[2]["spec"]["selector"]["role"] = "stable";
  EXPECT_THAT(LintDocuments(docs),
              ElementsAre(AllOf(HasSubstr("doc 1 (Rollout web): "),
                                HasSubstr("spec.strategy.canary.stableService: Service "
                                          "\"web-stable\" selects tier=frontend, which the "
                                          "rollout's pods do not carry"),
                                HasSubstr("spec.strategy.canary.canaryService: Service "
                                          "\"web-canary\" selects role=stable"))));
}

TEST(LintTest, IngressWithoutTheStableService) {
  std::vector<json> docs = Docs(kFile);
  docs[3]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "other";
  EXPECT_THAT(LintDocuments(docs),
              ElementsAre(HasSubstr("spec.strategy.canary.trafficRouting.nginx.stableIngress: "
                                    "Ingress \"web\" has no rule with Service \"web-stable\" as "
                                    "its backend")));
}

TEST(LintTest, TemplateArgumentsAndEndlessMetrics) {
  std::vector<json> docs = Docs(kFile);
  docs[0]["spec"]["strategy"]["canary"]["steps"][1]["analysis"].erase("args");
  docs[4]["spec"]["metrics"][0].erase("count");
  docs[0]["spec"]["strategy"]["canary"]["analysis"].erase("args");
  const std::vector<std::string> problems = LintDocuments(docs);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("spec.strategy.canary.steps[1].analysis: AnalysisTemplate "
                                     "\"success-rate\": argument \"service\" was not supplied"));
  EXPECT_THAT(problems[0], HasSubstr("spec.strategy.canary.steps[1].analysis: AnalysisTemplate "
                                     "\"success-rate\": metric \"rate\" has an interval and no "
                                     "count, so it never completes"));
  // Background analysis may run until the rollout completes, but still needs its arguments.
  EXPECT_THAT(problems[0], HasSubstr("spec.strategy.canary.analysis: AnalysisTemplate "
                                     "\"background\": argument \"service\" was not supplied"));
  EXPECT_THAT(problems[0], Not(HasSubstr("metric \"errors\"")));
}

TEST(LintTest, InvalidDocumentsAndAbsentReferences) {
  std::vector<json> docs = Docs(kFile);
  docs[0]["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = 150;
  docs[5]["spec"]["metrics"][0].erase("provider");
  // Only the Rollout remains of the references: nothing else to check it against.
  EXPECT_THAT(LintDocuments(docs),
              ElementsAre(HasSubstr("doc 1 (Rollout web): spec.strategy.canary.steps[0]."
                                    "setWeight: must be between 0 and 100 (got 150)"),
                          HasSubstr("doc 6 (ClusterAnalysisTemplate smoke): spec.metrics[0]."
                                    "provider: exactly one provider is required")));
  EXPECT_THAT(LintDocuments({docs[0]}), ElementsAre(HasSubstr("setWeight")));
  docs[0]["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = 10;
  EXPECT_THAT(LintDocuments({docs[0]}), IsEmpty());
}

}  // namespace
}  // namespace argonaut::rollout::validation
