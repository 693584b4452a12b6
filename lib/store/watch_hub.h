// The Watcher implementation shared by every Store (internal to lib/store).
//
// A store owns one WatchHub, created with a function that reads its change
// log. Writers call Publish() once a write is readable; watchers block on the
// hub's CondVar until the published version passes their cursor. The hub is
// shared with every watcher, so a watcher may outlive its store: the store
// calls Close() in its destructor, which turns later Next() calls into
// CANCELLED and waits for in-flight reads so the log reader can go away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/store/store.h"

namespace argonaut::store::internal {

class WatchHub {
 public:
  // Returns at most `limit` log events with version > `after`, in version
  // order, and OUT_OF_RANGE if version after+1 has been trimmed from the log.
  // Must not block on writers for long: it runs on watcher threads.
  using LogReader = std::function<absl::StatusOr<std::vector<Event>>(uint64_t after, size_t limit)>;

  // At most `max_recent` events are kept in memory (never more than the log
  // keeps, so a watcher that falls behind the log still sees OUT_OF_RANGE).
  WatchHub(LogReader reader, uint64_t published_version, size_t max_recent = 8192);
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Announces that every version up to `version` is readable through the reader.
  void Publish(uint64_t version) ABSL_LOCKS_EXCLUDED(mu_);
  // The same, handing over the events of the versions just published (in
  // order): watchers then read recent events from memory instead of each
  // reading and decoding the log (a store has a dozen watchers, most of
  // them for other kinds, and every one of them reads every event).
  void Publish(uint64_t version, std::vector<Event> events) ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes every watcher, makes later Next() calls return CANCELLED and waits
  // until no watcher is inside the log reader. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  // `kind` empty matches every kind. The caller checks from_version against the log.
  static std::unique_ptr<Watcher> NewWatcher(std::shared_ptr<WatchHub> hub, std::string kind,
                                             std::string prefix, uint64_t from_version);

 private:
  class HubWatcher;
  enum class WaitResult { kReady, kTimedOut, kCancelled };

  // Registers an in-flight Next() so that Close() waits for it; false if closed or cancelled.
  bool BeginRead(const bool& cancelled) ABSL_LOCKS_EXCLUDED(mu_);
  void EndRead() ABSL_LOCKS_EXCLUDED(mu_);
  bool IsCancelled(const bool& cancelled) ABSL_LOCKS_EXCLUDED(mu_);
  void Cancel(bool& cancelled) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until a version > cursor is published, `deadline` passes, or the watcher is cancelled.
  WaitResult WaitForVersionAfter(uint64_t cursor, absl::Time deadline, const bool& cancelled)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Adds the events after `cursor` that `match` accepts (at most `limit`
  // read) to `out` and advances `cursor`; false when the events after
  // `cursor` are no longer (or not) in memory, so the log must be read.
  bool ReadRecent(uint64_t& cursor, size_t limit, const std::function<bool(const Event&)>& match,
                  std::vector<std::shared_ptr<const Event>>& out) ABSL_LOCKS_EXCLUDED(mu_);
  void DropRecentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const LogReader reader_;
  const size_t max_recent_;
  absl::Mutex mu_;
  // Signalled on Publish, Cancel, Close and when the last reader leaves.
  absl::CondVar cv_;
  uint64_t published_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int active_readers_ ABSL_GUARDED_BY(mu_) = 0;
  // The latest published events, contiguous up to published_; bounded.
  std::deque<std::shared_ptr<const Event>> recent_ ABSL_GUARDED_BY(mu_);
  size_t recent_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace argonaut::store::internal
