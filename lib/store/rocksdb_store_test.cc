#include "lib/store/rocksdb_store.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/store/encoding.h"
#include "lib/store/store_contract_test.h"
#include "lib/store/test_util.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace argonaut::store {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDb(const StoreTestOptions& options) {
  const std::string dir = NewTempDir();
  if (dir.empty()) return absl::InternalError("mkdtemp failed");
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(
      {.path = dir, .kinds = options.kinds, .log_retention = options.log_retention});
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

INSTANTIATE_TEST_SUITE_P(RocksDb, StoreContractTest,
                         ::testing::Values(StoreFactory{"RocksDb", OpenRocksDb}), StoreFactoryName);

class RocksDbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir();
    ASSERT_FALSE(dir_.empty());
  }

  std::unique_ptr<RocksDbStore> Open(std::vector<std::string> kinds = {"workflows", "pods"},
                                     uint64_t log_retention = 100000) {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(
        {.path = dir_, .kinds = std::move(kinds), .log_retention = log_retention});
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::vector<Event> WatchAll(Store& store, uint64_t from) {
    absl::StatusOr<std::unique_ptr<Watcher>> watcher = store.Watch("", "", from);
    EXPECT_OK(watcher);
    if (!watcher.ok()) return {};
    std::vector<Event> all;
    while (true) {
      absl::StatusOr<std::vector<Event>> batch = (*watcher)->Next(absl::InfinitePast());
      EXPECT_OK(batch);
      if (!batch.ok() || batch->empty()) return all;
      for (Event& e : *batch) all.push_back(std::move(e));
    }
  }

  std::string dir_;
};

TEST_F(RocksDbStoreTest, ReopenFindsDataAndVersionsContinue) {
  uint64_t last = 0;
  {
    std::unique_ptr<RocksDbStore> store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Put("workflows", "ns/a", "a", kMustNotExist));
    ASSERT_OK(store->Put("pods", "ns/p", "p", kMustNotExist));
    ASSERT_OK(store->Delete("pods", "ns/p", std::nullopt));
    last = store->CurrentVersion();
    EXPECT_EQ(last, 3u);
  }
  std::unique_ptr<RocksDbStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentVersion(), last);
  absl::StatusOr<Record> a = store->Get("workflows", "ns/a");
  ASSERT_OK(a);
  EXPECT_EQ(a->value, "a");
  EXPECT_EQ(a->resource_version, 1u);
  EXPECT_THAT(store->Get("pods", "ns/p"), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<uint64_t> next = store->Put("workflows", "ns/b", "b", kMustNotExist);
  ASSERT_OK(next);
  EXPECT_EQ(*next, last + 1);
  // The change log survived too, and continues without a gap.
  std::vector<Event> events = WatchAll(*store, 0);
  ASSERT_EQ(events.size(), 4u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].record.resource_version, i + 1);
  EXPECT_EQ(events[2].type, EventType::kDelete);
  EXPECT_EQ(events[2].record.value, "p");
}

TEST_F(RocksDbStoreTest, FlushedDataSurvivesReopen) {
  {
    std::unique_ptr<RocksDbStore> store = Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_OK(store->Put("workflows", "ns/k" + std::to_string(i), "v", std::nullopt));
    }
    ASSERT_OK(store->Flush());
  }
  std::unique_ptr<RocksDbStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentVersion(), 20u);
  EXPECT_EQ(store->List("workflows", "ns/")->size(), 20u);
  EXPECT_EQ(WatchAll(*store, 0).size(), 20u);
}

TEST_F(RocksDbStoreTest, KindsCanBeAddedAndLeftOutLater) {
  {
    std::unique_ptr<RocksDbStore> store = Open({"workflows"});
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Put("workflows", "ns/a", "a", kMustNotExist));
  }
  {
    std::unique_ptr<RocksDbStore> store = Open({"workflows", "secrets"});
    ASSERT_NE(store, nullptr);
    EXPECT_OK(store->Get("workflows", "ns/a"));
    EXPECT_OK(store->Put("secrets", "ns/s", "s", kMustNotExist));
  }
  // Opening without a kind that exists on disk keeps its data but not its API.
  {
    std::unique_ptr<RocksDbStore> store = Open({"secrets"});
    ASSERT_NE(store, nullptr);
    EXPECT_THAT(store->Get("workflows", "ns/a"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("workflows")));
    EXPECT_OK(store->Get("secrets", "ns/s"));
    EXPECT_EQ(store->CurrentVersion(), 2u);
  }
  std::unique_ptr<RocksDbStore> store = Open({"workflows", "secrets"});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Get("workflows", "ns/a")->value, "a");
}

TEST_F(RocksDbStoreTest, ReservedKindNamesAreRejected) {
  for (const char* kind : {"default", "__log", "__meta"}) {
    EXPECT_THAT(RocksDbStore::Open({.path = dir_, .kinds = {kind}}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kind)));
  }
  EXPECT_THAT(RocksDbStore::Open({.path = "", .kinds = {"pods"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RocksDbStoreTest, SecondOpenOfTheSameDirectoryFails) {
  std::unique_ptr<RocksDbStore> store = Open();
  ASSERT_NE(store, nullptr);
  // RocksDB's LOCK file keeps two stores from interleaving versions.
  EXPECT_THAT(RocksDbStore::Open({.path = dir_, .kinds = {"pods"}}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(RocksDbStoreTest, LoweredRetentionTrimsOnReopen) {
  {
    std::unique_ptr<RocksDbStore> store = Open({"pods"}, /*log_retention=*/1000);
    ASSERT_NE(store, nullptr);
    for (int i = 1; i <= 100; ++i) {
      ASSERT_OK(store->Put("pods", "ns/p" + std::to_string(i), "v", std::nullopt));
    }
  }
  {
    // Trimming 90 entries at once takes the range-delete path.
    std::unique_ptr<RocksDbStore> store = Open({"pods"}, /*log_retention=*/10);
    ASSERT_NE(store, nullptr);
    EXPECT_THAT(store->Watch("", "", 89), StatusIs(absl::StatusCode::kOutOfRange));
    std::vector<Event> events = WatchAll(*store, 90);
    ASSERT_EQ(events.size(), 10u);
    EXPECT_EQ(events.front().record.resource_version, 91u);
    for (int i = 101; i <= 105; ++i) {
      ASSERT_OK(store->Put("pods", "ns/p" + std::to_string(i), "v", std::nullopt));
    }
  }
  std::unique_ptr<RocksDbStore> store = Open({"pods"}, /*log_retention=*/10);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentVersion(), 105u);
  EXPECT_THAT(store->Watch("", "", 94), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(WatchAll(*store, 95).size(), 10u);
  EXPECT_EQ(store->List("pods", "")->size(), 105u);
}

TEST_F(RocksDbStoreTest, MetadataThatDisagreesWithTheLogIsDataLoss) {
  {
    std::unique_ptr<RocksDbStore> store = Open({"pods"});
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Put("pods", "ns/a", "a", std::nullopt));
    ASSERT_OK(store->Put("pods", "ns/b", "b", std::nullopt));
  }
  {
    // Rewind the recorded last version behind the store's back.
    rocksdb::Options options;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : {"default", "__log", "__meta", "pods"}) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    EXPECT_TRUE(
        db->Put(rocksdb::WriteOptions(), handles[2], "last_version", internal::EncodeVersion(1))
            .ok());
    for (rocksdb::ColumnFamilyHandle* h : handles)
      EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  EXPECT_THAT(RocksDbStore::Open({.path = dir_, .kinds = {"pods"}}),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(RocksDbStoreTest, ConcurrentWritersShareOneSyncedWrite) {
  std::unique_ptr<RocksDbStore> store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kWrites = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        const std::string key = absl::StrCat("ns/p", t, "-", i);
        if (!store->Put("pods", key, "x", kMustNotExist).ok()) ++failures;
        // A second create of the same key fails alone, whatever it is grouped with.
        if (store->Put("pods", key, "y", kMustNotExist).status().code() !=
            absl::StatusCode::kAlreadyExists) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->CurrentVersion(), uint64_t{kThreads * kWrites});
  // Each write is synced (~ms); writers arriving meanwhile join the next group.
  EXPECT_LT(store->GroupCommits(), uint64_t{kThreads * kWrites * 9 / 10});
  std::vector<Event> events = WatchAll(*store, 0);
  ASSERT_EQ(events.size(), uint64_t{kThreads * kWrites});
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].record.resource_version, i + 1);
}

// Recent events come from memory and older ones from the log; a watcher
// crossing from one to the other sees every version once, in order.
TEST_F(RocksDbStoreTest, WatchersReadTheLogThenMemoryWithoutGaps) {
  {
    std::unique_ptr<RocksDbStore> store = Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_OK(store->Put("pods", absl::StrCat("ns/p", i), "v", std::nullopt));
    }
  }
  std::unique_ptr<RocksDbStore> store = Open();  // a reopened store has nothing in memory
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::unique_ptr<Watcher>> pods = store->Watch("pods", "", 0);
  ASSERT_OK(pods);
  // Up to `n` events, waiting at most 5 s.
  auto read = [&](size_t n) {
    std::vector<Event> out;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (out.size() < n && absl::Now() < deadline) {
      absl::StatusOr<std::vector<Event>> batch = (*pods)->Next(deadline);
      if (!batch.ok()) break;
      out.insert(out.end(), batch->begin(), batch->end());
    }
    return out;
  };
  std::vector<Event> seen = read(20);
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(store->Put("pods", absl::StrCat("ns/q", i), "v", std::nullopt));
    ASSERT_OK(store->Put("workflows", absl::StrCat("ns/w", i), "w", std::nullopt));
  }
  ASSERT_OK(store->Delete("pods", "ns/q0", std::nullopt));
  std::vector<Event> more = read(6);
  seen.insert(seen.end(), more.begin(), more.end());
  ASSERT_EQ(seen.size(), 26u);
  for (size_t i = 0; i + 1 < seen.size(); ++i) {
    EXPECT_LT(seen[i].record.resource_version, seen[i + 1].record.resource_version);
    EXPECT_EQ(seen[i].kind, "pods");
  }
  EXPECT_EQ(seen.back().type, EventType::kDelete);
  EXPECT_EQ(seen.back().record.key, "ns/q0");
  EXPECT_EQ(seen.back().record.value, "v");
  EXPECT_TRUE(seen[20].created);
}

// SST and WAL bytes of the database directory: what the deleted values occupy on disk.
uint64_t DataBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    const std::string ext = f.path().extension().string();
    if (ext == ".sst" || ext == ".log") total += f.file_size();
  }
  return total;
}

TEST_F(RocksDbStoreTest, MaintenanceTrimsTheLogByAge) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened =
      RocksDbStore::Open({.path = dir_,
                          .kinds = {"pods"},
                          .log_max_age = absl::Minutes(10),
                          .maintenance_period = absl::ZeroDuration()});
  ASSERT_OK(opened);
  RocksDbStore& store = **opened;
  for (int i = 1; i <= 20; ++i) {
    ASSERT_OK(store.Put("pods", "ns/p" + std::to_string(i), "v", std::nullopt));
  }
  // Younger than log_max_age: kept.
  ASSERT_OK(store.Maintain(absl::Now()));
  EXPECT_EQ(WatchAll(store, 0).size(), 20u);
  ASSERT_OK(store.Maintain(absl::Now() + absl::Minutes(11)));
  EXPECT_THAT(store.Watch("", "", 0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(store.Watch("", "", 19), StatusIs(absl::StatusCode::kOutOfRange));
  // A watcher at the current version still sees every later write.
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store.Watch("", "", 20);
  ASSERT_OK(watcher);
  ASSERT_OK(store.Put("pods", "ns/p21", "v", std::nullopt));
  absl::StatusOr<std::vector<Event>> next = (*watcher)->Next(absl::Now() + absl::Seconds(5));
  ASSERT_OK(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().record.resource_version, 21u);
  EXPECT_EQ(store.List("pods", "")->size(), 21u);
  opened->reset();
  // The trimmed log and its metadata agree after a reopen.
  std::unique_ptr<RocksDbStore> reopened = Open({"pods"});
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->CurrentVersion(), 21u);
  EXPECT_EQ(WatchAll(*reopened, 20).size(), 1u);
}

TEST_F(RocksDbStoreTest, DeletedValuesLeaveTheDiskAfterMaintenance) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened =
      RocksDbStore::Open({.path = dir_,
                          .kinds = {"workflows"},
                          .fsync = false,
                          .log_max_age = absl::Minutes(10),
                          .maintenance_period = absl::ZeroDuration(),
                          .compact_after_deletes = 500});
  ASSERT_OK(opened);
  RocksDbStore& store = **opened;
  // Incompressible values, so that sizes are what was written.
  std::string value(4096, 'x');
  uint64_t seed = 1;
  for (char& c : value) c = static_cast<char>((seed = seed * 6364136223846793005u + 1) >> 56);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK(store.Put("workflows", absl::StrCat("ns/w", i), value, std::nullopt));
  }
  const uint64_t peak = DataBytes(dir_);
  EXPECT_GT(peak, 1000u * 4096 * 2);  // the record and its log entry
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK(store.Delete("workflows", absl::StrCat("ns/w", i), std::nullopt));
  }
  // Deleting alone frees nothing: the values stay in the WAL and the log.
  EXPECT_GE(DataBytes(dir_), peak);
  // Young entries stay in the log.
  ASSERT_OK(store.Maintain(absl::Now()));
  EXPECT_EQ(WatchAll(store, 0).size(), 2000u);
  // Trimming the log's 2,000 entries leaves nothing live: a compaction.
  absl::StatusOr<bool> compacted = store.Maintain(absl::Now() + absl::Minutes(11));
  ASSERT_OK(compacted);
  EXPECT_TRUE(*compacted);
  const uint64_t after = DataBytes(dir_);
  EXPECT_LT(after, peak / 20) << "peak " << peak << " after " << after;
  EXPECT_TRUE(store.List("workflows", "")->empty());
  // Nothing new deleted: no compaction.
  compacted = store.Maintain(absl::Now() + absl::Minutes(11));
  ASSERT_OK(compacted);
  EXPECT_FALSE(*compacted);
}

TEST_F(RocksDbStoreTest, MaintenanceRunsOnItsOwnThread) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened =
      RocksDbStore::Open({.path = dir_,
                          .kinds = {"pods"},
                          .log_max_age = absl::Milliseconds(100),
                          .maintenance_period = absl::Milliseconds(50)});
  ASSERT_OK(opened);
  ASSERT_OK((*opened)->Put("pods", "ns/a", "v", std::nullopt));
  ASSERT_OK((*opened)->Watch("", "", 0));
  bool trimmed = false;
  for (int i = 0; i < 100 && !trimmed; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    trimmed = absl::IsOutOfRange((*opened)->Watch("", "", 0).status());
  }
  EXPECT_TRUE(trimmed) << "the log entry outlived log_max_age by 5 s";
}

TEST_F(RocksDbStoreTest, BadMaintenanceOptionsAreRejected) {
  EXPECT_THAT(
      RocksDbStore::Open({.path = dir_, .kinds = {"pods"}, .log_max_age = absl::ZeroDuration()}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_max_age")));
  EXPECT_THAT(RocksDbStore::Open(
                  {.path = dir_, .kinds = {"pods"}, .maintenance_period = absl::Seconds(-1)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("maintenance_period")));
}

TEST(FromRocksDbStatusTest, MapsEveryClass) {
  EXPECT_OK(FromRocksDbStatus(rocksdb::Status::OK(), "op"));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::NotFound("x"), "op"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("op")));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::Busy("x"), "op"),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::TryAgain("x"), "op"),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::Corruption("x"), "op"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::IOError("x"), "op"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::InvalidArgument("x"), "op"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(FromRocksDbStatus(rocksdb::Status::NotSupported("x"), "op"),
              StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace argonaut::store
