#include "lib/expr/sprig_time.h"

#include <cstdio>

#include "absl/time/civil_time.h"

namespace argonaut::expr::internal {
namespace {

constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
constexpr const char* kDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                 "Friday", "Saturday", "Sunday"};

std::string Pad(int64_t v, int width, char fill = '0') {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), fill);
  return s;
}

bool Take(std::string_view& layout, std::string_view token) {
  if (layout.substr(0, token.size()) != token) return false;
  layout.remove_prefix(token.size());
  return true;
}

}  // namespace

std::string FormatGoLayout(std::string_view layout, absl::Time t) {
  absl::TimeZone utc = absl::UTCTimeZone();
  absl::CivilSecond cs = absl::ToCivilSecond(t, utc);
  int weekday = static_cast<int>(absl::GetWeekday(absl::CivilDay(cs)));  // Monday == 0
  int64_t nanos = absl::ToInt64Nanoseconds(t - absl::FromCivil(cs, utc));
  int hour12 = cs.hour() % 12 == 0 ? 12 : cs.hour() % 12;
  std::string out;
  // Order matters: longer tokens first, as Go's nextStdChunk does.
  while (!layout.empty()) {
    if (Take(layout, "January")) {
      out += kMonths[cs.month() - 1];
    } else if (Take(layout, "Jan")) {
      out += std::string(kMonths[cs.month() - 1]).substr(0, 3);
    } else if (Take(layout, "Monday")) {
      out += kDays[weekday];
    } else if (Take(layout, "Mon")) {
      out += std::string(kDays[weekday]).substr(0, 3);
    } else if (Take(layout, "MST")) {
      out += "UTC";
    } else if (Take(layout, "2006")) {
      out += Pad(cs.year(), 4);
    } else if (Take(layout, "Z07:00") || Take(layout, "Z0700") || Take(layout, "Z07")) {
      out += "Z";
    } else if (Take(layout, "-07:00")) {
      out += "+00:00";
    } else if (Take(layout, "-0700")) {
      out += "+0000";
    } else if (Take(layout, "-07")) {
      out += "+00";
    } else if (Take(layout, "01")) {
      out += Pad(cs.month(), 2);
    } else if (Take(layout, "02")) {
      out += Pad(cs.day(), 2);
    } else if (Take(layout, "_2")) {
      out += Pad(cs.day(), 2, ' ');
    } else if (Take(layout, "06")) {
      out += Pad(cs.year() % 100, 2);
    } else if (Take(layout, "15")) {
      out += Pad(cs.hour(), 2);
    } else if (Take(layout, "03")) {
      out += Pad(hour12, 2);
    } else if (Take(layout, "04")) {
      out += Pad(cs.minute(), 2);
    } else if (Take(layout, "05")) {
      out += Pad(cs.second(), 2);
    } else if (Take(layout, "PM")) {
      out += cs.hour() >= 12 ? "PM" : "AM";
    } else if (Take(layout, "pm")) {
      out += cs.hour() >= 12 ? "pm" : "am";
    } else if (layout.size() >= 2 && layout[0] == '.' && (layout[1] == '0' || layout[1] == '9')) {
      char kind = layout[1];
      size_t n = 1;
      while (n < layout.size() && layout[n] == kind) ++n;
      int digits = static_cast<int>(n - 1);
      layout.remove_prefix(n);
      std::string frac = Pad(nanos, 9).substr(0, static_cast<size_t>(std::min(digits, 9)));
      if (kind == '9') {
        while (!frac.empty() && frac.back() == '0') frac.pop_back();
        if (!frac.empty()) out += "." + frac;
      } else {
        out += "." + frac;
      }
    } else if (Take(layout, "1")) {
      out += std::to_string(cs.month());
    } else if (Take(layout, "2")) {
      out += std::to_string(cs.day());
    } else if (Take(layout, "3")) {
      out += std::to_string(hour12);
    } else if (Take(layout, "4")) {
      out += std::to_string(cs.minute());
    } else if (Take(layout, "5")) {
      out += std::to_string(cs.second());
    } else {
      out += layout[0];
      layout.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace argonaut::expr::internal
