#include "lib/controller/work_queue.h"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/controller/clock.h"
#include "lib/controller/observer.h"

namespace argonaut::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

class CountingObserver : public WorkQueueObserver {
 public:
  void OnAdd() override {
    absl::MutexLock lock(&mu_);
    ++adds_;
  }
  void OnDepth(size_t depth) override {
    absl::MutexLock lock(&mu_);
    depth_ = depth;
  }
  void OnGet(absl::Duration queued) override {
    absl::MutexLock lock(&mu_);
    queued_.push_back(queued);
  }
  void OnRetry() override {
    absl::MutexLock lock(&mu_);
    ++retries_;
  }

  int adds() {
    absl::MutexLock lock(&mu_);
    return adds_;
  }
  size_t depth() {
    absl::MutexLock lock(&mu_);
    return depth_;
  }
  int retries() {
    absl::MutexLock lock(&mu_);
    return retries_;
  }
  std::vector<absl::Duration> queued() {
    absl::MutexLock lock(&mu_);
    return queued_;
  }

 private:
  absl::Mutex mu_;
  int adds_ ABSL_GUARDED_BY(mu_) = 0;
  size_t depth_ ABSL_GUARDED_BY(mu_) = 0;
  int retries_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Duration> queued_ ABSL_GUARDED_BY(mu_);
};

// Token bucket off: these tests are about the per-key backoff.
constexpr RateLimiterOptions kNoBucket{.qps = 0};

TEST(WorkQueueTest, AddingAQueuedKeyIsANoOp) {
  CountingObserver observer;
  WorkQueue queue({.observer = &observer});
  for (int i = 0; i < 100; ++i) queue.Add("default/a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(observer.adds(), 1);
  EXPECT_EQ(observer.depth(), 1u);

  EXPECT_THAT(queue.Get(), Optional(std::string("default/a")));
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(observer.depth(), 0u);
  queue.Done("default/a");
  EXPECT_EQ(queue.Len(), 0u);

  // Nothing else was queued: after shutdown the next Get() reports it.
  queue.ShutDown();
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, GetHandsOutKeysInFifoOrder) {
  WorkQueue queue;
  queue.Add("a");
  queue.Add("b");
  queue.Add("a");
  queue.Add("c");
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    got.push_back(*queue.Get());
    queue.Done(got.back());
  }
  EXPECT_THAT(got, ElementsAre("a", "b", "c"));
}

TEST(WorkQueueTest, KeyReAddedWhileProcessingIsRequeuedAfterDone) {
  WorkQueue queue;
  queue.Add("a");
  ASSERT_THAT(queue.Get(), Optional(std::string("a")));

  // The key is processing: re-adds mark it dirty but must not make it
  // available to a second worker.
  queue.Add("a");
  queue.Add("a");
  queue.Add("b");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_THAT(queue.Get(), Optional(std::string("b")));
  EXPECT_EQ(queue.Len(), 0u);

  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_THAT(queue.Get(), Optional(std::string("a")));
  queue.Done("a");
  queue.Done("b");
  // Re-added once, so processed once more and no more.
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, DoneWithoutReAddDoesNotRequeue) {
  WorkQueue queue;
  queue.Add("a");
  ASSERT_THAT(queue.Get(), Optional(std::string("a")));
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, ReportsQueueDuration) {
  FakeClock clock;
  CountingObserver observer;
  WorkQueue queue({.clock = &clock, .observer = &observer});
  queue.Add("a");
  clock.Advance(absl::Seconds(3));
  queue.Add("a");  // Already pending: the original add time is kept.
  ASSERT_TRUE(queue.Get().has_value());
  EXPECT_THAT(observer.queued(), ElementsAre(absl::Seconds(3)));
}

TEST(RateLimiterTest, ExponentialBackoffIsCappedAndReset) {
  RateLimiter limiter(kNoBucket);
  const absl::Time now = absl::UnixEpoch();
  absl::Duration expected = absl::Milliseconds(5);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(limiter.When("a", now), std::min(expected, absl::Seconds(1000))) << "failure " << i;
    expected *= 2;
  }
  EXPECT_EQ(limiter.NumRequeues("a"), 30);
  // Far past the point where 2^n overflows an integer.
  for (int i = 0; i < 2000; ++i) limiter.When("a", now);
  EXPECT_EQ(limiter.When("a", now), absl::Seconds(1000));

  // Keys back off independently.
  EXPECT_EQ(limiter.When("b", now), absl::Milliseconds(5));

  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a", now), absl::Milliseconds(5));
}

TEST(RateLimiterTest, TokenBucketLimitsOverallRetryRate) {
  RateLimiter limiter({.qps = 10, .burst = 2});
  const absl::Time now = absl::UnixEpoch();
  // The burst is free; then each retry waits one more 1/qps slot, even though
  // every key is on its first failure.
  EXPECT_EQ(limiter.When("a", now), absl::Milliseconds(5));
  EXPECT_EQ(limiter.When("b", now), absl::Milliseconds(5));
  EXPECT_EQ(limiter.When("c", now), absl::Milliseconds(100));
  EXPECT_EQ(limiter.When("d", now), absl::Milliseconds(200));
  // Refills at qps: after 1 s the backlog of 2 is paid and the bucket is full.
  EXPECT_EQ(limiter.When("e", now + absl::Seconds(1)), absl::Milliseconds(5));
}

TEST(WorkQueueTest, RateLimitedBackoffGrowsExponentiallyAndResetsAfterForget) {
  FakeClock clock;
  CountingObserver observer;
  WorkQueue queue({.clock = &clock, .rate_limiter = kNoBucket, .observer = &observer});

  absl::Duration delay = absl::Milliseconds(5);
  for (int failures = 1; failures <= 12; ++failures) {
    queue.AddRateLimited("a");
    EXPECT_EQ(queue.NumRequeues("a"), failures);
    clock.Advance(delay - absl::Nanoseconds(1));
    EXPECT_EQ(queue.Len(), 0u) << "retry " << failures << " came before " << delay;
    clock.Advance(absl::Nanoseconds(1));
    EXPECT_EQ(queue.Len(), 1u) << "retry " << failures << " not ready after " << delay;
    ASSERT_THAT(queue.Get(), Optional(std::string("a")));
    queue.Done("a");
    delay *= 2;
  }
  EXPECT_EQ(observer.retries(), 12);

  queue.Forget("a");
  EXPECT_EQ(queue.NumRequeues("a"), 0);
  queue.AddRateLimited("a");
  clock.Advance(absl::Milliseconds(5));
  EXPECT_EQ(queue.Len(), 1u);
}

TEST(WorkQueueTest, AddAfterReleasesKeysInReadyTimeOrder) {
  FakeClock clock;
  WorkQueue queue({.clock = &clock});
  queue.AddAfter("a", absl::Milliseconds(30));
  queue.AddAfter("b", absl::Milliseconds(10));
  queue.AddAfter("c", absl::Milliseconds(20));
  queue.AddAfter("d", absl::Milliseconds(20));
  queue.AddAfter("now", absl::ZeroDuration());
  EXPECT_EQ(queue.Len(), 1u);
  ASSERT_THAT(queue.Get(), Optional(std::string("now")));

  clock.Advance(absl::Milliseconds(10));
  EXPECT_EQ(queue.Len(), 1u);
  clock.Advance(absl::Milliseconds(10));
  EXPECT_EQ(queue.Len(), 3u);
  clock.Advance(absl::Milliseconds(10));
  EXPECT_EQ(queue.Len(), 4u);
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) got.push_back(*queue.Get());
  EXPECT_THAT(got, ElementsAre("b", "c", "d", "a"));
}

TEST(WorkQueueTest, AddAfterKeepsTheEarlierReadyTime) {
  FakeClock clock;
  WorkQueue queue({.clock = &clock});
  queue.AddAfter("a", absl::Seconds(50));
  queue.AddAfter("a", absl::Seconds(10));   // Moves it earlier.
  queue.AddAfter("a", absl::Seconds(100));  // Must not postpone it.
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(queue.Len(), 1u);
  ASSERT_THAT(queue.Get(), Optional(std::string("a")));
  queue.Done("a");
  clock.Advance(absl::Seconds(100));
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, BlockedGetWakesWhenDelayedKeyBecomesReady) {
  FakeClock clock;
  WorkQueue queue({.clock = &clock});
  std::optional<std::string> got;
  std::thread getter([&] { got = queue.Get(); });
  // Whether the getter is already blocked (with no deadline) or not yet
  // started, it must pick up the new, earlier deadline and wake on Advance().
  queue.AddAfter("late", absl::Seconds(60));
  queue.AddAfter("early", absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  getter.join();
  EXPECT_EQ(got, "early");
}

TEST(WorkQueueTest, AddAfterWithRealClock) {
  WorkQueue queue;
  const absl::Time start = absl::Now();
  queue.AddAfter("a", absl::Milliseconds(20));
  EXPECT_THAT(queue.Get(), Optional(std::string("a")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
}

TEST(WorkQueueTest, ShutDownWakesAllBlockedGetters) {
  WorkQueue queue;
  constexpr int kGetters = 4;
  std::vector<std::optional<std::string>> got(kGetters, "unset");
  std::vector<std::thread> getters;
  for (int i = 0; i < kGetters; ++i) getters.emplace_back([&, i] { got[i] = queue.Get(); });
  queue.ShutDown();
  for (std::thread& t : getters) t.join();
  for (const auto& g : got) EXPECT_EQ(g, std::nullopt);

  EXPECT_TRUE(queue.ShuttingDown());
  queue.Add("a");
  queue.AddAfter("b", absl::Milliseconds(1));
  queue.AddRateLimited("c");
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownDropsQueuedAndDelayedKeys) {
  FakeClock clock;
  CountingObserver observer;
  WorkQueue queue({.clock = &clock, .observer = &observer});
  queue.Add("a");
  queue.AddAfter("b", absl::Seconds(1));
  queue.ShutDown();
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(observer.depth(), 0u);
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForProcessingKeys) {
  WorkQueue queue;
  queue.Add("a");
  ASSERT_THAT(queue.Get(), Optional(std::string("a")));
  absl::Notification drained;
  std::thread stopper([&] {
    queue.ShutDownWithDrain();
    drained.Notify();
  });
  // A bug would let this return early; a correct queue never flakes here.
  EXPECT_FALSE(drained.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  queue.Done("a");
  stopper.join();
  EXPECT_TRUE(drained.HasBeenNotified());
}

}  // namespace
}  // namespace argonaut::controller
