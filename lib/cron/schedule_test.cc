#include "lib/cron/schedule.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cron {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

std::string Fmt(absl::Time t, absl::TimeZone z = absl::UTCTimeZone()) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, z);
}

// Next activation after `from`, as RFC 3339 in UTC (or an error text).
std::string NextOf(const std::string& schedule, const std::string& from,
                   absl::TimeZone zone = absl::UTCTimeZone()) {
  absl::StatusOr<Schedule> s = Schedule::Parse(schedule, zone);
  if (!s.ok()) return std::string(s.status().message());
  absl::StatusOr<absl::Time> n = s->Next(At(from));
  if (!n.ok()) return std::string(n.status().message());
  return Fmt(*n);
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone(name, &z)) << name;
  return z;
}

TEST(ScheduleTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(NextOf("* * * * *", "2024-03-01T10:00:00Z"), "2024-03-01T10:01:00Z");
  EXPECT_EQ(NextOf("* * * * *", "2024-03-01T10:00:59.9Z"), "2024-03-01T10:01:00Z");
  EXPECT_EQ(NextOf("* * * * *", "2024-12-31T23:59:30Z"), "2025-01-01T00:00:00Z");
}

TEST(ScheduleTest, StepsRangesListsAndNames) {
  EXPECT_EQ(NextOf("*/5 * * * *", "2024-03-01T10:03:00Z"), "2024-03-01T10:05:00Z");
  EXPECT_EQ(NextOf("*/5 * * * *", "2024-03-01T10:55:00Z"), "2024-03-01T11:00:00Z");
  EXPECT_EQ(NextOf("10-20/4 * * * *", "2024-03-01T10:15:00Z"), "2024-03-01T10:18:00Z");
  EXPECT_EQ(NextOf("7/20 * * * *", "2024-03-01T10:30:00Z"), "2024-03-01T10:47:00Z");
  EXPECT_EQ(NextOf("0,30 9 * * *", "2024-03-01T09:10:00Z"), "2024-03-01T09:30:00Z");
  // 2024-03-01 is a Friday: the next weekday run is Monday.
  EXPECT_EQ(NextOf("0 9 * * MON-FRI", "2024-03-01T10:00:00Z"), "2024-03-04T09:00:00Z");
  EXPECT_EQ(NextOf("0 9 * * mon-fri", "2024-03-01T10:00:00Z"), "2024-03-04T09:00:00Z");
  EXPECT_EQ(NextOf("0 0 1 JUN ?", "2024-03-01T10:00:00Z"), "2024-06-01T00:00:00Z");
  EXPECT_EQ(NextOf("0 0 * * 0", "2024-03-01T10:00:00Z"), "2024-03-03T00:00:00Z");
}

TEST(ScheduleTest, DayOfMonthAndWeekdayAreOredWhenBothRestricted) {
  // The 15th or any Monday (classic cron); 2024-03-04 is a Monday.
  EXPECT_EQ(NextOf("0 0 15 * MON", "2024-03-01T10:00:00Z"), "2024-03-04T00:00:00Z");
  EXPECT_EQ(NextOf("0 0 15 * MON", "2024-03-12T10:00:00Z"), "2024-03-15T00:00:00Z");
  // With a star in one of them both must hold.
  EXPECT_EQ(NextOf("0 0 15 * *", "2024-03-01T10:00:00Z"), "2024-03-15T00:00:00Z");
  // `*/1` keeps the star meaning, `*/2` does not (robfig's starBit).
  EXPECT_EQ(NextOf("0 0 */1 * MON", "2024-03-01T10:00:00Z"), "2024-03-04T00:00:00Z");
  EXPECT_EQ(NextOf("0 0 */2 * MON", "2024-03-01T10:00:00Z"), "2024-03-03T00:00:00Z");
}

TEST(ScheduleTest, Descriptors) {
  EXPECT_EQ(NextOf("@hourly", "2024-03-01T10:20:00Z"), "2024-03-01T11:00:00Z");
  EXPECT_EQ(NextOf("@daily", "2024-03-01T10:20:00Z"), "2024-03-02T00:00:00Z");
  EXPECT_EQ(NextOf("@midnight", "2024-03-01T10:20:00Z"), "2024-03-02T00:00:00Z");
  EXPECT_EQ(NextOf("@weekly", "2024-03-01T10:20:00Z"), "2024-03-03T00:00:00Z");
  EXPECT_EQ(NextOf("@monthly", "2024-03-01T10:20:00Z"), "2024-04-01T00:00:00Z");
  EXPECT_EQ(NextOf("@yearly", "2024-03-01T10:20:00Z"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(NextOf("@annually", "2024-03-01T10:20:00Z"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(NextOf("@every 90s", "2024-03-01T10:20:00.5Z"), "2024-03-01T10:21:30Z");
  EXPECT_EQ(NextOf("@every 1h30m", "2024-03-01T10:20:00Z"), "2024-03-01T11:50:00Z");
  // Below a second rounds up to one second.
  EXPECT_EQ(NextOf("@every 10ms", "2024-03-01T10:20:00Z"), "2024-03-01T10:20:01Z");
}

TEST(ScheduleTest, TimeZones) {
  const absl::TimeZone la = Zone("America/Los_Angeles");
  // 9:00 in Los Angeles is 17:00 UTC in winter (PST, -8).
  EXPECT_EQ(NextOf("0 9 * * *", "2024-01-10T00:00:00Z", la), "2024-01-10T17:00:00Z");
  EXPECT_EQ(NextOf("CRON_TZ=Asia/Tokyo 0 9 * * *", "2024-01-10T00:00:00Z"), "2024-01-11T00:00:00Z");
  EXPECT_EQ(NextOf("TZ=Asia/Tokyo 0 9 * * *", "2024-01-10T00:00:00Z", la), "2024-01-11T00:00:00Z");
  EXPECT_EQ(NextOf("CRON_TZ=Mars/Olympus 0 9 * * *", "2024-01-10T00:00:00Z"),
            "unknown time zone \"Mars/Olympus\"");
}

TEST(ScheduleTest, DaylightSavingTransitions) {
  const absl::TimeZone ny = Zone("America/New_York");
  // 2024-03-10 02:30 does not exist in New York: the run happens at the jump (07:00 UTC),
  // once.
  EXPECT_EQ(NextOf("30 2 * * *", "2024-03-10T05:00:00Z", ny), "2024-03-10T07:00:00Z");
  EXPECT_EQ(NextOf("30 2 * * *", "2024-03-10T07:00:00Z", ny), "2024-03-11T06:30:00Z");
  // 2024-11-03 01:30 happens twice: only the first (EDT, 05:30 UTC) runs.
  EXPECT_EQ(NextOf("30 1 * * *", "2024-11-03T04:00:00Z", ny), "2024-11-03T05:30:00Z");
  EXPECT_EQ(NextOf("30 1 * * *", "2024-11-03T05:30:00Z", ny), "2024-11-04T06:30:00Z");
  // An hourly schedule keeps an hour-long gap across the repeated hour.
  EXPECT_EQ(NextOf("0 * * * *", "2024-11-03T05:00:00Z", ny), "2024-11-03T07:00:00Z");
}

TEST(ScheduleTest, ImpossibleDatesFailInsteadOfLooping) {
  EXPECT_THAT(NextOf("0 0 30 2 *", "2024-01-01T00:00:00Z"), HasSubstr("no activation"));
  EXPECT_THAT(NextOf("0 0 31 4,6,9,11 *", "2024-01-01T00:00:00Z"), HasSubstr("no activation"));
  // 29 February exists within five years.
  EXPECT_EQ(NextOf("0 0 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
}

TEST(ScheduleTest, Prev) {
  auto s = Schedule::Parse("*/15 * * * *", absl::UTCTimeZone());
  ASSERT_OK(s.status());
  EXPECT_EQ(Fmt(*s->Prev(At("2024-03-01T10:20:00Z"), absl::InfinitePast())),
            "2024-03-01T10:15:00Z");
  EXPECT_EQ(Fmt(*s->Prev(At("2024-03-01T10:15:00Z"), absl::InfinitePast())),
            "2024-03-01T10:00:00Z");
  EXPECT_EQ(Fmt(*s->Prev(At("2024-03-01T00:00:00Z"), absl::InfinitePast())),
            "2024-02-29T23:45:00Z");
  auto every = Schedule::Parse("@every 10m", absl::UTCTimeZone());
  ASSERT_OK(every.status());
  EXPECT_EQ(Fmt(*every->Prev(At("2024-03-01T10:35:00Z"), At("2024-03-01T10:02:00Z"))),
            "2024-03-01T10:32:00Z");
  EXPECT_THAT(every->Prev(At("2024-03-01T10:05:00Z"), At("2024-03-01T10:02:00Z")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ScheduleTest, ErrorsNameTheField) {
  auto err = [](const std::string& s) {
    absl::StatusOr<Schedule> p = Schedule::Parse(s, absl::UTCTimeZone());
    EXPECT_FALSE(p.ok()) << s;
    return p.ok() ? std::string() : std::string(p.status().message());
  };
  EXPECT_THAT(err("61 * * * *"), HasSubstr("minute field \"61\": end of range (61) above"));
  EXPECT_THAT(err("* 24 * * *"), HasSubstr("hour field"));
  EXPECT_THAT(err("* * 0 * *"), HasSubstr("day-of-month field \"0\": beginning of range (0)"));
  EXPECT_THAT(err("* * * 13 *"), HasSubstr("month field"));
  EXPECT_THAT(err("* * * * 7"), HasSubstr("day-of-week field"));
  EXPECT_THAT(err("* * * * FUNDAY"), HasSubstr("\"FUNDAY\" is not a number"));
  EXPECT_THAT(err("5-1 * * * *"), HasSubstr("beyond end of range"));
  EXPECT_THAT(err("*/0 * * * *"), HasSubstr("step must be a positive number"));
  EXPECT_THAT(err("1/2/3 * * * *"), HasSubstr("too many slashes"));
  EXPECT_THAT(err("1-2-3 * * * *"), HasSubstr("too many hyphens"));
  EXPECT_THAT(err("1,,2 * * * *"), HasSubstr("empty list element"));
  EXPECT_THAT(err("* * * *"), HasSubstr("expected exactly 5 fields"));
  EXPECT_THAT(err("0 * * * * *"), HasSubstr("found 6"));
  EXPECT_THAT(err(""), HasSubstr("empty schedule"));
  EXPECT_THAT(err("@fortnightly"), HasSubstr("unrecognized descriptor"));
  EXPECT_THAT(err("@every soon"), HasSubstr("@every"));
  EXPECT_THAT(err("CRON_TZ=UTC"), HasSubstr("needs a schedule"));
  EXPECT_THAT(err("99999999999 * * * *"), HasSubstr("is not a number"));
  EXPECT_THAT(err(std::string(5000, '*')), HasSubstr("longer than"));
}

}  // namespace
}  // namespace argonaut::cron
