#include "services/rollout/api/actions.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

// The StatusOr's value into `lhs`, or the test stops with its status.
#define RO_CONCAT_INNER(a, b) a##b
#define RO_CONCAT(a, b) RO_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(RO_CONCAT(statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  ASSERT_OK(statusor.status());                        \
  lhs = *std::move(statusor)

namespace argonaut::rollout::api {
namespace {

using ::nlohmann::json;

// A canary with four steps: setWeight 20, pause, analysis, setWeight 60.
json Canary(const json& status, bool paused = false) {
  json ro = {{"apiVersion", "argoproj.io/v1alpha1"},
             {"kind", "Rollout"},
             {"metadata", {{"name", "demo"}, {"namespace", "default"}}},
             {"spec",
              {{"replicas", 5},
               {"strategy",
                {{"canary",
                  {{"steps",
                    {{{"setWeight", 20}},
                     {{"pause", json::object()}},
                     {{"analysis", {{"templates", {{{"templateName", "t"}}}}}}},
                     {{"setWeight", 60}}}}}}}},
               {"template",
                {{"metadata", {{"labels", {{"app", "demo"}}}}},
                 {"spec",
                  {{"initContainers", {{{"name", "init"}, {"image", "busybox:1"}}}},
                   {"containers",
                    {{{"name", "web"}, {"image", "demo:blue"}},
                     {{"name", "side"}, {"image", "proxy:1"}}}}}}}}}},
             {"status", status}};
  if (paused) ro["spec"]["paused"] = true;
  return ro;
}

struct PromoteCase {
  std::string name;
  json rollout;
  bool full;
  json want_status;  // the whole status after promote
  bool want_paused;
};

TEST(PromoteTest, PatchesAsTheKubectlPlugin) {
  const json pause_cond = {{{"reason", "CanaryPauseStep"}, {"startTime", "2024-01-01T00:00:00Z"}}};
  const json inconclusive = {
      {"pauseConditions",
       {{{"reason", "InconclusiveAnalysisRun"}, {"startTime", "2024-01-01T00:00:00Z"}}}},
      {"controllerPause", true},
      {"currentStepIndex", 2},
      {"canary",
       {{"currentStepAnalysisRunStatus", {{"name", "demo-abc-2-2"}, {"status", "Inconclusive"}}}}}};
  json inconclusive_after = inconclusive;
  inconclusive_after.erase("pauseConditions");
  inconclusive_after["controllerPause"] = false;
  inconclusive_after["currentStepIndex"] = 3;
  const std::vector<PromoteCase> cases = {
      {"pause step: pause conditions cleared, index kept",
       Canary(
           {{"currentStepIndex", 1}, {"controllerPause", true}, {"pauseConditions", pause_cond}}),
       false,
       {{"currentStepIndex", 1}, {"controllerPause", true}},
       false},
      {"manually paused without conditions: spec unpaused, next step",
       Canary({{"currentStepIndex", 0}}, true),
       false,
       {{"currentStepIndex", 1}},
       false},
      {"mid analysis: next step",
       Canary({{"currentStepIndex", 2}}),
       false,
       {{"currentStepIndex", 3}},
       false},
      {"index unset counts as 0", Canary(json::object()), false, {{"currentStepIndex", 1}}, false},
      {"past the last step: capped",
       Canary({{"currentStepIndex", 4}}),
       false,
       {{"currentStepIndex", 4}},
       false},
      {"inconclusive step analysis: conditions, controllerPause and step", Canary(inconclusive),
       false, inconclusive_after, false},
      {"full: promoteFull while not fully promoted",
       Canary({{"currentPodHash", "new"}, {"stableRS", "old"}, {"currentStepIndex", 1}}, true),
       true,
       {{"currentPodHash", "new"},
        {"stableRS", "old"},
        {"currentStepIndex", 1},
        {"promoteFull", true}},
       false},
      {"full: nothing when already fully promoted",
       Canary({{"currentPodHash", "same"}, {"stableRS", "same"}}),
       true,
       {{"currentPodHash", "same"}, {"stableRS", "same"}},
       false},
  };
  for (const PromoteCase& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_OK_AND_ASSIGN(json out, Promote(c.rollout, {.full = c.full}));
    EXPECT_EQ(out["status"], c.want_status) << out["status"].dump();
    EXPECT_EQ(out["spec"].value("paused", false), c.want_paused);
    // Nothing but spec.paused and status changes.
    json a = out, b = c.rollout;
    a.erase("status");
    b.erase("status");
    a["spec"].erase("paused");
    b["spec"].erase("paused");
    EXPECT_EQ(a, b);
  }
}

TEST(PromoteTest, BlueGreenPauseClearsConditionsOnly) {
  json ro = {{"metadata", {{"name", "bg"}}},
             {"spec", {{"strategy", {{"blueGreen", {{"activeService", "a"}}}}}}},
             {"status",
              {{"pauseConditions", {{{"reason", "BlueGreenPause"}}}}, {"controllerPause", true}}}};
  ASSERT_OK_AND_ASSIGN(json out, Promote(ro, {}));
  EXPECT_EQ(out["status"], (json{{"controllerPause", true}}));
  // Without pause conditions a blue-green has no step to move past.
  ro["status"] = json::object();
  ASSERT_OK_AND_ASSIGN(out, Promote(ro, {}));
  EXPECT_EQ(out["status"], json::object());
}

TEST(ActionsTest, AbortRetryPauseRestart) {
  const json ro = Canary({{"currentStepIndex", 1}});
  ASSERT_OK_AND_ASSIGN(json out, Abort(ro));
  EXPECT_EQ(out["status"]["abort"], true);
  EXPECT_EQ(out["spec"], ro["spec"]);
  ASSERT_OK_AND_ASSIGN(out, Retry(out));
  EXPECT_EQ(out["status"]["abort"], false);
  EXPECT_EQ(out["status"]["currentStepIndex"], 1);
  ASSERT_OK_AND_ASSIGN(out, Pause(ro));
  EXPECT_EQ(out["spec"]["paused"], true);
  EXPECT_EQ(out["status"], ro["status"]);
  ASSERT_OK_AND_ASSIGN(out, Pause(out, false));
  EXPECT_EQ(out["spec"]["paused"], false);
  ASSERT_OK_AND_ASSIGN(out, Restart(ro, absl::FromUnixSeconds(1700000000) + absl::Milliseconds(7)));
  EXPECT_EQ(out["spec"]["restartAt"], "2023-11-14T22:13:20Z");
  EXPECT_FALSE(Abort(json::array()).ok());
}

struct SetImageCase {
  std::string container;
  std::vector<std::string> want;  // init, web, side
};

TEST(ActionsTest, SetImage) {
  const std::vector<SetImageCase> cases = {
      {"web", {"busybox:1", "demo:yellow", "proxy:1"}},
      {"init", {"demo:yellow", "demo:blue", "proxy:1"}},
      {"*", {"demo:yellow", "demo:yellow", "demo:yellow"}},
  };
  for (const SetImageCase& c : cases) {
    SCOPED_TRACE(c.container);
    ASSERT_OK_AND_ASSIGN(json out, SetImage(Canary(json::object()), c.container, "demo:yellow"));
    const json& pod = out["spec"]["template"]["spec"];
    EXPECT_EQ(pod["initContainers"][0]["image"], c.want[0]);
    EXPECT_EQ(pod["containers"][0]["image"], c.want[1]);
    EXPECT_EQ(pod["containers"][1]["image"], c.want[2]);
  }
  absl::StatusOr<json> missing = SetImage(Canary(json::object()), "nginx", "x:1");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "unable to find container named \"nginx\"");
  EXPECT_FALSE(SetImage(Canary(json::object()), "web", "").ok());
}

json ReplicaSet(int revision, const std::string& hash, const std::string& image) {
  return {{"metadata",
           {{"name", "demo-" + hash},
            {"annotations", {{kRevisionAnnotation, std::to_string(revision)}}},
            {"labels", {{kPodTemplateHashLabel, hash}}}}},
          {"spec",
           {{"replicas", 1},
            {"template",
             {{"metadata", {{"labels", {{"app", "demo"}, {kPodTemplateHashLabel, hash}}}}},
              {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}}}}}};
}

TEST(ActionsTest, Undo) {
  json ro = Canary(json::object());
  ro["spec"]["template"]["spec"] = {{"containers", {{{"name", "web"}, {"image", "demo:green"}}}}};
  const std::vector<json> rss = {ReplicaSet(1, "aaa", "demo:blue"),
                                 ReplicaSet(3, "ccc", "demo:green"),
                                 ReplicaSet(2, "bbb", "demo:yellow")};
  struct Case {
    int64_t revision;
    std::string want_image;
  };
  for (const Case& c :
       std::vector<Case>{{0, "demo:yellow"}, {1, "demo:blue"}, {2, "demo:yellow"}}) {
    SCOPED_TRACE(c.revision);
    ASSERT_OK_AND_ASSIGN(json out, Undo(ro, rss, c.revision));
    const json& tmpl = out["spec"]["template"];
    EXPECT_EQ(tmpl["spec"]["containers"][0]["image"], c.want_image);
    // The hash label stays with the ReplicaSet; the controller computes the new one.
    EXPECT_EQ(tmpl["metadata"]["labels"], (json{{"app", "demo"}}));
    EXPECT_EQ(out["status"], ro["status"]);
  }
  // Already at revision 3's template: nothing changes.
  ASSERT_OK_AND_ASSIGN(json same, Undo(ro, rss, 3));
  EXPECT_EQ(same["spec"]["template"]["spec"]["containers"][0]["image"], "demo:green");

  absl::StatusOr<json> missing = Undo(ro, rss, 7);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "revision 7 not found in the history of rollout \"demo\"");
  EXPECT_EQ(Undo(ro, {rss[0]}, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Undo(ro, rss, -1).ok());
}

TEST(ActionsTest, StrategyAndRevision) {
  EXPECT_EQ(StrategyOf(Canary(json::object())), "Canary");
  EXPECT_EQ(StrategyOf(json{{"spec", {{"strategy", {{"blueGreen", json::object()}}}}}}),
            "BlueGreen");
  EXPECT_EQ(StrategyOf(json::object()), "");
  EXPECT_EQ(RevisionOf(ReplicaSet(12, "x", "i")), 12);
  EXPECT_EQ(RevisionOf(json{{"metadata", {{"annotations", {{kRevisionAnnotation, "x"}}}}}}), 0);
  EXPECT_EQ(RevisionOf(json::array()), 0);
}

TEST(ActionsTest, RetryAndTerminateExperiment) {
  const json ex = {{"kind", "Experiment"},
                   {"metadata", {{"name", "e"}}},
                   {"spec", {{"templates", json::array()}}},
                   {"status", {{"phase", "Failed"}}}};
  absl::StatusOr<json> retried = RetryExperiment(ex);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->contains("status"));
  EXPECT_EQ((*retried)["spec"], ex["spec"]);
  EXPECT_FALSE(RetryExperiment(json{{"kind", "Rollout"}}).ok());
  absl::StatusOr<json> stopped = Terminate(ex);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ((*stopped)["spec"]["terminate"], true);
  EXPECT_EQ((*stopped)["status"], ex["status"]);
  EXPECT_TRUE(Terminate(json{{"kind", "AnalysisRun"}}).ok());
  EXPECT_FALSE(Terminate(json{{"kind", "Rollout"}}).ok());
}

}  // namespace
}  // namespace argonaut::rollout::api
