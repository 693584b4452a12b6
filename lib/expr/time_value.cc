#include "lib/expr/time_value.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::expr::internal {
namespace {

// ±2^40 seconds (about 34,800 years) keeps every civil conversion and
// offset addition far from overflow.
constexpr int64_t kMaxUnixSeconds = int64_t{1} << 40;
constexpr int32_t kMaxOffset = 24 * 3600;  // what absl::FixedTimeZone accepts
constexpr size_t kTimeBytes = 16;          // int64 seconds, int32 nanos, int32 offset
constexpr size_t kDurationBytes = 8;

template <typename T>
void Put(std::vector<uint8_t>& out, T v) {
  uint8_t buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.insert(out.end(), buf, buf + sizeof(T));
}

template <typename T>
T Get(const std::vector<uint8_t>& in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

bool HasSubtype(const Json& v, uint8_t subtype, size_t size) {
  if (!v.is_binary()) return false;
  const Json::binary_t& b = v.get_binary();
  return b.has_subtype() && b.subtype() == subtype && b.size() == size;
}

}  // namespace

bool IsTime(const Json& v) {
  if (!HasSubtype(v, kTimeSubtype, kTimeBytes)) return false;
  const Json::binary_t& b = v.get_binary();
  int64_t sec = Get<int64_t>(b, 0);
  int32_t nanos = Get<int32_t>(b, 8);
  int32_t offset = Get<int32_t>(b, 12);
  return sec >= -kMaxUnixSeconds && sec <= kMaxUnixSeconds && nanos >= 0 && nanos < 1'000'000'000 &&
         offset >= -kMaxOffset && offset <= kMaxOffset;
}

bool IsDuration(const Json& v) { return HasSubtype(v, kDurationSubtype, kDurationBytes); }

GoTime GetTime(const Json& v) {
  const Json::binary_t& b = v.get_binary();
  GoTime t;
  t.instant = absl::FromUnixSeconds(Get<int64_t>(b, 0)) + absl::Nanoseconds(Get<int32_t>(b, 8));
  t.offset = Get<int32_t>(b, 12);
  return t;
}

int64_t GetDuration(const Json& v) { return Get<int64_t>(v.get_binary(), 0); }

absl::StatusOr<Json> MakeTime(absl::Time t, int32_t offset) {
  if (t < absl::FromUnixSeconds(-kMaxUnixSeconds) || t > absl::FromUnixSeconds(kMaxUnixSeconds)) {
    return absl::InvalidArgumentError("time out of the supported range");
  }
  if (offset < -kMaxOffset || offset > kMaxOffset) {
    return absl::InvalidArgumentError("time zone offset out of range");
  }
  int64_t sec = absl::ToUnixSeconds(t);  // floors, so the nanoseconds stay non-negative
  int32_t nanos = static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(sec)));
  std::vector<uint8_t> bytes;
  bytes.reserve(kTimeBytes);
  Put(bytes, sec);
  Put(bytes, nanos);
  Put(bytes, offset);
  return Json::binary(std::move(bytes), kTimeSubtype);
}

Json MakeTimeClamped(absl::Time t) {
  t = std::max(t, absl::FromUnixSeconds(-kMaxUnixSeconds));
  t = std::min(t, absl::FromUnixSeconds(kMaxUnixSeconds));
  return *MakeTime(t, 0);
}

Json MakeDuration(int64_t nanos) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kDurationBytes);
  Put(bytes, nanos);
  return Json::binary(std::move(bytes), kDurationSubtype);
}

int64_t SubTimes(const GoTime& a, const GoTime& b) {
  absl::Duration d = a.instant - b.instant;
  if (d >= absl::Nanoseconds(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  if (d <= absl::Nanoseconds(std::numeric_limits<int64_t>::min())) {
    return std::numeric_limits<int64_t>::min();
  }
  return absl::ToInt64Nanoseconds(d);
}

absl::StatusOr<int64_t> ParseGoDuration(std::string_view s) {
  const std::string_view orig = s;
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(why), " in duration \"", AbslView(orig.substr(0, 64)), "\""));
  };
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid("invalid syntax");
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && (s[0] < '0' || s[0] > '9')) return invalid("invalid syntax");
    uint64_t whole = 0;
    size_t n = 0;
    for (; n < s.size() && s[n] >= '0' && s[n] <= '9'; ++n) {
      if (whole > (kLimit - 1) / 10) return invalid("overflow");
      whole = whole * 10 + static_cast<uint64_t>(s[n] - '0');
      if (whole > kLimit) return invalid("overflow");
    }
    bool pre = n > 0;
    s.remove_prefix(n);
    uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t m = 0;
      bool saturated = false;
      for (; m < s.size() && s[m] >= '0' && s[m] <= '9'; ++m) {
        // Digits past int64 precision are read and ignored.
        if (saturated || frac > (kLimit - 1) / 10) {
          saturated = true;
          continue;
        }
        frac = frac * 10 + static_cast<uint64_t>(s[m] - '0');
        scale *= 10;
      }
      post = m > 0;
      s.remove_prefix(m);
    }
    if (!pre && !post) return invalid("invalid syntax");
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && (s[u] < '0' || s[u] > '9')) ++u;
    if (u == 0) return invalid("missing unit");
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (unit_name == "ns") {
      unit = 1;
    } else if (unit_name == "us" || unit_name == "\xC2\xB5s" || unit_name == "\xCE\xBCs") {
      unit = 1'000;  // "us", U+00B5 and U+03BC micro signs
    } else if (unit_name == "ms") {
      unit = 1'000'000;
    } else if (unit_name == "s") {
      unit = 1'000'000'000;
    } else if (unit_name == "m") {
      unit = 60'000'000'000;
    } else if (unit_name == "h") {
      unit = 3'600'000'000'000;
    } else {
      return invalid(absl::StrCat("unknown unit \"", AbslView(unit_name.substr(0, 16)), "\""));
    }
    if (whole > kLimit / unit) return invalid("overflow");
    whole *= unit;
    if (frac > 0) {
      whole +=
          static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (whole > kLimit) return invalid("overflow");
    }
    total += whole;
    if (total > kLimit) return invalid("overflow");
  }
  if (neg) return static_cast<int64_t>(-total);  // -2^63 is representable
  if (total > kLimit - 1) return invalid("overflow");
  return static_cast<int64_t>(total);
}

namespace {

// Fraction of v with prec digits, trailing zeros (and a bare point) dropped.
std::string FracPart(uint64_t* v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = *v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    *v /= 10;
  }
  return print ? "." + digits : "";
}

}  // namespace

std::string FormatGoDuration(int64_t nanos) {
  if (nanos == 0) return "0s";
  bool neg = nanos < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  std::string out;
  if (u < 1'000'000'000) {
    if (u < 1'000) {
      out = std::to_string(u) + "ns";
    } else {
      bool micro = u < 1'000'000;
      std::string frac = FracPart(&u, micro ? 3 : 6);
      out = std::to_string(u) + frac + (micro ? "\xC2\xB5s" : "ms");
    }
  } else {
    std::string frac = FracPart(&u, 9);
    out = std::to_string(u % 60) + frac + "s";
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

int64_t RoundDuration(int64_t d, int64_t m) {
  if (m <= 0) return d;
  auto less_than_half = [](int64_t x, int64_t y) {
    return static_cast<uint64_t>(x) + static_cast<uint64_t>(x) < static_cast<uint64_t>(y);
  };
  int64_t r = d % m;
  if (d < 0) {
    r = -r;
    if (less_than_half(r, m)) return d + r;
    if (int64_t d1 = WrapAdd(WrapSub(d, m), r); d1 < d) return d1;
    return std::numeric_limits<int64_t>::min();
  }
  if (less_than_half(r, m)) return d - r;
  if (int64_t d1 = WrapSub(WrapAdd(d, m), r); d1 > d) return d1;
  return std::numeric_limits<int64_t>::max();
}

std::string TimeString(const GoTime& t) {
  return FormatGoTime("2006-01-02 15:04:05.999999999 -0700 MST", t);
}

std::string TimeJson(const GoTime& t) {
  return FormatGoTime("2006-01-02T15:04:05.999999999Z07:00", t);
}

void ToPlainJson(Json& v) {
  // Iterative so a deeply nested env value cannot exhaust the stack.
  std::vector<Json*> stack = {&v};
  while (!stack.empty()) {
    Json* j = stack.back();
    stack.pop_back();
    if (j->is_binary()) {
      if (IsTime(*j)) {
        *j = Json(TimeJson(GetTime(*j)));
      } else if (IsDuration(*j)) {
        *j = Json(GetDuration(*j));
      }
    } else if (j->is_array() || j->is_object()) {
      for (Json& e : *j) stack.push_back(&e);
    }
  }
}

}  // namespace argonaut::expr::internal
