// Calendar listeners on a FakeClock: events at the schedule's instants,
// none on excluded dates.
#include "services/events/sources/calendar.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

class CalendarTest : public ::testing::Test {
 protected:
  CalendarTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone())) {}

  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& config) {
    return EventSourceRunner::Start(MakeEventSource("cal", "calendar", {{"tick", config}}),
                                    collector_.publish(), {.clock = &clock_});
  }
  // Lets the listener go to sleep, then moves time on.
  void Advance(absl::Duration d) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (clock_.NumWaiters() < 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    clock_.Advance(d);
  }
  std::vector<std::string> Times(size_t n) {
    std::vector<std::string> out;
    for (const CloudEvent& e : collector_.WaitFor(n, absl::Seconds(5))) {
      out.push_back(e.data.value("eventTime", ""));
    }
    return out;
  }

  controller::FakeClock clock_;
  Collector collector_;
};

TEST_F(CalendarTest, FiresAtTheScheduledInstants) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"schedule", "0 * * * *"}, {"metadata", {{"a", "b"}}}}));
  Advance(absl::Minutes(59));
  Advance(absl::Minutes(1));
  EXPECT_THAT(Times(1), ::testing::ElementsAre("2026-01-01 01:00:00 +0000 UTC"));
  Advance(absl::Hours(1));
  EXPECT_THAT(Times(2), ::testing::ElementsAre("2026-01-01 01:00:00 +0000 UTC",
                                               "2026-01-01 02:00:00 +0000 UTC"));
  std::vector<CloudEvent> events = collector_.events();
  EXPECT_EQ(events[0].type, "calendar");
  EXPECT_EQ(events[0].subject, "tick");
  EXPECT_EQ(events[0].time,
            absl::FromCivil(absl::CivilSecond(2026, 1, 1, 1, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(events[0].data["metadata"], json({{"a", "b"}}));
}

TEST_F(CalendarTest, SkipsExcludedDates) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"schedule", "0 12 * * *"},
                                           {"exclusionDates", {"EXDATE:20260102T000000Z"}}}));
  Advance(absl::Hours(24));
  Advance(absl::Hours(24));
  Advance(absl::Hours(24));
  EXPECT_THAT(Times(2), ::testing::ElementsAre("2026-01-01 12:00:00 +0000 UTC",
                                               "2026-01-03 12:00:00 +0000 UTC"));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(collector_.events().size(), 2u);
}

TEST_F(CalendarTest, ScheduleInATimeZone) {
  ASSERT_OK_AND_ASSIGN(auto runner,
                       Start({{"schedule", "0 9 * * *"}, {"timezone", "America/New_York"}}));
  Advance(absl::Hours(13) + absl::Minutes(59));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(collector_.events().empty());
  Advance(absl::Minutes(1));
  EXPECT_THAT(Times(1), ::testing::ElementsAre("2026-01-01 09:00:00 -0500 EST"));
}

TEST_F(CalendarTest, Interval) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"interval", "1m30s"}}));
  Advance(absl::Seconds(90));
  Advance(absl::Seconds(90));
  EXPECT_THAT(Times(2), ::testing::ElementsAre("2026-01-01 00:01:30 +0000 UTC",
                                               "2026-01-01 00:03:00 +0000 UTC"));
}

TEST_F(CalendarTest, BadSpecsNameTheField) {
  EXPECT_THAT(
      Start({{"schedule", "61 * * * *"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.calendar.tick.schedule")));
  EXPECT_THAT(
      Start({{"schedule", "* * * * *"}, {"timezone", "Mars/Olympus"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.calendar.tick.timezone")));
  EXPECT_THAT(
      Start({{"interval", "soon"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.calendar.tick.interval")));
  EXPECT_THAT(Start(json::object()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("schedule or interval")));
  EXPECT_THAT(Start({{"schedule", "* * * * *"}, {"exclusionDates", {"2026-01-01"}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.calendar.tick.exclusionDates[0]")));
}

}  // namespace
}  // namespace argonaut::events::sources
