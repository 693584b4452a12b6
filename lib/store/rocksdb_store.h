// RocksDbStore: the durable Store, one RocksDB database per service.
//
// Layout: one column family per kind (records keyed by "namespace/name",
// value = version + bytes), plus "__log" (change log keyed by big-endian
// resource version) and "__meta" (last version, trimmed log prefix). Every
// write updates all three in one synced WriteBatch, so an acknowledged write
// survives SIGKILL and the log never disagrees with the records.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<RocksDbStore> store,
//                    RocksDbStore::Open({.path = "/var/lib/x", .kinds = {"workflows"}}));
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/store/store.h"
#include "lib/store/write_plan.h"
#include "rocksdb/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace argonaut::store {

namespace internal {
class WatchHub;
}  // namespace internal

struct RocksDbStoreOptions {
  // Directory of the database; created if missing.
  std::string path;
  // One column family each, created if missing. A kind that exists on disk
  // but is not listed stays untouched (its old events remain in the log).
  std::vector<std::string> kinds;
  // Change-log entries kept for Watch; older ones are trimmed and watching
  // from before them returns OUT_OF_RANGE. Must be at least 1.
  uint64_t log_retention = 100000;
  // fsync the write-ahead log before a write returns, so that it survives a
  // crash of the machine. Without it a write still survives a crash of the
  // process (the log is in the page cache): enough for state that is
  // rebuilt anyway, such as the local runtime's pod status, at a fraction
  // of the cost (an fsync is ~2 ms here).
  bool fsync = true;
  // Change-log entries older than this are trimmed too, whatever log_retention allows: a watcher
  // that far behind re-lists (as after etcd's compaction, every 5 minutes under Kubernetes).
  // Without it, the values of deleted objects stayed in the log until log_retention newer writes
  // came, so deleting 10,000 workflows left the store as large as before. InfiniteDuration: off.
  absl::Duration log_max_age = absl::Minutes(5);
  // How often a background pass trims the log by age and, once at least compact_after_deletes
  // records and log entries (and half as many as the live keys) were deleted since the last
  // compaction, flushes every column family and compacts them: RocksDB keeps deleted values (and
  // the WAL holding them) on disk until a compaction reaches them, which a store that stops writing
  // never triggers. Zero: no pass.
  absl::Duration maintenance_period = absl::Minutes(1);
  uint64_t compact_after_deletes = 1000;
};

// The single place where RocksDB statuses become absl::Status codes.
absl::Status FromRocksDbStatus(const rocksdb::Status& status, std::string_view context);

class RocksDbStore : public internal::WriteRefStore {
 public:
  // INVALID_ARGUMENT for bad options; DATA_LOSS if the log and the metadata disagree.
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);

  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;
  // Cancels watchers (they return CANCELLED from then on) and closes the database.
  ~RocksDbStore() override;

  absl::StatusOr<Record> Get(std::string_view kind, std::string_view key) override;
  absl::StatusOr<std::vector<Record>> List(std::string_view kind, std::string_view prefix) override;
  uint64_t CurrentVersion() override;
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view kind, std::string_view prefix,
                                                 uint64_t from_version) override;
  absl::Status Flush() override;

  // RocksDB writes so far (one per group of concurrent batches); for tests.
  uint64_t GroupCommits() const { return group_commits_.load(); }

  // One maintenance pass (see RocksDbStoreOptions::maintenance_period): trims log entries
  // committed before `now - log_max_age`, then compacts if enough was deleted. Returns whether it
  // compacted. Called by the store's own thread; public for tests.
  absl::StatusOr<bool> Maintain(absl::Time now) ABSL_LOCKS_EXCLUDED(write_mu_);

 private:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
               const RocksDbStoreOptions& options);
  void MaintenanceLoop() ABSL_LOCKS_EXCLUDED(maintenance_mu_);

  // Reads the metadata, checks it against the log and trims to the retention.
  absl::Status Recover() ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> KindHandle(std::string_view kind) const;
  absl::StatusOr<std::optional<Record>> ReadRecord(std::string_view kind, std::string_view key);
  // One caller's batch waiting for a group commit.
  struct PendingApply {
    absl::Span<const internal::WriteRef> writes;
    absl::StatusOr<uint64_t> result = uint64_t{0};
    bool done = false;
  };

  // Plans, writes and publishes `writes`; returns the last version. Concurrent
  // callers are committed together (one RocksDB write, one fsync) by whichever
  // of them leads: an fsync costs milliseconds, and the local runtime's pod
  // workers and the workflow controller write in parallel.
  absl::StatusOr<uint64_t> Apply(absl::Span<const internal::WriteRef> writes) override
      ABSL_LOCKS_EXCLUDED(write_mu_, queue_mu_);
  // Takes the next group off the queue: every pending batch in order, except
  // ones touching a key an earlier batch of the group touches (they wait for
  // the next group, so each batch's preconditions see the ones before it).
  std::vector<PendingApply*> TakeGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_);
  // Plans each batch of `group` on its own (a failed precondition fails only
  // that batch), writes the rest in one RocksDB batch and sets every result.
  void CommitGroup(absl::Span<PendingApply* const> group) ABSL_LOCKS_EXCLUDED(write_mu_);
  // Adds one planned write (record and log entry) to `batch`.
  absl::Status AddPlannedWrite(rocksdb::WriteBatch& batch, const internal::PlannedWrite& p);
  // Adds the log trim (to log_retention, and through `trim_through` when later) and the
  // metadata for a store at `last_version` to `batch`.
  absl::Status AddTrimAndMeta(rocksdb::WriteBatch& batch, uint64_t last_version,
                              uint64_t& trimmed_through, uint64_t trim_through = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::StatusOr<std::vector<Event>> ReadLog(uint64_t after, size_t limit);

  // Declared first so it is destroyed last; ~RocksDbStore releases the handles
  // explicitly before this goes.
  std::unique_ptr<rocksdb::DB> db_;
  // Every open column family (including ones of unlisted kinds), owned here.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> kinds_;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  const uint64_t log_retention_;
  const bool fsync_;

  // Serializes writers, so that precondition checks and version assignment
  // are exact and log entries land in version order.
  absl::Mutex write_mu_;
  // Batches waiting for a group commit, and whether a caller is leading one.
  absl::Mutex queue_mu_;
  std::vector<PendingApply*> pending_ ABSL_GUARDED_BY(queue_mu_);
  bool leading_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::atomic<uint64_t> group_commits_{0};
  // Written under write_mu_; atomic so that readers need not wait for a sync.
  std::atomic<uint64_t> last_version_{0};
  // Every log entry <= this version has been removed.
  std::atomic<uint64_t> trimmed_through_{0};

  std::shared_ptr<internal::WatchHub> hub_;

  const absl::Duration log_max_age_;
  const absl::Duration maintenance_period_;
  const uint64_t compact_after_deletes_;
  // When each group commit happened: (its last version, the time), oldest first; entries at or
  // below trimmed_through_ are dropped. Recover() adds one for what the log held at open.
  std::deque<std::pair<uint64_t, absl::Time>> commit_times_ ABSL_GUARDED_BY(write_mu_);
  // Records and log entries deleted since the last compaction.
  std::atomic<uint64_t> deletes_since_compaction_{0};
  absl::Mutex maintenance_mu_;
  bool stopping_ ABSL_GUARDED_BY(maintenance_mu_) = false;
  std::thread maintenance_;
};

}  // namespace argonaut::store
