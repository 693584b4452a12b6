#include "lib/controller/work_queue.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

namespace argonaut::controller {

absl::Duration RateLimiter::When(const std::string& key, absl::Time now) {
  const int exponent = failures_[key]++;
  // Computed in floating point because 2^exponent overflows any integer
  // duration long before the retry count stops growing.
  const double backoff =
      absl::ToDoubleSeconds(options_.base_delay) * std::pow(2.0, static_cast<double>(exponent));
  const absl::Duration item_delay = backoff >= absl::ToDoubleSeconds(options_.max_delay)
                                        ? options_.max_delay
                                        : absl::Seconds(backoff);
  return std::max(item_delay, BucketDelay(now));
}

int RateLimiter::NumRequeues(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

absl::Duration RateLimiter::BucketDelay(absl::Time now) {
  if (options_.qps <= 0) return absl::ZeroDuration();
  const double burst = std::max(options_.burst, 1);
  if (!last_refill_.has_value()) {
    tokens_ = burst;
  } else if (now > *last_refill_) {
    tokens_ = std::min(burst, tokens_ + absl::ToDoubleSeconds(now - *last_refill_) * options_.qps);
  }
  if (!last_refill_.has_value() || now > *last_refill_) last_refill_ = now;
  tokens_ -= 1;
  if (tokens_ >= 0) return absl::ZeroDuration();
  return absl::Seconds(-tokens_ / options_.qps);
}

WorkQueue::WorkQueue(Options options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : RealClock::Get()),
      limiter_(options_.rate_limiter) {}

void WorkQueue::Add(const std::string& key) {
  absl::MutexLock lock(&mu_);
  AddLocked(key, clock_->Now());
}

void WorkQueue::AddLocked(const std::string& key, absl::Time now) {
  if (shutting_down_) return;
  if (!dirty_.try_emplace(key, now).second) return;
  if (options_.observer != nullptr) options_.observer->OnAdd();
  // A processing key stays out of queue_ until Done(), which is what keeps two
  // workers from ever holding the same key.
  if (processing_.contains(key)) return;
  queue_.push_back(key);
  ReportDepthLocked();
}

void WorkQueue::AddAfter(const std::string& key, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  AddAfterLocked(key, delay, clock_->Now());
}

void WorkQueue::AddAfterLocked(const std::string& key, absl::Duration delay, absl::Time now) {
  if (shutting_down_) return;
  if (delay <= absl::ZeroDuration()) {
    AddLocked(key, now);
    return;
  }
  const absl::Time ready = now + delay;
  if (auto it = waiting_slot_.find(key); it != waiting_slot_.end()) {
    if (it->second.first <= ready) return;
    waiting_.erase(it->second);
    waiting_slot_.erase(it);
  }
  const WaitingSlot slot{ready, next_waiting_seq_++};
  const bool earliest = waiting_.empty() || slot < waiting_.begin()->first;
  waiting_.emplace(slot, key);
  waiting_slot_.emplace(key, slot);
  if (earliest) ++earliest_generation_;
}

void WorkQueue::AddRateLimited(const std::string& key) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  const absl::Time now = clock_->Now();
  const absl::Duration delay = limiter_.When(key, now);
  if (options_.observer != nullptr) options_.observer->OnRetry();
  AddAfterLocked(key, delay, now);
}

void WorkQueue::Forget(const std::string& key) {
  absl::MutexLock lock(&mu_);
  limiter_.Forget(key);
}

int WorkQueue::NumRequeues(const std::string& key) {
  absl::MutexLock lock(&mu_);
  return limiter_.NumRequeues(key);
}

void WorkQueue::PromoteDueLocked(absl::Time now) {
  while (!waiting_.empty() && waiting_.begin()->first.first <= now) {
    auto node = waiting_.extract(waiting_.begin());
    waiting_slot_.erase(node.mapped());
    AddLocked(node.mapped(), now);
  }
}

std::optional<std::string> WorkQueue::Get() {
  absl::MutexLock lock(&mu_);
  absl::Time now;
  while (true) {
    now = clock_->Now();
    PromoteDueLocked(now);
    if (shutting_down_) return std::nullopt;
    if (!queue_.empty()) break;
    const absl::Time deadline =
        waiting_.empty() ? absl::InfiniteFuture() : waiting_.begin()->first.first;
    const uint64_t generation = earliest_generation_;
    auto wake = [this, generation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return shutting_down_ || !queue_.empty() || earliest_generation_ != generation;
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&wake), deadline);
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  auto dirty = dirty_.find(key);
  const absl::Duration queued = now - dirty->second;
  dirty_.erase(dirty);
  processing_.emplace(key, now);
  if (options_.observer != nullptr) options_.observer->OnGet(queued);
  ReportDepthLocked();
  return key;
}

void WorkQueue::Done(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = processing_.find(key);
  if (it == processing_.end()) return;
  if (options_.observer != nullptr) options_.observer->OnDone(clock_->Now() - it->second);
  processing_.erase(it);
  if (!shutting_down_ && dirty_.contains(key)) {
    queue_.push_back(key);
    ReportDepthLocked();
  }
}

size_t WorkQueue::Len() {
  absl::MutexLock lock(&mu_);
  PromoteDueLocked(clock_->Now());
  return queue_.size();
}

void WorkQueue::ShutDown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  // Dropped keys would otherwise keep showing up as queue depth forever.
  queue_.clear();
  dirty_.clear();
  waiting_.clear();
  waiting_slot_.clear();
  ReportDepthLocked();
}

void WorkQueue::ShutDownWithDrain() {
  ShutDown();
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return processing_.empty(); };
  mu_.Await(absl::Condition(&drained));
}

bool WorkQueue::ShuttingDown() {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

void WorkQueue::ReportDepthLocked() {
  if (options_.observer != nullptr) options_.observer->OnDepth(queue_.size());
}

}  // namespace argonaut::controller
