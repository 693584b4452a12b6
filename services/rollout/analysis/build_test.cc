#include "services/rollout/analysis/build.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::rollout::analysis {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

// Templates by "ns/name" (namespaced) or "/name" (cluster).
class Templates {
 public:
  void Add(bool cluster, const std::string& name, json spec) {
    objects_[(cluster ? "/" : "ns/") + name] =
        json{{"kind", cluster ? "ClusterAnalysisTemplate" : "AnalysisTemplate"},
             {"metadata", {{"name", name}}},
             {"spec", spec}};
  }
  TemplateLookup Lookup() {
    return
        [this](bool cluster, std::string_view ns, std::string_view name) -> absl::StatusOr<json> {
          auto it = objects_.find(std::string(cluster ? "" : ns) + "/" + std::string(name));
          if (it == objects_.end()) return absl::NotFoundError("not found");
          return it->second;
        };
  }

 private:
  std::map<std::string, json> objects_;
};

json Metric(const std::string& name) {
  return json{{"name", name},
              {"successCondition", "result == '{{args.want}}'"},
              {"provider", {{"web", {{"url", "http://{{args.host}}/x"}}}}}};
}

RunSource Source(json analysis) {
  return RunSource{.ns = "ns",
                   .name = "ro-abc-1-2",
                   .analysis = std::move(analysis),
                   .labels = {{"rollout-type", "Step"}},
                   .owner_reference = {{"kind", "Rollout"}, {"name", "ro"}, {"uid", "u1"}}};
}

TEST(BuildTest, MergesTemplatesArgsAndMetadata) {
  Templates t;
  t.Add(false, "a",
        {{"args", {{{"name", "host"}}, {{"name", "want"}, {"value", "default"}}}},
         {"metrics", {Metric("m1")}},
         {"dryRun", {{{"metricName", "m1"}}}}});
  t.Add(true, "c", {{"args", {{{"name", "host"}}}}, {"metrics", {Metric("m2")}}});
  absl::StatusOr<json> run = BuildAnalysisRun(
      Source(
          {{"templates",
            {{{"templateName", "a"}}, {{"templateName", "c"}, {"clusterScope", true}}}},
           {"args",
            {{{"name", "host"}, {"value", "svc:80"}}, {{"name", "unused"}, {"value", "x"}}}},
           {"measurementRetention", {{{"metricName", ".*"}, {"limit", 3}}}},
           {"analysisRunMetadata", {{"labels", {{"team", "a"}}}, {"annotations", {{"n", "1"}}}}}}),
      t.Lookup());
  ASSERT_OK(run.status());
  EXPECT_EQ((*run)["kind"], "AnalysisRun");
  EXPECT_EQ((*run)["apiVersion"], "argoproj.io/v1alpha1");
  EXPECT_EQ((*run)["metadata"]["name"], "ro-abc-1-2");
  EXPECT_EQ((*run)["metadata"]["labels"], json({{"rollout-type", "Step"}, {"team", "a"}}));
  EXPECT_EQ((*run)["metadata"]["annotations"], json({{"n", "1"}}));
  EXPECT_EQ((*run)["metadata"]["ownerReferences"][0]["uid"], "u1");
  const json& spec = (*run)["spec"];
  ASSERT_EQ(spec["metrics"].size(), 2u);
  EXPECT_EQ(spec["metrics"][0]["name"], "m1");
  EXPECT_EQ(spec["metrics"][1]["name"], "m2");
  // Placeholders stay for resolution at measurement time.
  EXPECT_EQ(spec["metrics"][0]["provider"]["web"]["url"], "http://{{args.host}}/x");
  // Caller values override template defaults; args the templates do not declare are dropped.
  EXPECT_EQ(spec["args"],
            json::parse(R"([{"name":"host","value":"svc:80"},{"name":"want","value":"default"}])"));
  EXPECT_EQ(spec["dryRun"], json::parse(R"([{"metricName":"m1"}])"));
  EXPECT_EQ(spec["measurementRetention"], json::parse(R"([{"metricName":".*","limit":3}])"));
}

TEST(BuildTest, NestedTemplatesAreFollowedAndDeduplicated) {
  Templates t;
  t.Add(false, "outer",
        {{"templates",
          {{{"templateName", "inner"}}, {{"templateName", "shared"}, {"clusterScope", true}}}}});
  t.Add(false, "inner",
        {{"metrics", {Metric("i")}},
         {"args", {{{"name", "want"}, {"value", "w"}}, {{"name", "host"}, {"value", "h"}}}}});
  t.Add(true, "shared", {{"metrics", {Metric("s")}}});
  absl::StatusOr<json> run =
      BuildAnalysisRun(Source({{"templates",
                                {{{"templateName", "outer"}},
                                 {{"templateName", "inner"}},
                                 {{"templateName", "shared"}, {"clusterScope", true}}}}}),
                       t.Lookup());
  ASSERT_OK(run.status());
  ASSERT_EQ((*run)["spec"]["metrics"].size(), 2u);
  EXPECT_EQ((*run)["spec"]["metrics"][0]["name"], "i");
  EXPECT_EQ((*run)["spec"]["metrics"][1]["name"], "s");
}

TEST(BuildTest, Errors) {
  Templates t;
  t.Add(false, "needs-host", {{"args", {{{"name", "host"}}}}, {"metrics", {Metric("m")}}});
  t.Add(false, "dup", {{"metrics", {Metric("m")}}});
  t.Add(false, "argA", {{"args", {{{"name", "x"}, {"value", "1"}}}}, {"metrics", {Metric("a")}}});
  t.Add(false, "argB", {{"args", {{{"name", "x"}, {"value", "2"}}}}, {"metrics", {Metric("b")}}});
  t.Add(false, "loop", {{"templates", {{{"templateName", "loop"}}}}});
  struct Case {
    json analysis;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {{{"templates", {{{"templateName", "missing"}}}}},
       absl::StatusCode::kNotFound,
       "AnalysisTemplate 'missing' not found"},
      {{{"templates", {{{"templateName", "missing"}, {"clusterScope", true}}}}},
       absl::StatusCode::kNotFound,
       "ClusterAnalysisTemplate 'missing' not found (analysis.templates[0])"},
      {{{"templates", {{{"templateName", "needs-host"}}}}},
       absl::StatusCode::kInvalidArgument,
       "argument \"host\" was not supplied"},
      {{{"templates", {{{"templateName", "needs-host"}}, {{"templateName", "dup"}}}},
        {"args", {{{"name", "host"}, {"value", "h"}}}}},
       absl::StatusCode::kInvalidArgument,
       "two metrics have the same name 'm'"},
      {{{"templates", {{{"templateName", "argA"}}, {{"templateName", "argB"}}}}},
       absl::StatusCode::kInvalidArgument,
       "Argument `x` specified multiple times with different values: '1', '2'"},
      {{{"templates", {{{"templateName", "loop"}}}}},
       absl::StatusCode::kInvalidArgument,
       "nested deeper"},
      {{{"templates", json::array()}}, absl::StatusCode::kInvalidArgument, "analysis.templates"},
      {{{"templates", {{{"clusterScope", true}}}}},
       absl::StatusCode::kInvalidArgument,
       "analysis.templates[0].templateName: required"},
      {{{"templates", {{{"templateName", "argA"}}}},
        {"dryRun", {{{"metricName", "a"}}, {{"metricName", "a"}}}}},
       absl::StatusCode::kInvalidArgument,
       "two Dry-Run metric rules have the same name 'a'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(BuildAnalysisRun(Source(c.analysis), t.Lookup()),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.analysis.dump();
  }
}

TEST(BuildTest, LookupMessageNamingTheTemplateIsKept) {
  TemplateLookup lookup = [](bool, std::string_view, std::string_view) -> absl::StatusOr<json> {
    return absl::NotFoundError("AnalysisTemplate \"gone\" not found in namespace \"ns\"");
  };
  EXPECT_THAT(BuildAnalysisRun(Source({{"templates", {{{"templateName", "gone"}}}}}), lookup),
              StatusIs(absl::StatusCode::kNotFound,
                       "AnalysisTemplate \"gone\" not found in namespace \"ns\" "
                       "(analysis.templates[0])"));
}

TEST(BuildTest, SecretArgsKeptAsValueFrom) {
  Templates t;
  t.Add(false, "a",
        {{"args",
          {{{"name", "token"}},
           {{"name", "host"}, {"value", "h"}},
           {{"name", "want"}, {"value", "w"}}}},
         {"metrics", {Metric("m")}}});
  json secret = {{"secretKeyRef", {{"name", "creds"}, {"key", "token"}}}};
  absl::StatusOr<json> run =
      BuildAnalysisRun(Source({{"templates", {{{"templateName", "a"}}}},
                               {"args", {{{"name", "token"}, {"valueFrom", secret}}}}}),
                       t.Lookup());
  ASSERT_OK(run.status());
  EXPECT_EQ((*run)["spec"]["args"][0], json({{"name", "token"}, {"valueFrom", secret}}));
}

TEST(ResolveMetricArgsTest, SubstitutesLikeArgo) {
  json metric = Metric("m");
  metric["provider"]["web"]["headers"] = {
      {{"key", "Authorization"}, {"value", "Bearer {{ args.token }}"}}};
  absl::StatusOr<json> r =
      ResolveMetricArgs(metric, {{"host", "svc:8080"}, {"want", "a\"b"}, {"token", "t0k"}});
  ASSERT_OK(r.status());
  EXPECT_EQ((*r)["provider"]["web"]["url"], "http://svc:8080/x");
  EXPECT_EQ((*r)["successCondition"], "result == 'a\"b'");
  EXPECT_EQ((*r)["provider"]["web"]["headers"][0]["value"], "Bearer t0k");
  EXPECT_THAT(ResolveMetricArgs(metric, {{"host", "h"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("failed to resolve {{ args.token }}")));
  EXPECT_THAT(ResolveMetricArgs(json{{"x", "{{args.a"}}, {{"a", "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot find end tag")));
}

TEST(PlainArgValuesTest, SecretsGetAPlaceholder) {
  absl::StatusOr<std::map<std::string, std::string>> v = PlainArgValues(json::parse(
      R"([{"name":"a","value":"1"},{"name":"s","valueFrom":{"secretKeyRef":{"name":"x","key":"k"}}}])"));
  ASSERT_OK(v.status());
  EXPECT_EQ((*v)["a"], "1");
  EXPECT_EQ((*v)["s"], "temp-for-secret");
  EXPECT_THAT(
      PlainArgValues(json::parse(R"([{"name":"a"}])")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("argument \"a\" was not supplied")));
}

}  // namespace
}  // namespace argonaut::rollout::analysis
