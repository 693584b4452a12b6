// The behaviour every Store implementation must share, as one
// value-parameterized suite. An implementation's test instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(InMemory, StoreContractTest,
//                            ::testing::Values(StoreFactory{"InMemory", OpenInMemory}),
//                            StoreFactoryName);
//
// Include this header from exactly one .cc per test binary.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/store/store.h"

namespace argonaut::store {

struct StoreTestOptions {
  std::vector<std::string> kinds = {"workflows", "pods"};
  uint64_t log_retention = 100000;
};

struct StoreFactory {
  std::string name;
  // Opens a fresh, empty store.
  std::function<absl::StatusOr<std::unique_ptr<Store>>(const StoreTestOptions&)> open;
};

inline std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = Open(StoreTestOptions()); }

  std::unique_ptr<Store> Open(const StoreTestOptions& options) {
    absl::StatusOr<std::unique_ptr<Store>> store = GetParam().open(options);
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }

  uint64_t MustPut(std::string_view kind, std::string_view key, std::string_view value) {
    absl::StatusOr<uint64_t> v = store_->Put(kind, key, value, std::nullopt);
    EXPECT_OK(v);
    return v.value_or(0);
  }

  // Reads events until `n` arrived or a generous deadline passed.
  static std::vector<Event> ReadEvents(Watcher& watcher, size_t n) {
    std::vector<Event> all;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (all.size() < n && absl::Now() < deadline) {
      absl::StatusOr<std::vector<Event>> batch = watcher.Next(deadline);
      EXPECT_OK(batch);
      if (!batch.ok()) break;
      for (Event& e : *batch) all.push_back(std::move(e));
    }
    return all;
  }

  std::unique_ptr<Store> store_;
};

namespace contract_internal {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

MATCHER_P4(EventIs, type, kind, key, value, "") {
  return arg.type == type && arg.kind == kind && arg.record.key == key && arg.record.value == value;
}

TEST_P(StoreContractTest, GetMissingIsNotFound) {
  ASSERT_NE(store_, nullptr);
  EXPECT_THAT(store_->Get("workflows", "default/missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->CurrentVersion(), 0u);
}

TEST_P(StoreContractTest, PutGetRoundTrip) {
  ASSERT_NE(store_, nullptr);
  const std::string binary("a\0b\xff", 4);
  absl::StatusOr<uint64_t> v = store_->Put("workflows", "default/a", binary, kMustNotExist);
  ASSERT_OK(v);
  absl::StatusOr<Record> r = store_->Get("workflows", "default/a");
  ASSERT_OK(r);
  EXPECT_EQ(r->key, "default/a");
  EXPECT_EQ(r->value, binary);
  EXPECT_EQ(r->resource_version, *v);
  EXPECT_EQ(store_->CurrentVersion(), *v);

  ASSERT_OK(store_->Put("workflows", "default/empty", "", std::nullopt));
  absl::StatusOr<Record> empty = store_->Get("workflows", "default/empty");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->value, "");
}

TEST_P(StoreContractTest, VersionsStrictlyIncreaseAcrossKinds) {
  ASSERT_NE(store_, nullptr);
  uint64_t previous = store_->CurrentVersion();
  for (int i = 0; i < 10; ++i) {
    const uint64_t v = MustPut(i % 2 == 0 ? "workflows" : "pods", "ns/k" + std::to_string(i), "x");
    EXPECT_GT(v, previous);
    EXPECT_EQ(store_->CurrentVersion(), v);
    previous = v;
  }
  absl::StatusOr<uint64_t> deleted = store_->Delete("pods", "ns/k1", std::nullopt);
  ASSERT_OK(deleted);
  EXPECT_GT(*deleted, previous);
}

TEST_P(StoreContractTest, CreateWhenExistsIsAlreadyExists) {
  ASSERT_NE(store_, nullptr);
  ASSERT_OK(store_->Put("workflows", "default/a", "1", kMustNotExist));
  const uint64_t version = store_->CurrentVersion();
  EXPECT_THAT(store_->Put("workflows", "default/a", "2", kMustNotExist),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(store_->CurrentVersion(), version);
  EXPECT_EQ(store_->Get("workflows", "default/a")->value, "1");
  // The same key in another kind is a different record.
  EXPECT_OK(store_->Put("pods", "default/a", "p", kMustNotExist));
}

TEST_P(StoreContractTest, ExpectedVersionIsCheckedExactly) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<uint64_t> v1 = store_->Put("workflows", "default/a", "1", kMustNotExist);
  ASSERT_OK(v1);
  absl::StatusOr<uint64_t> v2 = store_->Put("workflows", "default/a", "2", *v1);
  ASSERT_OK(v2);
  EXPECT_THAT(store_->Put("workflows", "default/a", "stale", *v1),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(store_->Get("workflows", "default/a")->value, "2");
  EXPECT_THAT(store_->Put("workflows", "default/missing", "x", *v2),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(store_->Put("workflows", "default/a", "unconditional", std::nullopt));
}

TEST_P(StoreContractTest, Delete) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<uint64_t> v = store_->Put("workflows", "default/a", "1", kMustNotExist);
  ASSERT_OK(v);
  EXPECT_THAT(store_->Delete("workflows", "default/a", *v + 100),
              StatusIs(absl::StatusCode::kAborted));
  absl::StatusOr<uint64_t> deleted = store_->Delete("workflows", "default/a", *v);
  ASSERT_OK(deleted);
  EXPECT_EQ(*deleted, store_->CurrentVersion());
  EXPECT_THAT(store_->Get("workflows", "default/a"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete("workflows", "default/a", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
  // A deleted key can be created again.
  EXPECT_OK(store_->Put("workflows", "default/a", "again", kMustNotExist));
}

TEST_P(StoreContractTest, ListByPrefixInKeyOrder) {
  ASSERT_NE(store_, nullptr);
  for (const char* key : {"ns2/b", "ns1/c", "ns1/a", "ns10/x", "ns1/b", "/cluster"}) {
    MustPut("workflows", key, std::string("v-") + key);
  }
  MustPut("pods", "ns1/other-kind", "p");
  absl::StatusOr<std::vector<Record>> ns1 = store_->List("workflows", "ns1/");
  ASSERT_OK(ns1);
  EXPECT_THAT(*ns1, ElementsAre(Field(&Record::key, "ns1/a"), Field(&Record::key, "ns1/b"),
                                Field(&Record::key, "ns1/c")));
  EXPECT_EQ((*ns1)[0].value, "v-ns1/a");
  EXPECT_EQ((*ns1)[0].resource_version, store_->Get("workflows", "ns1/a")->resource_version);

  absl::StatusOr<std::vector<Record>> all = store_->List("workflows", "");
  ASSERT_OK(all);
  EXPECT_THAT(*all, ElementsAre(Field(&Record::key, "/cluster"), Field(&Record::key, "ns1/a"),
                                Field(&Record::key, "ns1/b"), Field(&Record::key, "ns1/c"),
                                Field(&Record::key, "ns10/x"), Field(&Record::key, "ns2/b")));
  EXPECT_THAT(store_->List("workflows", "nope/"), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, UnknownKindIsInvalidArgument) {
  ASSERT_NE(store_, nullptr);
  const auto names_kind = StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gizmos"));
  EXPECT_THAT(store_->Get("gizmos", "a/b"), names_kind);
  EXPECT_THAT(store_->Put("gizmos", "a/b", "v", std::nullopt), names_kind);
  EXPECT_THAT(store_->Delete("gizmos", "a/b", std::nullopt), names_kind);
  EXPECT_THAT(store_->List("gizmos", ""), names_kind);
  EXPECT_THAT(store_->Watch("gizmos", "", 0), names_kind);
  EXPECT_THAT(store_->Commit({{.kind = "workflows", .key = "a/ok", .value = "v"},
                              {.kind = "gizmos", .key = "a/b", .value = "v"}}),
              names_kind);
  EXPECT_EQ(store_->CurrentVersion(), 0u);
}

TEST_P(StoreContractTest, CommitAppliesEveryWriteWithConsecutiveVersions) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<uint64_t> old = store_->Put("pods", "ns/old", "o", kMustNotExist);
  ASSERT_OK(old);
  absl::StatusOr<uint64_t> last =
      store_->Commit({{.kind = "workflows", .key = "ns/a", .value = "a", .expected_version = 0},
                      {.kind = "pods", .key = "ns/b", .value = "b"},
                      {.kind = "pods", .key = "ns/old", .expected_version = *old}});
  ASSERT_OK(last);
  EXPECT_EQ(*last, *old + 3);
  EXPECT_EQ(store_->CurrentVersion(), *last);
  EXPECT_EQ(store_->Get("workflows", "ns/a")->resource_version, *old + 1);
  EXPECT_EQ(store_->Get("pods", "ns/b")->resource_version, *old + 2);
  EXPECT_THAT(store_->Get("pods", "ns/old"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, CommitSeesEarlierWritesOfTheSameBatch) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<uint64_t> last =
      store_->Commit({{.kind = "workflows", .key = "ns/a", .value = "1", .expected_version = 0},
                      {.kind = "workflows", .key = "ns/a", .value = "2", .expected_version = 1}});
  ASSERT_OK(last);
  EXPECT_EQ(*last, 2u);
  absl::StatusOr<Record> r = store_->Get("workflows", "ns/a");
  ASSERT_OK(r);
  EXPECT_EQ(r->value, "2");
  EXPECT_EQ(r->resource_version, 2u);
}

TEST_P(StoreContractTest, CommitWithOneFailingPreconditionWritesNothing) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<uint64_t> v = store_->Put("workflows", "ns/existing", "e", kMustNotExist);
  ASSERT_OK(v);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", *v);
  ASSERT_OK(watcher);
  EXPECT_THAT(
      store_->Commit(
          {{.kind = "workflows", .key = "ns/new1", .value = "1", .expected_version = 0},
           {.kind = "pods", .key = "ns/new2", .value = "2"},
           {.kind = "workflows", .key = "ns/existing", .value = "x", .expected_version = *v + 7}}),
      StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(store_->Commit({{.kind = "pods", .key = "ns/new3", .value = "3"},
                              {.kind = "pods", .key = "ns/missing"}}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->CurrentVersion(), *v);
  EXPECT_THAT(store_->Get("workflows", "ns/new1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("pods", "ns/new2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("pods", "ns/new3"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->Get("workflows", "ns/existing")->value, "e");
  EXPECT_THAT((*watcher)->Next(absl::Now() + absl::Milliseconds(20)), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, WatchFromZeroSeesEveryEventInOrder) {
  ASSERT_NE(store_, nullptr);
  MustPut("workflows", "ns/a", "a1");
  MustPut("pods", "ns/p", "p1");
  MustPut("workflows", "ns/a", "a2");
  ASSERT_OK(store_->Delete("workflows", "ns/a", std::nullopt));
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 0);
  ASSERT_OK(watcher);
  std::vector<Event> events = ReadEvents(**watcher, 4);
  EXPECT_THAT(events, ElementsAre(EventIs(EventType::kPut, "workflows", "ns/a", "a1"),
                                  EventIs(EventType::kPut, "pods", "ns/p", "p1"),
                                  EventIs(EventType::kPut, "workflows", "ns/a", "a2"),
                                  // A delete carries the last value before deletion.
                                  EventIs(EventType::kDelete, "workflows", "ns/a", "a2")));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].record.resource_version, i + 1);
  }
  // Creation is told apart from replacement (Kubernetes' ADDED vs MODIFIED).
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[0].created);
  EXPECT_TRUE(events[1].created);
  EXPECT_FALSE(events[2].created);
}

TEST_P(StoreContractTest, WatchFromMiddleVersionResumesWithoutGaps) {
  ASSERT_NE(store_, nullptr);
  for (int i = 1; i <= 10; ++i) MustPut("workflows", "ns/k" + std::to_string(i), "v");
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 4);
  ASSERT_OK(watcher);
  std::vector<Event> first = ReadEvents(**watcher, 6);
  ASSERT_EQ(first.size(), 6u);
  // Writes after the watch started continue the same sequence.
  for (int i = 11; i <= 13; ++i) MustPut("workflows", "ns/k" + std::to_string(i), "v");
  std::vector<Event> second = ReadEvents(**watcher, 3);
  ASSERT_EQ(second.size(), 3u);
  uint64_t expected = 5;
  for (const std::vector<Event>* batch : {&first, &second}) {
    for (const Event& e : *batch) {
      EXPECT_EQ(e.record.resource_version, expected);
      EXPECT_EQ(e.record.key, "ns/k" + std::to_string(expected));
      ++expected;
    }
  }
}

TEST_P(StoreContractTest, WatchFiltersByKindAndPrefix) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("workflows", "ns1/", 0);
  ASSERT_OK(watcher);
  MustPut("workflows", "ns2/a", "x");
  MustPut("pods", "ns1/a", "x");
  MustPut("workflows", "ns1/a", "want1");
  MustPut("workflows", "ns10/a", "x");
  ASSERT_OK(store_->Delete("pods", "ns1/a", std::nullopt));
  ASSERT_OK(store_->Delete("workflows", "ns1/a", std::nullopt));
  std::vector<Event> events = ReadEvents(**watcher, 2);
  EXPECT_THAT(events, ElementsAre(EventIs(EventType::kPut, "workflows", "ns1/a", "want1"),
                                  EventIs(EventType::kDelete, "workflows", "ns1/a", "want1")));
  EXPECT_EQ(events.back().record.resource_version, store_->CurrentVersion());
  // Nothing else is pending.
  EXPECT_THAT((*watcher)->Next(absl::Now()), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, NextTimesOutWithEmptyVector) {
  ASSERT_NE(store_, nullptr);
  MustPut("pods", "ns/a", "x");
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("workflows", "", 0);
  ASSERT_OK(watcher);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Event>> events = (*watcher)->Next(start + absl::Milliseconds(50));
  ASSERT_OK(events);
  EXPECT_THAT(*events, IsEmpty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
  // A deadline in the past polls.
  EXPECT_THAT((*watcher)->Next(absl::InfinitePast()), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, BlockedNextWakesOnWrite) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 0);
  ASSERT_OK(watcher);
  std::thread writer([this] {
    absl::SleepFor(absl::Milliseconds(20));
    MustPut("workflows", "ns/a", "x");
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Event>> events = (*watcher)->Next(start + absl::Seconds(10));
  writer.join();
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre(EventIs(EventType::kPut, "workflows", "ns/a", "x")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_P(StoreContractTest, CancelWakesBlockedNext) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 0);
  ASSERT_OK(watcher);
  Watcher* w = watcher->get();
  std::thread canceller([w] {
    absl::SleepFor(absl::Milliseconds(20));
    w->Cancel();
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Event>> events = w->Next(absl::InfiniteFuture());
  canceller.join();
  EXPECT_THAT(events, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // Cancellation is permanent, even with events pending.
  MustPut("workflows", "ns/a", "x");
  EXPECT_THAT(w->Next(absl::Now() + absl::Seconds(1)), StatusIs(absl::StatusCode::kCancelled));
}

TEST_P(StoreContractTest, WatcherOutlivingStoreIsCancelled) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 0);
  ASSERT_OK(watcher);
  Watcher* w = watcher->get();
  std::thread closer([this] {
    absl::SleepFor(absl::Milliseconds(20));
    store_.reset();
  });
  EXPECT_THAT(w->Next(absl::InfiniteFuture()), StatusIs(absl::StatusCode::kCancelled));
  closer.join();
  EXPECT_THAT(w->Next(absl::InfiniteFuture()), StatusIs(absl::StatusCode::kCancelled));
}

TEST_P(StoreContractTest, ConcurrentWritersLoseNoUpdates) {
  ASSERT_NE(store_, nullptr);
  constexpr int kThreads = 4;
  constexpr int kIncrementsPerThread = 25;
  ASSERT_OK(store_->Put("workflows", "ns/counter", "0", kMustNotExist));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        // Optimistic read-modify-write; bounded so a bug cannot hang the test.
        bool done = false;
        for (int attempt = 0; attempt < 10000 && !done; ++attempt) {
          absl::StatusOr<Record> r = store_->Get("workflows", "ns/counter");
          if (!r.ok()) break;
          int count = 0;
          if (!absl::SimpleAtoi(r->value, &count)) break;
          const std::string next = std::to_string(count + 1);
          absl::StatusOr<uint64_t> v =
              store_->Put("workflows", "ns/counter", next, r->resource_version);
          if (v.ok()) {
            done = true;
          } else if (v.status().code() != absl::StatusCode::kAborted) {
            break;
          }
        }
        if (!done) ++failures;
        // Unconditional writes from every thread interleave with the counter.
        if (!store_->Put("pods", "ns/t" + std::to_string(t), std::to_string(i), std::nullopt)
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->Get("workflows", "ns/counter")->value,
            std::to_string(kThreads * kIncrementsPerThread));
  // One version per successful write: the create, every increment, every pod write.
  EXPECT_EQ(store_->CurrentVersion(), 1u + 2 * kThreads * kIncrementsPerThread);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store_->Watch("", "", 0);
  ASSERT_OK(watcher);
  std::vector<Event> events = ReadEvents(**watcher, store_->CurrentVersion());
  ASSERT_EQ(events.size(), store_->CurrentVersion());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].record.resource_version, i + 1);
}

TEST_P(StoreContractTest, WatchFromTrimmedVersionIsOutOfRange) {
  StoreTestOptions options;
  options.log_retention = 5;
  store_ = Open(options);
  ASSERT_NE(store_, nullptr);
  for (int i = 1; i <= 20; ++i) MustPut("workflows", "ns/k" + std::to_string(i), "v");
  // The log holds versions 16..20.
  EXPECT_THAT(store_->Watch("", "", 0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(store_->Watch("workflows", "", 14), StatusIs(absl::StatusCode::kOutOfRange));
  absl::StatusOr<std::unique_ptr<Watcher>> oldest = store_->Watch("", "", 15);
  ASSERT_OK(oldest);
  std::vector<Event> events = ReadEvents(**oldest, 5);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events.front().record.resource_version, 16u);

  // A watcher that falls behind the retention learns it on Next.
  absl::StatusOr<std::unique_ptr<Watcher>> slow = store_->Watch("", "", 20);
  ASSERT_OK(slow);
  for (int i = 21; i <= 30; ++i) MustPut("workflows", "ns/k" + std::to_string(i), "v");
  EXPECT_THAT((*slow)->Next(absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_OK(store_->Watch("", "", 25));
}

TEST_P(StoreContractTest, RejectsBadOptionsAndKeys) {
  StoreTestOptions zero_retention;
  zero_retention.log_retention = 0;
  EXPECT_THAT(GetParam().open(zero_retention), StatusIs(absl::StatusCode::kInvalidArgument));
  StoreTestOptions duplicate;
  duplicate.kinds = {"pods", "pods"};
  EXPECT_THAT(GetParam().open(duplicate), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_NE(store_, nullptr);
  EXPECT_THAT(store_->Put("pods", "", "v", std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace contract_internal
}  // namespace argonaut::store
