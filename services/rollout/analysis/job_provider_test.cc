// The job provider against a LocalCluster (plain processes): a busybox Job
// exiting 0 or 1 decides the measurement.
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/controller/clock.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/provider.h"
#include "services/rollout/test_util.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;

class JobProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = test_util::StartTestCluster("jp-", /*builtin_images=*/true);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_env_ = *std::move(c);
    cluster_ = cluster_env_.cluster.get();
    auto p = NewProvider(Metric("exit 0"), {.cluster = cluster_, .clock = &clock_});
    ASSERT_OK(p.status());
    provider_ = std::move(*p);
  }
  void TearDown() override {
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  static json Metric(const std::string& script, const std::string& name = "check") {
    return json{{"name", name},
                {"provider",
                 {{"job",
                   {{"metadata", {{"labels", {{"team", "qa"}}}}},
                    {"spec",
                     {{"backoffLimit", 0},
                      {"template",
                       {{"spec",
                         {{"restartPolicy", "Never"},
                          {"containers",
                           {{{"name", "check"},
                             {"image", "busybox"},
                             {"command", {"sh", "-c", script}}}}}}}}}}}}}}}};
  }

  // Resumes until the measurement completes.
  json Wait(const RunRef& run, const json& metric, json m,
            absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline && !PhaseCompleted(m.value("phase", ""))) {
      absl::SleepFor(absl::Milliseconds(100));
      m = provider_->Resume(run, metric, m);
    }
    return m;
  }

  controller::FakeClock clock_;
  test_util::TestCluster cluster_env_;
  cluster::LocalCluster* cluster_ = nullptr;  // cluster_env_'s
  std::unique_ptr<MetricProvider> provider_;
};

TEST_F(JobProviderTest, ExitCodeDecides) {
  const RunRef run{.ns = "default", .name = "run1", .uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"};
  json ok = provider_->Run(run, Metric("exit 0"));
  ASSERT_EQ(ok["phase"], kPhaseRunning) << ok.dump();
  const std::string job_name = ok["metadata"]["job-name"];
  EXPECT_EQ(job_name, "1b4e28ba-2fa1-11d2-883f-0016d3cca427.check.1");
  EXPECT_EQ(ok["metadata"]["job-namespace"], "default");
  absl::StatusOr<json> job = cluster_->Get("Job", "default", job_name);
  ASSERT_OK(job.status());
  EXPECT_EQ((*job)["metadata"]["labels"][kRunUidLabel], run.uid);
  EXPECT_EQ((*job)["metadata"]["labels"]["team"], "qa");
  EXPECT_EQ((*job)["metadata"]["annotations"][kMetricNameAnnotation], "check");
  EXPECT_EQ((*job)["metadata"]["ownerReferences"][0]["kind"], "AnalysisRun");
  EXPECT_EQ((*job)["metadata"]["ownerReferences"][0]["uid"], run.uid);
  ok = Wait(run, Metric("exit 0"), ok);
  EXPECT_EQ(ok["phase"], kPhaseSuccessful) << ok.dump();

  // The next measurement of the metric gets the next number.
  RunRef second = run;
  second.status = {{"metricResults", {{{"name", "check"}, {"count", 1}, {"error", 0}}}}};
  json bad = provider_->Run(second, Metric("exit 1"));
  ASSERT_EQ(bad["phase"], kPhaseRunning) << bad.dump();
  EXPECT_EQ(bad["metadata"]["job-name"], "1b4e28ba-2fa1-11d2-883f-0016d3cca427.check.2");
  bad = Wait(second, Metric("exit 1"), bad);
  EXPECT_EQ(bad["phase"], kPhaseFailed) << bad.dump();
}

TEST_F(JobProviderTest, TerminateDeletesTheJobInconclusive) {
  const RunRef run{.ns = "default", .name = "run2", .uid = "u-2"};
  json m = provider_->Run(run, Metric("sleep 30"));
  ASSERT_EQ(m["phase"], kPhaseRunning) << m.dump();
  m = provider_->Resume(run, Metric("sleep 30"), m);
  EXPECT_EQ(m["phase"], kPhaseRunning);
  m = provider_->Terminate(run, Metric("sleep 30"), m);
  EXPECT_EQ(m["phase"], kPhaseInconclusive);
  EXPECT_TRUE(m.contains("finishedAt"));
  EXPECT_TRUE(absl::IsNotFound(cluster_->Get("Job", "default", "u-2.check.1").status()));
}

TEST_F(JobProviderTest, RetriedRunReusesItsOwnJob) {
  const RunRef run{.ns = "default", .name = "run3", .uid = "u-3"};
  json first = provider_->Run(run, Metric("exit 0"));
  json again = provider_->Run(run, Metric("exit 0"));
  EXPECT_EQ(again["phase"], kPhaseRunning) << again.dump();
  EXPECT_EQ(again["metadata"], first["metadata"]);
  // A Job of that name that does not carry the run's uid is not ours.
  json foreign = {{"apiVersion", "batch/v1"},
                  {"kind", "Job"},
                  {"metadata", {{"name", "u-4.check.1"}, {"namespace", "default"}}},
                  {"spec", Metric("exit 0")["provider"]["job"]["spec"]}};
  ASSERT_OK(cluster_->Create(foreign).status());
  json m = provider_->Run(RunRef{.ns = "default", .name = "run4", .uid = "u-4"}, Metric("exit 0"));
  EXPECT_EQ(m["phase"], kPhaseError) << m.dump();
  EXPECT_THAT(m["message"].get<std::string>(),
              ::testing::HasSubstr("job create u-4.check.1 failed"));
}

TEST_F(JobProviderTest, NoClusterIsError) {
  auto p = NewProvider(Metric("exit 0"), {.cluster = nullptr, .clock = &clock_});
  ASSERT_OK(p.status());
  json m = (*p)->Run(RunRef{.ns = "default", .name = "r", .uid = "u"}, Metric("exit 0"));
  EXPECT_EQ(m["phase"], kPhaseError);
}

}  // namespace
}  // namespace argonaut::rollout::analysis
