#include "services/rollout/api/info.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::api {
namespace {

using ::nlohmann::json;

json Owner(const std::string& uid) { return json::array({{{"uid", uid}, {"controller", true}}}); }

json RS(const std::string& hash, int revision, int replicas, int available,
        const std::string& image, const std::string& owner = "ro-uid") {
  return {{"metadata",
           {{"name", "demo-" + hash},
            {"namespace", "default"},
            {"uid", "rs-" + hash},
            {"labels", {{"rollouts-pod-template-hash", hash}}},
            {"annotations", {{"rollout.argoproj.io/revision", std::to_string(revision)}}},
            {"ownerReferences", Owner(owner)}}},
          {"spec",
           {{"replicas", replicas},
            {"template", {{"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}}}}},
          {"status", {{"replicas", replicas}, {"availableReplicas", available}}}};
}

json Pod(const std::string& name, const std::string& rs_hash, bool ready,
         const json& state = {{"running", json::object()}}) {
  return {{"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"labels", {{"rollouts-pod-template-hash", rs_hash}}},
            {"ownerReferences", Owner("rs-" + rs_hash)}}},
          {"spec", {{"containers", {{{"name", "web"}}}}}},
          {"status",
           {{"phase", "Running"},
            {"containerStatuses",
             {{{"name", "web"}, {"ready", ready}, {"restartCount", 2}, {"state", state}}}}}}};
}

// The seed's canary paused at 20%: 1 canary pod, 4 stable.
RolloutObjects PausedCanary() {
  RolloutObjects o;
  o.rollout = {
      {"metadata",
       {{"name", "demo"},
        {"namespace", "default"},
        {"uid", "ro-uid"},
        {"generation", 2},
        {"managedFields", json::array()}}},
      {"spec",
       {{"replicas", 5},
        {"strategy",
         {{"canary",
           {{"steps", {{{"setWeight", 20}}, {{"pause", json::object()}}, {{"setWeight", 40}}}}}}}},
        {"template", {{"spec", {{"containers", {{{"name", "web"}, {"image", "demo:yellow"}}}}}}}}}},
      {"status",
       {{"phase", "Paused"},
        {"message", "CanaryPauseStep"},
        {"observedGeneration", "2"},
        {"currentStepIndex", 1},
        {"currentPodHash", "new"},
        {"stableRS", "old"},
        {"replicas", 5},
        {"updatedReplicas", 1},
        {"readyReplicas", 5},
        {"availableReplicas", 5},
        {"controllerPause", true},
        {"pauseConditions", {{{"reason", "CanaryPauseStep"}}}}}}};
  o.replica_sets = {RS("old", 1, 4, 4, "demo:blue"), RS("new", 2, 1, 1, "demo:yellow"),
                    RS("other", 1, 3, 3, "x:1", "someone-else")};
  o.pods = {Pod("demo-new-a", "new", true), Pod("demo-old-b", "old", true),
            Pod("demo-old-a", "old", false, {{"waiting", {{"reason", "CrashLoopBackOff"}}}}),
            Pod("demo-other-a", "other", true)};
  json run = json::parse(R"({
    "metadata": {"name": "demo-new-2-2", "namespace": "default",
                 "annotations": {"rollout.argoproj.io/revision": "2"}},
    "spec": {"metrics": [{"name": "job", "failureLimit": 1, "count": 2},
                         {"name": "web", "successCondition": "result == 'ok'"}]},
    "status": {"phase": "Running", "metricResults": [
      {"name": "job", "successful": 1, "failed": 1, "measurements": [
        {"phase": "Successful", "metadata": {"job-name": "j1"}},
        {"phase": "Failed", "startedAt": "2024-01-01T00:00:00Z",
         "metadata": {"job-name": "j2"}}]},
      {"name": "web", "successful": 2, "measurements": [
        {"phase": "Successful", "value": "ok"}, {"phase": "Successful", "value": "ok"}]}]}})");
  run["metadata"]["ownerReferences"] = Owner("ro-uid");
  o.analysis_runs = {run};
  return o;
}

TEST(RolloutInfoTest, PausedCanary) {
  const json info = BuildRolloutInfo(PausedCanary());
  EXPECT_EQ(info["status"], "Paused");
  EXPECT_EQ(info["message"], "CanaryPauseStep");
  EXPECT_EQ(info["icon"], kIconPaused);
  EXPECT_EQ(info["strategy"], "Canary");
  EXPECT_EQ(info["step"], "1/3");
  EXPECT_EQ(info["setWeight"], "20");
  EXPECT_EQ(info["actualWeight"], "20");  // 1 of 5 available pods
  EXPECT_EQ(info["desired"], 5);
  EXPECT_EQ(info["updated"], 1);
  EXPECT_EQ(info["generation"], "2");
  EXPECT_EQ(info["restartedAt"], "Never");
  EXPECT_FALSE(info["objectMeta"].contains("managedFields"));
  EXPECT_EQ(info["containers"], (json{{{"name", "web"}, {"image", "demo:yellow"}}}));

  ASSERT_EQ(info["replicaSets"].size(), 2u);  // not the RS another owner has
  const json& canary = info["replicaSets"][0];
  EXPECT_EQ(canary["objectMeta"]["name"], "demo-new");
  EXPECT_EQ(canary["revision"], "2");
  EXPECT_EQ(canary["canary"], true);
  EXPECT_EQ(canary["stable"], false);
  EXPECT_EQ(canary["status"], "Healthy");
  EXPECT_EQ(canary["images"], (json{"demo:yellow"}));
  const json& stable = info["replicaSets"][1];
  EXPECT_EQ(stable["stable"], true);
  EXPECT_EQ(stable["canary"], false);
  ASSERT_EQ(stable["pods"].size(), 2u);
  EXPECT_EQ(stable["pods"][0]["objectMeta"]["name"], "demo-old-a");
  EXPECT_EQ(stable["pods"][0]["status"], "CrashLoopBackOff");
  EXPECT_EQ(stable["pods"][0]["icon"], kIconBad);
  EXPECT_EQ(stable["pods"][0]["ready"], "0/1");
  EXPECT_EQ(stable["pods"][1]["status"], "Running");
  EXPECT_EQ(stable["pods"][1]["icon"], kIconOk);
  EXPECT_EQ(stable["pods"][1]["restarts"], 2);

  ASSERT_EQ(info["analysisRuns"].size(), 1u);
  const json& run = info["analysisRuns"][0];
  EXPECT_EQ(run["status"], "Running");
  EXPECT_EQ(run["revision"], "2");
  EXPECT_EQ(run["successful"], 3);
  EXPECT_EQ(run["failed"], 1);
  ASSERT_EQ(run["jobs"].size(), 1u);  // the job of the last measurement
  EXPECT_EQ(run["jobs"][0]["objectMeta"]["name"], "j2");
  EXPECT_EQ(run["jobs"][0]["status"], "Failed");
  EXPECT_EQ(run["nonJobInfo"].size(), 2u);
  EXPECT_EQ(run["metrics"][0], (json{{"name", "job"}, {"count", 2}, {"failureLimit", 1}}));
  EXPECT_EQ(run["specAndStatus"]["status"]["phase"], "Running");
}

TEST(RolloutInfoTest, PhaseAsClientsReportIt) {
  RolloutObjects o = PausedCanary();
  o.rollout["metadata"]["generation"] = 3;  // a spec change the controller has not seen
  EXPECT_EQ(RolloutPhase(o.rollout),
            std::make_pair(std::string("Progressing"),
                           std::string("waiting for rollout spec update to be observed")));
  o.rollout["metadata"]["generation"] = 2;
  o.rollout["status"].erase("pauseConditions");  // promoted, not reconciled yet
  EXPECT_EQ(RolloutPhase(o.rollout).second, "waiting for rollout to unpause");
  o.rollout["status"] = json::object();
  EXPECT_EQ(RolloutPhase(o.rollout).first, "Progressing");
  o.rollout["status"] = {{"phase", "Degraded"},
                         {"message", "RolloutAborted: Rollout aborted update to revision 2"},
                         {"observedGeneration", "2"}};
  EXPECT_EQ(RolloutPhase(o.rollout).first, "Degraded");
  EXPECT_EQ(BuildRolloutInfo(o)["icon"], kIconBad);
}

TEST(RolloutInfoTest, SetWeight) {
  json ro = PausedCanary().rollout;
  struct Case {
    json status;
    int want;
  };
  for (const Case& c : std::vector<Case>{{{{"currentStepIndex", 0}}, 20},
                                         {{{"currentStepIndex", 1}}, 20},
                                         {{{"currentStepIndex", 2}}, 40},
                                         {{{"currentStepIndex", 3}}, 100},
                                         {{{"currentStepIndex", 2}, {"abort", true}}, 0}}) {
    ro["status"] = c.status;
    EXPECT_EQ(SetWeight(ro), c.want) << c.status.dump();
  }
  ro["spec"]["strategy"]["canary"]["steps"] = {{{"pause", json::object()}}};
  ro["status"] = {{"currentStepIndex", 0}};
  EXPECT_EQ(SetWeight(ro), 0);
}

TEST(RolloutInfoTest, BlueGreenAndRoutedCanary) {
  RolloutObjects o = PausedCanary();
  o.rollout["spec"]["strategy"] = {{"blueGreen", {{"activeService", "a"}}}};
  o.rollout["status"]["blueGreen"] = {{"activeSelector", "old"}, {"previewSelector", "new"}};
  json info = BuildRolloutInfo(o);
  EXPECT_EQ(info["strategy"], "BlueGreen");
  EXPECT_FALSE(info.contains("step"));
  EXPECT_EQ(info["replicaSets"][0]["preview"], true);
  EXPECT_EQ(info["replicaSets"][1]["active"], true);

  o = PausedCanary();
  o.rollout["spec"]["strategy"]["canary"]["trafficRouting"] = {{"smi", json::object()}};
  o.rollout["status"]["canary"] = {{"weights", {{"canary", {{"weight", 18}}}}}};
  EXPECT_EQ(BuildRolloutInfo(o)["actualWeight"], "18");
}

}  // namespace
}  // namespace argonaut::rollout::api
