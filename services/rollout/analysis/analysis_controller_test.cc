// The AnalysisRun controller end to end in one process: the rollout
// service's resource API over the in-memory store, a real HTTP endpoint on
// 127.0.0.1 for web metrics, and a fake clock that only moves when the test
// says so.
#include "services/rollout/analysis/analysis_controller.h"

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/rollout/analysis/assess.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AnalysisControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content(json{{"ok", healthy_.load()}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));

    auto kinds = resource::KindsOfService("rollout");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds);
    controller_ = std::make_unique<AnalysisRunController>(
        api_.get(), nullptr,
        AnalysisControllerOptions{.clock = &clock_, .metrics = &metrics_, .workers = 2});
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void CreateRun(const std::string& name, json metric) {
    json run = {{"apiVersion", "argoproj.io/v1alpha1"},
                {"kind", "AnalysisRun"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", {{"metrics", {metric}}}}};
    ASSERT_OK(api_->CreateObject("AnalysisRun", run, false).status());
  }

  json Get(const std::string& name) {
    absl::StatusOr<json> run = api_->GetObject("AnalysisRun", "default", name);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : json();
  }

  static size_t Measurements(const json& run) {
    const json& results = run["status"]["metricResults"];
    if (!results.is_array() || results.empty()) return 0;
    const json& ms = results[0]["measurements"];
    return ms.is_array() ? ms.size() : 0;
  }
  static bool LastCompleted(const json& run) {
    if (Measurements(run) == 0) return false;
    return PhaseCompleted(
        run["status"]["metricResults"][0]["measurements"].back().value("phase", ""));
  }

  // Waits in real time (the fake clock stands still) for `pred`.
  json WaitFor(const std::string& name, const std::function<bool(const json&)>& pred,
               absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    json run;
    while (absl::Now() < deadline) {
      run = Get(name);
      if (run.contains("status") && pred(run)) return run;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "timed out; run: " << run.dump();
    return run;
  }

  // Moves fake time one second at a time until `pred` holds (at most `max`).
  json AdvanceUntil(const std::string& name, const std::function<bool(const json&)>& pred,
                    absl::Duration max) {
    json run = Get(name);
    for (absl::Duration moved; moved <= max; moved += absl::Seconds(1)) {
      // Give the controller real time to act at this instant.
      for (int i = 0; i < 10; ++i) {
        run = Get(name);
        if (run.contains("status") && pred(run)) return run;
        absl::SleepFor(absl::Milliseconds(10));
      }
      clock_.Advance(absl::Seconds(1));
    }
    ADD_FAILURE() << "not reached within " << max << " of fake time; run: " << run.dump();
    return run;
  }

  controller::FakeClock clock_;
  metrics::MetricsRegistry metrics_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<int> hits_{0};
  std::atomic<bool> healthy_{false};
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<AnalysisRunController> controller_;
};

TEST_F(AnalysisControllerTest, FailsAtTheMeasurementThatExceedsFailureLimit) {
  const absl::Time t0 = clock_.Now();
  CreateRun("web-run", {{"name", "health"},
                        {"count", 3},
                        {"interval", "10s"},
                        {"failureLimit", 1},
                        {"successCondition", "result == true"},
                        {"provider",
                         {{"web",
                           {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"},
                            {"jsonPath", "{$.ok}"}}}}}});
  // First measurement at once: Failed, within the limit.
  json run = WaitFor("web-run", LastCompleted);
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning) << run["status"].dump();
  const json& r1 = run["status"]["metricResults"][0];
  EXPECT_EQ(r1["failed"], 1);
  EXPECT_EQ(r1["count"], 1);
  EXPECT_EQ(r1["measurements"][0]["phase"], kPhaseFailed);
  EXPECT_EQ(r1["measurements"][0]["value"], "false");
  EXPECT_EQ(run["status"]["startedAt"], TimeText(t0));
  // Nothing more until the interval has passed in fake time, not even a write.
  absl::SleepFor(absl::Milliseconds(100));
  const std::string version = Get("web-run")["metadata"]["resourceVersion"].dump();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Get("web-run")["metadata"]["resourceVersion"].dump(), version);
  EXPECT_EQ(hits_.load(), 1);
  EXPECT_EQ(Measurements(Get("web-run")), 1u);

  // The second measurement, 10 s later, exceeds failureLimit 1: the run fails
  // there, without a third.
  run = AdvanceUntil(
      "web-run", [](const json& r) { return PhaseCompleted(r["status"].value("phase", "")); },
      absl::Seconds(30));
  EXPECT_EQ(run["status"]["phase"], kPhaseFailed) << run["status"].dump();
  EXPECT_EQ(run["status"]["message"],
            "Metric \"health\" assessed Failed due to failed (2) > failureLimit (1)");
  const json& r = run["status"]["metricResults"][0];
  EXPECT_EQ(r["phase"], kPhaseFailed);
  EXPECT_EQ(r["count"], 2);
  EXPECT_EQ(r["failed"], 2);
  ASSERT_EQ(r["measurements"].size(), 2u);
  EXPECT_EQ(r["measurements"][1]["startedAt"], TimeText(t0 + absl::Seconds(10)));
  EXPECT_EQ(run["status"]["completedAt"], TimeText(t0 + absl::Seconds(10)));
  EXPECT_EQ(run["status"]["runSummary"]["failed"], 1);
  EXPECT_EQ(hits_.load(), 2);
  clock_.Advance(absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(hits_.load(), 2);

  const std::string text = metrics_.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr("analysis_run_info{namespace=\"default\",name=\"web-run\",phase=\"Failed\"} 1"));
  EXPECT_THAT(text, HasSubstr("analysis_run_metric_type{namespace=\"default\",name=\"web-run\","
                              "metric=\"health\",type=\"Web\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("analysis_run_metric_phase{namespace=\"default\",name=\"web-run\","
                        "metric=\"health\",type=\"Web\",dry_run=\"false\",phase=\"Failed\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("analysis_run_reconcile_count{name=\"web-run\",namespace=\"default\"}"));
}

TEST_F(AnalysisControllerTest, PassingRunCompletesSuccessful) {
  healthy_ = true;
  CreateRun("ok-run",
            {{"name", "health"},
             {"count", 2},
             {"interval", "5s"},
             {"successCondition", "result.ok"},
             {"provider",
              {{"web", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"}}}}}});
  json run = AdvanceUntil(
      "ok-run", [](const json& r) { return PhaseCompleted(r["status"].value("phase", "")); },
      absl::Seconds(20));
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful) << run["status"].dump();
  EXPECT_EQ(run["status"]["metricResults"][0]["count"], 2);
}

TEST_F(AnalysisControllerTest, NoWritesWhileNothingChanges) {
  CreateRun("delayed",
            {{"name", "m"},
             {"initialDelay", "1h"},
             {"provider",
              {{"web", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"}}}}}});
  json run = WaitFor("delayed",
                     [](const json& r) { return r["status"].value("phase", "") == kPhaseRunning; });
  const std::string version = run["metadata"]["resourceVersion"].dump();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(Get("delayed")["metadata"]["resourceVersion"].dump(), version);
  EXPECT_EQ(hits_.load(), 0);
}

TEST_F(AnalysisControllerTest, TtlStrategyDeletesCompletedRun) {
  healthy_ = true;
  json metric = {
      {"name", "health"},
      {"successCondition", "result.ok"},
      {"provider", {{"web", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"}}}}}};
  json run = {{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "AnalysisRun"},
              {"metadata", {{"name", "ttl"}, {"namespace", "default"}}},
              {"spec", {{"metrics", {metric}}, {"ttlStrategy", {{"secondsAfterSuccess", 30}}}}}};
  ASSERT_OK(api_->CreateObject("AnalysisRun", run, false).status());
  run = WaitFor("ttl",
                [](const json& r) { return r["status"].value("phase", "") == kPhaseSuccessful; });
  clock_.Advance(absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_OK(api_->GetObject("AnalysisRun", "default", "ttl").status());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && api_->GetObject("AnalysisRun", "default", "ttl").ok()) {
    clock_.Advance(absl::Seconds(1));
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(absl::IsNotFound(api_->GetObject("AnalysisRun", "default", "ttl").status()));
}

TEST_F(AnalysisControllerTest, BrokenSuccessConditionErrorsWithTheMessage) {
  CreateRun("broken",
            {{"name", "health"},
             {"successCondition", "result.ok ==="},
             {"provider",
              {{"web", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"}}}}}});
  // Five errors, 10 s apart (the error retry), then Error.
  json run = AdvanceUntil(
      "broken", [](const json& r) { return PhaseCompleted(r["status"].value("phase", "")); },
      absl::Seconds(60));
  EXPECT_EQ(run["status"]["phase"], kPhaseError) << run["status"].dump();
  const std::string message = run["status"]["message"];
  EXPECT_THAT(message, HasSubstr("consecutiveErrors (5) > consecutiveErrorLimit (4)"));
  EXPECT_THAT(message, HasSubstr("could not evaluate successCondition \"result.ok ===\""));
  EXPECT_EQ(run["status"]["metricResults"][0]["error"], 5);
}

TEST_F(AnalysisControllerTest, InvalidSpecAndTerminate) {
  CreateRun("invalid",
            {{"name", "m"}, {"count", 2}, {"provider", {{"web", {{"url", "http://x/"}}}}}});
  json run = WaitFor("invalid",
                     [](const json& r) { return r["status"].value("phase", "") == kPhaseError; });
  EXPECT_THAT(run["status"]["message"].get<std::string>(),
              HasSubstr("interval must be specified when count > 1"));

  healthy_ = true;
  CreateRun("forever",
            {{"name", "m"},
             {"interval", "5s"},
             {"provider",
              {{"web", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/health"}}}}}});
  run = WaitFor("forever", LastCompleted);
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  run["spec"]["terminate"] = true;
  ASSERT_OK(api_->UpdateObject("AnalysisRun", run).status());
  run = WaitFor("forever",
                [](const json& r) { return PhaseCompleted(r["status"].value("phase", "")); });
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
  EXPECT_EQ(run["status"]["message"], "Run Terminated");
}

}  // namespace
}  // namespace argonaut::rollout::analysis
