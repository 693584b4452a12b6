#include "gateway/rest_pool.h"

#include <algorithm>
#include <system_error>
#include <thread>
#include <utility>

namespace argonaut::gateway {

RestTaskQueue::RestTaskQueue(RestPoolOptions options) : options_(options) {
  absl::MutexLock lock(&mu_);
  const size_t initial = std::min(options_.min_threads, std::max<size_t>(options_.max_threads, 1));
  for (size_t i = 0; i < initial; ++i) {
    if (!Spawn()) break;
  }
}

RestTaskQueue::~RestTaskQueue() { shutdown(); }

bool RestTaskQueue::Spawn() {
  try {
    // Detached: a worker that ends for idleness leaves nothing to join; shutdown() waits for
    // the count instead.
    std::thread([this] { Work(); }).detach();
  } catch (const std::system_error&) {
    return false;  // no thread to be had (pids limit): the job waits for a running worker
  }
  ++threads_;
  return true;
}

void RestTaskQueue::enqueue(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  jobs_.push_back(std::move(fn));
  // Idle workers that were already woken count against the queued jobs.
  if (idle_ < jobs_.size() && threads_ < options_.max_threads) Spawn();
  work_.Signal();
}

void RestTaskQueue::shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  work_.SignalAll();
  // A worker may be the last one out with jobs still queued (none could be spawned): it runs
  // them before ending, so waiting for the count is enough.
  mu_.Await(absl::Condition(
      +[](size_t* threads) { return *threads == 0; }, &threads_));
}

size_t RestTaskQueue::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_;
}

size_t RestTaskQueue::queued() const {
  absl::MutexLock lock(&mu_);
  return jobs_.size();
}

void RestTaskQueue::Work() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (!jobs_.empty()) {
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      mu_.Unlock();
      fn();
      fn = nullptr;  // what the job captured goes before the lock is retaken
      mu_.Lock();
      continue;
    }
    if (shutdown_) break;
    ++idle_;
    const bool timed_out = work_.WaitWithTimeout(&mu_, options_.idle_exit);
    --idle_;
    if (timed_out && jobs_.empty() && !shutdown_ && threads_ > options_.min_threads) break;
  }
  --threads_;
}

}  // namespace argonaut::gateway
