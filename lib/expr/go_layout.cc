// Go reference-time layouts: formatting and parsing with the chunk set of
// Go's time package ("Mon Jan 2 15:04:05 MST 2006" and its numeric zones).
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lib/base/strings.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {
namespace {

enum class Chunk {
  kNone,  // literal text
  kLongMonth,
  kMonth,
  kNumMonth,
  kZeroMonth,
  kLongWeekDay,
  kWeekDay,
  kDay,
  kUnderDay,
  kZeroDay,
  kHour,
  kHour12,
  kZeroHour12,
  kMinute,
  kZeroMinute,
  kSecond,
  kZeroSecond,
  kLongYear,
  kYear,
  kPM,
  kpm,
  kTZ,                  // MST
  kISO8601TZ,           // Z0700
  kISO8601SecondsTZ,    // Z070000
  kISO8601ShortTZ,      // Z07
  kISO8601ColonTZ,      // Z07:00
  kISO8601ColonSecsTZ,  // Z07:00:00
  kNumTZ,               // -0700
  kNumSecondsTZ,        // -070000
  kNumShortTZ,          // -07
  kNumColonTZ,          // -07:00
  kNumColonSecondsTZ,   // -07:00:00
  kFracSecond0,         // .000 (digits fixed)
  kFracSecond9,         // .999 (trailing zeros dropped)
};

struct Token {
  Chunk chunk = Chunk::kNone;
  int digits = 0;  // for fractional seconds
  std::string_view text;
};

constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits off the next chunk of the layout: either one std token or one
// literal byte.
Token NextChunk(std::string_view& layout) {
  struct Fixed {
    std::string_view text;
    Chunk chunk;
  };
  // Longer spellings first where one is a prefix of another.
  static constexpr Fixed kFixed[] = {
      {"January", Chunk::kLongMonth},
      {"Jan", Chunk::kMonth},
      {"Monday", Chunk::kLongWeekDay},
      {"Mon", Chunk::kWeekDay},
      {"MST", Chunk::kTZ},
      {"01", Chunk::kZeroMonth},
      {"02", Chunk::kZeroDay},
      {"03", Chunk::kZeroHour12},
      {"04", Chunk::kZeroMinute},
      {"05", Chunk::kZeroSecond},
      {"06", Chunk::kYear},
      {"15", Chunk::kHour},
      {"1", Chunk::kNumMonth},
      {"2006", Chunk::kLongYear},
      {"2", Chunk::kDay},
      {"_2", Chunk::kUnderDay},
      {"3", Chunk::kHour12},
      {"4", Chunk::kMinute},
      {"5", Chunk::kSecond},
      {"PM", Chunk::kPM},
      {"pm", Chunk::kpm},
      {"-07:00:00", Chunk::kNumColonSecondsTZ},
      {"-070000", Chunk::kNumSecondsTZ},
      {"-07:00", Chunk::kNumColonTZ},
      {"-0700", Chunk::kNumTZ},
      {"-07", Chunk::kNumShortTZ},
      {"Z07:00:00", Chunk::kISO8601ColonSecsTZ},
      {"Z070000", Chunk::kISO8601SecondsTZ},
      {"Z07:00", Chunk::kISO8601ColonTZ},
      {"Z0700", Chunk::kISO8601TZ},
      {"Z07", Chunk::kISO8601ShortTZ},
  };
  Token t;
  if (layout.size() >= 2 && (layout[0] == '.' || layout[0] == ',') &&
      (layout[1] == '0' || layout[1] == '9')) {
    char kind = layout[1];
    size_t n = 1;
    while (n < layout.size() && layout[n] == kind) ++n;
    // Go only reads .000/.999 as a fraction when no digit follows.
    if (n >= layout.size() || !IsDigit(layout[n])) {
      t.chunk = kind == '0' ? Chunk::kFracSecond0 : Chunk::kFracSecond9;
      t.digits = static_cast<int>(n - 1);
      t.text = layout.substr(0, n);
      layout.remove_prefix(n);
      return t;
    }
  }
  if (StartsWith(layout, "_2006")) {  // Go reads this as '_' followed by the year
    t.text = layout.substr(0, 1);
    layout.remove_prefix(1);
    return t;
  }
  for (const Fixed& f : kFixed) {
    if (StartsWith(layout, f.text)) {
      // "Jan"/"Mon" followed by a lower-case letter is a word ("Janet"), not a chunk.
      if ((f.chunk == Chunk::kMonth || f.chunk == Chunk::kWeekDay) && layout.size() > 3 &&
          layout[3] >= 'a' && layout[3] <= 'z') {
        continue;
      }
      t.chunk = f.chunk;
      t.text = layout.substr(0, f.text.size());
      layout.remove_prefix(f.text.size());
      return t;
    }
  }
  t.text = layout.substr(0, 1);
  layout.remove_prefix(1);
  return t;
}

std::string Pad(int64_t v, int width, char fill = '0') {
  bool neg = v < 0;
  std::string s = std::to_string(neg ? -v : v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), fill);
  return neg ? "-" + s : s;
}

// Numeric zone: sign, hours, [sep] minutes, [sep seconds].
std::string FormatOffset(int32_t offset, bool colon, bool minutes, bool seconds) {
  std::string out(1, offset < 0 ? '-' : '+');
  int32_t a = offset < 0 ? -offset : offset;
  out += Pad(a / 3600, 2);
  if (minutes) {
    if (colon) out += ':';
    out += Pad(a / 60 % 60, 2);
  }
  if (seconds) {
    if (colon) out += ':';
    out += Pad(a % 60, 2);
  }
  return out;
}

}  // namespace

std::string FormatGoTime(std::string_view layout, const GoTime& t) {
  absl::TimeZone zone = absl::FixedTimeZone(t.offset);
  absl::CivilSecond cs = absl::ToCivilSecond(t.instant, zone);
  int weekday = (static_cast<int>(absl::GetWeekday(absl::CivilDay(cs))) + 1) % 7;  // Sunday 0
  int64_t nanos = absl::ToInt64Nanoseconds(t.instant - absl::FromCivil(cs, zone));
  int hour12 = cs.hour() % 12 == 0 ? 12 : cs.hour() % 12;
  std::string out;
  while (!layout.empty()) {
    Token tok = NextChunk(layout);
    switch (tok.chunk) {
      case Chunk::kNone:
        out.append(tok.text);
        break;
      case Chunk::kLongMonth:
        out += kMonths[cs.month() - 1];
        break;
      case Chunk::kMonth:
        out += std::string(kMonths[cs.month() - 1]).substr(0, 3);
        break;
      case Chunk::kNumMonth:
        out += std::to_string(cs.month());
        break;
      case Chunk::kZeroMonth:
        out += Pad(cs.month(), 2);
        break;
      case Chunk::kLongWeekDay:
        out += kDays[weekday];
        break;
      case Chunk::kWeekDay:
        out += std::string(kDays[weekday]).substr(0, 3);
        break;
      case Chunk::kDay:
        out += std::to_string(cs.day());
        break;
      case Chunk::kUnderDay:
        out += Pad(cs.day(), 2, ' ');
        break;
      case Chunk::kZeroDay:
        out += Pad(cs.day(), 2);
        break;
      case Chunk::kHour:
        out += Pad(cs.hour(), 2);
        break;
      case Chunk::kHour12:
        out += std::to_string(hour12);
        break;
      case Chunk::kZeroHour12:
        out += Pad(hour12, 2);
        break;
      case Chunk::kMinute:
        out += std::to_string(cs.minute());
        break;
      case Chunk::kZeroMinute:
        out += Pad(cs.minute(), 2);
        break;
      case Chunk::kSecond:
        out += std::to_string(cs.second());
        break;
      case Chunk::kZeroSecond:
        out += Pad(cs.second(), 2);
        break;
      case Chunk::kLongYear:
        out += Pad(cs.year(), 4);
        break;
      case Chunk::kYear: {
        int64_t y = cs.year() % 100;
        out += Pad(y < 0 ? -y : y, 2);
        break;
      }
      case Chunk::kPM:
        out += cs.hour() >= 12 ? "PM" : "AM";
        break;
      case Chunk::kpm:
        out += cs.hour() >= 12 ? "pm" : "am";
        break;
      case Chunk::kTZ:
        // A fixed zone has no abbreviation; Go prints the -0700 form then.
        out += t.offset == 0 ? "UTC" : FormatOffset(t.offset, false, true, false);
        break;
      case Chunk::kISO8601TZ:
      case Chunk::kISO8601SecondsTZ:
      case Chunk::kISO8601ShortTZ:
      case Chunk::kISO8601ColonTZ:
      case Chunk::kISO8601ColonSecsTZ:
        if (t.offset == 0) {
          out += 'Z';
          break;
        }
        [[fallthrough]];
      case Chunk::kNumTZ:
      case Chunk::kNumSecondsTZ:
      case Chunk::kNumShortTZ:
      case Chunk::kNumColonTZ:
      case Chunk::kNumColonSecondsTZ: {
        Chunk c = tok.chunk;
        bool colon = c == Chunk::kISO8601ColonTZ || c == Chunk::kISO8601ColonSecsTZ ||
                     c == Chunk::kNumColonTZ || c == Chunk::kNumColonSecondsTZ;
        bool minutes = c != Chunk::kISO8601ShortTZ && c != Chunk::kNumShortTZ;
        bool seconds = c == Chunk::kISO8601SecondsTZ || c == Chunk::kISO8601ColonSecsTZ ||
                       c == Chunk::kNumSecondsTZ || c == Chunk::kNumColonSecondsTZ;
        out += FormatOffset(t.offset, colon, minutes, seconds);
        break;
      }
      case Chunk::kFracSecond0:
      case Chunk::kFracSecond9: {
        std::string frac = Pad(nanos, 9).substr(0, static_cast<size_t>(std::min(tok.digits, 9)));
        if (tok.chunk == Chunk::kFracSecond9) {
          while (!frac.empty() && frac.back() == '0') frac.pop_back();
          if (frac.empty()) break;
        }
        out += tok.text[0];
        out += frac;
        break;
      }
    }
  }
  return out;
}

namespace {

// Reads one or two digits; `fixed` demands exactly two (Go's getnum).
bool GetNum(std::string_view& v, bool fixed, int* out) {
  if (v.empty() || !IsDigit(v[0])) return false;
  if (v.size() < 2 || !IsDigit(v[1])) {
    if (fixed) return false;
    *out = v[0] - '0';
    v.remove_prefix(1);
    return true;
  }
  *out = (v[0] - '0') * 10 + (v[1] - '0');
  v.remove_prefix(2);
  return true;
}

// Case-insensitive name lookup (Go's lookup); returns the index or -1.
int Lookup(std::string_view& v, const char* const* names, int count, size_t len) {
  for (int i = 0; i < count; ++i) {
    std::string_view name(names[i]);
    if (len != 0) name = name.substr(0, len);
    if (v.size() >= name.size() &&
        absl::EqualsIgnoreCase(AbslView(v.substr(0, name.size())), AbslView(name))) {
      v.remove_prefix(name.size());
      return i;
    }
  }
  return -1;
}

// Fraction digits after '.' or ',' as nanoseconds; consumes every digit
// but keeps nine, as Go does.
bool Fraction(std::string_view& v, int need, int64_t* nanos) {
  if (v.size() < 2 || (v[0] != '.' && v[0] != ',') || !IsDigit(v[1])) return false;
  size_t n = 1;
  while (n < v.size() && IsDigit(v[n])) ++n;
  int digits = static_cast<int>(n - 1);
  if (need > 0 && digits != need) return false;
  int64_t ns = 0;
  for (int i = 0; i < 9; ++i) ns = ns * 10 + (i < digits ? v[1 + static_cast<size_t>(i)] - '0' : 0);
  *nanos = ns;
  v.remove_prefix(n);
  return true;
}

int DaysIn(int64_t year, int month) {
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDaysIn[month - 1];
}

}  // namespace

absl::StatusOr<GoTime> ParseGoTime(std::string_view layout, std::string_view value,
                                   const absl::TimeZone* zone) {
  const std::string_view orig_layout = layout, orig_value = value;
  auto fail = [&](std::string_view rest, std::string_view elem) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parsing time \"", AbslView(orig_value), "\" as \"", AbslView(orig_layout),
        "\": cannot parse \"", AbslView(rest.substr(0, 64)), "\" as \"", AbslView(elem), "\""));
  };
  auto range = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("parsing time \"", AbslView(orig_value),
                                                   "\": ", AbslView(what), " out of range"));
  };
  int64_t year = 0;
  int month = -1, day = -1, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  bool pm_set = false, pm = false;
  bool have_offset = false;
  int32_t offset = 0;
  while (!layout.empty()) {
    Token tok = NextChunk(layout);
    std::string_view before = value;
    switch (tok.chunk) {
      case Chunk::kNone:
        if (!StartsWith(value, tok.text)) return fail(before, tok.text);
        value.remove_prefix(tok.text.size());
        break;
      case Chunk::kLongYear: {
        if (value.size() < 4 || !IsDigit(value[0]) || !IsDigit(value[1]) || !IsDigit(value[2]) ||
            !IsDigit(value[3])) {
          return fail(before, tok.text);
        }
        year = (value[0] - '0') * 1000 + (value[1] - '0') * 100 + (value[2] - '0') * 10 +
               (value[3] - '0');
        value.remove_prefix(4);
        break;
      }
      case Chunk::kYear: {
        int yy = 0;
        if (!GetNum(value, true, &yy)) return fail(before, tok.text);
        year = yy >= 69 ? 1900 + yy : 2000 + yy;
        break;
      }
      case Chunk::kLongMonth:
      case Chunk::kMonth: {
        int m = Lookup(value, kMonths, 12, tok.chunk == Chunk::kMonth ? 3 : 0);
        if (m < 0) return fail(before, tok.text);
        month = m + 1;
        break;
      }
      case Chunk::kNumMonth:
      case Chunk::kZeroMonth:
        if (!GetNum(value, tok.chunk == Chunk::kZeroMonth, &month)) return fail(before, tok.text);
        if (month < 1 || month > 12) return range("month");
        break;
      case Chunk::kLongWeekDay:
      case Chunk::kWeekDay:  // read and ignored, as in Go
        if (Lookup(value, kDays, 7, tok.chunk == Chunk::kWeekDay ? 3 : 0) < 0) {
          return fail(before, tok.text);
        }
        break;
      case Chunk::kDay:
      case Chunk::kUnderDay:
      case Chunk::kZeroDay:
        if (tok.chunk == Chunk::kUnderDay && !value.empty() && value[0] == ' ') {
          value.remove_prefix(1);
        }
        if (!GetNum(value, tok.chunk == Chunk::kZeroDay, &day)) return fail(before, tok.text);
        break;
      case Chunk::kHour:
        if (!GetNum(value, false, &hour)) return fail(before, tok.text);
        if (hour > 23) return range("hour");
        break;
      case Chunk::kHour12:
      case Chunk::kZeroHour12:
        if (!GetNum(value, tok.chunk == Chunk::kZeroHour12, &hour)) return fail(before, tok.text);
        if (hour > 12) return range("hour");
        break;
      case Chunk::kMinute:
      case Chunk::kZeroMinute:
        if (!GetNum(value, tok.chunk == Chunk::kZeroMinute, &minute)) {
          return fail(before, tok.text);
        }
        if (minute > 59) return range("minute");
        break;
      case Chunk::kSecond:
      case Chunk::kZeroSecond: {
        if (!GetNum(value, tok.chunk == Chunk::kZeroSecond, &second)) {
          return fail(before, tok.text);
        }
        if (second > 59) return range("second");
        // Go accepts a fraction right after the seconds even when the layout
        // has none.
        std::string_view rest = layout;
        Token peek = NextChunk(rest);
        if (peek.chunk != Chunk::kFracSecond0 && peek.chunk != Chunk::kFracSecond9) {
          Fraction(value, 0, &nanos);
        }
        break;
      }
      case Chunk::kPM:
      case Chunk::kpm: {
        std::string_view p = value.substr(0, 2);
        bool upper = tok.chunk == Chunk::kPM;
        if (p == (upper ? "PM" : "pm")) {
          pm = true;
        } else if (p != (upper ? "AM" : "am")) {
          return fail(before, tok.text);
        }
        pm_set = true;
        value.remove_prefix(2);
        break;
      }
      case Chunk::kTZ: {
        // Abbreviations other than UTC/GMT carry no offset Go could know; it
        // fabricates a zero-offset location for them.
        size_t n = 0;
        while (n < value.size() && n < 5 && value[n] >= 'A' && value[n] <= 'Z') ++n;
        if (n < 3) return fail(before, tok.text);
        value.remove_prefix(n);
        have_offset = true;
        offset = 0;
        break;
      }
      case Chunk::kISO8601TZ:
      case Chunk::kISO8601SecondsTZ:
      case Chunk::kISO8601ShortTZ:
      case Chunk::kISO8601ColonTZ:
      case Chunk::kISO8601ColonSecsTZ:
        if (!value.empty() && value[0] == 'Z') {
          value.remove_prefix(1);
          have_offset = true;
          offset = 0;
          break;
        }
        [[fallthrough]];
      case Chunk::kNumTZ:
      case Chunk::kNumSecondsTZ:
      case Chunk::kNumShortTZ:
      case Chunk::kNumColonTZ:
      case Chunk::kNumColonSecondsTZ: {
        Chunk c = tok.chunk;
        bool colon = c == Chunk::kISO8601ColonTZ || c == Chunk::kISO8601ColonSecsTZ ||
                     c == Chunk::kNumColonTZ || c == Chunk::kNumColonSecondsTZ;
        bool minutes = c != Chunk::kISO8601ShortTZ && c != Chunk::kNumShortTZ;
        bool seconds = c == Chunk::kISO8601SecondsTZ || c == Chunk::kISO8601ColonSecsTZ ||
                       c == Chunk::kNumSecondsTZ || c == Chunk::kNumColonSecondsTZ;
        if (value.empty() || (value[0] != '+' && value[0] != '-')) return fail(before, tok.text);
        int sign = value[0] == '-' ? -1 : 1;
        value.remove_prefix(1);
        int hh = 0, mm = 0, ss = 0;
        if (!GetNum(value, true, &hh)) return fail(before, tok.text);
        if (minutes) {
          if (colon) {
            if (value.empty() || value[0] != ':') return fail(before, tok.text);
            value.remove_prefix(1);
          }
          if (!GetNum(value, true, &mm)) return fail(before, tok.text);
        }
        if (seconds) {
          if (colon) {
            if (value.empty() || value[0] != ':') return fail(before, tok.text);
            value.remove_prefix(1);
          }
          if (!GetNum(value, true, &ss)) return fail(before, tok.text);
        }
        if (hh > 24 || mm > 59 || ss > 59 || hh * 3600 + mm * 60 + ss > 24 * 3600) {
          return range("time zone offset");
        }
        have_offset = true;
        offset = sign * (hh * 3600 + mm * 60 + ss);
        break;
      }
      case Chunk::kFracSecond0:
        if (!Fraction(value, tok.digits, &nanos)) return fail(before, tok.text);
        break;
      case Chunk::kFracSecond9:
        Fraction(value, 0, &nanos);  // optional
        break;
    }
  }
  if (!value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("parsing time \"", AbslView(orig_value),
                                                   "\": extra text: \"",
                                                   AbslView(value.substr(0, 64)), "\""));
  }
  if (pm_set) {
    if (pm && hour < 12) hour += 12;
    if (!pm && hour == 12) hour = 0;
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > DaysIn(year, month)) return range("day");
  absl::CivilSecond cs(year, month, day, hour, minute, second);
  GoTime t;
  if (have_offset) {
    t.instant = absl::FromCivil(cs, absl::UTCTimeZone()) - absl::Seconds(offset);
    t.offset = offset;
  } else if (zone != nullptr) {
    t.instant = absl::FromCivil(cs, *zone);
    t.offset = zone->At(t.instant).offset;
  } else {
    t.instant = absl::FromCivil(cs, absl::UTCTimeZone());
  }
  t.instant += absl::Nanoseconds(nanos);
  return t;
}

}  // namespace argonaut::expr::internal
