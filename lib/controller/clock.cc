#include "lib/controller/clock.h"

#include <algorithm>
#include <vector>

namespace argonaut::controller {

RealClock* RealClock::Get() {
  static RealClock* const clock = new RealClock();
  return clock;
}

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

int FakeClock::NumWaiters() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size());
}

bool FakeClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    // No timer involved, so Advance() has nothing to wake.
    mu->Await(cond);
    return true;
  }
  Waiter waiter{.mu = mu, .deadline = deadline};
  {
    absl::MutexLock lock(&mu_);
    // Checking and registering under one lock means an Advance() that races
    // with us is either seen here or will see (and fire) our registration.
    if (now_ >= deadline) return cond.Eval();
    waiters_.push_back(&waiter);
  }
  auto woken = [&waiter, &cond]() { return waiter.fired || cond.Eval(); };
  mu->Await(absl::Condition(&woken));
  bool claimed;
  {
    absl::MutexLock lock(&mu_);
    claimed = waiter.claimed;
    if (!claimed) waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
  }
  if (claimed) {
    // Advance() is about to lock *mu and write `waiter`; returning now would
    // leave it writing to a dead stack frame.
    mu->Await(absl::Condition(&waiter.fired));
  }
  return cond.Eval();
}

void FakeClock::Advance(absl::Duration d) {
  std::vector<Waiter*> due;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
    auto not_due = [now = now_](const Waiter* w) { return w->deadline > now; };
    auto first_due = std::stable_partition(waiters_.begin(), waiters_.end(), not_due);
    for (auto it = first_due; it != waiters_.end(); ++it) {
      (*it)->claimed = true;
      due.push_back(*it);
    }
    waiters_.erase(first_due, waiters_.end());
  }
  // Writing `fired` under the waiter's own mutex makes absl re-evaluate the
  // waiter's condition when we unlock, which is what wakes it.
  for (Waiter* w : due) {
    absl::MutexLock lock(w->mu);
    w->fired = true;
  }
}

}  // namespace argonaut::controller
