#include "lib/store/watch_hub.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"

namespace argonaut::store::internal {
namespace {

// Bounds the memory of one Next() call; a slow watcher catches up over several calls.
constexpr size_t kMaxEventsPerRead = 1024;
// Bounds the events kept in memory for watchers (older ones come from the log).
constexpr size_t kMaxRecentEvents = 8192;
constexpr size_t kMaxRecentBytes = 64 << 20;

size_t EventBytes(const Event& e) {
  return sizeof(Event) + e.kind.size() + e.record.key.size() + e.record.value.size();
}

absl::Status CancelledError() { return absl::CancelledError("watch cancelled or store closed"); }

}  // namespace

class WatchHub::HubWatcher : public Watcher {
 public:
  HubWatcher(std::shared_ptr<WatchHub> hub, std::string kind, std::string prefix,
             uint64_t from_version)
      : hub_(std::move(hub)),
        kind_(std::move(kind)),
        prefix_(std::move(prefix)),
        cursor_(from_version) {}

  ~HubWatcher() override = default;

  absl::StatusOr<std::vector<Event>> Next(absl::Time deadline) override {
    // Next() calls on one watcher run one at a time; they share the cursor.
    absl::MutexLock next_lock(&next_mu_);
    if (!hub_->BeginRead(cancelled_)) return CancelledError();
    absl::Cleanup end_read = [this] { hub_->EndRead(); };
    const auto match = [this](const Event& e) { return Matches(e); };
    while (true) {
      std::vector<std::shared_ptr<const Event>> recent;
      const uint64_t before = cursor_;
      if (hub_->ReadRecent(cursor_, kMaxEventsPerRead, match, recent)) {
        if (!recent.empty()) {
          std::vector<Event> matched;
          matched.reserve(recent.size());
          for (const auto& e : recent) matched.push_back(*e);
          return matched;
        }
        if (cursor_ != before) {
          if (hub_->IsCancelled(cancelled_)) return CancelledError();
          continue;
        }
      } else {
        ASSIGN_OR_RETURN(std::vector<Event> batch, hub_->reader_(cursor_, kMaxEventsPerRead));
        std::vector<Event> matched;
        for (Event& e : batch) {
          // The cursor passes filtered-out events too, so they are never re-read.
          cursor_ = e.record.resource_version;
          if (Matches(e)) matched.push_back(std::move(e));
        }
        if (!matched.empty()) return matched;
        if (!batch.empty()) {
          // Everything read was filtered out but more may be in the log already.
          if (hub_->IsCancelled(cancelled_)) return CancelledError();
          continue;
        }
      }
      switch (hub_->WaitForVersionAfter(cursor_, deadline, cancelled_)) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimedOut:
          return std::vector<Event>();
        case WaitResult::kCancelled:
          return CancelledError();
      }
    }
  }

  void Cancel() override { hub_->Cancel(cancelled_); }

 private:
  bool Matches(const Event& e) const {
    return (kind_.empty() || e.kind == kind_) && e.record.key.starts_with(prefix_);
  }

  const std::shared_ptr<WatchHub> hub_;
  const std::string kind_;
  const std::string prefix_;
  absl::Mutex next_mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(next_mu_);
  // Guarded by hub_->mu_ (not expressible to the analysis through the pointer).
  bool cancelled_ = false;
};

WatchHub::WatchHub(LogReader reader, uint64_t published_version, size_t max_recent)
    : reader_(std::move(reader)),
      max_recent_(std::min(max_recent, kMaxRecentEvents)),
      published_(published_version) {}

void WatchHub::Publish(uint64_t version) {
  absl::MutexLock lock(&mu_);
  // Events published without their contents break the run kept in memory.
  if (version > published_) {
    published_ = version;
    DropRecentLocked();
  }
  cv_.SignalAll();
}

void WatchHub::Publish(uint64_t version, std::vector<Event> events) {
  absl::MutexLock lock(&mu_);
  if (version <= published_) return;
  const bool contiguous = !events.empty() &&
                          events.front().record.resource_version == published_ + 1 &&
                          events.back().record.resource_version == version;
  if (!contiguous) {
    DropRecentLocked();
  } else {
    for (Event& e : events) {
      recent_bytes_ += EventBytes(e);
      recent_.push_back(std::make_shared<const Event>(std::move(e)));
    }
    while (!recent_.empty() && (recent_.size() > max_recent_ || recent_bytes_ > kMaxRecentBytes)) {
      recent_bytes_ -= EventBytes(*recent_.front());
      recent_.pop_front();
    }
  }
  published_ = version;
  cv_.SignalAll();
}

void WatchHub::DropRecentLocked() {
  recent_.clear();
  recent_bytes_ = 0;
}

bool WatchHub::ReadRecent(uint64_t& cursor, size_t limit,
                          const std::function<bool(const Event&)>& match,
                          std::vector<std::shared_ptr<const Event>>& out) {
  absl::MutexLock lock(&mu_);
  if (cursor >= published_) return true;  // nothing new
  if (recent_.empty()) return false;
  const uint64_t first = recent_.front()->record.resource_version;
  if (cursor + 1 < first) return false;
  size_t read = 0;
  for (size_t i = cursor + 1 - first; i < recent_.size() && read < limit; ++i, ++read) {
    const std::shared_ptr<const Event>& e = recent_[i];
    cursor = e->record.resource_version;
    if (match(*e)) out.push_back(e);
  }
  return true;
}

void WatchHub::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  cv_.SignalAll();
  while (active_readers_ > 0) cv_.Wait(&mu_);
}

std::unique_ptr<Watcher> WatchHub::NewWatcher(std::shared_ptr<WatchHub> hub, std::string kind,
                                              std::string prefix, uint64_t from_version) {
  return std::make_unique<HubWatcher>(std::move(hub), std::move(kind), std::move(prefix),
                                      from_version);
}

bool WatchHub::BeginRead(const bool& cancelled) {
  absl::MutexLock lock(&mu_);
  if (closed_ || cancelled) return false;
  ++active_readers_;
  return true;
}

void WatchHub::EndRead() {
  absl::MutexLock lock(&mu_);
  // Close() may be waiting for the last reader.
  if (--active_readers_ == 0) cv_.SignalAll();
}

bool WatchHub::IsCancelled(const bool& cancelled) {
  absl::MutexLock lock(&mu_);
  return closed_ || cancelled;
}

void WatchHub::Cancel(bool& cancelled) {
  absl::MutexLock lock(&mu_);
  cancelled = true;
  cv_.SignalAll();
}

WatchHub::WaitResult WatchHub::WaitForVersionAfter(uint64_t cursor, absl::Time deadline,
                                                   const bool& cancelled) {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (closed_ || cancelled) return WaitResult::kCancelled;
    if (published_ > cursor) return WaitResult::kReady;
    // WaitWithDeadline returns true on timeout; the state is rechecked once more
    // so that a write racing with the deadline is not reported as a timeout.
    if (cv_.WaitWithDeadline(&mu_, deadline)) {
      if (closed_ || cancelled) return WaitResult::kCancelled;
      return published_ > cursor ? WaitResult::kReady : WaitResult::kTimedOut;
    }
  }
}

}  // namespace argonaut::store::internal
