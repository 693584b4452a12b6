#include "lib/controller/clock.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace argonaut::controller {
namespace {

// Polls (briefly, in real time) until `n` threads are blocked on the clock, so
// the test exercises the blocked path rather than the already-expired one.
void WaitForWaiters(FakeClock& clock, int n) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (clock.NumWaiters() < n && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(clock.NumWaiters(), n);
}

TEST(FakeClockTest, AdvanceMovesNow) {
  const absl::Time start = absl::FromUnixSeconds(100);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(5));
}

TEST(FakeClockTest, ExpiredDeadlineReturnsWithoutBlocking) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  absl::MutexLock lock(&mu);
  EXPECT_FALSE(clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now()));
  EXPECT_EQ(clock.NumWaiters(), 0);
}

TEST(FakeClockTest, AdvanceWakesWaiterOnlyOnceDeadlineIsReached) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  std::atomic<bool> returned{false};
  bool result = true;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now() + absl::Seconds(10));
    returned = true;
  });
  WaitForWaiters(clock, 1);
  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(clock.NumWaiters(), 1);
  EXPECT_FALSE(returned);
  clock.Advance(absl::Seconds(1));
  waiter.join();
  EXPECT_FALSE(result);
  EXPECT_EQ(clock.NumWaiters(), 0);
}

TEST(FakeClockTest, ConditionWakesWaiterBeforeDeadline) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  bool result = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now() + absl::Hours(1));
  });
  WaitForWaiters(clock, 1);
  {
    absl::MutexLock lock(&mu);
    flag = true;
  }
  waiter.join();
  EXPECT_TRUE(result);
  EXPECT_EQ(clock.NumWaiters(), 0);
}

TEST(FakeClockTest, InfiniteDeadlineWaitsForConditionOnly) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(clock.AwaitWithDeadline(&mu, absl::Condition(&flag), absl::InfiniteFuture()));
  });
  clock.Advance(absl::Hours(1000));
  {
    absl::MutexLock lock(&mu);
    flag = true;
  }
  waiter.join();
}

// Many waiters racing with many Advance() calls and condition changes: every
// waiter must return, and none may be woken before its deadline.
TEST(FakeClockTest, ConcurrentWaitersAndAdvances) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  constexpr int kWaiters = 16;
  std::atomic<int> early_wakeups{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      for (int round = 0; round < 50; ++round) {
        absl::MutexLock lock(&mu);
        const absl::Time deadline = clock.Now() + absl::Milliseconds(1 + (i * 7 + round) % 13);
        if (!clock.AwaitWithDeadline(&mu, absl::Condition(&flag), deadline) &&
            clock.Now() < deadline) {
          ++early_wakeups;
        }
      }
    });
  }
  std::thread advancer([&] {
    for (int i = 0; i < 2000; ++i) clock.Advance(absl::Milliseconds(1));
    absl::MutexLock lock(&mu);
    flag = true;
  });
  advancer.join();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(early_wakeups, 0);
  EXPECT_EQ(clock.NumWaiters(), 0);
}

TEST(RealClockTest, AwaitWithDeadlineTimesOut) {
  RealClock* clock = RealClock::Get();
  absl::Mutex mu;
  bool flag = false;
  absl::MutexLock lock(&mu);
  const absl::Time start = clock->Now();
  EXPECT_FALSE(
      clock->AwaitWithDeadline(&mu, absl::Condition(&flag), start + absl::Milliseconds(5)));
  EXPECT_GE(clock->Now() - start, absl::Milliseconds(5));
}

}  // namespace
}  // namespace argonaut::controller
