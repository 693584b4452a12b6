#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli/rollout_commands.h"
#include "cli/rollout_printer.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/rollout/api/rollout_service.h"

namespace argonaut::cli {
namespace {

using ::nlohmann::json;

absl::Time At(const std::string& s) {
  absl::Time t;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, nullptr));
  return t;
}

// The seed's canary paused at 20%: 1 yellow pod (canary), 4 blue (stable), a step analysis.
json PausedInfo() {
  return json::parse(R"({
    "objectMeta": {"name": "rollouts-demo", "namespace": "default",
                   "creationTimestamp": "2024-05-14T10:00:00Z"},
    "status": "Paused", "message": "CanaryPauseStep", "icon": "॥", "strategy": "Canary",
    "step": "1/8", "setWeight": "20", "actualWeight": "20",
    "desired": 5, "current": 5, "updated": 1, "ready": 5, "available": 5,
    "replicaSets": [
      {"objectMeta": {"name": "rollouts-demo-6cf78c66c5",
                      "creationTimestamp": "2024-05-14T10:00:15Z"},
       "revision": "2", "status": "Healthy", "icon": "✔", "canary": true, "stable": false,
       "replicas": 1, "available": 1, "images": ["argoproj/rollouts-demo:yellow"],
       "pods": [{"objectMeta": {"name": "rollouts-demo-6cf78c66c5-gk5nd",
                                "creationTimestamp": "2024-05-14T10:00:15Z"},
                 "status": "Running", "icon": "✔", "ready": "1/1", "restarts": 0}]},
      {"objectMeta": {"name": "rollouts-demo-687d76d795",
                      "creationTimestamp": "2024-05-14T10:00:00Z"},
       "revision": "1", "status": "Healthy", "icon": "✔", "stable": true, "canary": false,
       "replicas": 4, "available": 4, "images": ["argoproj/rollouts-demo:blue"],
       "pods": [{"objectMeta": {"name": "rollouts-demo-687d76d795-2hxbb",
                                "creationTimestamp": "2024-05-14T10:00:00Z"},
                 "status": "Running", "icon": "✔", "ready": "1/1", "restarts": 2},
                {"objectMeta": {"name": "rollouts-demo-687d76d795-6nmdn",
                                "creationTimestamp": "2024-05-14T10:00:00Z"},
                 "status": "Running", "icon": "✔", "ready": "1/1", "restarts": 0}]}],
    "analysisRuns": [
      {"objectMeta": {"name": "rollouts-demo-6cf78c66c5-2-1",
                      "creationTimestamp": "2024-05-14T10:00:16Z"},
       "revision": "2", "status": "Successful", "icon": "✔", "successful": 3, "failed": 1,
       "jobs": [{"objectMeta": {"name": "job-1"}, "status": "Successful", "icon": "✔",
                 "startedAt": "2024-05-14T10:00:17Z"}]}],
    "experiments": []})");
}

TEST(RolloutPrinterTest, TreeAsKubectlArgoRolloutsGet) {
  const std::string want =
      "Name:            rollouts-demo\n"
      "Namespace:       default\n"
      "Status:          ॥ Paused\n"
      "Message:         CanaryPauseStep\n"
      "Strategy:        Canary\n"
      "  Step:          1/8\n"
      "  SetWeight:     20\n"
      "  ActualWeight:  20\n"
      "Images:          argoproj/rollouts-demo:yellow (canary)\n"
      "                 argoproj/rollouts-demo:blue (stable)\n"
      "Replicas:\n"
      "  Desired:       5\n"
      "  Current:       5\n"
      "  Updated:       1\n"
      "  Ready:         5\n"
      "  Available:     5\n"
      "\n"
      "NAME                                       KIND         STATUS        AGE  INFO\n"
      "⟳ rollouts-demo                            Rollout      ॥ Paused      60s\n"
      "├──# revision:2\n"
      "│  ├──⧉ rollouts-demo-6cf78c66c5           ReplicaSet   ✔ Healthy     45s  canary\n"
      "│  │  └──□ rollouts-demo-6cf78c66c5-gk5nd  Pod          ✔ Running     45s  ready:1/1\n"
      "│  └──α rollouts-demo-6cf78c66c5-2-1       AnalysisRun  ✔ Successful  44s  ✔ 3,✖ 1\n"
      "│     └──⊞ job-1                           Job          ✔ Successful  43s\n"
      "└──# revision:1\n"
      "   └──⧉ rollouts-demo-687d76d795           ReplicaSet   ✔ Healthy     60s  stable\n"
      "      ├──□ rollouts-demo-687d76d795-2hxbb  Pod          ✔ Running     60s  "
      "ready:1/1,restarts:2\n"
      "      └──□ rollouts-demo-687d76d795-6nmdn  Pod          ✔ Running     60s  ready:1/1\n";
  EXPECT_EQ(FormatRolloutInfo(PausedInfo(), At("2024-05-14T10:01:00Z")), want);
}

TEST(RolloutPrinterTest, ListAndStatusLine) {
  json bg = PausedInfo();
  bg["objectMeta"]["name"] = "bluegreen";
  bg["objectMeta"]["namespace"] = "team";
  bg["strategy"] = "BlueGreen";
  bg.erase("step");
  bg["status"] = "Healthy";
  bg["message"] = "";
  EXPECT_EQ(FormatRolloutList({PausedInfo(), bg}, false),
            "NAME           STRATEGY   STATUS   STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  "
            "AVAILABLE\n"
            "rollouts-demo  Canary     Paused   1/8   20          5/5    5        1           5\n"
            "bluegreen      BlueGreen  Healthy  -     -           5/5    5        1           5\n");
  EXPECT_EQ(FormatRolloutList({bg}, true).substr(0, 15), "NAMESPACE  NAME");
  EXPECT_EQ(RolloutStatusLine(PausedInfo()), "Paused - CanaryPauseStep");
  EXPECT_EQ(RolloutStatusLine(bg), "Healthy");
}

TEST(RolloutCommandsTest, StatusVerdictAndArguments) {
  EXPECT_FALSE(StatusVerdict(PausedInfo()).has_value());
  EXPECT_OK(*StatusVerdict(json{{"status", "Healthy"}}));
  std::optional<absl::Status> degraded =
      StatusVerdict(json{{"status", "Degraded"}, {"message", "RolloutAborted: x"}});
  ASSERT_TRUE(degraded.has_value());
  EXPECT_EQ(degraded->message(),
            "The rollout is in a degraded state with message: RolloutAborted: x");

  auto ci = ParseContainerImage("rollouts-demo=argoproj/rollouts-demo:yellow");
  ASSERT_OK(ci.status());
  EXPECT_EQ(ci->first, "rollouts-demo");
  EXPECT_EQ(ci->second, "argoproj/rollouts-demo:yellow");
  EXPECT_OK(ParseContainerImage("*=nginx:1").status());
  for (const char* bad : {"nginx", "=x", "c="}) EXPECT_FALSE(ParseContainerImage(bad).ok()) << bad;
}

TEST(RolloutCommandsTest, LintChecksRolloutKindsOnly) {
  auto ok = LintRollouts(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: good}
spec:
  replicas: 1
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: a, image: nginx}]}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}]}}
)");
  ASSERT_OK(ok.status());
  EXPECT_TRUE(ok->empty()) << absl::StrJoin(*ok, "\n");
  auto bad = LintRollouts(R"(apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: a, image: nginx}]}
  strategy: {canary: {steps: [{setWeight: 150}]}}
)");
  ASSERT_OK(bad.status());
  ASSERT_EQ(bad->size(), 1u);
  EXPECT_NE((*bad)[0].find("Rollout bad: "), std::string::npos) << (*bad)[0];
  EXPECT_NE((*bad)[0].find("setWeight"), std::string::npos) << (*bad)[0];
}

// The commands against a RolloutService on a loopback port.
class RolloutCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ro_kinds = resource::KindsOfService("rollout");
    ro_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(ro_kinds)});
    ro_api_ = std::make_unique<resource::ResourceApi>(ro_store_.get(), ro_kinds);
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(c_api_.get());
    service_ =
        std::make_unique<rollout::api::RolloutGrpcService>(ro_api_.get(), cluster_.get(), nullptr);
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "ro-cli", .grpc_port = 0, .http_port = -1});
    server_->AddService(service_.get());
    resources_ = std::make_unique<resource::ResourceGrpcService>(ro_api_.get(), "rollout");
    server_->AddService(resources_.get());
    ASSERT_OK(server_->Start());
    server_flag_ = absl::StrCat("--server=127.0.0.1:", server_->BoundGrpcPort());
    json ro = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
      "metadata":{"name":"demo","namespace":"default","generation":1},
      "spec":{"replicas":1,"selector":{"matchLabels":{"app":"demo"}},
        "strategy":{"canary":{"steps":[{"setWeight":50},{"pause":{}}]}},
        "template":{"metadata":{"labels":{"app":"demo"}},
          "spec":{"containers":[{"name":"web","image":"demo:blue"}]}}},
      "status":{"phase":"Paused","message":"CanaryPauseStep","observedGeneration":"1",
        "currentStepIndex":1,"controllerPause":true,
        "pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2024-01-01T00:00:00Z"}]}})");
    ASSERT_OK(ro_api_->CreateObject("Rollout", ro, false).status());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.push_back(server_flag_);
    return RunRollouts(args, out_, err_);
  }

  void SetStatus(const json& status) {
    json ro = *ro_api_->GetObject("Rollout", "default", "demo");
    ro["status"] = status;
    // Rollout has a status subresource: a spec write would keep the old status.
    ASSERT_OK(ro_api_->UpdateStatusObject("Rollout", ro).status());
  }

  std::unique_ptr<store::InMemoryStore> ro_store_, c_store_;
  std::unique_ptr<resource::ResourceApi> ro_api_, c_api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<rollout::api::RolloutGrpcService> service_;
  std::unique_ptr<resource::ResourceGrpcService> resources_;
  std::unique_ptr<server::Server> server_;
  std::string server_flag_;
  std::ostringstream out_, err_;
};

TEST_F(RolloutCliTest, VerbsAgainstTheService) {
  EXPECT_EQ(Run({"list"}), 0) << err_.str();
  EXPECT_EQ(out_.str().substr(0, out_.str().find('\n')),
            "NAME  STRATEGY  STATUS  STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE");
  EXPECT_NE(out_.str().find("\ndemo  Canary    Paused  1/2"), std::string::npos) << out_.str();

  EXPECT_EQ(Run({"get", "rollout", "demo"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("Status:          ॥ Paused"), std::string::npos) << out_.str();

  // Paused is neither healthy nor degraded: status waits, then gives up at the timeout.
  EXPECT_EQ(Run({"status", "demo", "--timeout", "1s"}), 1);
  EXPECT_EQ(out_.str(), "Paused - CanaryPauseStep\n");
  EXPECT_EQ(err_.str(), "error: Rollout status watch exceeded timeout\n");
  EXPECT_EQ(Run({"status", "demo", "--watch=false"}), 0);
  EXPECT_EQ(out_.str(), "Paused - CanaryPauseStep\n");

  EXPECT_EQ(Run({"promote", "demo"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "rollout 'demo' promoted\n");
  EXPECT_FALSE(
      (*ro_api_->GetObject("Rollout", "default", "demo"))["status"].contains("pauseConditions"));

  EXPECT_EQ(Run({"set", "image", "demo", "web=demo:yellow"}), 0) << err_.str();
  EXPECT_EQ((*ro_api_->GetObject("Rollout", "default",
                                 "demo"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "demo:yellow");
  EXPECT_EQ(Run({"set", "image", "demo", "nginx=x:1"}), 1);
  EXPECT_EQ(err_.str(), "error: unable to find container named \"nginx\"\n");

  EXPECT_EQ(Run({"abort", "demo"}), 0) << err_.str();
  EXPECT_EQ((*ro_api_->GetObject("Rollout", "default", "demo"))["status"]["abort"], true);
  EXPECT_EQ(Run({"retry", "rollout", "demo"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "rollout 'demo' retried\n");
  EXPECT_EQ(Run({"pause", "demo"}), 0) << err_.str();
  EXPECT_EQ((*ro_api_->GetObject("Rollout", "default", "demo"))["spec"]["paused"], true);
  EXPECT_EQ(Run({"restart", "demo"}), 0) << err_.str();
  EXPECT_TRUE((*ro_api_->GetObject("Rollout", "default", "demo"))["spec"].contains("restartAt"));
  EXPECT_EQ(Run({"undo", "demo", "--to-revision", "3"}), 1);
  EXPECT_EQ(err_.str(), "error: revision 3 not found in the history of rollout \"demo\"\n");
  EXPECT_EQ(Run({"promote", "nosuch"}), 1);
  EXPECT_EQ(Run({"frobnicate"}), 1);

  // Healthy ends status with 0, Degraded with Argo's message.
  SetStatus({{"phase", "Healthy"}, {"observedGeneration", "99"}});
  EXPECT_EQ(Run({"status", "demo"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Healthy\n");
  SetStatus({{"phase", "Degraded"},
             {"message", "RolloutAborted: Rollout aborted update to revision 2"},
             {"observedGeneration", "99"}});
  EXPECT_EQ(Run({"status", "demo", "--timeout", "10s"}), 1);
  EXPECT_EQ(err_.str(),
            "error: The rollout is in a degraded state with message: RolloutAborted: Rollout "
            "aborted update to revision 2\n");
}

TEST_F(RolloutCliTest, ExperimentVerbs) {
  const json ex = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Experiment",
    "metadata":{"name":"exp1","namespace":"default"},
    "spec":{"duration":"1m","templates":[{"name":"c","selector":{"matchLabels":{"app":"c"}},
      "template":{"metadata":{"labels":{"app":"c"}},
        "spec":{"containers":[{"name":"c","image":"nginx"}]}}}]},
    "status":{"phase":"Failed","message":"Metric failed","availableAt":"2024-01-01T00:00:00Z"}})");
  ASSERT_OK(ro_api_->CreateObject("Experiment", ex, false).status());
  EXPECT_EQ(Run({"list", "experiments"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "NAME\tSTATUS\tAVAILABLE AT\tMESSAGE\nexp1\tFailed\t2024-01-01T00:00:00Z\tMetric "
            "failed\n");
  EXPECT_EQ(Run({"retry", "experiment", "exp1"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "experiment 'exp1' retried\n");
  json stored = *ro_api_->GetObject("Experiment", "default", "exp1");
  EXPECT_TRUE(!stored.contains("status") || stored["status"].empty()) << stored.dump();
  EXPECT_EQ(stored["spec"]["duration"], "1m");
  EXPECT_EQ(Run({"terminate", "experiment", "exp1"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "experiment 'exp1' terminated\n");
  EXPECT_EQ((*ro_api_->GetObject("Experiment", "default", "exp1"))["spec"]["terminate"], true);
  EXPECT_EQ(Run({"terminate", "experiment", "nosuch"}), 1);
  EXPECT_EQ(Run({"retry", "experiment"}), 1);
}

}  // namespace
}  // namespace argonaut::cli
