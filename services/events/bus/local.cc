#include "services/events/bus/local.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/write_batch.h"

namespace argonaut::events::bus {
namespace {

// Column families. Keys of events are the offset big-endian, so RocksDB's
// byte order is offset order; by_source is the index behind Recent():
// "<source>\0<offset>".
constexpr char kEventsCf[] = "events";
constexpr char kBySourceCf[] = "by_source";
constexpr char kConsumersCf[] = "consumers";
constexpr char kMetaCf[] = "meta";
// meta keys: the last offset ever assigned (so that offsets never restart
// when retention emptied the log) and the retained bytes.
constexpr char kLastOffsetKey[] = "last_offset";
constexpr char kBytesKey[] = "bytes";

// Bounds one group commit (one fsync).
constexpr size_t kMaxGroupItems = 1024;
constexpr size_t kMaxGroupBytes = 8 << 20;
constexpr size_t kMaxRetentionBatch = 4096;
constexpr size_t kMaxRecent = 1000;

std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t FromBigEndian(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

std::string SourceKey(std::string_view source, uint64_t offset) {
  std::string key(source);
  key.push_back('\0');
  key += BigEndian(offset);
  return key;
}

// An event's stored value: stored-at unix nanos, source length and source
// (so retention deletes the index entry without parsing JSON), then the
// CloudEvent's JSON text.
std::string EncodeValue(absl::Time stored, std::string_view source, std::string_view json) {
  std::string out = BigEndian(static_cast<uint64_t>(absl::ToUnixNanos(stored)));
  out += BigEndian(source.size());
  out += source;
  out += json;
  return out;
}

struct DecodedValue {
  absl::Time stored;
  std::string_view source;
  std::string_view json;
};

absl::StatusOr<DecodedValue> DecodeValue(std::string_view value) {
  if (value.size() < 16) return absl::DataLossError("event value truncated");
  DecodedValue out;
  out.stored = absl::FromUnixNanos(static_cast<int64_t>(FromBigEndian(value.substr(0, 8))));
  uint64_t n = FromBigEndian(value.substr(8, 8));
  if (value.size() < 16 + n) return absl::DataLossError("event value truncated");
  out.source = value.substr(16, n);
  out.json = value.substr(16 + n);
  return out;
}

absl::Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message =
      absl::StrCat("event bus: ", std::string(what), ": rocksdb: ", status.ToString());
  if (status.IsIOError()) return absl::UnavailableError(message);
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

absl::StatusOr<StoredEvent> ParseStored(uint64_t offset, std::string_view value) {
  ASSIGN_OR_RETURN(DecodedValue decoded, DecodeValue(value));
  nlohmann::json json = nlohmann::json::parse(decoded.json, nullptr, false);
  if (json.is_discarded()) {
    return absl::DataLossError(absl::StrCat("event ", offset, ": stored JSON unreadable"));
  }
  ASSIGN_OR_RETURN(CloudEvent event, CloudEvent::FromJson(json));
  return StoredEvent{offset, std::move(event)};
}

class LocalBus : public EventBus {
 public:
  LocalBus(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
           LocalBusOptions options)
      : db_(std::move(db)), handles_(std::move(handles)), options_(options) {
    events_ = handles_[1];
    by_source_ = handles_[2];
    consumers_cf_ = handles_[3];
    meta_ = handles_[4];
  }

  ~LocalBus() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  absl::Status Load() {
    std::string value;
    uint64_t last = 0;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kLastOffsetKey, &value);
    if (s.ok()) last = FromBigEndian(value);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read last offset");
    s = db_->Get(rocksdb::ReadOptions(), meta_, kBytesKey, &value);
    if (s.ok()) bytes_ = FromBigEndian(value);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read bytes");
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
    it->SeekToLast();
    if (it->Valid()) last = std::max(last, FromBigEndian(it->key().ToStringView()));
    it->SeekToFirst();
    first_offset_ = it->Valid() ? FromBigEndian(it->key().ToStringView()) : last + 1;
    RETURN_IF_ERROR(FromRocks(it->status(), "scan events"));
    committed_ = last;
    next_offset_ = last + 1;
    std::unique_ptr<rocksdb::Iterator> c(db_->NewIterator(rocksdb::ReadOptions(), consumers_cf_));
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      consumers_[c->key().ToString()] = FromBigEndian(c->value().ToStringView());
    }
    return FromRocks(c->status(), "scan consumers");
  }

  absl::StatusOr<uint64_t> Publish(const CloudEvent& event) override {
    if (event.source.empty()) {
      return absl::InvalidArgumentError("event bus: CloudEvent.source: required");
    }
    if (event.source.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("event bus: CloudEvent.source: contains NUL");
    }
    CloudEvent stored = event;
    // Sources may leave these to the bus.
    if (stored.id.empty()) stored.id = NewEventId();
    if (stored.time == absl::UnixEpoch()) stored.time = absl::Now();
    std::string json =
        stored.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (json.size() > options_.max_event_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event bus: event ", stored.source, "/", stored.subject, " is ", json.size(),
          " bytes, over the ", options_.max_event_bytes, "-byte limit (max_event_bytes)"));
    }
    Pending p;
    p.kind = Pending::kPublish;
    p.source = stored.source;
    p.value = EncodeValue(absl::Now(), stored.source, json);
    RETURN_IF_ERROR(Submit(&p));
    return p.offset;
  }

  absl::StatusOr<std::vector<StoredEvent>> Read(std::string_view consumer, size_t max,
                                                absl::Time deadline) override {
    RETURN_IF_ERROR(CheckConsumer(consumer));
    if (max == 0) return std::vector<StoredEvent>{};
    RETURN_IF_ERROR(Register(consumer));
    uint64_t start = 0, end = 0;
    {
      absl::MutexLock lock(&mu_);
      const std::string key(consumer);
      bool timed_out = false;
      while (true) {
        auto it = consumers_.find(key);
        start = std::max(it == consumers_.end() ? committed_ + 1 : it->second + 1, first_offset_);
        if (committed_ >= start || timed_out) break;
        timed_out = cv_.WaitWithDeadline(&mu_, deadline);
      }
      if (committed_ < start) return std::vector<StoredEvent>{};
      end = std::min(committed_, start + std::min<uint64_t>(max, kMaxGroupItems) - 1);
    }
    std::vector<StoredEvent> out;
    size_t bytes = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
    const std::string end_key = BigEndian(end);
    for (it->Seek(BigEndian(start)); it->Valid(); it->Next()) {
      if (it->key().compare(end_key) > 0) break;
      if (!out.empty() && bytes + it->value().size() > options_.max_read_bytes) break;
      bytes += it->value().size();
      ASSIGN_OR_RETURN(StoredEvent e, ParseStored(FromBigEndian(it->key().ToStringView()),
                                                  it->value().ToStringView()));
      out.push_back(std::move(e));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "read events"));
    return out;
  }

  absl::Status Ack(std::string_view consumer, uint64_t offset) override {
    RETURN_IF_ERROR(CheckConsumer(consumer));
    {
      absl::MutexLock lock(&mu_);
      if (offset > committed_) {
        return absl::OutOfRangeError(absl::StrCat("event bus: ack of offset ", offset,
                                                  " past the last published offset ", committed_));
      }
      auto it = consumers_.find(std::string(consumer));
      if (it != consumers_.end() && it->second >= offset) return absl::OkStatus();
    }
    Pending p;
    p.kind = Pending::kAck;
    p.consumer = std::string(consumer);
    p.ack_offset = offset;
    return Submit(&p);
  }

  absl::StatusOr<std::vector<StoredEvent>> Recent(std::string_view source, size_t max) override {
    max = std::min(max, kMaxRecent);
    std::vector<uint64_t> offsets;
    std::string prefix(source);
    prefix.push_back('\0');
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), by_source_));
    for (it->SeekForPrev(prefix + std::string(8, '\xff'));
         it->Valid() && offsets.size() < max && it->key().starts_with(prefix); it->Prev()) {
      offsets.push_back(FromBigEndian(it->key().ToStringView().substr(prefix.size())));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scan source index"));
    std::vector<StoredEvent> out;
    for (auto o = offsets.rbegin(); o != offsets.rend(); ++o) {
      std::string value;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_, BigEndian(*o), &value);
      if (s.IsNotFound()) continue;  // retention took it meanwhile
      RETURN_IF_ERROR(FromRocks(s, "read event"));
      ASSIGN_OR_RETURN(StoredEvent e, ParseStored(*o, value));
      out.push_back(std::move(e));
    }
    return out;
  }

  absl::Status RemoveConsumer(std::string_view consumer) override {
    RETURN_IF_ERROR(CheckConsumer(consumer));
    Pending p;
    p.kind = Pending::kRemove;
    p.consumer = std::string(consumer);
    return Submit(&p);
  }

  LocalBusStats Stats() const {
    absl::MutexLock lock(&mu_);
    LocalBusStats s = stats_;
    s.first_offset = first_offset_ <= committed_ ? first_offset_ : 0;
    s.last_offset = committed_;
    s.bytes = bytes_;
    return s;
  }

 private:
  struct Pending {
    enum Kind { kPublish, kAck, kRegister, kRemove } kind;
    std::string source, value, consumer;
    uint64_t ack_offset = 0;
    uint64_t offset = 0;  // assigned to a publish
    absl::Status status;
    bool done = false;
  };

  static absl::Status CheckConsumer(std::string_view consumer) {
    if (consumer.empty()) return absl::InvalidArgumentError("event bus: consumer name is empty");
    return absl::OkStatus();
  }

  // A consumer's first contact puts it at the head (DeliverNew).
  absl::Status Register(std::string_view consumer) {
    {
      absl::MutexLock lock(&mu_);
      if (consumers_.contains(std::string(consumer))) return absl::OkStatus();
    }
    Pending p;
    p.kind = Pending::kRegister;
    p.consumer = std::string(consumer);
    return Submit(&p);
  }

  // Group commit: whoever finds no leader writes everything queued in one
  // synced batch; the others wait for it and return with its result. One
  // fsync thus serves every concurrent publisher and acker, and offsets are
  // assigned in the order they become durable, so a reader never sees a
  // gap that a slower publisher fills later.
  absl::Status Submit(Pending* p) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(p);
    while (!p->done) {
      if (leader_active_) {
        cv_.Wait(&mu_);
        continue;
      }
      leader_active_ = true;
      LeadOneGroup();
      MaybeRetain();
      leader_active_ = false;
      cv_.SignalAll();
    }
    return p->status;
  }

  // Called with mu_ held and leadership taken; releases mu_ around I/O.
  void LeadOneGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Pending*> group;
    size_t group_bytes = 0;
    while (!queue_.empty() && group.size() < kMaxGroupItems &&
           (group.empty() || group_bytes + queue_.front()->value.size() <= kMaxGroupBytes)) {
      group.push_back(queue_.front());
      group_bytes += queue_.front()->value.size();
      queue_.pop_front();
    }
    const uint64_t first = next_offset_;
    const uint64_t head_before = committed_;
    uint64_t bytes = bytes_;
    std::map<std::string, uint64_t> acks;  // consumer -> offset after this group
    std::vector<std::string> removed;
    rocksdb::WriteBatch batch;
    for (Pending* q : group) {
      switch (q->kind) {
        case Pending::kPublish:
          q->offset = next_offset_++;
          batch.Put(events_, BigEndian(q->offset), q->value);
          batch.Put(by_source_, SourceKey(q->source, q->offset), "");
          bytes += q->value.size();
          break;
        case Pending::kRegister:
          if (!consumers_.contains(q->consumer) && !acks.contains(q->consumer)) {
            acks[q->consumer] = head_before;
          }
          break;
        case Pending::kAck: {
          auto it = consumers_.find(q->consumer);
          uint64_t current = it == consumers_.end() ? 0 : it->second;
          uint64_t& target = acks.try_emplace(q->consumer, current).first->second;
          target = std::max(target, q->ack_offset);
          break;
        }
        case Pending::kRemove:
          acks.erase(q->consumer);
          removed.push_back(q->consumer);
          break;
      }
    }
    const uint64_t last = next_offset_ - 1;
    for (const auto& [consumer, offset] : acks) {
      batch.Put(consumers_cf_, consumer, BigEndian(offset));
    }
    for (const std::string& consumer : removed) {
      if (!acks.contains(consumer)) batch.Delete(consumers_cf_, consumer);
    }
    if (last != head_before) {
      batch.Put(meta_, kLastOffsetKey, BigEndian(last));
      batch.Put(meta_, kBytesKey, BigEndian(bytes));
    }
    mu_.Unlock();
    rocksdb::WriteOptions write;
    write.sync = options_.fsync;
    absl::Status status = FromRocks(db_->Write(write, &batch), "write");
    mu_.Lock();
    if (status.ok()) {
      committed_ = last;
      bytes_ = bytes;
      for (const std::string& consumer : removed) consumers_.erase(consumer);
      for (const auto& [consumer, offset] : acks) consumers_[consumer] = offset;
      ++stats_.group_commits;
      stats_.publishes += last - head_before;
    } else {
      next_offset_ = first;  // nothing of this group was written
    }
    for (Pending* q : group) {
      q->status = status;
      q->done = true;
    }
    cv_.SignalAll();
  }

  // Applies the retention policy from the oldest event on, a bounded batch
  // per call. Called by the leader with mu_ held.
  void MaybeRetain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (first_offset_ > committed_) return;
    const uint64_t count = committed_ - first_offset_ + 1;
    const bool over_soft = count > options_.max_events || bytes_ > options_.max_bytes;
    const bool over_hard = count > options_.hard_max_events || bytes_ > options_.hard_max_bytes;
    const absl::Time now = absl::Now();
    const bool check_age = now - last_age_check_ >= absl::Seconds(1);
    if (!over_soft && !over_hard && !check_age) return;
    if (check_age) last_age_check_ = now;
    uint64_t min_acked = committed_;
    for (const auto& [consumer, offset] : consumers_) min_acked = std::min(min_acked, offset);

    uint64_t first = first_offset_, head = committed_, bytes = bytes_;
    uint64_t hard_events = options_.hard_max_events, hard_bytes = options_.hard_max_bytes;
    mu_.Unlock();
    rocksdb::WriteBatch batch;
    uint64_t deleted = 0, dropped_unacked = 0, next = first;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
    for (it->Seek(BigEndian(first)); it->Valid() && deleted < kMaxRetentionBatch; it->Next()) {
      const uint64_t offset = FromBigEndian(it->key().ToStringView());
      absl::StatusOr<DecodedValue> value = DecodeValue(it->value().ToStringView());
      const uint64_t size = it->value().size();
      const uint64_t left = head - offset + 1;
      const bool hard = left > hard_events || bytes > hard_bytes;
      const bool soft = left > options_.max_events || bytes > options_.max_bytes ||
                        (value.ok() && now - value->stored > options_.max_age);
      if (!hard && !(soft && offset <= min_acked)) break;
      if (offset > min_acked) ++dropped_unacked;
      batch.Delete(events_, it->key());
      if (value.ok()) batch.Delete(by_source_, SourceKey(value->source, offset));
      bytes -= std::min(bytes, size);
      ++deleted;
      next = offset + 1;
    }
    absl::Status status = FromRocks(it->status(), "retention scan");
    if (deleted > 0 && status.ok()) {
      batch.Put(meta_, kBytesKey, BigEndian(bytes));
      // Unsynced: a lost deletion is redone at the next commit.
      status = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "retention");
    }
    if (!status.ok()) LogWarn("events.bus", "retention failed", {{"error", status.ToString()}});
    if (dropped_unacked > 0) {
      LogWarn(
          "events.bus", "hard cap reached: dropped unacknowledged events",
          {{"count", absl::StrCat(dropped_unacked)}, {"through_offset", absl::StrCat(next - 1)}});
    }
    mu_.Lock();
    if (deleted > 0 && status.ok()) {
      first_offset_ = next;
      bytes_ = bytes;  // only the leader changes bytes_
      stats_.retained_deleted += deleted - dropped_unacked;
      stats_.dropped_unacked += dropped_unacked;
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* by_source_ = nullptr;
  rocksdb::ColumnFamilyHandle* consumers_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  const LocalBusOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // a group committed; leadership free
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool leader_active_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_offset_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t committed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t first_offset_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_age_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, uint64_t> consumers_ ABSL_GUARDED_BY(mu_);
  LocalBusStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventBus>> OpenLocalBus(const std::string& dir,
                                                       LocalBusOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("event bus: directory is empty");
  if (options.max_event_bytes == 0) {
    return absl::InvalidArgumentError("event bus: max_event_bytes must be positive");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 4;
  db_options.max_total_wal_size = 64 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kEventsCf, rocksdb::ColumnFamilyOptions()},
      {kBySourceCf, rocksdb::ColumnFamilyOptions()},
      {kConsumersCf, rocksdb::ColumnFamilyOptions()},
      {kMetaCf, rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, dir, cfs, &handles, &raw),
                            absl::StrCat("open ", dir)));
  auto bus =
      std::make_unique<LocalBus>(std::unique_ptr<rocksdb::DB>(raw), std::move(handles), options);
  RETURN_IF_ERROR(bus->Load());
  return bus;
}

LocalBusStats GetLocalBusStats(const EventBus& bus) {
  if (auto* local = dynamic_cast<const LocalBus*>(&bus)) return local->Stats();
  return {};
}

}  // namespace argonaut::events::bus
