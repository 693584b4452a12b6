#include "gateway/rest_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace argonaut::gateway {
namespace {

bool WaitFor(const std::function<bool()>& cond) {
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (!cond()) {
    if (absl::Now() > limit) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(RestTaskQueueTest, BlockedJobsDoNotHoldUpNewOnes) {
  RestTaskQueue pool({.min_threads = 2, .max_threads = 64});
  absl::Notification release;
  std::atomic<int> blocked{0};
  // Twenty jobs that hold their worker, as open streams do.
  for (int i = 0; i < 20; ++i) {
    pool.enqueue([&] {
      ++blocked;
      release.WaitForNotification();
    });
  }
  ASSERT_TRUE(WaitFor([&] { return blocked == 20; }));
  absl::Notification ran;
  pool.enqueue([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_LE(pool.threads(), 64u);
  release.Notify();
  pool.shutdown();
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(RestTaskQueueTest, BoundedByMaxThreadsThenQueued) {
  RestTaskQueue pool({.min_threads = 1, .max_threads = 4});
  absl::Notification release;
  std::atomic<int> started{0}, done{0};
  for (int i = 0; i < 10; ++i) {
    pool.enqueue([&] {
      ++started;
      release.WaitForNotification();
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return started == 4; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(started, 4);
  EXPECT_EQ(pool.threads(), 4u);
  EXPECT_EQ(pool.queued(), 6u);
  release.Notify();
  pool.shutdown();  // runs what was queued first
  EXPECT_EQ(done, 10);
}

TEST(RestTaskQueueTest, IdleThreadsAboveTheMinimumEnd) {
  RestTaskQueue pool({.min_threads = 1, .max_threads = 8, .idle_exit = absl::Milliseconds(50)});
  absl::Notification release;
  std::atomic<int> started{0};
  for (int i = 0; i < 6; ++i) {
    pool.enqueue([&] {
      ++started;
      release.WaitForNotification();
    });
  }
  ASSERT_TRUE(WaitFor([&] { return started == 6; }));
  EXPECT_GE(pool.threads(), 6u);
  release.Notify();
  EXPECT_TRUE(WaitFor([&] { return pool.threads() == 1; })) << pool.threads();
}

}  // namespace
}  // namespace argonaut::gateway
