// Clock: injectable time source so that backoff, requeue-after and resync are
// testable without sleeping.
//
// Code that waits for time to pass must do so through AwaitWithDeadline(), not
// through absl::Mutex::AwaitWithDeadline() directly: with a FakeClock the
// deadline is in fake time, and only the clock knows when Advance() reaches it.
//
//   absl::MutexLock lock(&mu_);
//   clock_->AwaitWithDeadline(&mu_, absl::Condition(&stopping_), next_resync);
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace argonaut::controller {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // Blocks until `cond` holds or Now() >= deadline, whichever comes first.
  // `mu` must be held by the caller and is released while blocked (it may also
  // be released and re-acquired before blocking), exactly like
  // absl::Mutex::AwaitWithDeadline. `cond` must depend only on state guarded by
  // `mu`. Returns the value of `cond` on return.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
};

// Wall-clock time. Stateless; Get() returns a process-wide instance.
class RealClock final : public Clock {
 public:
  static RealClock* Get();

  absl::Time Now() override { return absl::Now(); }
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return mu->AwaitWithDeadline(cond, deadline);
  }
};

// Manually driven time for tests. Time stands still until Advance(); Advance()
// wakes every AwaitWithDeadline() whose deadline it reaches, so tests never
// need real sleeps.
class FakeClock final : public Clock {
 public:
  // Starts at an arbitrary fixed instant so that tests are reproducible.
  FakeClock() : FakeClock(absl::FromUnixSeconds(1'700'000'000)) {}
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() override ABSL_LOCKS_EXCLUDED(mu_);
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) ABSL_LOCKS_EXCLUDED(mu_);

  // Moves time forward by `d` (>= 0) and wakes the waiters whose deadline has
  // been reached. Returns after they have been signalled, not necessarily
  // after they have run.
  void Advance(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  // Number of threads blocked in AwaitWithDeadline() with a finite deadline.
  // Lets a test wait until a background thread has gone to sleep.
  int NumWaiters() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Waiter {
    absl::Mutex* mu;
    absl::Time deadline;
    // Set by Advance() under FakeClock::mu_ once it has taken responsibility
    // for waking this waiter; the waiter must then stay alive until `fired`.
    bool claimed = false;
    // Guarded by *mu (not FakeClock::mu_) so that the waiter's condition
    // depends only on state guarded by the mutex it waits on.
    bool fired = false;
  };

  // Lock order: a waiter's mutex, then mu_. Advance() never holds mu_ while
  // taking a waiter's mutex.
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::controller
