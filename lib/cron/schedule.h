// Schedule: one cron schedule as Argo's CronWorkflow reads it (robfig/cron v3's
// ParseStandard): five fields `minute hour day-of-month month day-of-week`
// with `*`/`?`, ranges `a-b`, steps `/n`, lists `a,b` and names (JAN..DEC,
// SUN..SAT, any case); the descriptors @yearly @annually @monthly @weekly
// @daily @midnight @hourly and `@every <Go duration>`; an optional
// `CRON_TZ=<zone>` or `TZ=<zone>` prefix.
//
//   ASSIGN_OR_RETURN(Schedule s, Schedule::Parse("*/5 9-17 * * MON-FRI", zone));
//   ASSIGN_OR_RETURN(absl::Time next, s.Next(absl::Now()));
//
// Times are matched in the schedule's zone, minute by minute, with these DST
// rules: a wall time that does not exist (spring forward) fires at the
// transition instant, a wall time that happens twice (fall back) fires at its
// first occurrence only. Next/Prev look at most five years away (as robfig
// does) and fail for schedules that never match, such as 30 February.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::cron {

class Schedule {
 public:
  // `default_zone` applies when the text has no CRON_TZ=/TZ= prefix. Errors
  // name the part at fault (`minute field "61": ...`); callers prefix the
  // field path.
  static absl::StatusOr<Schedule> Parse(std::string_view text, absl::TimeZone default_zone);

  // The first activation strictly after `t`.
  absl::StatusOr<absl::Time> Next(absl::Time t) const;
  // The last activation strictly before `t`. For `@every` there is no
  // absolute grid: `anchor` (a previous activation) defines it.
  absl::StatusOr<absl::Time> Prev(absl::Time t, absl::Time anchor) const;

  absl::TimeZone zone() const { return zone_; }
  const std::string& text() const { return text_; }
  bool is_every() const { return every_ > absl::ZeroDuration(); }

 private:
  Schedule() = default;
  bool DayMatches(int day_of_month, int month, int weekday) const;

  std::string text_;
  absl::TimeZone zone_;
  absl::Duration every_ = absl::ZeroDuration();
  uint64_t minutes_ = 0;  // bit n: minute n matches
  uint64_t hours_ = 0;
  uint64_t days_ = 0;      // bits 1..31
  uint64_t months_ = 0;    // bits 1..12
  uint64_t weekdays_ = 0;  // bits 0..6, Sunday = 0
  // `*` or `?` in the day fields: robfig ANDs the two day fields when either
  // is a star and ORs them otherwise (classic cron).
  bool dom_star_ = false;
  bool dow_star_ = false;
};

}  // namespace argonaut::cron
