#include "lib/store/rocksdb_store.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/store/encoding.h"
#include "lib/store/watch_hub.h"
#include "lib/store/write_plan.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/write_batch.h"

namespace argonaut::store {
namespace {

constexpr std::string_view kLogCf = "__log";
constexpr std::string_view kMetaCf = "__meta";
constexpr std::string_view kMetaLastVersion = "last_version";
constexpr std::string_view kMetaTrimmedThrough = "trimmed_through";

// Trims up to this many entries with point deletes (the steady state is one
// per write); larger trims, e.g. after lowering log_retention, use a single
// range tombstone instead of a huge batch.
constexpr uint64_t kMaxPointTrim = 64;

rocksdb::WriteOptions WriteOptionsFor(bool fsync) {
  rocksdb::WriteOptions options;
  // With sync the WAL is fsynced before Write returns: an acknowledged
  // write then survives a crash of the machine, not only of the process.
  options.sync = fsync;
  return options;
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

absl::Status FromRocksDbStatus(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message =
      absl::StrCat(::argonaut::AbslView(context), ": rocksdb: ", status.ToString());
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsBusy() || status.IsTryAgain()) return absl::AbortedError(message);
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsIOError()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(
    const RocksDbStoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (options.log_retention == 0) {
    return absl::InvalidArgumentError("log_retention must be at least 1");
  }
  if (options.log_max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("log_max_age must be positive");
  }
  if (options.maintenance_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("maintenance_period must not be negative");
  }
  const std::string_view reserved[] = {rocksdb::kDefaultColumnFamilyName, kLogCf, kMetaCf};
  RETURN_IF_ERROR(internal::ValidateKinds(options.kinds, reserved));

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // RocksDB's own info LOG files; bounded so a long-lived service cannot fill the disk.
  db_options.keep_log_file_num = 4;
  // A WAL file goes only once every column family with data in it flushed; `__meta` takes a few
  // bytes per commit and so flushes rarely, and RocksDB's own bound (4x every write buffer: GBs
  // with a dozen kinds) kept every write since start on disk. Past this, RocksDB flushes the
  // column families holding the oldest WAL.
  db_options.max_total_wal_size = 256 << 20;

  // RocksDB refuses to open a database without naming every column family it
  // has, including kinds this process was not given.
  std::vector<std::string> names;
  const rocksdb::Status exists = db_options.env->FileExists(options.path + "/CURRENT");
  if (exists.ok()) {
    RETURN_IF_ERROR(
        FromRocksDbStatus(rocksdb::DB::ListColumnFamilies(db_options, options.path, &names),
                          absl::StrCat("list column families of ", options.path)));
  } else if (!exists.IsNotFound()) {
    return FromRocksDbStatus(exists, absl::StrCat("probe ", options.path));
  }
  auto add_name = [&names](std::string_view name) {
    for (const std::string& n : names) {
      if (n == name) return;
    }
    names.emplace_back(name);
  };
  for (std::string_view name : reserved) add_name(name);
  for (const std::string& kind : options.kinds) add_name(kind);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(names.size());
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(db_options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status open_status =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw_db);
  std::unique_ptr<rocksdb::DB> db(raw_db);
  RETURN_IF_ERROR(FromRocksDbStatus(open_status, absl::StrCat("open ", options.path)));

  // From here on the store owns the handles, so every error path releases them in order.
  auto store = absl::WrapUnique(new RocksDbStore(std::move(db), std::move(handles), options));
  // DB::Open returns handles in descriptor order.
  for (size_t i = 0; i < descriptors.size(); ++i) {
    const std::string& name = descriptors[i].name;
    rocksdb::ColumnFamilyHandle* handle = store->handles_[i];
    if (name == kLogCf) {
      store->log_cf_ = handle;
    } else if (name == kMetaCf) {
      store->meta_cf_ = handle;
    }
  }
  for (const std::string& kind : options.kinds) {
    for (size_t i = 0; i < descriptors.size(); ++i) {
      if (descriptors[i].name == kind) store->kinds_[kind] = store->handles_[i];
    }
  }
  RETURN_IF_ERROR(store->Recover());
  LogInfo("store", "opened",
          {{"path", options.path},
           {"kinds", absl::StrJoin(options.kinds, ",")},
           {"version", absl::StrCat(store->last_version_.load())},
           {"log_from", absl::StrCat(store->trimmed_through_.load() + 1)}});
  if (options.maintenance_period > absl::ZeroDuration()) {
    RocksDbStore* raw = store.get();
    store->maintenance_ = std::thread([raw] { raw->MaintenanceLoop(); });
  }
  return store;
}

RocksDbStore::RocksDbStore(std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles,
                           const RocksDbStoreOptions& options)
    : db_(std::move(db)),
      handles_(std::move(handles)),
      log_retention_(options.log_retention),
      fsync_(options.fsync),
      hub_(std::make_shared<internal::WatchHub>(
          [this](uint64_t after, size_t limit) { return ReadLog(after, limit); },
          /*published_version=*/0, /*max_recent=*/log_retention_)),
      log_max_age_(options.log_max_age),
      maintenance_period_(options.maintenance_period),
      compact_after_deletes_(options.compact_after_deletes) {}

RocksDbStore::~RocksDbStore() {
  if (maintenance_.joinable()) {
    {
      absl::MutexLock lock(&maintenance_mu_);
      stopping_ = true;
    }
    maintenance_.join();
  }
  // Watchers may be inside ReadLog on other threads; Close() waits for them
  // and keeps later Next() calls away from the database.
  hub_->Close();
  // Column family handles must be released before the DB is deleted: they
  // reference column family state that the DB owns, and deleting the DB first
  // leaves them dangling (RocksDB asserts on it in debug builds).
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    const rocksdb::Status s = db_->DestroyColumnFamilyHandle(handle);
    if (!s.ok()) LogWarn("store", "destroy column family handle failed", {{"error", s.ToString()}});
  }
  handles_.clear();
  // Close() reports errors that deleting the DB would swallow.
  const rocksdb::Status s = db_->Close();
  if (!s.ok()) LogWarn("store", "close failed", {{"error", s.ToString()}});
  db_.reset();
}

absl::Status RocksDbStore::Recover() {
  absl::MutexLock lock(&write_mu_);
  auto read_meta = [this](std::string_view name) -> absl::StatusOr<uint64_t> {
    std::string value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, ToSlice(name), &value);
    if (s.IsNotFound()) return 0;
    RETURN_IF_ERROR(FromRocksDbStatus(s, absl::StrCat("read ", ::argonaut::AbslView(name))));
    return internal::DecodeVersion(value);
  };
  ASSIGN_OR_RETURN(const uint64_t last, read_meta(kMetaLastVersion));
  ASSIGN_OR_RETURN(uint64_t trimmed, read_meta(kMetaTrimmedThrough));
  if (trimmed > last) {
    return absl::DataLossError(
        absl::StrCat("log trimmed through ", trimmed, " beyond last version ", last));
  }

  // Log and metadata are written in the same batches, so the log must hold
  // exactly (trimmed, last]; checking both ends catches a mismatched restore.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  it->Seek(internal::EncodeVersion(trimmed + 1));
  std::optional<uint64_t> first;
  if (it->Valid()) {
    ASSIGN_OR_RETURN(first, internal::DecodeVersion(it->key().ToStringView()));
  }
  std::optional<uint64_t> back;
  it->SeekToLast();
  if (it->Valid()) {
    ASSIGN_OR_RETURN(back, internal::DecodeVersion(it->key().ToStringView()));
  }
  RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scan change log"));
  it.reset();
  const bool consistent =
      last == trimmed ? !first.has_value() : first == trimmed + 1 && back == last;
  if (!consistent) {
    return absl::DataLossError(absl::StrCat("change log holds [", first.value_or(0), ", ",
                                            back.value_or(0), "] but metadata says (", trimmed,
                                            ", ", last, "]"));
  }

  // A lowered log_retention takes effect now rather than at the next write.
  if (internal::TrimTarget(last, trimmed, log_retention_) > trimmed) {
    rocksdb::WriteBatch batch;
    RETURN_IF_ERROR(AddTrimAndMeta(batch, last, trimmed));
    RETURN_IF_ERROR(
        FromRocksDbStatus(db_->Write(WriteOptionsFor(fsync_), &batch), "trim change log"));
  }
  last_version_.store(last);
  trimmed_through_.store(trimmed);
  // Entries written before this open count as written now: their times were not kept.
  if (last > trimmed) commit_times_.emplace_back(last, absl::Now());
  hub_->Publish(last);
  return absl::OkStatus();
}

void RocksDbStore::MaintenanceLoop() {
  while (true) {
    {
      absl::MutexLock lock(&maintenance_mu_);
      if (maintenance_mu_.AwaitWithTimeout(absl::Condition(&stopping_), maintenance_period_)) {
        return;
      }
    }
    absl::StatusOr<bool> done = Maintain(absl::Now());
    if (!done.ok()) {
      LogWarn("store", "maintenance failed", {{"error", std::string(done.status().message())}});
    }
  }
}

absl::StatusOr<bool> RocksDbStore::Maintain(absl::Time now) {
  {
    absl::MutexLock lock(&write_mu_);
    uint64_t aged = 0;
    for (const auto& [version, at] : commit_times_) {
      if (at > now - log_max_age_) break;
      aged = version;
    }
    uint64_t trimmed = trimmed_through_.load();
    if (aged > trimmed) {
      const uint64_t last = last_version_.load();
      rocksdb::WriteBatch batch;
      RETURN_IF_ERROR(AddTrimAndMeta(batch, last, trimmed, aged));
      RETURN_IF_ERROR(
          FromRocksDbStatus(db_->Write(WriteOptionsFor(fsync_), &batch), "trim change log"));
      trimmed_through_.store(trimmed);
    }
    while (!commit_times_.empty() && commit_times_.front().first <= trimmed) {
      commit_times_.pop_front();
    }
  }
  // A compaction rewrites what is live, so it waits until the deletes are at least half as many
  // as the live keys: each delete then costs a bounded share of rewriting however often the log
  // trims (one entry per write once log_retention is reached).
  const uint64_t deletes = deletes_since_compaction_.load();
  uint64_t live = 0;
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    uint64_t keys = 0;
    // `__meta` rewrites two keys on every commit, each rewrite counted until compacted.
    if (cf != meta_cf_ &&
        db_->GetIntProperty(cf, rocksdb::DB::Properties::kEstimateNumKeys, &keys)) {
      live += keys;
    }
  }
  if (deletes < std::max(compact_after_deletes_, live / 2)) return false;
  // Flushing every family first lets RocksDB drop the WAL files, which hold the deleted values
  // too; the compaction then rewrites each family without what was deleted.
  RETURN_IF_ERROR(FromRocksDbStatus(db_->Flush(rocksdb::FlushOptions(), handles_), "flush"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    RETURN_IF_ERROR(FromRocksDbStatus(db_->CompactRange(compact, cf, nullptr, nullptr), "compact"));
  }
  deletes_since_compaction_.fetch_sub(deletes);
  LogInfo("store", "compacted after deletions", {{"deleted", absl::StrCat(deletes)}});
  return true;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RocksDbStore::KindHandle(std::string_view kind) const {
  auto it = kinds_.find(::argonaut::AbslView(kind));
  if (it == kinds_.end()) return internal::UnknownKindError(kind);
  return it->second;
}

absl::StatusOr<std::optional<Record>> RocksDbStore::ReadRecord(std::string_view kind,
                                                               std::string_view key) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, KindHandle(kind));
  rocksdb::PinnableSlice bytes;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &bytes);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDbStatus(
      s, absl::StrCat("get ", ::argonaut::AbslView(kind), " \"", ::argonaut::AbslView(key), "\"")));
  ASSIGN_OR_RETURN(internal::RecordValue decoded,
                   internal::DecodeRecordValue(bytes.ToStringView()));
  return Record{.key = std::string(key),
                .value = std::string(decoded.value),
                .resource_version = decoded.version};
}

absl::Status RocksDbStore::AddTrimAndMeta(rocksdb::WriteBatch& batch, uint64_t last_version,
                                          uint64_t& trimmed_through, uint64_t trim_through) {
  const uint64_t target =
      std::max(internal::TrimTarget(last_version, trimmed_through, log_retention_),
               std::min(trim_through, last_version));
  deletes_since_compaction_.fetch_add(target - trimmed_through);
  if (target - trimmed_through > kMaxPointTrim) {
    RETURN_IF_ERROR(
        FromRocksDbStatus(batch.DeleteRange(log_cf_, internal::EncodeVersion(trimmed_through + 1),
                                            internal::EncodeVersion(target + 1)),
                          "batch trim range"));
  } else {
    for (uint64_t v = trimmed_through + 1; v <= target; ++v) {
      RETURN_IF_ERROR(
          FromRocksDbStatus(batch.Delete(log_cf_, internal::EncodeVersion(v)), "batch trim"));
    }
  }
  trimmed_through = target;
  RETURN_IF_ERROR(FromRocksDbStatus(
      batch.Put(meta_cf_, ToSlice(kMetaLastVersion), internal::EncodeVersion(last_version)),
      "batch meta"));
  return FromRocksDbStatus(
      batch.Put(meta_cf_, ToSlice(kMetaTrimmedThrough), internal::EncodeVersion(trimmed_through)),
      "batch meta");
}

absl::StatusOr<uint64_t> RocksDbStore::Apply(absl::Span<const internal::WriteRef> writes) {
  PendingApply mine{.writes = writes};
  absl::MutexLock lock(&queue_mu_);
  pending_.push_back(&mine);
  struct WaitState {
    const PendingApply* mine;
    const bool* leading;
  } state{&mine, &leading_};
  while (true) {
    queue_mu_.Await(absl::Condition(
        +[](WaitState* w) { return w->mine->done || !*w->leading; }, &state));
    if (mine.done) return std::move(mine.result);
    // Nobody leads and ours is still queued: lead one group, which holds at
    // least the oldest batch, and go round again until ours is done.
    leading_ = true;
    std::vector<PendingApply*> group = TakeGroup();
    queue_mu_.Unlock();
    CommitGroup(group);
    queue_mu_.Lock();
    for (PendingApply* p : group) p->done = true;
    leading_ = false;
  }
}
std::vector<RocksDbStore::PendingApply*> RocksDbStore::TakeGroup() {
  // Bounds one RocksDB batch; the rest waits for the next group.
  constexpr size_t kMaxGroup = 256;
  std::vector<PendingApply*> group;
  std::vector<PendingApply*> deferred;
  absl::flat_hash_set<std::pair<std::string_view, std::string_view>> keys;
  for (PendingApply* p : pending_) {
    bool conflict = group.size() >= kMaxGroup;
    for (size_t i = 0; i < p->writes.size() && !conflict; ++i) {
      conflict = keys.contains(std::make_pair(p->writes[i].kind, p->writes[i].key));
    }
    if (conflict) {
      deferred.push_back(p);
      continue;
    }
    for (const internal::WriteRef& w : p->writes) keys.insert(std::make_pair(w.kind, w.key));
    group.push_back(p);
  }
  pending_ = std::move(deferred);
  return group;
}

void RocksDbStore::CommitGroup(absl::Span<PendingApply* const> group) {
  absl::MutexLock lock(&write_mu_);
  const uint64_t before = last_version_.load();
  uint64_t last = before;
  rocksdb::WriteBatch batch;
  std::vector<PendingApply*> written;
  // What watchers will read, handed to the hub so they need not read the log.
  std::vector<Event> events;
  for (PendingApply* p : group) {
    absl::StatusOr<std::vector<internal::PlannedWrite>> plan = internal::PlanWrites(
        p->writes, last,
        [this](std::string_view kind, std::string_view key) { return ReadRecord(kind, key); });
    if (!plan.ok()) {
      p->result = plan.status();
      continue;
    }
    if (plan->empty()) {
      // Nothing to write: the version before this group is durable already.
      p->result = before;
      continue;
    }
    // Records, log entries and metadata go in one batch: readers and a crash
    // see all of it or none of it. A batch that cannot be added is rolled back
    // alone.
    batch.SetSavePoint();
    absl::Status added = absl::OkStatus();
    for (const internal::PlannedWrite& w : *plan) {
      added = AddPlannedWrite(batch, w);
      if (!added.ok()) break;
    }
    if (!added.ok()) {
      (void)batch.RollbackToSavePoint();
      p->result = added;
      continue;
    }
    last = plan->back().version;
    p->result = last;
    written.push_back(p);
    for (internal::PlannedWrite& w : *plan) events.push_back(internal::EventOf(w));
  }
  if (written.empty()) return;
  uint64_t trimmed = trimmed_through_.load();
  absl::Status status = AddTrimAndMeta(batch, last, trimmed);
  if (status.ok()) status = FromRocksDbStatus(db_->Write(WriteOptionsFor(fsync_), &batch), "write");
  if (!status.ok()) {
    for (PendingApply* p : written) p->result = status;
    return;
  }
  last_version_.store(last);
  trimmed_through_.store(trimmed);
  // One entry per second at most: trimming by age is that coarse, and the deque stays small.
  const absl::Time now = absl::Now();
  if (!commit_times_.empty() && now - commit_times_.back().second < absl::Seconds(1)) {
    commit_times_.back() = {last, now};
  } else {
    commit_times_.emplace_back(last, now);
  }
  group_commits_.fetch_add(1);
  hub_->Publish(last, std::move(events));
}

absl::Status RocksDbStore::AddPlannedWrite(rocksdb::WriteBatch& batch,
                                           const internal::PlannedWrite& p) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, KindHandle(p.kind));
  const std::string log_key = internal::EncodeVersion(p.version);
  rocksdb::Status s;
  if (p.value.has_value()) {
    s = batch.Put(cf, ToSlice(p.key), internal::EncodeRecordValue(p.version, *p.value));
    if (s.ok()) {
      s = batch.Put(log_cf_, log_key,
                    internal::EncodeLogEntry(EventType::kPut, p.created, p.kind, p.key, *p.value));
    }
  } else {
    deletes_since_compaction_.fetch_add(1);
    s = batch.Delete(cf, ToSlice(p.key));
    if (s.ok()) {
      s = batch.Put(
          log_cf_, log_key,
          internal::EncodeLogEntry(EventType::kDelete, false, p.kind, p.key, p.previous_value));
    }
  }
  return FromRocksDbStatus(s, "batch write");
}

absl::StatusOr<Record> RocksDbStore::Get(std::string_view kind, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<Record> record, ReadRecord(kind, key));
  if (!record.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(::argonaut::AbslView(kind), " \"", ::argonaut::AbslView(key), "\" not found"));
  }
  return *std::move(record);
}

absl::StatusOr<std::vector<Record>> RocksDbStore::List(std::string_view kind,
                                                       std::string_view prefix) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, KindHandle(kind));
  // The iterator reads one consistent snapshot.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  std::vector<Record> records;
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(internal::RecordValue decoded,
                     internal::DecodeRecordValue(it->value().ToStringView()));
    records.push_back(Record{.key = std::string(key),
                             .value = std::string(decoded.value),
                             .resource_version = decoded.version});
  }
  RETURN_IF_ERROR(
      FromRocksDbStatus(it->status(), absl::StrCat("list ", ::argonaut::AbslView(kind))));
  return records;
}

uint64_t RocksDbStore::CurrentVersion() { return last_version_.load(); }

absl::StatusOr<std::unique_ptr<Watcher>> RocksDbStore::Watch(std::string_view kind,
                                                             std::string_view prefix,
                                                             uint64_t from_version) {
  if (!kind.empty()) RETURN_IF_ERROR(KindHandle(kind).status());
  const uint64_t trimmed = trimmed_through_.load();
  if (from_version < trimmed) {
    return absl::OutOfRangeError(absl::StrCat("version ", from_version,
                                              " is older than the change log, which starts at ",
                                              trimmed + 1, "; re-list and watch again"));
  }
  return internal::WatchHub::NewWatcher(hub_, std::string(kind), std::string(prefix), from_version);
}

absl::StatusOr<std::vector<Event>> RocksDbStore::ReadLog(uint64_t after, size_t limit) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  std::vector<Event> events;
  uint64_t expected = after + 1;
  for (it->Seek(internal::EncodeVersion(expected)); it->Valid() && events.size() < limit;
       it->Next()) {
    ASSIGN_OR_RETURN(const uint64_t version, internal::DecodeVersion(it->key().ToStringView()));
    if (version != expected) {
      // Versions are contiguous and trimming only removes the oldest entries,
      // so a hole at the front means the watcher fell behind the retention.
      if (events.empty()) {
        return absl::OutOfRangeError(absl::StrCat("change log no longer holds version ", expected,
                                                  "; re-list and watch again"));
      }
      return absl::DataLossError(
          absl::StrCat("change log skips from ", expected - 1, " to ", version));
    }
    ASSIGN_OR_RETURN(Event event, internal::DecodeLogEntry(version, it->value().ToStringView()));
    events.push_back(std::move(event));
    ++expected;
  }
  RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "read change log"));
  return events;
}

absl::Status RocksDbStore::Flush() {
  return FromRocksDbStatus(db_->Flush(rocksdb::FlushOptions(), handles_), "flush");
}

}  // namespace argonaut::store
