// WorkQueue: the de-duplicating, rate-limited queue of object keys
// ("namespace/name") that feeds a Controller's workers, modelled on client-go's
// workqueue (Type + DelayingQueue + RateLimitingQueue in one class).
//
// Guarantees, which a level-triggered controller relies on:
//   * A key is queued at most once: Add() of a key that is already pending is
//     a no-op, so a burst of events for one object costs one reconcile.
//   * A key is handed to at most one worker at a time: between Get() and
//     Done() it is "processing". Add() of a processing key marks it dirty and
//     Done() queues it again, so the change that caused the Add() is never
//     lost and never reconciled concurrently with the previous pass.
//
//   WorkQueue queue({.name = "workflows"});
//   queue.Add("default/wf-1");
//   while (std::optional<std::string> key = queue.Get()) {
//     if (Sync(*key).ok()) queue.Forget(*key); else queue.AddRateLimited(*key);
//     queue.Done(*key);
//   }
//
// Thread safety: every method may be called from any thread. The queue must
// outlive every thread blocked in Get() (call ShutDown() and join first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/controller/clock.h"
#include "lib/controller/observer.h"

namespace argonaut::controller {

struct RateLimiterOptions {
  // Per-key exponential backoff: the n-th consecutive failure of a key waits
  // base_delay * 2^(n-1), capped at max_delay (client-go's
  // ItemExponentialFailureRateLimiter defaults).
  absl::Duration base_delay = absl::Milliseconds(5);
  absl::Duration max_delay = absl::Seconds(1000);
  // Overall token bucket shared by all keys (client-go's BucketRateLimiter
  // defaults), so that many keys failing at once cannot hammer a dependency
  // at base_delay each. qps <= 0 disables it.
  double qps = 10;
  int burst = 100;
};

// The retry delay of a key is the larger of its exponential backoff and the
// token bucket's delay. Not thread-safe: WorkQueue serializes access.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options) : options_(options) {}

  // Records one more failure of `key` and returns how long to wait before
  // retrying it.
  absl::Duration When(const std::string& key, absl::Time now);
  // Clears the failure history of `key`, so its next failure waits base_delay.
  void Forget(const std::string& key) { failures_.erase(key); }
  // Failures recorded for `key` since the last Forget().
  int NumRequeues(const std::string& key) const;

 private:
  absl::Duration BucketDelay(absl::Time now);

  const RateLimiterOptions options_;
  absl::flat_hash_map<std::string, int> failures_;
  // Token bucket state, as in golang.org/x/time/rate: tokens may go negative,
  // a negative balance being the backlog of reserved retries.
  double tokens_ = 0;
  std::optional<absl::Time> last_refill_;
};

class WorkQueue {
 public:
  struct Options {
    // Identifies the queue in logs and metrics (workqueue_*{name="..."}).
    std::string name;
    // Not owned; must outlive the queue. nullptr means RealClock::Get().
    Clock* clock = nullptr;
    RateLimiterOptions rate_limiter;
    // Not owned; must outlive the queue. May be nullptr.
    WorkQueueObserver* observer = nullptr;
  };

  explicit WorkQueue(Options options);
  WorkQueue() : WorkQueue(Options{}) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  const std::string& name() const { return options_.name; }

  // Makes `key` pending unless it already is. Ignored after ShutDown().
  void Add(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Add()s `key` once `delay` has passed (immediately if delay <= 0). If the
  // key is already waiting, the earlier of the two times wins, so a long delay
  // never postpones a retry that was due sooner.
  void AddAfter(const std::string& key, absl::Duration delay) ABSL_LOCKS_EXCLUDED(mu_);

  // AddAfter() with the rate limiter's delay for `key`, recording a failure.
  void AddRateLimited(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Resets the backoff of `key`; call it when `key` was processed successfully
  // (or will never be retried). Does not remove the key from the queue.
  void Forget(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Consecutive AddRateLimited() calls for `key` since the last Forget().
  int NumRequeues(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until a key is ready and hands it out, marking it processing until
  // Done(). Returns nullopt once ShutDown() has been called; keys still queued
  // then are dropped (a level-triggered controller resyncs them on restart).
  std::optional<std::string> Get() ABSL_LOCKS_EXCLUDED(mu_);

  // Releases a key returned by Get(); if it was re-added meanwhile it is
  // queued again. Must be called exactly once per key returned by Get().
  void Done(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Keys ready to be handed out by Get() (neither waiting for a delay to pass
  // nor processing).
  size_t Len() ABSL_LOCKS_EXCLUDED(mu_);

  // Makes every current and future Get() return nullopt and ignores further
  // adds. Does not wait for keys being processed.
  void ShutDown() ABSL_LOCKS_EXCLUDED(mu_);
  // ShutDown(), then blocks until every key handed out by Get() is Done().
  void ShutDownWithDrain() ABSL_LOCKS_EXCLUDED(mu_);
  bool ShuttingDown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Orders delayed keys by ready time, then by insertion so that keys with the
  // same ready time come out in AddAfter() order.
  using WaitingSlot = std::pair<absl::Time, uint64_t>;

  void AddLocked(const std::string& key, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddAfterLocked(const std::string& key, absl::Duration delay, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves delayed keys whose time has come into the queue.
  void PromoteDueLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportDepthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock* const clock_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Keys in the order Get() hands them out.
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  // Keys that need processing (every key in queue_, plus processing keys
  // re-added since Get()), with the time they became pending.
  absl::flat_hash_map<std::string, absl::Time> dirty_ ABSL_GUARDED_BY(mu_);
  // Keys between Get() and Done(), with the time Get() handed them out.
  absl::flat_hash_map<std::string, absl::Time> processing_ ABSL_GUARDED_BY(mu_);
  // Delayed keys: waiting_ is ordered by ready time, waiting_slot_ finds a
  // key's entry in it.
  std::map<WaitingSlot, std::string> waiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, WaitingSlot> waiting_slot_ ABSL_GUARDED_BY(mu_);
  uint64_t next_waiting_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped whenever the earliest ready time moves earlier, so that a Get()
  // sleeping until a later deadline wakes up and sleeps again until this one.
  uint64_t earliest_generation_ ABSL_GUARDED_BY(mu_) = 0;
  RateLimiter limiter_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::controller
