#include "lib/metrics/controller_observer.h"

#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/controller.h"
#include "lib/controller/observer.h"
#include "lib/metrics/metrics.h"

namespace argonaut::metrics {
namespace {

using ::testing::HasSubstr;

// Forwards to the metrics observer and lets the test wait for progress.
class CountingTee : public controller::ControllerObserver {
 public:
  explicit CountingTee(controller::ControllerObserver* next) : next_(next) {}
  void OnStart(int workers) override { next_->OnStart(workers); }
  void OnReconcileStarted() override { next_->OnReconcileStarted(); }
  void OnReconcileFinished(controller::ReconcileOutcome outcome, absl::Duration elapsed) override {
    next_->OnReconcileFinished(outcome, elapsed);
    absl::MutexLock lock(&mu_);
    ++finished_;
  }
  bool WaitForFinished(int n) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(20));
  }

 private:
  controller::ControllerObserver* const next_;
  absl::Mutex mu_;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
};

class ScriptedReconciler : public controller::Reconciler {
 public:
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override {
    if (key == "ns/bad") return absl::FailedPreconditionError("invalid spec");
    if (key == "ns/poll") return controller::Result{.requeue_after = absl::Hours(1)};
    if (key == "ns/flaky") {
      absl::MutexLock lock(&mu_);
      if (!flaked_) {
        flaked_ = true;
        return absl::UnavailableError("try again");
      }
    }
    return controller::Result{};
  }

 private:
  absl::Mutex mu_;
  bool flaked_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(ControllerMetricsObserverTest, ExportsControllerRuntimeMetrics) {
  MetricsRegistry registry({.process_metrics = false});
  absl::StatusOr<ControllerMetrics> families = ControllerMetrics::Create(registry);
  ASSERT_OK(families);
  ControllerMetricsObserver metrics(*families, "demo");
  CountingTee tee(&metrics);
  ScriptedReconciler reconciler;
  controller::Controller controller(
      {.name = "demo", .workers = 2, .observer = &tee, .queue_observer = &metrics}, &reconciler);
  ASSERT_OK(controller.Start());
  for (const char* key : {"ns/ok", "ns/bad", "ns/poll", "ns/flaky"}) controller.Enqueue(key);
  // Four first passes plus the flaky key's retry (after 5 ms of real time).
  ASSERT_TRUE(tee.WaitForFinished(5));
  // Joins the workers, so every Done() has been reported too.
  controller.Stop();

  const std::string text = registry.Serialize();
  for (const char* line : {
           R"(controller_runtime_reconcile_total{controller="demo",result="success"} 2)",
           R"(controller_runtime_reconcile_total{controller="demo",result="error"} 2)",
           R"(controller_runtime_reconcile_total{controller="demo",result="requeue_after"} 1)",
           R"(controller_runtime_reconcile_errors_total{controller="demo"} 2)",
           R"(controller_runtime_terminal_reconcile_errors_total{controller="demo"} 1)",
           R"(controller_runtime_reconcile_time_seconds_count{controller="demo"} 5)",
           R"(controller_runtime_max_concurrent_reconciles{controller="demo"} 2)",
           R"(controller_runtime_active_workers{controller="demo"} 0)",
           R"(workqueue_depth{name="demo"} 0)",
           R"(workqueue_adds_total{name="demo"} 5)",
           R"(workqueue_retries_total{name="demo"} 1)",
           R"(workqueue_queue_duration_seconds_count{name="demo"} 5)",
           R"(workqueue_work_duration_seconds_count{name="demo"} 5)",
       }) {
    EXPECT_THAT(text, HasSubstr(std::string(line) + "\n"));
  }
}

}  // namespace
}  // namespace argonaut::metrics
