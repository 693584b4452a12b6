#include "lib/base/go_duration.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace argonaut::base {

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text) {
  const std::string original(text);
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", original, "\""));
  };
  absl::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return invalid();
  // Accumulated in nanoseconds as a double first so that overflow is detected, then exactly.
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (absl::ascii_isdigit(s[i]) || s[i] == '.')) ++i;
    const absl::string_view number = s.substr(0, i);
    if (number.empty() || number == "." || number.find('.') != number.rfind('.')) {
      return invalid();
    }
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !absl::ascii_isdigit(s[j]) && s[j] != '.') ++j;
    const absl::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else {
      return unit.empty()
                 ? absl::InvalidArgumentError(
                       absl::StrCat("invalid duration \"", original, "\": missing unit"))
                 : absl::InvalidArgumentError(absl::StrCat("invalid duration \"", original,
                                                           "\": unknown unit \"", unit, "\""));
    }
    long double value = 0;
    const std::string digits(number);
    value = std::strtold(digits.c_str(), nullptr);
    total += value * scale;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid duration \"", original, "\": out of range"));
    }
  }
  const int64_t nanos = static_cast<int64_t>(std::llroundl(total));
  return absl::Nanoseconds(negative ? -nanos : nanos);
}

}  // namespace argonaut::base
