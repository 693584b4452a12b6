// The behaviour every EventBus backend must share, as one value-
// parameterized suite. A backend's test instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Local, BusContractTest,
//                            ::testing::Values(BusFactory{"Local", MakeLocal}),
//                            BusFactoryName);
//
// Include this header from exactly one .cc per test binary.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
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
#include "services/events/bus/bus.h"

namespace argonaut::events::bus {

// One backend's storage for one test: Open() may be called again after the
// previous bus was destroyed, and must then see the same log.
class BusBackend {
 public:
  virtual ~BusBackend() = default;
  virtual absl::StatusOr<std::unique_ptr<EventBus>> Open() = 0;
};

struct BusFactory {
  std::string name;
  // A fresh, empty log; nullptr with a message in *skip to skip the test.
  std::function<std::unique_ptr<BusBackend>(std::string* skip)> make;
};

inline std::string BusFactoryName(const ::testing::TestParamInfo<BusFactory>& info) {
  return info.param.name;
}

inline CloudEvent TestEvent(std::string source, std::string subject, nlohmann::json body) {
  CloudEvent event;
  event.id = NewEventId();
  event.source = std::move(source);
  event.type = "webhook";
  event.subject = std::move(subject);
  event.time = absl::FromUnixNanos(1765104772123456789);
  event.data = {{"header", nlohmann::json::object()}, {"body", std::move(body)}};
  return event;
}

class BusContractTest : public ::testing::TestWithParam<BusFactory> {
 protected:
  void SetUp() override {
    std::string skip;
    backend_ = GetParam().make(&skip);
    if (backend_ == nullptr) GTEST_SKIP() << skip;
    Reopen();
  }

  void Reopen() {
    bus_.reset();
    absl::StatusOr<std::unique_ptr<EventBus>> bus = backend_->Open();
    ASSERT_OK(bus);
    bus_ = *std::move(bus);
  }

  // Registers a consumer at the head (its first contact).
  void Register(std::string_view consumer) {
    absl::StatusOr<std::vector<StoredEvent>> none =
        bus_->Read(consumer, 10, absl::Now() + absl::Milliseconds(50));
    ASSERT_OK(none);
    EXPECT_TRUE(none->empty());
  }

  uint64_t MustPublish(const CloudEvent& event) {
    absl::StatusOr<uint64_t> offset = bus_->Publish(event);
    EXPECT_OK(offset);
    return offset.value_or(0);
  }

  // Reads until n events arrived (without acking) or 10 s passed.
  std::vector<StoredEvent> ReadN(std::string_view consumer, size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::vector<StoredEvent>> got = bus_->Read(consumer, n, deadline);
      EXPECT_OK(got);
      if (!got.ok()) return {};
      if (got->size() >= n) return *std::move(got);
    }
    return bus_->Read(consumer, n, absl::Now()).value_or(std::vector<StoredEvent>{});
  }

  std::unique_ptr<BusBackend> backend_;
  std::unique_ptr<EventBus> bus_;
};

TEST_P(BusContractTest, PublishReadAckInOrder) {
  Register("sensor-a");
  std::vector<CloudEvent> sent;
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(TestEvent("webhook", "example", {{"n", i}}));
    offsets.push_back(MustPublish(sent.back()));
    if (i > 0) {
      EXPECT_GT(offsets[i], offsets[i - 1]);
    }
  }
  std::vector<StoredEvent> got = ReadN("sensor-a", 5);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].offset, offsets[i]);
    EXPECT_EQ(got[i].event, sent[i]);
  }
  // No ack yet: the same events again.
  got = ReadN("sensor-a", 5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].offset, offsets[0]);

  ASSERT_OK(bus_->Ack("sensor-a", offsets[2]));
  got = ReadN("sensor-a", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].offset, offsets[3]);
  EXPECT_EQ(got[1].offset, offsets[4]);
  // Acking an older offset changes nothing.
  ASSERT_OK(bus_->Ack("sensor-a", offsets[0]));
  got = ReadN("sensor-a", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].offset, offsets[3]);

  ASSERT_OK(bus_->Ack("sensor-a", offsets[4]));
  absl::StatusOr<std::vector<StoredEvent>> none =
      bus_->Read("sensor-a", 10, absl::Now() + absl::Milliseconds(100));
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(BusContractTest, MaxBoundsOneRead) {
  Register("c");
  for (int i = 0; i < 7; ++i) MustPublish(TestEvent("s", "e", i));
  std::vector<StoredEvent> got = ReadN("c", 3);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_OK(bus_->Ack("c", got.back().offset));
  got = ReadN("c", 4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].event.data["body"], 3);
  EXPECT_EQ(got[3].event.data["body"], 6);
}

TEST_P(BusContractTest, NewConsumerStartsAtTheHead) {
  MustPublish(TestEvent("s", "e", "before"));
  Register("late");
  uint64_t after = MustPublish(TestEvent("s", "e", "after"));
  std::vector<StoredEvent> got = ReadN("late", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, after);
  EXPECT_EQ(got[0].event.data["body"], "after");
}

TEST_P(BusContractTest, ConsumersAreIndependent) {
  Register("one");
  Register("two");
  uint64_t first = MustPublish(TestEvent("s", "e", 1));
  MustPublish(TestEvent("s", "e", 2));
  ASSERT_EQ(ReadN("one", 2).size(), 2u);
  ASSERT_OK(bus_->Ack("one", first));
  std::vector<StoredEvent> one = ReadN("one", 1);
  std::vector<StoredEvent> two = ReadN("two", 2);
  ASSERT_EQ(one.size(), 1u);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].offset, first);
}

TEST_P(BusContractTest, UnackedEventsAreRedeliveredAfterReopen) {
  Register("sensor");
  std::vector<CloudEvent> sent;
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 4; ++i) {
    sent.push_back(TestEvent("webhook", "example", i));
    offsets.push_back(MustPublish(sent.back()));
  }
  ASSERT_EQ(ReadN("sensor", 4).size(), 4u);
  ASSERT_OK(bus_->Ack("sensor", offsets[1]));
  Reopen();
  std::vector<StoredEvent> got = ReadN("sensor", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].offset, offsets[2]);
  EXPECT_EQ(got[0].event, sent[2]);
  EXPECT_EQ(got[1].event, sent[3]);
}

TEST_P(BusContractTest, NothingAckedIsReplayedAfterReopen) {
  Register("sensor");
  uint64_t last = 0;
  for (int i = 0; i < 3; ++i) last = MustPublish(TestEvent("s", "e", i));
  ASSERT_EQ(ReadN("sensor", 3).size(), 3u);
  ASSERT_OK(bus_->Ack("sensor", last));
  Reopen();
  absl::StatusOr<std::vector<StoredEvent>> none =
      bus_->Read("sensor", 10, absl::Now() + absl::Milliseconds(200));
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  uint64_t next = MustPublish(TestEvent("s", "e", "new"));
  EXPECT_GT(next, last);
  std::vector<StoredEvent> got = ReadN("sensor", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, next);
}

TEST_P(BusContractTest, ConcurrentPublishersLoseNothing) {
  Register("all");
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        CloudEvent e = TestEvent(absl::StrCat("src", t), "e", i);
        if (bus_->Publish(e).ok()) {
          ids[t].push_back(e.id);
        } else {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> want;
  for (const auto& v : ids) want.insert(v.begin(), v.end());
  std::set<std::string> got;
  uint64_t previous = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (got.size() < want.size() && absl::Now() < deadline) {
    absl::StatusOr<std::vector<StoredEvent>> batch =
        bus_->Read("all", 64, absl::Now() + absl::Seconds(1));
    ASSERT_OK(batch);
    for (const StoredEvent& e : *batch) {
      EXPECT_GT(e.offset, previous);
      previous = e.offset;
      EXPECT_TRUE(got.insert(e.event.id).second) << "delivered twice: " << e.event.id;
    }
    if (!batch->empty()) {
      ASSERT_OK(bus_->Ack("all", batch->back().offset));
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_P(BusContractTest, ReadWaitsUntilTheDeadline) {
  Register("waiter");
  absl::Time start = absl::Now();
  absl::StatusOr<std::vector<StoredEvent>> none =
      bus_->Read("waiter", 10, start + absl::Milliseconds(300));
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(3));

  // A deadline already past answers at once.
  start = absl::Now();
  none = bus_->Read("waiter", 10, start - absl::Seconds(1));
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_P(BusContractTest, ReadWakesUpOnPublish) {
  Register("waiter");
  std::thread publisher([&] {
    absl::SleepFor(absl::Milliseconds(200));
    MustPublish(TestEvent("s", "e", "wake"));
  });
  absl::Time start = absl::Now();
  absl::StatusOr<std::vector<StoredEvent>> got =
      bus_->Read("waiter", 10, start + absl::Seconds(20));
  publisher.join();
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].event.data["body"], "wake");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_P(BusContractTest, RecentIsPerSourceNewestLast) {
  MustPublish(TestEvent("alpha", "e", 1));
  MustPublish(TestEvent("beta", "e", 2));
  MustPublish(TestEvent("alpha", "e", 3));
  MustPublish(TestEvent("alpha", "other", 4));
  MustPublish(TestEvent("beta", "e", 5));
  absl::StatusOr<std::vector<StoredEvent>> two = bus_->Recent("alpha", 2);
  ASSERT_OK(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].event.data["body"], 3);
  EXPECT_EQ((*two)[1].event.data["body"], 4);
  EXPECT_LT((*two)[0].offset, (*two)[1].offset);
  absl::StatusOr<std::vector<StoredEvent>> all = bus_->Recent("alpha", 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].event.data["body"], 1);
  absl::StatusOr<std::vector<StoredEvent>> none = bus_->Recent("gamma", 10);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(BusContractTest, EventsOverTheSizeCapAreRefused) {
  Register("c");
  CloudEvent big = TestEvent("s", "e", std::string(1100 * 1024, 'x'));
  absl::StatusOr<uint64_t> refused = bus_->Publish(big);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("1048576-byte limit"));
  CloudEvent fits = TestEvent("s", "e", std::string(900 * 1024, 'y'));
  uint64_t offset = MustPublish(fits);
  std::vector<StoredEvent> got = ReadN("c", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, offset);
  EXPECT_EQ(got[0].event, fits);
}

TEST_P(BusContractTest, FillsInIdAndTime) {
  Register("c");
  CloudEvent bare;
  bare.source = "s";
  bare.type = "calendar";
  bare.subject = "e";
  MustPublish(bare);
  std::vector<StoredEvent> got = ReadN("c", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].event.id.empty());
  EXPECT_GT(got[0].event.time, absl::Now() - absl::Minutes(1));
}

TEST_P(BusContractTest, EmptyConsumerNameIsRefused) {
  EXPECT_EQ(bus_->Read("", 1, absl::Now()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bus_->Ack("", 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(BusContractTest, RemovedConsumerStartsAgainAtTheHead) {
  Register("gone");
  MustPublish(TestEvent("s", "e", 1));
  ASSERT_OK(bus_->RemoveConsumer("gone"));
  ASSERT_OK(bus_->RemoveConsumer("never-existed"));
  Register("gone");
  uint64_t fresh = MustPublish(TestEvent("s", "e", 2));
  std::vector<StoredEvent> got = ReadN("gone", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, fresh);
}

}  // namespace argonaut::events::bus
