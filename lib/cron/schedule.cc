#include "lib/cron/schedule.h"

#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cron {
namespace {

// robfig looks this far ahead before giving up on a schedule.
constexpr int kSearchDays = 5 * 366 + 1;
constexpr size_t kMaxScheduleBytes = 1024;

struct Bounds {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // index 0 maps to `names_base`
  int names_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri",
                                                   "sat", "",    "",    "",    "",    ""};

const Bounds kMinute{"minute", 0, 59, nullptr, 0};
const Bounds kHour{"hour", 0, 23, nullptr, 0};
const Bounds kDom{"day-of-month", 1, 31, nullptr, 0};
const Bounds kMonth{"month", 1, 12, &kMonthNames, 1};
const Bounds kDow{"day-of-week", 0, 6, &kDayNames, 0};

// Splits on `sep` keeping empty parts (absl::StrSplit wants absl::string_view here).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// Whitespace-separated words.
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

absl::Status FieldError(const Bounds& b, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(b.name, " field \"", AbslView(field), "\": ", AbslView(what)));
}

absl::StatusOr<int> ParseNumber(const Bounds& b, std::string_view field, std::string_view s,
                                bool allow_names) {
  if (allow_names && b.names != nullptr) {
    const std::string lower = absl::AsciiStrToLower(AbslView(s));
    for (size_t i = 0; i < b.names->size(); ++i) {
      if (!lower.empty() && lower == (*b.names)[i]) return static_cast<int>(i) + b.names_base;
    }
  }
  int v = 0;
  if (s.empty() || s.size() > 9 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(AbslView(s), &v)) {
    return FieldError(b, field, absl::StrCat("\"", AbslView(s), "\" is not a number"));
  }
  return v;
}

// One comma-separated part: `*`, `?`, `n`, `a-b`, each optionally `/step`.
absl::Status ParseRange(const Bounds& b, std::string_view field, std::string_view part,
                        uint64_t& bits, bool& star) {
  std::vector<std::string_view> range_step = Split(part, '/');
  if (range_step.size() > 2) return FieldError(b, field, "too many slashes");
  std::vector<std::string_view> low_high = Split(range_step[0], '-');
  if (low_high.size() > 2) return FieldError(b, field, "too many hyphens");
  int start = 0, end = 0, step = 1;
  bool is_star = false;
  if (range_step[0] == "*" || range_step[0] == "?") {
    start = b.min;
    end = b.max;
    is_star = true;
  } else {
    ASSIGN_OR_RETURN(start, ParseNumber(b, field, low_high[0], true));
    if (low_high.size() == 2) {
      ASSIGN_OR_RETURN(end, ParseNumber(b, field, low_high[1], true));
    } else {
      end = start;
    }
  }
  if (range_step.size() == 2) {
    ASSIGN_OR_RETURN(step, ParseNumber(b, field, range_step[1], false));
    if (step <= 0) return FieldError(b, field, "step must be a positive number");
    // `n/step` means `n-max/step`.
    if (!is_star && low_high.size() == 1) end = b.max;
    if (step > 1) is_star = false;
  }
  if (start < b.min) {
    return FieldError(b, field,
                      absl::StrCat("beginning of range (", start, ") below minimum (", b.min, ")"));
  }
  if (end > b.max) {
    return FieldError(b, field,
                      absl::StrCat("end of range (", end, ") above maximum (", b.max, ")"));
  }
  if (start > end) {
    return FieldError(
        b, field, absl::StrCat("beginning of range (", start, ") beyond end of range (", end, ")"));
  }
  for (int v = start; v <= end; v += step) bits |= uint64_t{1} << v;
  star = star || is_star;
  return absl::OkStatus();
}

absl::Status ParseField(const Bounds& b, std::string_view field, uint64_t& bits, bool& star) {
  if (field.empty()) return FieldError(b, field, "empty");
  for (std::string_view part : Split(field, ',')) {
    if (part.empty()) return FieldError(b, field, "empty list element");
    RETURN_IF_ERROR(ParseRange(b, field, part, bits, star));
  }
  return absl::OkStatus();
}

std::optional<std::string> Descriptor(std::string_view d) {
  const std::string lower = absl::AsciiStrToLower(AbslView(d));
  if (lower == "@yearly" || lower == "@annually") return "0 0 1 1 *";
  if (lower == "@monthly") return "0 0 1 * *";
  if (lower == "@weekly") return "0 0 * * 0";
  if (lower == "@daily" || lower == "@midnight") return "0 0 * * *";
  if (lower == "@hourly") return "0 * * * *";
  return std::nullopt;
}

// The instant a wall-clock minute names, with the DST rules of schedule.h.
absl::Time WallToTime(const absl::CivilMinute& m, absl::TimeZone zone) {
  const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(m));
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;
    case absl::TimeZone::TimeInfo::REPEATED:
    case absl::TimeZone::TimeInfo::UNIQUE:
    default:
      return info.pre;
  }
}

int WeekdayNumber(absl::Weekday w) {
  switch (w) {
    case absl::Weekday::sunday:
      return 0;
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
  }
  return 0;
}

bool Bit(uint64_t bits, int n) { return (bits >> n) & 1; }

}  // namespace

absl::StatusOr<Schedule> Schedule::Parse(std::string_view text, absl::TimeZone default_zone) {
  if (text.size() > kMaxScheduleBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxScheduleBytes, " bytes (", text.size(), ")"));
  }
  Schedule s;
  s.text_ = std::string(text);
  s.zone_ = default_zone;
  // Trimmed by hand: absl::StripAsciiWhitespace returns absl::string_view here.
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
    rest.remove_suffix(1);
  }
  if (rest.empty()) return absl::InvalidArgumentError("empty schedule");
  for (std::string_view prefix : {"CRON_TZ=", "TZ="}) {
    if (rest.substr(0, prefix.size()) != prefix) continue;
    const size_t space = rest.find_first_of(" \t");
    if (space == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", AbslView(rest), "\": a time zone prefix needs a schedule after it"));
    }
    const std::string name(rest.substr(prefix.size(), space - prefix.size()));
    if (!absl::LoadTimeZone(name, &s.zone_)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown time zone \"", name, "\""));
    }
    rest.remove_prefix(space);
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
      rest.remove_prefix(1);
    }
    break;
  }
  std::string expanded;
  if (!rest.empty() && rest.front() == '@') {
    const std::string lower = absl::AsciiStrToLower(AbslView(rest));
    if (lower.rfind("@every ", 0) == 0 || lower.rfind("@every\t", 0) == 0) {
      std::string_view d = rest.substr(7);
      while (!d.empty() && std::isspace(static_cast<unsigned char>(d.front()))) d.remove_prefix(1);
      absl::Duration every;
      if (d.empty() || !absl::ParseDuration(AbslView(d), &every) ||
          every == absl::InfiniteDuration() || every == -absl::InfiniteDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("@every: \"", AbslView(d), "\" is not a duration such as 90s or 1h30m"));
      }
      // robfig runs at least every second, on whole seconds.
      every = absl::Trunc(every, absl::Seconds(1));
      if (every < absl::Seconds(1)) every = absl::Seconds(1);
      s.every_ = every;
      return s;
    }
    std::optional<std::string> d = Descriptor(rest);
    if (!d.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unrecognized descriptor \"", AbslView(rest),
                       "\" (want @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
                       "@hourly or @every <duration>)"));
    }
    expanded = *d;
    rest = expanded;
  }
  std::vector<std::string_view> fields = Words(rest);
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected exactly 5 fields (minute hour day-of-month month day-of-week), found ",
        fields.size(), ": \"", AbslView(rest), "\""));
  }
  bool unused_star = false;
  RETURN_IF_ERROR(ParseField(kMinute, fields[0], s.minutes_, unused_star));
  RETURN_IF_ERROR(ParseField(kHour, fields[1], s.hours_, unused_star));
  RETURN_IF_ERROR(ParseField(kDom, fields[2], s.days_, s.dom_star_));
  RETURN_IF_ERROR(ParseField(kMonth, fields[3], s.months_, unused_star));
  RETURN_IF_ERROR(ParseField(kDow, fields[4], s.weekdays_, s.dow_star_));
  return s;
}

bool Schedule::DayMatches(int day_of_month, int month, int weekday) const {
  if (!Bit(months_, month)) return false;
  const bool dom = Bit(days_, day_of_month);
  const bool dow = Bit(weekdays_, weekday);
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

absl::StatusOr<absl::Time> Schedule::Next(absl::Time t) const {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return absl::InvalidArgumentError("next activation of an infinite time");
  }
  if (is_every()) {
    return absl::FromUnixSeconds(absl::ToUnixSeconds(t)) + every_;
  }
  const absl::CivilMinute from = absl::ToCivilMinute(t, zone_);
  const absl::CivilDay first_day(from);
  for (int i = 0; i < kSearchDays; ++i) {
    const absl::CivilDay day = first_day + i;
    if (!DayMatches(day.day(), day.month(), WeekdayNumber(absl::GetWeekday(day)))) continue;
    for (int h = (i == 0 ? from.hour() : 0); h < 24; ++h) {
      if (!Bit(hours_, h)) continue;
      const int m0 = (i == 0 && h == from.hour()) ? from.minute() : 0;
      for (int m = m0; m < 60; ++m) {
        if (!Bit(minutes_, m)) continue;
        const absl::Time at =
            WallToTime(absl::CivilMinute(day.year(), day.month(), day.day(), h, m), zone_);
        if (at > t) return at;
      }
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text_, "\" has no activation in the five years after ",
                   absl::FormatTime(absl::RFC3339_sec, t, zone_), " (an impossible date?)"));
}

absl::StatusOr<absl::Time> Schedule::Prev(absl::Time t, absl::Time anchor) const {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return absl::InvalidArgumentError("previous activation of an infinite time");
  }
  if (is_every()) {
    if (anchor == absl::InfinitePast() || anchor >= t) {
      return absl::NotFoundError("no @every activation before the anchor");
    }
    const absl::Time base = absl::FromUnixSeconds(absl::ToUnixSeconds(anchor));
    absl::Duration rem;
    const int64_t steps = absl::IDivDuration(t - base, every_, &rem);
    absl::Time at = base + every_ * steps;
    if (at >= t) at -= every_;
    if (at <= anchor) return absl::NotFoundError("no @every activation after the anchor");
    return at;
  }
  const absl::CivilMinute from = absl::ToCivilMinute(t, zone_);
  const absl::CivilDay first_day(from);
  for (int i = 0; i < kSearchDays; ++i) {
    const absl::CivilDay day = first_day - i;
    if (!DayMatches(day.day(), day.month(), WeekdayNumber(absl::GetWeekday(day)))) continue;
    for (int h = (i == 0 ? from.hour() : 23); h >= 0; --h) {
      if (!Bit(hours_, h)) continue;
      const int m0 = (i == 0 && h == from.hour()) ? from.minute() : 59;
      for (int m = m0; m >= 0; --m) {
        if (!Bit(minutes_, m)) continue;
        const absl::Time at =
            WallToTime(absl::CivilMinute(day.year(), day.month(), day.day(), h, m), zone_);
        if (at < t) return at;
      }
    }
  }
  return absl::NotFoundError(absl::StrCat("\"", text_,
                                          "\" has no activation in the five years before ",
                                          absl::FormatTime(absl::RFC3339_sec, t, zone_)));
}

}  // namespace argonaut::cron
