#include "services/workflow/gc.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"

#define GC_CONCAT2(a, b) a##b
#define GC_CONCAT(a, b) GC_CONCAT2(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(GC_CONCAT(result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_OK(tmp.status());                        \
  lhs = *std::move(tmp)

namespace argonaut::workflow::gc {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kFinished = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14T22:13:20Z
constexpr char kFinishedText[] = "2023-11-14T22:13:20Z";

json Wf(const std::string& phase, json spec = json::object(), json nodes = json::object()) {
  json status = {{"phase", phase}, {"nodes", std::move(nodes)}};
  if (phase == "Succeeded" || phase == "Failed" || phase == "Error") {
    status["finishedAt"] = kFinishedText;
  }
  return {{"metadata", {{"name", "wf"}, {"namespace", "default"}, {"labels", json::object()}}},
          {"spec", std::move(spec)},
          {"status", std::move(status)}};
}

json Pod(const std::string& name, const std::string& node_id, json labels = json::object()) {
  return {{"metadata",
           {{"name", name},
            {"labels", std::move(labels)},
            {"annotations", {{"workflows.argoproj.io/node-id", node_id}}}}}};
}

json Node(const std::string& phase, absl::Time finished) {
  json n = {{"phase", phase}, {"type", "Pod"}};
  if (phase != "Running")
    n["finishedAt"] = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", finished, absl::UTCTimeZone());
  return n;
}

TEST(TtlTest, Table) {
  struct Case {
    std::string name, phase;
    json ttl, defaults;
    std::optional<absl::Time> want;
  };
  const json all = {
      {"secondsAfterCompletion", 30}, {"secondsAfterSuccess", 10}, {"secondsAfterFailure", 20}};
  const std::vector<Case> cases = {
      {"no strategy", "Succeeded", nullptr, nullptr, std::nullopt},
      {"running never expires", "Running", all, nullptr, std::nullopt},
      {"success uses secondsAfterSuccess", "Succeeded", all, nullptr,
       kFinished + absl::Seconds(10)},
      {"failure uses secondsAfterFailure", "Failed", all, nullptr, kFinished + absl::Seconds(20)},
      {"error counts as failure", "Error", all, nullptr, kFinished + absl::Seconds(20)},
      {"success falls back to completion",
       "Succeeded",
       {{"secondsAfterCompletion", 30}, {"secondsAfterFailure", 5}},
       nullptr,
       kFinished + absl::Seconds(30)},
      {"failure falls back to completion",
       "Failed",
       {{"secondsAfterCompletion", 30}, {"secondsAfterSuccess", 5}},
       nullptr,
       kFinished + absl::Seconds(30)},
      {"only success set, failed kept",
       "Failed",
       {{"secondsAfterSuccess", 5}},
       nullptr,
       std::nullopt},
      {"zero deletes at finish", "Succeeded", {{"secondsAfterCompletion", 0}}, nullptr, kFinished},
      {"controller default",
       "Succeeded",
       nullptr,
       {{"secondsAfterCompletion", 60}},
       kFinished + absl::Seconds(60)},
      {"spec field wins over default",
       "Succeeded",
       {{"secondsAfterSuccess", 1}},
       {{"secondsAfterSuccess", 60}, {"secondsAfterCompletion", 90}},
       kFinished + absl::Seconds(1)},
      {"default field kept beside spec field",
       "Failed",
       {{"secondsAfterSuccess", 1}},
       {{"secondsAfterCompletion", 90}},
       kFinished + absl::Seconds(90)},
  };
  for (const Case& c : cases) {
    json spec = json::object();
    if (!c.ttl.is_null()) spec["ttlStrategy"] = c.ttl;
    const json wf = Wf(c.phase, spec);
    ASSERT_OK_AND_ASSIGN(TtlStrategy ttl, EffectiveTtl(wf, c.defaults));
    EXPECT_EQ(TtlDueAt(wf, ttl), c.want) << c.name;
  }
}

TEST(TtlTest, LegacyFieldAndBadValues) {
  json wf = Wf("Succeeded", {{"ttlSecondsAfterFinished", 7}});
  ASSERT_OK_AND_ASSIGN(TtlStrategy ttl, EffectiveTtl(wf, nullptr));
  EXPECT_EQ(TtlDueAt(wf, ttl), kFinished + absl::Seconds(7));
  EXPECT_THAT(
      EffectiveTtl(Wf("Succeeded", {{"ttlStrategy", {{"secondsAfterSuccess", -1}}}}), nullptr)
          .status(),
      ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                    ::testing::HasSubstr("spec.ttlStrategy.secondsAfterSuccess")));
}

TEST(PodGcTest, Table) {
  const absl::Time node_done = kFinished - absl::Seconds(100);
  const json nodes = {{"ok", Node("Succeeded", node_done)},
                      {"bad", Node("Failed", node_done)},
                      {"run", Node("Running", node_done)}};
  const std::vector<json> pods = {Pod("p-ok", "ok", {{"keep", "no"}}), Pod("p-bad", "bad"),
                                  Pod("p-run", "run"), Pod("p-orphan", "gone")};
  struct Case {
    std::string name, phase;
    json pod_gc, defaults;
    absl::Time now;
    std::vector<std::string> want;
    std::optional<absl::Time> next;
  };
  const absl::Time early = node_done + absl::Seconds(1);  // the workflow still runs
  const std::vector<Case> cases = {
      {"unset keeps every pod", "Running", nullptr, nullptr, early, {}, std::nullopt},
      {"OnPodCompletion: completed nodes",
       "Running",
       {{"strategy", "OnPodCompletion"}},
       nullptr,
       early,
       {"p-ok", "p-bad"},
       std::nullopt},
      {"OnPodSuccess: succeeded nodes",
       "Running",
       {{"strategy", "OnPodSuccess"}},
       nullptr,
       early,
       {"p-ok"},
       std::nullopt},
      {"OnWorkflowCompletion: waits for the workflow",
       "Running",
       {{"strategy", "OnWorkflowCompletion"}},
       nullptr,
       early,
       {},
       std::nullopt},
      {"OnWorkflowCompletion: every pod once failed",
       "Failed",
       {{"strategy", "OnWorkflowCompletion"}},
       nullptr,
       kFinished,
       {"p-ok", "p-bad", "p-run", "p-orphan"},
       std::nullopt},
      {"OnWorkflowSuccess: failed workflow keeps pods",
       "Failed",
       {{"strategy", "OnWorkflowSuccess"}},
       nullptr,
       kFinished,
       {},
       std::nullopt},
      {"OnWorkflowSuccess: succeeded workflow",
       "Succeeded",
       {{"strategy", "OnWorkflowSuccess"}},
       nullptr,
       kFinished,
       {"p-ok", "p-bad", "p-run", "p-orphan"},
       std::nullopt},
      {"labelSelector",
       "Running",
       {{"strategy", "OnPodCompletion"}, {"labelSelector", {{"matchLabels", {{"keep", "no"}}}}}},
       nullptr,
       early,
       {"p-ok"},
       std::nullopt},
      {"deleteDelayDuration before due",
       "Running",
       {{"strategy", "OnPodCompletion"}, {"deleteDelayDuration", "30s"}},
       nullptr,
       node_done + absl::Seconds(29),
       {},
       node_done + absl::Seconds(30)},
      {"deleteDelayDuration at due",
       "Running",
       {{"strategy", "OnPodCompletion"}, {"deleteDelayDuration", "30s"}},
       nullptr,
       node_done + absl::Seconds(30),
       {"p-ok", "p-bad"},
       std::nullopt},
      {"workflow strategy delay from finishedAt",
       "Succeeded",
       {{"strategy", "OnWorkflowSuccess"}, {"deleteDelayDuration", "1m"}},
       nullptr,
       kFinished + absl::Seconds(59),
       {},
       kFinished + absl::Minutes(1)},
      {"controller default",
       "Running",
       nullptr,
       {{"strategy", "OnPodSuccess"}},
       early,
       {"p-ok"},
       std::nullopt},
      {"spec overrides default strategy",
       "Running",
       {{"strategy", "OnPodCompletion"}},
       {{"strategy", "OnPodSuccess"}, {"deleteDelayDuration", "10s"}},
       early,
       {},
       node_done + absl::Seconds(10)},
  };
  for (const Case& c : cases) {
    json spec = json::object();
    if (!c.pod_gc.is_null()) spec["podGC"] = c.pod_gc;
    const json wf = Wf(c.phase, spec, nodes);
    ASSERT_OK_AND_ASSIGN(PodGcPolicy policy, EffectivePodGc(wf, c.defaults));
    ASSERT_OK_AND_ASSIGN(PodGcDecision d, DecidePodGc(wf, pods, policy, c.now));
    EXPECT_EQ(d.delete_now, c.want) << c.name;
    EXPECT_EQ(d.next, c.next) << c.name;
  }
}

TEST(PodGcTest, BadSpecNamesTheField) {
  EXPECT_THAT(
      EffectivePodGc(Wf("Running", {{"podGC", {{"strategy", "Sometimes"}}}}), nullptr).status(),
      ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                    ::testing::HasSubstr("spec.podGC.strategy")));
  EXPECT_THAT(
      EffectivePodGc(Wf("Running", {{"podGC", {{"deleteDelayDuration", "soon"}}}}), nullptr)
          .status(),
      ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                    ::testing::HasSubstr("spec.podGC.deleteDelayDuration")));
}

TEST(RetentionTest, ArchiveBeforeTtlAndSelector) {
  RetentionConfig config{.archive = true};
  json wf = Wf("Succeeded", {{"ttlStrategy", {{"secondsAfterCompletion", 10}}}});
  ASSERT_OK_AND_ASSIGN(RetentionActions a, DecideRetention(wf, {}, config, kFinished));
  EXPECT_TRUE(a.archive);
  EXPECT_FALSE(a.delete_workflow);
  EXPECT_EQ(a.next, kFinished + absl::Seconds(10));

  ASSERT_OK_AND_ASSIGN(a, DecideRetention(wf, {}, config, kFinished + absl::Seconds(10)));
  EXPECT_TRUE(a.archive);
  EXPECT_TRUE(a.delete_workflow);

  wf["metadata"]["labels"][kArchivingStatusLabel] = kArchived;
  ASSERT_OK_AND_ASSIGN(a, DecideRetention(wf, {}, config, kFinished + absl::Seconds(10)));
  EXPECT_FALSE(a.archive);
  EXPECT_TRUE(a.delete_workflow);

  config.archive_label_selector = {{"matchLabels", {{"archive", "yes"}}}};
  ASSERT_OK_AND_ASSIGN(a, DecideRetention(Wf("Failed"), {}, config, kFinished));
  EXPECT_FALSE(a.archive);
  EXPECT_FALSE(a.next.has_value());
  ASSERT_OK_AND_ASSIGN(
      a, DecideRetention(Wf("Running"), {}, RetentionConfig{.archive = true}, kFinished));
  EXPECT_FALSE(a.archive);
}

TEST(RetentionTest, EarliestOfTtlAndPodGc) {
  const json nodes = {{"ok", Node("Succeeded", kFinished)}};
  json wf = Wf("Succeeded",
               {{"ttlStrategy", {{"secondsAfterSuccess", 60}}},
                {"podGC", {{"strategy", "OnWorkflowSuccess"}, {"deleteDelayDuration", "5s"}}}},
               nodes);
  ASSERT_OK_AND_ASSIGN(RetentionActions a,
                       DecideRetention(wf, {Pod("p", "ok")}, RetentionConfig{}, kFinished));
  EXPECT_THAT(a.delete_pods, IsEmpty());
  EXPECT_EQ(a.next, kFinished + absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(
      a, DecideRetention(wf, {Pod("p", "ok")}, RetentionConfig{}, kFinished + absl::Seconds(5)));
  EXPECT_THAT(a.delete_pods, ElementsAre("p"));
  EXPECT_EQ(a.next, kFinished + absl::Seconds(60));
}

TEST(ConfigMapTest, PersistenceAndDefaults) {
  const json cm = {
      {"data",
       {{"persistence",
         "archive: true\narchiveTTL: 7d\narchiveLabelSelector:\n  matchLabels:\n    a: b\n"},
        {"workflowDefaults",
         "spec:\n  ttlStrategy:\n    secondsAfterCompletion: 60\n  podGC:\n    strategy: "
         "OnPodSuccess\n"}}}};
  ASSERT_OK_AND_ASSIGN(RetentionConfig c, ParseControllerConfigMap(cm, RetentionConfig{}));
  EXPECT_TRUE(c.archive);
  EXPECT_EQ(c.archive_ttl, absl::Hours(24 * 7));
  EXPECT_EQ(c.archive_label_selector, (json{{"matchLabels", {{"a", "b"}}}}));
  EXPECT_EQ(c.default_ttl_strategy, (json{{"secondsAfterCompletion", 60}}));
  EXPECT_EQ(c.default_pod_gc, (json{{"strategy", "OnPodSuccess"}}));

  // Keys the ConfigMap lacks keep the server's values.
  ASSERT_OK_AND_ASSIGN(c, ParseControllerConfigMap(json{{"data", json::object()}},
                                                   RetentionConfig{.archive = true}));
  EXPECT_TRUE(c.archive);
  EXPECT_THAT(ParseControllerConfigMap({{"data", {{"persistence", "archiveTTL: soon\n"}}}},
                                       RetentionConfig{})
                  .status(),
              ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                            ::testing::HasSubstr("archiveTTL")));
}

TEST(ConfigMapTest, TheExampleParses) {
  std::ifstream in("examples/workflows/controller/workflow-controller-configmap.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto docs = manifest::ParseDocuments(text.str());
  ASSERT_OK(docs.status());
  ASSERT_OK_AND_ASSIGN(RetentionConfig c, ParseControllerConfigMap((*docs)[0], RetentionConfig{}));
  EXPECT_TRUE(c.archive);
  EXPECT_EQ(c.archive_ttl, absl::Hours(24 * 7));
  EXPECT_EQ(c.default_pod_gc["strategy"], "OnPodSuccess");
  EXPECT_EQ(c.default_ttl_strategy["secondsAfterSuccess"], 3600);
  // The selector keeps workflows without the opt-out label.
  json wf = Wf("Succeeded");
  ASSERT_OK_AND_ASSIGN(bool archive, NeedsArchiving(wf, c));
  EXPECT_TRUE(archive);
  wf["metadata"]["labels"]["workflows.argoproj.io/archive-strategy"] = "false";
  ASSERT_OK_AND_ASSIGN(archive, NeedsArchiving(wf, c));
  EXPECT_FALSE(archive);
}

}  // namespace
}  // namespace argonaut::workflow::gc
