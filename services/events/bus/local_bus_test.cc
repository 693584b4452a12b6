#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "services/events/bus/bus_contract_test.h"
#include "services/events/bus/local.h"
#include "services/events/bus/test_util.h"

namespace argonaut::events::bus {
namespace {

class LocalBackend : public BusBackend {
 public:
  explicit LocalBackend(std::string dir, LocalBusOptions options = {})
      : dir_(std::move(dir)), options_(options) {}
  absl::StatusOr<std::unique_ptr<EventBus>> Open() override { return OpenLocalBus(dir_, options_); }

 private:
  std::string dir_;
  LocalBusOptions options_;
};

std::unique_ptr<BusBackend> MakeLocal(std::string* skip) {
  std::string dir = NewTempDir();
  if (dir.empty()) {
    *skip = "no temp dir";
    return nullptr;
  }
  return std::make_unique<LocalBackend>(dir);
}

INSTANTIATE_TEST_SUITE_P(Local, BusContractTest, ::testing::Values(BusFactory{"Local", MakeLocal}),
                         BusFactoryName);

std::unique_ptr<EventBus> MustOpen(const std::string& dir, LocalBusOptions options = {}) {
  absl::StatusOr<std::unique_ptr<EventBus>> bus = OpenLocalBus(dir, options);
  EXPECT_OK(bus);
  return bus.ok() ? *std::move(bus) : nullptr;
}

TEST(LocalBusTest, AckPastTheHeadIsOutOfRange) {
  auto bus = MustOpen(NewTempDir());
  ASSERT_NE(bus, nullptr);
  ASSERT_OK(bus->Publish(TestEvent("s", "e", 1)));
  absl::Status status = bus->Ack("c", 5);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("last published offset 1"));
}

TEST(LocalBusTest, ConcurrentPublishersShareFsyncs) {
  auto bus = MustOpen(NewTempDir());
  ASSERT_NE(bus, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ASSERT_OK(bus->Publish(TestEvent("s", "e", i)));
    });
  }
  for (std::thread& t : threads) t.join();
  LocalBusStats stats = GetLocalBusStats(*bus);
  EXPECT_EQ(stats.publishes, 400u);
  EXPECT_EQ(stats.last_offset, 400u);
  // Group commit: eight publishers waiting on fsyncs share them.
  EXPECT_LT(stats.group_commits, stats.publishes);
  std::printf("400 concurrent publishes in %llu synced writes\n",
              static_cast<unsigned long long>(stats.group_commits));
}

TEST(LocalBusTest, RetentionDropsOnlyAckedEventsUnderTheSoftLimit) {
  LocalBusOptions options;
  options.max_events = 10;
  auto bus = MustOpen(NewTempDir(), options);
  ASSERT_NE(bus, nullptr);
  ASSERT_OK(bus->Read("slow", 1, absl::Now()));
  ASSERT_OK(bus->Read("fast", 1, absl::Now()));
  uint64_t last = 0;
  for (int i = 0; i < 30; ++i) last = *bus->Publish(TestEvent("s", "e", i));
  // "slow" acked nothing: every event is kept for it.
  EXPECT_EQ(GetLocalBusStats(*bus).first_offset, 1u);
  ASSERT_OK(bus->Ack("fast", last));
  ASSERT_OK(bus->Ack("slow", 20));
  ASSERT_OK(bus->Publish(TestEvent("s", "e", "trigger retention")));
  LocalBusStats stats = GetLocalBusStats(*bus);
  // 31 events, limit 10, but only offsets up to 20 are acked by all.
  EXPECT_EQ(stats.first_offset, 21u);
  EXPECT_EQ(stats.dropped_unacked, 0u);
  EXPECT_EQ(stats.retained_deleted, 20u);
  auto got = bus->Read("slow", 100, absl::Now());
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 11u);
  EXPECT_EQ((*got)[0].offset, 21u);
  auto recent = bus->Recent("s", 100);
  ASSERT_OK(recent);
  EXPECT_EQ(recent->size(), 11u);
}

TEST(LocalBusTest, HardCapDropsUnackedAndCountsThem) {
  LocalBusOptions options;
  options.max_events = 5;
  options.hard_max_events = 8;
  auto bus = MustOpen(NewTempDir(), options);
  ASSERT_NE(bus, nullptr);
  ASSERT_OK(bus->Read("stuck", 1, absl::Now()));
  for (int i = 0; i < 12; ++i) ASSERT_OK(bus->Publish(TestEvent("s", "e", i)));
  LocalBusStats stats = GetLocalBusStats(*bus);
  EXPECT_EQ(stats.last_offset - stats.first_offset + 1, 8u);
  EXPECT_EQ(stats.dropped_unacked, 4u);
  auto got = bus->Read("stuck", 100, absl::Now());
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 8u);
  EXPECT_EQ((*got)[0].offset, 5u);
}

TEST(LocalBusTest, OffsetsNeverRestartWhenRetentionEmptiedTheLog) {
  std::string dir = NewTempDir();
  LocalBusOptions options;
  options.max_events = 0;  // keep nothing that everyone acked
  {
    auto bus = MustOpen(dir, options);
    ASSERT_NE(bus, nullptr);
    ASSERT_OK(bus->Read("c", 1, absl::Now()));
    for (int i = 0; i < 3; ++i) ASSERT_OK(bus->Publish(TestEvent("s", "e", i)));
    ASSERT_OK(bus->Ack("c", 3));
    ASSERT_OK(bus->Publish(TestEvent("s", "e", 3)));
    ASSERT_OK(bus->Ack("c", 4));
    ASSERT_OK(bus->Publish(TestEvent("s", "e", 4)));
    EXPECT_EQ(GetLocalBusStats(*bus).first_offset, 5u);
  }
  auto bus = MustOpen(dir, options);
  ASSERT_NE(bus, nullptr);
  absl::StatusOr<uint64_t> next = bus->Publish(TestEvent("s", "e", 5));
  ASSERT_OK(next);
  EXPECT_EQ(*next, 6u);
  auto got = bus->Read("c", 10, absl::Now());
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].offset, 5u);
}

TEST(LocalBusTest, MaxAgeDropsOldAckedEvents) {
  LocalBusOptions options;
  options.max_age = absl::Milliseconds(1);
  auto bus = MustOpen(NewTempDir(), options);
  ASSERT_NE(bus, nullptr);
  ASSERT_OK(bus->Read("c", 1, absl::Now()));
  ASSERT_OK(bus->Publish(TestEvent("s", "e", 1)));
  ASSERT_OK(bus->Publish(TestEvent("s", "e", 2)));
  ASSERT_OK(bus->Ack("c", 1));
  absl::SleepFor(absl::Milliseconds(1100));  // age is checked once a second
  ASSERT_OK(bus->Publish(TestEvent("s", "e", 3)));
  LocalBusStats stats = GetLocalBusStats(*bus);
  EXPECT_EQ(stats.first_offset, 2u);  // 2 is old but not acked
}

TEST(LocalBusTest, SecondOpenOfTheSameDirectoryFails) {
  std::string dir = NewTempDir();
  auto bus = MustOpen(dir);
  ASSERT_NE(bus, nullptr);
  absl::StatusOr<std::unique_ptr<EventBus>> again = OpenLocalBus(dir);
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace argonaut::events::bus
