#include "services/rollout/analysis/assess.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

absl::Time T(int seconds) { return absl::FromUnixSeconds(1'700'000'000 + seconds); }

json WebMetric(json extra = json::object()) {
  json m = {{"name", "m"}, {"provider", {{"web", {{"url", "http://127.0.0.1:1/"}}}}}};
  for (auto& [k, v] : extra.items()) m[k] = v;
  return m;
}

json RunOf(std::vector<json> metrics, json spec_extra = json::object()) {
  json spec = {{"metrics", metrics}};
  for (auto& [k, v] : spec_extra.items()) spec[k] = v;
  return json{{"metadata", {{"name", "r"}, {"namespace", "ns"}}}, {"spec", spec}};
}

json Measured(const char* phase, absl::Time at) {
  return json{{"phase", phase}, {"startedAt", TimeText(at)}, {"finishedAt", TimeText(at)}};
}

// One reconcile: assess with `updates` and keep the new status.
Assessment Step(json& run, std::vector<MeasurementUpdate> updates, absl::Time now) {
  Assessment a = Assess(run, updates, now);
  run["status"] = a.status;
  return a;
}

// Feeds one completed measurement of metric "m" per call.
Assessment Feed(json& run, const char* phase, absl::Time now, const std::string& metric = "m") {
  return Step(run, {{.metric = metric, .measurement = Measured(phase, now)}}, now);
}

const json& Result(const json& run, const std::string& name = "m") {
  for (const json& r : run["status"]["metricResults"]) {
    if (r["name"] == name) return r;
  }
  static const json* const kNone = new json();
  return *kNone;
}

std::vector<std::string> TaskNames(const Plan& plan) {
  std::vector<std::string> out;
  for (const MetricTask& t : plan.tasks) out.push_back(t.metric);
  return out;
}

TEST(AssessTest, CountsPerMeasurementPhaseErrorsDoNotCount) {
  json run =
      RunOf({WebMetric({{"interval", "10s"}, {"failureLimit", 5}, {"inconclusiveLimit", 5}})});
  Feed(run, kPhaseSuccessful, T(0));
  Feed(run, kPhaseSuccessful, T(10));
  Feed(run, kPhaseError, T(20));
  Feed(run, kPhaseFailed, T(30));
  Feed(run, kPhaseInconclusive, T(40));
  Feed(run, kPhaseError, T(50));
  const json& r = Result(run);
  EXPECT_EQ(r["count"], 4);  // errors are not counted
  EXPECT_EQ(r["successful"], 2);
  EXPECT_EQ(r["failed"], 1);
  EXPECT_EQ(r["inconclusive"], 1);
  EXPECT_EQ(r["error"], 2);
  EXPECT_EQ(r["consecutiveError"], 1);
  EXPECT_EQ(r["consecutiveSuccess"], 0);
  EXPECT_EQ(r["phase"], kPhaseRunning);
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  EXPECT_EQ(r["measurements"].size(), 6u);
}

TEST(AssessTest, ConsecutiveSuccessResetByErrorAndFailure) {
  json run = RunOf({WebMetric({{"interval", "10s"}, {"failureLimit", 5}})});
  Feed(run, kPhaseSuccessful, T(0));
  Feed(run, kPhaseSuccessful, T(10));
  EXPECT_EQ(Result(run)["consecutiveSuccess"], 2);
  Feed(run, kPhaseError, T(20));
  EXPECT_EQ(Result(run)["consecutiveSuccess"], 0);
  Feed(run, kPhaseSuccessful, T(30));
  EXPECT_EQ(Result(run)["consecutiveError"], 0);
  EXPECT_EQ(Result(run)["consecutiveSuccess"], 1);
}

struct MetricCase {
  std::string name;
  json metric_extra;
  std::vector<const char*> phases;
  std::string metric_phase;
  std::string message;  // substring of the run message; "" = no message
};

class MetricStatusTest : public ::testing::TestWithParam<MetricCase> {};

TEST_P(MetricStatusTest, AssessesLikeArgo) {
  const MetricCase& c = GetParam();
  json run = RunOf({WebMetric(c.metric_extra)});
  int t = 0;
  for (const char* phase : c.phases) {
    ASSERT_FALSE(run.contains("status") && PhaseCompleted(run["status"].value("phase", "")))
        << "completed early at " << t;
    Feed(run, phase, T(t));
    t += 10;
  }
  EXPECT_EQ(Result(run)["phase"], c.metric_phase);
  if (PhaseCompleted(c.metric_phase)) {
    EXPECT_EQ(run["status"]["phase"], c.metric_phase);
    EXPECT_EQ(run["status"]["completedAt"], TimeText(T(t - 10)));
  }
  if (c.message.empty()) {
    EXPECT_FALSE(run["status"].contains("message")) << run["status"].dump();
  } else {
    EXPECT_THAT(run["status"].value("message", ""), HasSubstr(c.message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MetricStatusTest,
    ::testing::Values(MetricCase{"single_success", {}, {kPhaseSuccessful}, kPhaseSuccessful, ""},
                      MetricCase{
                          "single_failure_limit0",
                          {},
                          {kPhaseFailed},
                          kPhaseFailed,
                          "Metric \"m\" assessed Failed due to failed (1) > failureLimit (0)"},
                      MetricCase{"failed_within_limit_completes_successful",
                                 {{"count", 3}, {"interval", "10s"}, {"failureLimit", 1}},
                                 {kPhaseFailed, kPhaseSuccessful, kPhaseSuccessful},
                                 kPhaseSuccessful,
                                 ""},
                      MetricCase{"second_failure_exceeds_limit1",
                                 {{"count", 3}, {"interval", "10s"}, {"failureLimit", 1}},
                                 {kPhaseFailed, kPhaseFailed},
                                 kPhaseFailed,
                                 "failed (2) > failureLimit (1)"},
                      MetricCase{"inconclusive_over_limit",
                                 {{"count", 3}, {"interval", "10s"}},
                                 {kPhaseInconclusive},
                                 kPhaseInconclusive,
                                 "inconclusive (1) > inconclusiveLimit (0)"},
                      MetricCase{"four_errors_still_running",
                                 {{"count", 3}, {"interval", "10s"}},
                                 {kPhaseError, kPhaseError, kPhaseError, kPhaseError},
                                 kPhaseRunning,
                                 ""},
                      MetricCase{"fifth_error_is_error",
                                 {{"count", 3}, {"interval", "10s"}},
                                 {kPhaseError, kPhaseError, kPhaseError, kPhaseError, kPhaseError},
                                 kPhaseError,
                                 "consecutiveErrors (5) > consecutiveErrorLimit (4)"},
                      MetricCase{"consecutive_error_limit_0",
                                 {{"consecutiveErrorLimit", 0}},
                                 {kPhaseError},
                                 kPhaseError,
                                 "consecutiveErrors (1) > consecutiveErrorLimit (0)"},
                      // Later checks win: Error beats Inconclusive beats Failed.
                      MetricCase{"error_beats_failed",
                                 {{"count", 10},
                                  {"interval", "10s"},
                                  {"failureLimit", 0},
                                  {"consecutiveErrorLimit", 0},
                                  {"inconclusiveLimit", 5}},
                                 {kPhaseError},
                                 kPhaseError,
                                 "consecutiveErrors (1)"},
                      MetricCase{"successes_reach_consecutive_success_limit",
                                 {{"count", 5},
                                  {"interval", "10s"},
                                  {"consecutiveSuccessLimit", 2},
                                  {"failureLimit", 3}},
                                 {kPhaseFailed, kPhaseSuccessful, kPhaseSuccessful},
                                 kPhaseSuccessful,
                                 ""},
                      MetricCase{"count_reached_without_success_limit_inconclusive",
                                 {{"count", 3},
                                  {"interval", "10s"},
                                  {"consecutiveSuccessLimit", 2},
                                  {"failureLimit", 1}},
                                 {kPhaseSuccessful, kPhaseFailed, kPhaseSuccessful},
                                 kPhaseInconclusive,
                                 ""},
                      MetricCase{"count_reached_failure_disabled_failed",
                                 {{"count", 3},
                                  {"interval", "10s"},
                                  {"consecutiveSuccessLimit", 2},
                                  {"failureLimit", -1}},
                                 {kPhaseSuccessful, kPhaseFailed, kPhaseSuccessful},
                                 kPhaseFailed,
                                 ""},
                      MetricCase{"count_as_string_after_args",
                                 {{"count", "2"}, {"interval", "10s"}},
                                 {kPhaseSuccessful, kPhaseSuccessful},
                                 kPhaseSuccessful,
                                 ""}),
    [](const auto& info) { return info.param.name; });

TEST(AssessTest, ErrorsDoNotAdvanceCount) {
  json run = RunOf({WebMetric({{"count", 2}, {"interval", "10s"}})});
  Feed(run, kPhaseSuccessful, T(0));
  Feed(run, kPhaseError, T(10));
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  Feed(run, kPhaseSuccessful, T(20));
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
  EXPECT_EQ(Result(run)["count"], 2);
}

TEST(AssessTest, WorstMetricPhaseDecidesRun) {
  const json limits = {{"interval", "10s"}};
  json a = WebMetric(limits), b = WebMetric(limits);
  a["name"] = "a";
  b["name"] = "b";
  // a Inconclusive, b Error: Error is worse.
  json run = RunOf({a, b});
  Step(run,
       {{.metric = "a", .measurement = Measured(kPhaseInconclusive, T(0))},
        {.metric = "b", .measurement = Measured(kPhaseError, T(0))}},
       T(0));
  // As in Argo, the reconcile that completes a still sees b running; the next
  // one (woken by the status write) finds the run terminating.
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  Step(run, {}, T(1));
  // b has one error (limit 4): still running, but a is Inconclusive: terminating.
  EXPECT_EQ(run["status"]["phase"], kPhaseInconclusive);
  EXPECT_EQ(Result(run, "a")["phase"], kPhaseInconclusive);
  EXPECT_EQ(Result(run, "b")["phase"], kPhaseSuccessful);  // never completed: terminated
  EXPECT_EQ(
      run["status"]["runSummary"],
      json({{"count", 2}, {"successful", 1}, {"failed", 0}, {"inconclusive", 1}, {"error", 0}}));

  json run2 = RunOf({a, b});
  Step(run2,
       {{.metric = "a", .measurement = Measured(kPhaseFailed, T(0))},
        {.metric = "b", .measurement = Measured(kPhaseInconclusive, T(0))}},
       T(0));
  EXPECT_EQ(run2["status"]["phase"], kPhaseFailed);
  EXPECT_THAT(run2["status"]["message"].get<std::string>(),
              HasSubstr("Metric \"a\" assessed Failed"));
}

TEST(AssessTest, FailFastStopsOtherMetrics) {
  json a = WebMetric({{"name", "a"}});
  json b = WebMetric({{"name", "b"}, {"interval", "10s"}});  // runs until stopped
  json run = RunOf({a, b});
  Plan plan = PlanMeasurements(run, T(0));
  EXPECT_THAT(TaskNames(plan), ::testing::ElementsAre("a", "b"));
  Step(run, {{.metric = "b", .measurement = Measured(kPhaseSuccessful, T(0))}}, T(0));
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  // a fails at 5 s: the run is terminating; b gets no new measurement.
  Step(run, {{.metric = "a", .measurement = Measured(kPhaseFailed, T(5))}}, T(5));
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  EXPECT_TRUE(PlanMeasurements(run, T(60)).tasks.empty());  // terminating: nothing new
  Step(run, {}, T(6));
  EXPECT_EQ(run["status"]["phase"], kPhaseFailed);
  EXPECT_EQ(Result(run, "b")["phase"], kPhaseSuccessful);
  EXPECT_TRUE(PlanMeasurements(run, T(60)).completed);
}

TEST(AssessTest, TerminatingTerminatesInFlightMeasurements) {
  json a = WebMetric({{"name", "a"}});
  json b = WebMetric({{"name", "b"}});
  json run = RunOf({a, b});
  json running = {{"phase", kPhaseRunning}, {"startedAt", TimeText(T(0))}};
  Step(run,
       {{.metric = "a", .measurement = Measured(kPhaseFailed, T(0))},
        {.metric = "b", .measurement = running}},
       T(0));
  // Terminating, but b is in flight: the plan asks to terminate it.
  Plan plan = PlanMeasurements(run, T(1));
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(plan.tasks[0].metric, "b");
  EXPECT_TRUE(plan.tasks[0].terminate);
  ASSERT_TRUE(plan.tasks[0].in_flight.has_value());
}

TEST(AssessTest, SpecTerminateWithoutMeasurementsIsSuccessful) {
  json run = RunOf({WebMetric({{"initialDelay", "1h"}})}, {{"terminate", true}});
  EXPECT_TRUE(PlanMeasurements(run, T(0)).tasks.empty());
  Assessment a = Step(run, {}, T(0));
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
  EXPECT_EQ(run["status"]["message"], "Run Terminated");
  EXPECT_TRUE(a.completed);
}

TEST(AssessTest, SpecTerminateKeepsWorstCompletedPhase) {
  json run = RunOf({WebMetric({{"interval", "10s"}, {"failureLimit", 3}})});
  Feed(run, kPhaseFailed, T(0));
  Feed(run, kPhaseSuccessful, T(10));
  run["spec"]["terminate"] = true;
  Step(run, {}, T(15));
  // Running indefinitely and terminated: the metric counts as Successful.
  EXPECT_EQ(Result(run)["phase"], kPhaseSuccessful);
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
  EXPECT_EQ(run["status"]["message"], "Run Terminated");
}

TEST(AssessTest, IntervalSchedulesNextMeasurement) {
  json run = RunOf({WebMetric({{"count", 3}, {"interval", "30s"}})});
  EXPECT_THAT(TaskNames(PlanMeasurements(run, T(0))), ::testing::ElementsAre("m"));
  Assessment a = Feed(run, kPhaseSuccessful, T(0));
  ASSERT_TRUE(a.requeue_after.has_value());
  EXPECT_EQ(*a.requeue_after, absl::Seconds(30));
  EXPECT_TRUE(PlanMeasurements(run, T(29)).tasks.empty());
  EXPECT_EQ(PlanMeasurements(run, T(30)).tasks.size(), 1u);
  a = Step(run, {}, T(12));
  EXPECT_EQ(*a.requeue_after, absl::Seconds(18));
}

TEST(AssessTest, ErrorRetriesAfterTenSecondsWhateverTheInterval) {
  json run = RunOf({WebMetric({{"count", 3}, {"interval", "5m"}})});
  Assessment a = Feed(run, kPhaseError, T(0));
  EXPECT_EQ(*a.requeue_after, absl::Seconds(10));
  EXPECT_TRUE(PlanMeasurements(run, T(9)).tasks.empty());
  EXPECT_EQ(PlanMeasurements(run, T(10)).tasks.size(), 1u);
  // A single-measurement metric (no interval) is retried after an error too.
  json single = RunOf({WebMetric()});
  a = Feed(single, kPhaseError, T(0));
  EXPECT_EQ(*a.requeue_after, absl::Seconds(10));
  EXPECT_EQ(PlanMeasurements(single, T(10)).tasks.size(), 1u);
}

TEST(AssessTest, InitialDelay) {
  json run = RunOf({WebMetric({{"initialDelay", "30s"}})});
  // First reconcile: the run starts; nothing to measure before the delay.
  EXPECT_TRUE(PlanMeasurements(run, T(0)).tasks.empty());
  Assessment a = Step(run, {}, T(0));
  EXPECT_EQ(run["status"]["startedAt"], TimeText(T(0)));
  EXPECT_EQ(run["status"]["phase"], kPhaseRunning);
  ASSERT_TRUE(a.requeue_after.has_value());
  EXPECT_EQ(*a.requeue_after, absl::Seconds(30));
  EXPECT_TRUE(PlanMeasurements(run, T(29)).tasks.empty());
  EXPECT_EQ(PlanMeasurements(run, T(30)).tasks.size(), 1u);
}

TEST(AssessTest, MeasurementRetention) {
  json run = RunOf(
      {WebMetric({{"interval", "1s"}, {"failureLimit", -1}, {"consecutiveSuccessLimit", 100}})});
  for (int i = 0; i < 12; ++i) Feed(run, kPhaseSuccessful, T(i));
  EXPECT_EQ(Result(run)["measurements"].size(), 10u);  // default limit
  EXPECT_EQ(Result(run)["measurements"].back()["finishedAt"], TimeText(T(11)));
  EXPECT_EQ(Result(run)["count"], 12);

  json kept = RunOf(
      {WebMetric({{"interval", "1s"}, {"failureLimit", -1}, {"consecutiveSuccessLimit", 100}})},
      {{"measurementRetention", {{{"metricName", ".*"}, {"limit", 2}}}}});
  for (int i = 0; i < 5; ++i) Feed(kept, kPhaseSuccessful, T(i));
  EXPECT_EQ(Result(kept)["measurements"].size(), 2u);
}

TEST(AssessTest, DryRunMetricsNeverDecideTheRun) {
  json wet = WebMetric({{"name", "wet"}});
  json dry = WebMetric({{"name", "total-5xx-errors"}});
  // "error" is an unanchored regexp: it matches total-5xx-errors.
  json run = RunOf({wet, dry}, {{"dryRun", {{{"metricName", "error"}}}}});
  Step(run,
       {{.metric = "total-5xx-errors", .measurement = Measured(kPhaseFailed, T(0))},
        {.metric = "wet", .measurement = Measured(kPhaseSuccessful, T(0))}},
       T(0));
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
  const json& d = Result(run, "total-5xx-errors");
  EXPECT_EQ(d["dryRun"], true);
  EXPECT_EQ(d["phase"], kPhaseFailed);
  EXPECT_EQ(d["message"], "Metric assessed Failed due to failed (1) > failureLimit (0)");
  EXPECT_EQ(
      run["status"]["dryRunSummary"],
      json({{"count", 1}, {"successful", 0}, {"failed", 1}, {"inconclusive", 0}, {"error", 0}}));
  EXPECT_EQ(run["status"]["runSummary"]["successful"], 1);
}

TEST(AssessTest, OnlyDryRunMetricsCompleteSuccessful) {
  json run = RunOf({WebMetric()}, {{"dryRun", {{{"metricName", ".*"}}}}});
  Feed(run, kPhaseFailed, T(0));
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
}

TEST(AssessTest, BadSpecsGoToError) {
  struct Case {
    json run;
    std::string message;
  };
  std::vector<Case> cases = {
      {RunOf({WebMetric()}, {{"dryRun", {{{"metricName", "nomatch"}}}}}),
       "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)"},
      {RunOf({WebMetric()}, {{"measurementRetention", {{{"metricName", "x"}, {"limit", 1}}}}}),
       "Analysis spec invalid: measurementRetention[0]: Rule didn't match any metric name(s)"},
      {RunOf({WebMetric({{"successCondition", "result == '{{args.want}}'"}})}),
       "Unable to resolve metric arguments: failed to resolve {{args.want}}"},
      {RunOf({WebMetric()}, {{"args", {{{"name", "x"}}}}}),
       "Unable to resolve metric arguments: argument \"x\" was not supplied"},
      {RunOf({WebMetric({{"count", 2}})}),
       "Analysis spec invalid: metrics[0]: interval must be specified when count > 1"},
      {RunOf({WebMetric({{"failureLimit", -1}})}),
       "Analysis spec invalid: metrics[0]: failureLimit and consecutiveSuccessLimit cannot both be "
       "disabled"},
      {RunOf({json{{"name", "m"}}}), "Analysis spec invalid: metrics[0]: no provider specified"},
      {RunOf({}), "Analysis spec invalid: no metrics specified"},
      {RunOf({WebMetric({{"interval", "soon"}})}),
       "Analysis spec invalid: metrics[0]: invalid interval string"},
  };
  for (const Case& c : cases) {
    Plan plan = PlanMeasurements(c.run, T(0));
    ASSERT_TRUE(plan.error_status.has_value()) << c.message;
    EXPECT_EQ((*plan.error_status)["phase"], kPhaseError);
    EXPECT_THAT((*plan.error_status)["message"].get<std::string>(), HasSubstr(c.message));
    Assessment a = Assess(c.run, {}, T(0));
    EXPECT_EQ(a.status["phase"], kPhaseError);
    EXPECT_TRUE(a.completed);
  }
}

TEST(AssessTest, ArgsResolvedInPlannedMetric) {
  json run = RunOf(
      {WebMetric({{"successCondition", "result == '{{args.want}}'"}})},
      {{"args",
        {{{"name", "want"}, {"value", "ok"}},
         {{"name", "token"}, {"valueFrom", {{"secretKeyRef", {{"name", "s"}, {"key", "k"}}}}}}}}});
  Plan plan = PlanMeasurements(run, T(0));
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(plan.tasks[0].spec["successCondition"], "result == 'ok'");
  EXPECT_EQ(plan.tasks[0].raw_spec["successCondition"], "result == '{{args.want}}'");
}

TEST(EvaluateTest, Conditions) {
  struct Case {
    json metric;
    json result;
    std::string phase;
  };
  std::vector<Case> cases = {
      {json::object(), 1, kPhaseSuccessful},
      {{{"successCondition", "result > 1"}}, 2, kPhaseSuccessful},
      {{{"successCondition", "result > 1"}}, 1, kPhaseFailed},
      {{{"failureCondition", "result > 1"}}, 2, kPhaseFailed},
      {{{"failureCondition", "result > 1"}}, 1, kPhaseSuccessful},
      {{{"successCondition", "result > 5"}, {"failureCondition", "result < 1"}},
       3,
       kPhaseInconclusive},
      {{{"successCondition", "result > 5"}, {"failureCondition", "result > 1"}}, 6, kPhaseFailed},
      {{{"successCondition", "result[0] >= 0.95"}}, json::array({0.97}), kPhaseSuccessful},
      {{{"successCondition", "asInt(result) == 3"}}, "3", kPhaseSuccessful},
      {{{"successCondition", "isNaN(result)"}}, 1.5, kPhaseFailed},
      {{{"successCondition", "default(result, 4) == 4"}}, nullptr, kPhaseSuccessful},
      {{{"successCondition", "result.status == 'ok'"}}, {{"status", "ok"}}, kPhaseSuccessful},
      {{{"successCondition", "result >"}}, 1, kPhaseError},
      {{{"successCondition", "result"}}, 1, kPhaseError},  // not a bool
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EvaluateResult(c.metric, c.result).first, c.phase)
        << c.metric.dump() << " on " << c.result.dump();
  }
  auto [phase, message] = EvaluateResult({{"successCondition", "result >"}}, 1);
  EXPECT_THAT(message, HasSubstr("could not evaluate successCondition \"result >\""));
  std::tie(phase, message) = EvaluateResult({{"successCondition", "result[0] > 1"}}, json::array());
  EXPECT_THAT(message, HasSubstr("metric result is nil or empty"));
}

TEST(AssessTest, BrokenSuccessConditionMakesTheRunErrorWithTheParseError) {
  json metric = WebMetric({{"successCondition", "result ==== 1"}});
  json run = RunOf({metric});
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(PlanMeasurements(run, T(i * 10)).tasks.size(), 1u) << i;
    json m = MeasurementFromResult(metric, 1, T(i * 10), T(i * 10));
    EXPECT_EQ(m["phase"], kPhaseError);
    Step(run, {{.metric = "m", .measurement = m}}, T(i * 10));
  }
  EXPECT_EQ(run["status"]["phase"], kPhaseError);
  const std::string message = run["status"]["message"];
  EXPECT_THAT(message, HasSubstr("consecutiveErrors (5) > consecutiveErrorLimit (4)"));
  EXPECT_THAT(message, HasSubstr("could not evaluate successCondition \"result ==== 1\""));
}

TEST(AssessTest, InFlightMeasurementReplacedWhenDone) {
  json run = RunOf({WebMetric()});
  json running = {{"phase", kPhaseRunning}, {"startedAt", TimeText(T(0))}};
  Assessment a = Step(run, {{.metric = "m", .measurement = running}}, T(0));
  EXPECT_EQ(Result(run)["phase"], kPhaseRunning);
  EXPECT_EQ(*a.requeue_after, kInFlightPollInterval);
  Plan plan = PlanMeasurements(run, T(3));
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_TRUE(plan.tasks[0].in_flight.has_value());
  EXPECT_FALSE(plan.tasks[0].terminate);
  json done = Measured(kPhaseSuccessful, T(4));
  done["startedAt"] = TimeText(T(0));
  Step(run, {{.metric = "m", .measurement = done, .replace_last = true}}, T(4));
  EXPECT_EQ(Result(run)["measurements"].size(), 1u);
  EXPECT_EQ(run["status"]["phase"], kPhaseSuccessful);
}

TEST(AssessTest, CompletedRunIsLeftAlone) {
  json run = RunOf({WebMetric()});
  Feed(run, kPhaseSuccessful, T(0));
  json before = run["status"];
  Assessment a = Step(run, {}, T(100));
  EXPECT_EQ(run["status"], before);
  EXPECT_FALSE(a.requeue_after.has_value());
}

TEST(AssessTest, TimeToDeletion) {
  json run =
      RunOf({WebMetric()},
            {{"ttlStrategy", {{"secondsAfterSuccess", 60}, {"secondsAfterCompletion", 600}}}});
  EXPECT_FALSE(TimeToDeletion(run, T(0)).has_value());  // not completed
  Feed(run, kPhaseSuccessful, T(0));
  EXPECT_EQ(*TimeToDeletion(run, T(0)), absl::Seconds(61));
  EXPECT_EQ(*TimeToDeletion(run, T(61)), absl::ZeroDuration());
  json failed =
      RunOf({WebMetric()},
            {{"ttlStrategy", {{"secondsAfterSuccess", 60}, {"secondsAfterCompletion", 600}}}});
  Feed(failed, kPhaseFailed, T(0));
  EXPECT_EQ(*TimeToDeletion(failed, T(0)), absl::Seconds(601));
  json none = RunOf({WebMetric()});
  Feed(none, kPhaseSuccessful, T(0));
  EXPECT_FALSE(TimeToDeletion(none, T(1000)).has_value());
}

TEST(AssessTest, RedactAndProviderType) {
  EXPECT_EQ(Redact("token=abc and abc", {"abc", ""}), "token=***** and *****");
  EXPECT_EQ(ProviderType(WebMetric()), "Web");
  EXPECT_EQ(ProviderType(json{{"provider", {{"job", json::object()}}}}), "Job");
}

}  // namespace
}  // namespace argonaut::rollout::analysis
