#include "lib/controller/controller.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/controller/observer.h"

namespace argonaut::controller {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Bounds every wait in these tests so a bug fails the test instead of hanging
// it; nothing here should ever come close.
constexpr absl::Duration kTimeout = absl::Seconds(20);

// Reconciler whose behaviour per call is scripted by the test, and which
// records every call.
class FakeReconciler : public Reconciler {
 public:
  using Behavior = std::function<absl::StatusOr<Result>(const std::string& key, int call)>;

  explicit FakeReconciler(Behavior behavior = nullptr) : behavior_(std::move(behavior)) {}

  absl::StatusOr<Result> Reconcile(const std::string& key) override {
    int call;
    {
      absl::MutexLock lock(&mu_);
      call = ++calls_[key];
      order_.push_back(key);
    }
    return behavior_ ? behavior_(key, call) : Result{};
  }

  int calls(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(key);
    return it == calls_.end() ? 0 : it->second;
  }
  std::vector<std::string> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }

 private:
  const Behavior behavior_;
  absl::Mutex mu_;
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
};

// Lets tests wait for "n reconciles have finished" instead of sleeping.
class RecordingObserver : public ControllerObserver {
 public:
  void OnStart(int workers) override {
    absl::MutexLock lock(&mu_);
    workers_ = workers;
  }
  void OnReconcileFinished(ReconcileOutcome outcome, absl::Duration elapsed) override {
    absl::MutexLock lock(&mu_);
    outcomes_.push_back(outcome);
  }

  // Waits until at least `n` reconciles have finished.
  void WaitForFinished(size_t n) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outcomes_.size() >= n; };
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&done), kTimeout))
        << "only " << outcomes_.size() << " of " << n << " reconciles finished";
  }
  std::vector<ReconcileOutcome> outcomes() {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }
  int workers() {
    absl::MutexLock lock(&mu_);
    return workers_;
  }

 private:
  absl::Mutex mu_;
  int workers_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<ReconcileOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
};

constexpr RateLimiterOptions kNoBucket{.qps = 0};

TEST(ControllerTest, ReconcilesEnqueuedKeys) {
  FakeReconciler reconciler;
  RecordingObserver observer;
  Controller controller({.name = "test", .workers = 2, .observer = &observer}, &reconciler);
  ASSERT_OK(controller.Start());
  EXPECT_EQ(observer.workers(), 2);
  controller.Enqueue("ns/a");
  controller.Enqueue("ns/b");
  observer.WaitForFinished(2);
  controller.Stop();
  EXPECT_EQ(reconciler.calls("ns/a"), 1);
  EXPECT_EQ(reconciler.calls("ns/b"), 1);
  EXPECT_THAT(observer.outcomes(),
              ElementsAre(ReconcileOutcome::kSuccess, ReconcileOutcome::kSuccess));
}

TEST(ControllerTest, RetriesErrorsWithExponentialBackoffThenForgets) {
  FakeClock clock;
  FakeReconciler reconciler([](const std::string&, int call) -> absl::StatusOr<Result> {
    if (call <= 3) return absl::UnavailableError("flaky dependency");
    return Result{};
  });
  RecordingObserver observer;
  Controller controller(
      {.name = "test", .clock = &clock, .rate_limiter = kNoBucket, .observer = &observer},
      &reconciler);
  ASSERT_OK(controller.Start());
  controller.Enqueue("ns/a");

  absl::Duration backoff = absl::Milliseconds(5);
  for (int failures = 1; failures <= 3; ++failures) {
    observer.WaitForFinished(failures);
    EXPECT_EQ(controller.queue().NumRequeues("ns/a"), failures);
    clock.Advance(backoff - absl::Nanoseconds(1));
    EXPECT_EQ(controller.queue().Len(), 0u);
    EXPECT_EQ(reconciler.calls("ns/a"), failures);
    clock.Advance(absl::Nanoseconds(1));
    backoff *= 2;
  }
  observer.WaitForFinished(4);
  controller.Stop();
  EXPECT_EQ(reconciler.calls("ns/a"), 4);
  EXPECT_EQ(controller.queue().NumRequeues("ns/a"), 0);
  EXPECT_THAT(observer.outcomes(),
              ElementsAre(ReconcileOutcome::kError, ReconcileOutcome::kError,
                          ReconcileOutcome::kError, ReconcileOutcome::kSuccess));
}

TEST(ControllerTest, FailedPreconditionIsTerminal) {
  FakeClock clock;
  FakeReconciler reconciler([](const std::string& key, int) -> absl::StatusOr<Result> {
    if (key == "ns/bad") return absl::FailedPreconditionError("spec is invalid");
    return Result{};
  });
  RecordingObserver observer;
  Controller controller({.name = "test", .clock = &clock, .observer = &observer}, &reconciler);
  ASSERT_OK(controller.Start());
  controller.Enqueue("ns/bad");
  observer.WaitForFinished(1);
  EXPECT_EQ(controller.queue().NumRequeues("ns/bad"), 0);

  // Long past any backoff: a retry would have been released by now. The
  // second key flushes the single worker, so if "ns/bad" had been queued it
  // would have been reconciled first.
  clock.Advance(absl::Hours(1));
  controller.Enqueue("ns/good");
  observer.WaitForFinished(2);
  controller.Stop();
  EXPECT_EQ(reconciler.calls("ns/bad"), 1);
  EXPECT_THAT(reconciler.order(), ElementsAre("ns/bad", "ns/good"));
  EXPECT_THAT(observer.outcomes(),
              ElementsAre(ReconcileOutcome::kTerminalError, ReconcileOutcome::kSuccess));
}

TEST(ControllerTest, RequeueAfterReconcilesAgainWithoutBackoff) {
  FakeClock clock;
  FakeReconciler reconciler([](const std::string&, int call) -> absl::StatusOr<Result> {
    if (call == 1) return absl::UnavailableError("first try fails");
    if (call == 2) return Result{.requeue_after = absl::Seconds(30)};
    return Result{};
  });
  RecordingObserver observer;
  Controller controller(
      {.name = "test", .clock = &clock, .rate_limiter = kNoBucket, .observer = &observer},
      &reconciler);
  ASSERT_OK(controller.Start());
  controller.Enqueue("ns/a");
  observer.WaitForFinished(1);
  clock.Advance(absl::Milliseconds(5));
  observer.WaitForFinished(2);
  // requeue_after is not a failure: the backoff from call 1 is reset.
  EXPECT_EQ(controller.queue().NumRequeues("ns/a"), 0);
  clock.Advance(absl::Seconds(29));
  EXPECT_EQ(controller.queue().Len(), 0u);
  EXPECT_EQ(reconciler.calls("ns/a"), 2);
  clock.Advance(absl::Seconds(1));
  observer.WaitForFinished(3);
  controller.Stop();
  EXPECT_THAT(observer.outcomes(),
              ElementsAre(ReconcileOutcome::kError, ReconcileOutcome::kRequeueAfter,
                          ReconcileOutcome::kSuccess));
}

TEST(ControllerTest, StartEnqueuesAllKeysAndResyncRepeatsIt) {
  FakeClock clock;
  FakeReconciler reconciler;
  RecordingObserver observer;
  absl::Mutex keys_mu;
  std::vector<std::string> keys = {"ns/a", "ns/b", "ns/c"};
  Controller controller({.name = "test",
                         .workers = 2,
                         .list_keys =
                             [&] {
                               absl::MutexLock lock(&keys_mu);
                               return keys;
                             },
                         .resync_period = absl::Minutes(10),
                         .clock = &clock,
                         .observer = &observer},
                        &reconciler);
  ASSERT_OK(controller.Start());
  observer.WaitForFinished(3);
  EXPECT_EQ(reconciler.calls("ns/a"), 1);

  clock.Advance(absl::Minutes(10));
  observer.WaitForFinished(6);
  EXPECT_EQ(reconciler.calls("ns/a"), 2);
  EXPECT_EQ(reconciler.calls("ns/b"), 2);
  EXPECT_EQ(reconciler.calls("ns/c"), 2);

  {
    absl::MutexLock lock(&keys_mu);
    keys = {"ns/d"};
  }
  clock.Advance(absl::Minutes(10));
  observer.WaitForFinished(7);
  controller.Stop();
  EXPECT_EQ(reconciler.calls("ns/a"), 2);
  EXPECT_EQ(reconciler.calls("ns/d"), 1);
}

TEST(ControllerTest, ResyncSkipsMissedPeriodsInsteadOfBunchingThem) {
  FakeClock clock;
  FakeReconciler reconciler;
  RecordingObserver observer;
  Controller controller({.name = "test",
                         .list_keys = [] { return std::vector<std::string>{"ns/a"}; },
                         .resync_period = absl::Minutes(10),
                         .clock = &clock,
                         .observer = &observer},
                        &reconciler);
  ASSERT_OK(controller.Start());
  observer.WaitForFinished(1);

  // Three and a half periods at once: one resync now, the next one back on
  // the original 10-minute grid (at 40 min), none for the periods missed.
  clock.Advance(absl::Minutes(35));
  observer.WaitForFinished(2);
  // The resync thread going back to sleep is the only timed wait here.
  const absl::Time give_up = absl::Now() + kTimeout;
  while (clock.NumWaiters() < 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(clock.NumWaiters(), 1);
  clock.Advance(absl::Minutes(4) + absl::Seconds(59));
  EXPECT_EQ(clock.NumWaiters(), 1);
  EXPECT_EQ(reconciler.calls("ns/a"), 2);

  clock.Advance(absl::Seconds(1));
  observer.WaitForFinished(3);
  controller.Stop();
  EXPECT_EQ(reconciler.calls("ns/a"), 3);
}

TEST(ControllerTest, StopWaitsForInFlightReconcileAndReturnsPromptly) {
  FakeClock clock;  // Keeps the resync thread asleep: only Stop() can wake it.
  absl::Notification slow_started;
  absl::Notification release_slow;
  std::atomic<bool> slow_finished{false};
  FakeReconciler reconciler([&](const std::string& key, int) -> absl::StatusOr<Result> {
    if (key == "ns/slow") {
      slow_started.Notify();
      release_slow.WaitForNotification();
      slow_finished = true;
    }
    return Result{};
  });
  Controller controller({.name = "test",
                         .workers = 3,
                         .list_keys = [] { return std::vector<std::string>(); },
                         .resync_period = absl::Hours(1),
                         .clock = &clock},
                        &reconciler);
  ASSERT_OK(controller.Start());
  controller.Enqueue("ns/slow");
  slow_started.WaitForNotification();

  absl::Notification stopped;
  std::thread stopper([&] {
    controller.Stop();
    stopped.Notify();
  });
  EXPECT_FALSE(stopped.WaitForNotificationWithTimeout(absl::Milliseconds(50)))
      << "Stop() returned while a reconcile was still running";
  // Keys enqueued while stopping are dropped, not reconciled.
  const absl::Time give_up = absl::Now() + kTimeout;
  while (!controller.queue().ShuttingDown() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  controller.Enqueue("ns/late");

  const absl::Time released = absl::Now();
  release_slow.Notify();
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(kTimeout));
  // Idle workers and the resync thread must not delay Stop().
  EXPECT_LT(absl::Now() - released, absl::Seconds(2));
  stopper.join();
  EXPECT_TRUE(slow_finished);
  EXPECT_EQ(reconciler.calls("ns/late"), 0);

  controller.Stop();  // Idempotent.
  EXPECT_THAT(controller.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ControllerTest, RejectsBadOptionsAndDoubleStart) {
  FakeReconciler reconciler;
  Controller no_workers({.name = "test", .workers = 0}, &reconciler);
  EXPECT_THAT(no_workers.Start(), StatusIs(absl::StatusCode::kInvalidArgument));
  Controller no_reconciler({.name = "test"}, nullptr);
  EXPECT_THAT(no_reconciler.Start(), StatusIs(absl::StatusCode::kInvalidArgument));

  Controller controller({.name = "test"}, &reconciler);
  ASSERT_OK(controller.Start());
  EXPECT_THAT(controller.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ControllerTest, WorkersReconcileDistinctKeysInParallel) {
  constexpr int kWorkers = 4;
  // Every reconcile waits until kWorkers reconciles are in flight at once,
  // which can only happen if the workers really run in parallel.
  absl::Mutex mu;
  int in_flight = 0;
  bool all_met = false;
  FakeReconciler reconciler([&](const std::string&, int) -> absl::StatusOr<Result> {
    absl::MutexLock lock(&mu);
    if (++in_flight == kWorkers) all_met = true;
    const bool met = mu.AwaitWithTimeout(absl::Condition(&all_met), kTimeout);
    --in_flight;
    if (!met) return absl::DeadlineExceededError("workers did not overlap");
    return Result{};
  });
  RecordingObserver observer;
  Controller controller({.name = "test", .workers = kWorkers, .observer = &observer}, &reconciler);
  ASSERT_OK(controller.Start());
  for (int i = 0; i < kWorkers; ++i) controller.Enqueue(absl::StrCat("ns/p", i));
  observer.WaitForFinished(kWorkers);
  controller.Stop();
  EXPECT_THAT(observer.outcomes(), ::testing::Each(ReconcileOutcome::kSuccess));
}

// Producers hammer a few keys while 4 workers reconcile them. Checks the two
// invariants a level-triggered controller relies on:
//   * a key is never reconciled by two workers at once;
//   * every Add() is followed by a reconcile that starts after it (no lost
//     updates, even when the key was being processed at the time).
TEST(ControllerTest, StressNeverReconcilesAKeyConcurrentlyAndNeverLosesAnAdd) {
  constexpr int kKeys = 8;
  constexpr int kProducers = 2;
  constexpr int kAddsPerProducer = 3000;

  std::atomic<uint64_t> clock_seq{0};
  // All guarded by mu.
  absl::Mutex mu;
  absl::flat_hash_set<std::string> in_flight;
  int concurrent_same_key = 0;
  absl::flat_hash_map<std::string, uint64_t> last_add;
  absl::flat_hash_map<std::string, uint64_t> last_start;

  FakeReconciler reconciler([&](const std::string& key, int) -> absl::StatusOr<Result> {
    const uint64_t start = ++clock_seq;
    {
      absl::MutexLock lock(&mu);
      if (!in_flight.insert(key).second) ++concurrent_same_key;
      last_start[key] = start;
    }
    std::this_thread::yield();  // Widen the window for a second worker to collide.
    {
      absl::MutexLock lock(&mu);
      in_flight.erase(key);
    }
    return Result{};
  });
  Controller controller({.name = "stress", .workers = 4}, &reconciler);
  ASSERT_OK(controller.Start());

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) {
        const std::string key = absl::StrCat("ns/k", (i * 7 + p) % kKeys);
        // Taken before Add(), so any reconcile started after the Add() has a
        // larger sequence number.
        const uint64_t seq = ++clock_seq;
        {
          absl::MutexLock lock(&mu);
          uint64_t& last = last_add[key];
          last = std::max(last, seq);
        }
        controller.Enqueue(key);
      }
    });
  }
  for (std::thread& t : producers) t.join();

  {
    absl::MutexLock lock(&mu);
    auto caught_up = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      for (const auto& [key, added] : last_add) {
        auto it = last_start.find(key);
        if (it == last_start.end() || it->second < added) return false;
      }
      return true;
    };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&caught_up), kTimeout))
        << "some Add() was never followed by a reconcile";
    EXPECT_EQ(last_add.size(), static_cast<size_t>(kKeys));
  }
  controller.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(concurrent_same_key, 0);
}

}  // namespace
}  // namespace argonaut::controller
