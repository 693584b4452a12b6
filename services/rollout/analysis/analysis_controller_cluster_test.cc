// The AnalysisRun controller with a LocalCluster (plain processes): job
// metrics followed through Job events, secret args read from cluster
// Secrets at measurement time and redacted from messages.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/controller/clock.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/rollout/analysis/analysis_controller.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/provider.h"
#include "services/rollout/test_util.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class ClusterAnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = test_util::StartTestCluster("act-", /*builtin_images=*/true);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_env_ = *std::move(c);
    cluster_ = cluster_env_.cluster.get();
    rollouts_ = test_util::NewRolloutStore();
    rapi_ = rollouts_.api.get();
    controller_ = std::make_unique<AnalysisRunController>(
        rapi_, cluster_, AnalysisControllerOptions{.clock = &clock_});
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  json CreateRun(const std::string& name, json spec) {
    json run = {{"apiVersion", "argoproj.io/v1alpha1"},
                {"kind", "AnalysisRun"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", spec}};
    absl::StatusOr<json> created = rapi_->CreateObject("AnalysisRun", run, false);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : json();
  }

  json WaitFor(const std::string& name, const std::function<bool(const json&)>& pred,
               absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    json run;
    while (absl::Now() < deadline) {
      absl::StatusOr<json> got = rapi_->GetObject("AnalysisRun", "default", name);
      if (got.ok()) {
        run = *got;
        if (run.contains("status") && pred(run)) return run;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "timed out; run: " << run.dump();
    return run;
  }

  static bool Done(const json& run) { return PhaseCompleted(run["status"].value("phase", "")); }

  static json JobMetric(const std::string& script) {
    return json{{"name", "job-check"},
                {"provider",
                 {{"job",
                   {{"spec",
                     {{"backoffLimit", 0},
                      {"template",
                       {{"spec",
                         {{"restartPolicy", "Never"},
                          {"containers",
                           {{{"name", "c"},
                             {"image", "busybox"},
                             {"command", {"sh", "-c", script}}}}}}}}}}}}}}}};
  }

  controller::FakeClock clock_;
  test_util::TestCluster cluster_env_;
  test_util::TestRolloutStore rollouts_;
  cluster::LocalCluster* cluster_ = nullptr;  // cluster_env_'s
  resource::ResourceApi* rapi_ = nullptr;     // rollouts_'
  std::unique_ptr<AnalysisRunController> controller_;
};

TEST_F(ClusterAnalysisTest, JobMetricsDecideByExitCode) {
  const json failing = CreateRun("job-fail", {{"metrics", {JobMetric("exit 1")}}});
  const json passing = CreateRun("job-pass", {{"metrics", {JobMetric("exit 0")}}});
  // Job events wake the runs: the fake clock never moves here.
  json run = WaitFor("job-fail", Done);
  EXPECT_EQ(run["status"]["phase"], kPhaseFailed) << run["status"].dump();
  EXPECT_EQ(run["status"]["message"],
            "Metric \"job-check\" assessed Failed due to failed (1) > failureLimit (0)");
  const json& m = run["status"]["metricResults"][0]["measurements"][0];
  const std::string uid = failing["metadata"]["uid"];
  EXPECT_EQ(m["metadata"]["job-name"], JobName(uid, "job-check", 1));
  absl::StatusOr<json> job = cluster_->Get("Job", "default", JobName(uid, "job-check", 1));
  ASSERT_OK(job.status());
  EXPECT_EQ((*job)["metadata"]["ownerReferences"][0]["name"], "job-fail");

  run = WaitFor("job-pass", Done);
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful) << run["status"].dump();
  (void)passing;

  // Deleting the run removes its Jobs.
  ASSERT_OK(rapi_->Delete("AnalysisRun", "default", "job-fail", ""));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         cluster_->Get("Job", "default", JobName(uid, "job-check", 1)).ok()) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(
      absl::IsNotFound(cluster_->Get("Job", "default", JobName(uid, "job-check", 1)).status()));
}

TEST_F(ClusterAnalysisTest, TerminatingARunDeletesItsJob) {
  const json created = CreateRun("job-stop", {{"metrics", {JobMetric("sleep 60")}}});
  const std::string job_name =
      JobName(created["metadata"]["uid"].get<std::string>(), "job-check", 1);
  json run = WaitFor("job-stop", [](const json& r) {
    const json& results = r["status"].value("metricResults", json::array());
    return !results.empty() && results[0].contains("measurements");
  });
  ASSERT_OK(cluster_->Get("Job", "default", job_name).status());
  run["spec"]["terminate"] = true;
  ASSERT_OK(rapi_->UpdateObject("AnalysisRun", run).status());
  run = WaitFor("job-stop", Done);
  // The in-flight Job measurement is stopped as Inconclusive, which Argo
  // then counts against inconclusiveLimit.
  const json& m = run["status"]["metricResults"][0]["measurements"][0];
  EXPECT_EQ(m["phase"], kPhaseInconclusive);
  EXPECT_EQ(m["message"], "Metric Terminated");
  EXPECT_EQ(run["status"]["phase"], kPhaseInconclusive) << run["status"].dump();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && cluster_->Get("Job", "default", job_name).ok()) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(absl::IsNotFound(cluster_->Get("Job", "default", job_name).status()));
}

TEST_F(ClusterAnalysisTest, SecretArgsResolvedAtMeasurementAndRedacted) {
  httplib::Server server;
  server.Get("/whoami", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(json{{"auth", req.get_header_value("Authorization")}}.dump(),
                    "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) absl::SleepFor(absl::Milliseconds(1));
  struct Stop {
    httplib::Server& s;
    std::thread& t;
    ~Stop() {
      s.stop();
      t.join();
    }
  } stop{server, thread};

  ASSERT_OK(cluster_
                ->Create({{"apiVersion", "v1"},
                          {"kind", "Secret"},
                          {"metadata", {{"name", "creds"}, {"namespace", "default"}}},
                          {"data", {{"token", absl::Base64Escape("s3cr3t-value")}}}})
                .status());
  const json args = {{{"name", "token"},
                      {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "token"}}}}}}};
  CreateRun("with-secret",
            {{"args", args},
             {"metrics",
              {{{"name", "auth"},
                // "Bearer " + the 12-character secret, without writing the secret here.
                {"successCondition", "len(result) == 19 && result startsWith 'Bearer s'"},
                {"provider",
                 {{"web",
                   {{"url", absl::StrCat("http://127.0.0.1:", port, "/whoami")},
                    {"headers", {{{"key", "Authorization"}, {"value", "Bearer {{args.token}}"}}}},
                    {"jsonPath", "{$.auth}"}}}}}}}}});
  json run = WaitFor("with-secret", Done);
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful) << run["status"].dump();
  // The spec holds only the reference (the measured value is what the
  // endpoint answered, here an echo of the header).
  EXPECT_THAT(run["spec"].dump(), Not(HasSubstr("s3cr3t-value")));

  // A failure whose message would carry the secret shows ***** instead.
  CreateRun(
      "leaky",
      {{"args", args},
       {"metrics",
        {{{"name", "leak"},
          {"consecutiveErrorLimit", 0},
          {"provider",
           {{"web", {{"url", "http://127.0.0.1:1/{{args.token}}"}, {"timeoutSeconds", 1}}}}}}}}});
  run = WaitFor("leaky", Done);
  EXPECT_EQ(run["status"]["phase"], kPhaseError);
  EXPECT_THAT(run.dump(), Not(HasSubstr("s3cr3t-value")));
  EXPECT_THAT(run["status"]["metricResults"][0]["measurements"][0]["message"].get<std::string>(),
              HasSubstr("*****"));

  // A missing Secret makes the run Error, naming it.
  CreateRun(
      "no-secret",
      {{"args",
        {{{"name", "token"},
          {"valueFrom", {{"secretKeyRef", {{"name", "absent"}, {"key", "k"}}}}}}}},
       {"metrics", {{{"name", "m"}, {"provider", {{"web", {{"url", "http://127.0.0.1:1/"}}}}}}}}});
  run = WaitFor("no-secret", Done);
  EXPECT_EQ(run["status"]["phase"], kPhaseError);
  EXPECT_THAT(run["status"]["message"].get<std::string>(),
              HasSubstr("Unable to resolve metric arguments: secrets \"absent\" not found"));
}

}  // namespace
}  // namespace argonaut::rollout::analysis
