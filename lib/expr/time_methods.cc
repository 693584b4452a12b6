// now(), date(), duration() and the methods of time.Time / time.Duration that
// expressions call (`(now() - t).Seconds()`, `date(s).Format("2006")`).
#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lib/base/strings.h"
#include "lib/expr/builtins_util.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {
namespace {

absl::StatusOr<GoTime> TimeArg(const std::vector<Json>& args, size_t i) {
  if (!IsTime(args[i])) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", i + 1, " must be time.Time, got ", TypeName(args[i])));
  }
  return GetTime(args[i]);
}

absl::StatusOr<int64_t> DurationArg(const std::vector<Json>& args, size_t i) {
  if (!IsDuration(args[i])) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", i + 1, " must be time.Duration, got ", TypeName(args[i])));
  }
  return GetDuration(args[i]);
}

// IANA names only: letters, digits and _+-/ without "..", so a name can never
// address a file outside the zoneinfo directory.
bool ValidZoneName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '/' || name.find("..") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+' && c != '-' &&
        c != '/') {
      return false;
    }
  }
  return true;
}

// Go's LoadLocation: "" and "UTC" are UTC, "Local" the process zone, anything
// else a file of the zoneinfo database. The file is checked first because
// absl caches every name it is asked for, failed ones included, and an
// expression could otherwise grow that cache without bound.
bool LoadZone(const std::string& name, absl::TimeZone* zone) {
  if (name.empty() || name == "UTC") {
    *zone = absl::UTCTimeZone();
    return true;
  }
  if (name == "Local") {
    *zone = absl::LocalTimeZone();
    return true;
  }
  if (!ValidZoneName(name)) return false;
  const char* dir = std::getenv("TZDIR");
  std::string path =
      absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo", "/", name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return absl::LoadTimeZone(name, zone);
}

absl::StatusOr<Json> DurationMethod(std::string_view name, int64_t d, std::vector<Json>& args) {
  constexpr int64_t kSecond = 1'000'000'000;
  auto no_args = [&]() { return ArgCount(args, 0, 0); };
  // Whole and remainder parts are converted apart, as Go does, so large
  // durations keep their precision.
  auto fractional = [&](int64_t unit) {
    return Json(static_cast<double>(d / unit) +
                static_cast<double>(d % unit) / static_cast<double>(unit));
  };
  if (name == "Seconds") {
    if (auto s = no_args(); !s.ok()) return s;
    return fractional(kSecond);
  }
  if (name == "Minutes") {
    if (auto s = no_args(); !s.ok()) return s;
    return fractional(60 * kSecond);
  }
  if (name == "Hours") {
    if (auto s = no_args(); !s.ok()) return s;
    return fractional(3600 * kSecond);
  }
  if (name == "Milliseconds" || name == "Microseconds" || name == "Nanoseconds") {
    if (auto s = no_args(); !s.ok()) return s;
    int64_t unit = name == "Milliseconds" ? 1'000'000 : name == "Microseconds" ? 1'000 : 1;
    return Json(d / unit);
  }
  if (name == "String") {
    if (auto s = no_args(); !s.ok()) return s;
    return Json(FormatGoDuration(d));
  }
  if (name == "Abs") {
    if (auto s = no_args(); !s.ok()) return s;
    if (d >= 0) return MakeDuration(d);
    if (d == std::numeric_limits<int64_t>::min()) {
      return MakeDuration(std::numeric_limits<int64_t>::max());
    }
    return MakeDuration(-d);
  }
  if (name == "Round" || name == "Truncate") {
    if (auto s = ArgCount(args, 1, 1); !s.ok()) return s;
    absl::StatusOr<int64_t> m = DurationArg(args, 0);
    if (!m.ok()) return m.status();
    if (name == "Round") return MakeDuration(RoundDuration(d, *m));
    return MakeDuration(*m <= 0 ? d : d - d % *m);
  }
  return absl::NotFoundError("");
}

absl::StatusOr<Json> TimeMethod(std::string_view name, const GoTime& t, std::vector<Json>& args) {
  absl::TimeZone zone = absl::FixedTimeZone(t.offset);
  absl::CivilSecond cs = absl::ToCivilSecond(t.instant, zone);
  int64_t sec = absl::ToUnixSeconds(t.instant);
  int64_t nanos = absl::ToInt64Nanoseconds(t.instant - absl::FromUnixSeconds(sec));
  auto no_args = [&]() { return ArgCount(args, 0, 0); };
  struct Field {
    std::string_view name;
    int64_t value;
  };
  // Month() and Weekday() are Go's named ints (January == 1, Sunday == 0);
  // here they are plain ints.
  const Field fields[] = {
      {"Unix", sec},
      {"UnixMilli", WrapAdd(WrapMul(sec, 1'000), nanos / 1'000'000)},
      {"UnixMicro", WrapAdd(WrapMul(sec, 1'000'000), nanos / 1'000)},
      {"UnixNano", WrapAdd(WrapMul(sec, 1'000'000'000), nanos)},
      {"Year", cs.year()},
      {"Month", cs.month()},
      {"Day", cs.day()},
      {"Hour", cs.hour()},
      {"Minute", cs.minute()},
      {"Second", cs.second()},
      {"Nanosecond", nanos},
      {"YearDay", absl::GetYearDay(absl::CivilDay(cs))},
      {"Weekday", (static_cast<int>(absl::GetWeekday(absl::CivilDay(cs))) + 1) % 7},
  };
  for (const Field& f : fields) {
    if (f.name == name) {
      if (auto s = no_args(); !s.ok()) return s;
      return Json(f.value);
    }
  }
  if (name == "Format") {
    if (auto s = ArgCount(args, 1, 1); !s.ok()) return s;
    absl::StatusOr<std::string> layout = StringArg(args, 0);
    if (!layout.ok()) return layout.status();
    std::string out = FormatGoTime(*layout, t);
    if (auto s = CheckStringSize(out.size(), "Format"); !s.ok()) return s;
    return Json(std::move(out));
  }
  if (name == "String") {
    if (auto s = no_args(); !s.ok()) return s;
    return Json(TimeString(t));
  }
  if (name == "UTC") {
    if (auto s = no_args(); !s.ok()) return s;
    return MakeTime(t.instant, 0);
  }
  if (name == "IsZero") {
    if (auto s = no_args(); !s.ok()) return s;
    return Json(t.instant == absl::FromCivil(absl::CivilSecond(1, 1, 1), absl::UTCTimeZone()));
  }
  if (name == "Sub" || name == "Before" || name == "After" || name == "Equal" ||
      name == "Compare") {
    if (auto s = ArgCount(args, 1, 1); !s.ok()) return s;
    absl::StatusOr<GoTime> u = TimeArg(args, 0);
    if (!u.ok()) return u.status();
    if (name == "Sub") return MakeDuration(SubTimes(t, *u));
    if (name == "Before") return Json(t.instant < u->instant);
    if (name == "After") return Json(t.instant > u->instant);
    if (name == "Equal") return Json(t.instant == u->instant);
    return Json(int64_t{t.instant < u->instant ? -1 : (t.instant > u->instant ? 1 : 0)});
  }
  if (name == "Add") {
    if (auto s = ArgCount(args, 1, 1); !s.ok()) return s;
    absl::StatusOr<int64_t> d = DurationArg(args, 0);
    if (!d.ok()) return d.status();
    return MakeTime(t.instant + absl::Nanoseconds(*d), t.offset);
  }
  if (name == "AddDate") {
    if (auto s = ArgCount(args, 3, 3); !s.ok()) return s;
    int64_t delta[3];
    for (size_t i = 0; i < 3; ++i) {
      absl::StatusOr<int64_t> v = IntArg(args, i);
      if (!v.ok()) return v.status();
      // Bounded so civil normalisation stays within range.
      if (*v < -1'000'000 || *v > 1'000'000) {
        return absl::InvalidArgumentError(absl::StrCat("argument ", i + 1, " out of range"));
      }
      delta[i] = *v;
    }
    absl::CivilSecond moved(cs.year() + delta[0], cs.month() + delta[1], cs.day() + delta[2],
                            cs.hour(), cs.minute(), cs.second());
    return MakeTime(absl::FromCivil(moved, zone) + absl::Nanoseconds(nanos), t.offset);
  }
  return absl::NotFoundError("");
}

}  // namespace

absl::StatusOr<Json> CallMethod(std::string_view name, const Json& receiver,
                                std::vector<Json>& args) {
  absl::StatusOr<Json> r = absl::NotFoundError("");
  if (IsTime(receiver)) {
    r = TimeMethod(name, GetTime(receiver), args);
  } else if (IsDuration(receiver)) {
    r = DurationMethod(name, GetDuration(receiver), args);
  }
  if (absl::IsNotFound(r.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("type ", TypeName(receiver), " has no method ", AbslView(name)));
  }
  if (!r.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(name), ": ", r.status().message()));
  }
  return r;
}

absl::StatusOr<Json> NowBuiltin(std::vector<Json>& args) {
  if (auto s = ArgCount(args, 0, 0); !s.ok()) return s;
  return MakeTime(absl::Now(), 0);
}

absl::StatusOr<Json> DurationBuiltin(std::vector<Json>& args) {
  if (auto s = ArgCount(args, 1, 1); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(args, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<int64_t> d = ParseGoDuration(*str);
  if (!d.ok()) return d.status();
  return MakeDuration(*d);
}

absl::StatusOr<Json> DateBuiltin(std::vector<Json>& args) {
  if (auto s = ArgCount(args, 1, 3); !s.ok()) return s;
  std::vector<std::string> strs;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::StatusOr<std::string> s = StringArg(args, i);
    if (!s.ok()) return s.status();
    strs.push_back(*std::move(s));
  }
  absl::TimeZone zone;
  const absl::TimeZone* in_zone = nullptr;
  if (strs.size() == 3) {
    if (!LoadZone(strs[2], &zone)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown time zone \"", strs[2].substr(0, 64), "\""));
    }
    in_zone = &zone;
  }
  absl::StatusOr<GoTime> t;
  if (strs.size() >= 2) {
    t = ParseGoTime(strs[1], strs[0], in_zone);
  } else {
    // expr's date() without a layout tries these in order.
    static constexpr std::string_view kLayouts[] = {
        "2006-01-02",
        "15:04:05",
        "2006-01-02 15:04:05",
        "2006-01-02T15:04:05Z07:00",       // RFC 3339
        "02 Jan 06 15:04 MST",             // RFC 822
        "Monday, 02-Jan-06 15:04:05 MST",  // RFC 850
        "Mon, 02 Jan 2006 15:04:05 MST",   // RFC 1123
    };
    for (std::string_view layout : kLayouts) {
      t = ParseGoTime(layout, strs[0], in_zone);
      if (t.ok()) break;
    }
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid date \"", strs[0].substr(0, 64), "\""));
    }
  }
  if (!t.ok()) return t.status();
  return MakeTime(t->instant, t->offset);
}

}  // namespace argonaut::expr::internal
