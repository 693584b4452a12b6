#include "lib/metrics/metrics.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/observer.h"
#include "lib/metrics/controller_observer.h"
#include "lib/metrics/test_process.h"

namespace argonaut::metrics {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPromtool[] = "/usr/bin/promtool";

TEST(MetricsRegistryTest, DeclaringAFamilyTwiceReturnsTheSameFamily) {
  MetricsRegistry registry;
  absl::StatusOr<CounterFamily*> first = registry.AddCounter("argonaut_things_total", "Things.");
  absl::StatusOr<CounterFamily*> second = registry.AddCounter("argonaut_things_total", "Things.");
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(*first, *second);
}

TEST(MetricsRegistryTest, MisuseIsAStatusNotAnException) {
  MetricsRegistry registry;
  EXPECT_THAT(registry.AddCounter("bad name", "Help."),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddGauge("argonaut_no_help", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(registry.AddCounter("argonaut_x_total", "X."));
  EXPECT_THAT(registry.AddGauge("argonaut_x_total", "X."),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddHistogram("argonaut_h_seconds", "H.", {1, 0.5}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("strictly increasing")));
}

TEST(MetricsRegistryTest, SerializesFamiliesInTextFormat) {
  MetricsRegistry registry({.process_metrics = false});
  CounterFamily* requests = *registry.AddCounter("argonaut_requests_total", "Requests served.");
  requests->Add({{"method", "GET"}, {"code", "200"}}).Increment(3);
  GaugeFamily* temperature = *registry.AddGauge("argonaut_temperature_celsius", "Temperature.");
  temperature->Add({}).Set(21.5);
  HistogramFamily latency =
      *registry.AddHistogram("argonaut_latency_seconds", "Latency.", {0.1, 1});
  latency.WithLabels({{"path", "/x"}}).Observe(0.5);

  const std::string text = registry.Serialize();
  EXPECT_THAT(text, HasSubstr("# HELP argonaut_requests_total Requests served.\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE argonaut_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("argonaut_requests_total{code=\"200\",method=\"GET\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("argonaut_temperature_celsius 21.5\n"));
  EXPECT_THAT(text, HasSubstr("argonaut_latency_seconds_bucket{path=\"/x\",le=\"0.1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("argonaut_latency_seconds_bucket{path=\"/x\",le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("argonaut_latency_seconds_count{path=\"/x\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("process_")));
}

TEST(ProcessMetricsTest, ReadProcessStatsIsPlausible) {
  absl::StatusOr<ProcessStats> stats = ReadProcessStats();
  ASSERT_OK(stats);
  EXPECT_GT(stats->resident_memory_bytes, 1 << 20);
  EXPECT_GE(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  EXPECT_GE(stats->cpu_seconds, 0);
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(stats->start_time_seconds, now + 1);
  EXPECT_GT(stats->start_time_seconds, now - 24 * 3600);
  EXPECT_GE(stats->open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(stats->max_fds, stats->open_fds);
}

TEST(ProcessMetricsTest, ExportedByDefault) {
  MetricsRegistry registry;
  const std::string text = registry.Serialize();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_start_time_seconds",
                           "process_open_fds", "process_max_fds"}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
}

TEST(ControllerMetricsTest, TwoControllersShareFamilies) {
  MetricsRegistry registry({.process_metrics = false});
  absl::StatusOr<ControllerMetrics> a = ControllerMetrics::Create(registry);
  absl::StatusOr<ControllerMetrics> b = ControllerMetrics::Create(registry);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(&a->reconcile_total, &b->reconcile_total);
}

TEST(ControllerMetricsTest, FailsIfANameIsTakenByAnotherType) {
  MetricsRegistry registry({.process_metrics = false});
  ASSERT_OK(registry.AddGauge("workqueue_adds_total", "Wrong type."));
  EXPECT_THAT(ControllerMetrics::Create(registry), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Runs promtool on `text`; the test fails (never skips) without promtool, so
// a CI image that lost it cannot turn this check into a silent no-op.
void ExpectPromtoolAccepts(const std::string& text) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the 'prometheus' package (apt-get install prometheus)";
  absl::StatusOr<testing::CommandResult> result =
      testing::RunCommand({kPromtool, "check", "metrics"}, text);
  ASSERT_OK(result);
  EXPECT_EQ(result->exit_code, 0) << "promtool check metrics:\n"
                                  << result->output << "\non input:\n"
                                  << text;
  EXPECT_EQ(result->output, "") << "promtool reported problems";
}

TEST(PromtoolTest, AcceptsSerializedRegistry) {
  MetricsRegistry registry;  // With process metrics.
  CounterFamily* requests = *registry.AddCounter("argonaut_requests_total", "Requests served.");
  requests->Add({{"method", "GET"}, {"code", "200"}}).Increment(3);
  requests->Add({{"method", "POST"}, {"code", "500"}}).Increment();
  GaugeFamily* in_flight = *registry.AddGauge("argonaut_in_flight_requests", "In-flight requests.");
  in_flight->Add({{"service", "api"}}).Set(2);
  HistogramFamily latency = *registry.AddHistogram(
      "argonaut_request_duration_seconds", "Request latency.", ExponentialBuckets(0.001, 10, 5));
  latency.WithLabels({{"method", "GET"}}).Observe(0.02);
  latency.WithLabels({{"method", "POST"}}).Observe(3);

  absl::StatusOr<ControllerMetrics> controller_metrics = ControllerMetrics::Create(registry);
  ASSERT_OK(controller_metrics);
  ControllerMetricsObserver observer(*controller_metrics, "workflows");
  observer.OnStart(2);
  observer.OnAdd();
  observer.OnDepth(1);
  observer.OnGet(absl::Milliseconds(3));
  observer.OnReconcileStarted();
  observer.OnReconcileFinished(controller::ReconcileOutcome::kError, absl::Milliseconds(40));
  observer.OnRetry();
  observer.OnDone(absl::Milliseconds(41));

  ExpectPromtoolAccepts(registry.Serialize());
}

// Guards the guard: if the harness could not see promtool's complaints, the
// test above would pass on anything.
TEST(PromtoolTest, HarnessDetectsProblems) {
  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " is missing";
  absl::StatusOr<testing::CommandResult> result = testing::RunCommand(
      {kPromtool, "check", "metrics"}, "# HELP foo A counter.\n# TYPE foo counter\nfoo 1\n");
  ASSERT_OK(result);
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->output, HasSubstr("_total"));
}

}  // namespace
}  // namespace argonaut::metrics
