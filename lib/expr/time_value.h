// expr's time.Time and time.Duration values. They travel inside nlohmann::json
// as binary values with a private subtype: JSON text can never produce a
// binary value, so user data (an RFC 3339 string, a number) is never mistaken
// for a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/expr/expr_value.h"

namespace argonaut::expr::internal {

inline constexpr uint8_t kTimeSubtype = 0x74;      // 't'
inline constexpr uint8_t kDurationSubtype = 0x64;  // 'd'

// A Go time.Time: an instant plus the fixed UTC offset it is displayed in
// (Go keeps a *Location; a fixed offset is what Year()/Hour()/Format() need).
struct GoTime {
  absl::Time instant;
  int32_t offset = 0;  // seconds east of UTC
};

bool IsTime(const Json& v);
bool IsDuration(const Json& v);
GoTime GetTime(const Json& v);       // precondition: IsTime
int64_t GetDuration(const Json& v);  // precondition: IsDuration; nanoseconds

// Errors when the instant lies outside the supported range (about ±34,000
// years around 1970), so civil conversions never overflow.
absl::StatusOr<Json> MakeTime(absl::Time t, int32_t offset = 0);
Json MakeDuration(int64_t nanos);
// Clamps instead of failing; for the public TimeValue helper.
Json MakeTimeClamped(absl::Time t);

// Go's time.ParseDuration ("1h30m", "-1.5s", "300ms", "0").
absl::StatusOr<int64_t> ParseGoDuration(std::string_view s);
// Go's Duration.String ("1h30m0s", "1.5ms", "0s").
std::string FormatGoDuration(int64_t nanos);
// Go's Duration.Round / Truncate.
int64_t RoundDuration(int64_t d, int64_t m);

// Go reference layouts ("2006-01-02T15:04:05Z07:00") in the time's offset.
std::string FormatGoTime(std::string_view layout, const GoTime& t);
// Go's time.Parse / ParseInLocation: values without a zone are read in
// `zone` (UTC when null).
absl::StatusOr<GoTime> ParseGoTime(std::string_view layout, std::string_view value,
                                   const absl::TimeZone* zone = nullptr);
// Time.String() and encoding/json's RFC 3339 with nanoseconds.
std::string TimeString(const GoTime& t);
std::string TimeJson(const GoTime& t);

// Go's Sub: saturates at the int64 nanosecond range.
int64_t SubTimes(const GoTime& a, const GoTime& b);

// now(), date(str [, layout [, timezone]]), duration(str).
absl::StatusOr<Json> NowBuiltin(std::vector<Json>& args);
absl::StatusOr<Json> DateBuiltin(std::vector<Json>& args);
absl::StatusOr<Json> DurationBuiltin(std::vector<Json>& args);

// x.Name(args) on a time or duration. Errors name the method and type.
absl::StatusOr<Json> CallMethod(std::string_view name, const Json& receiver,
                                std::vector<Json>& args);

// Replaces times and durations (anywhere inside v) by what encoding/json
// renders for them: RFC 3339 text and integer nanoseconds.
void ToPlainJson(Json& v);

}  // namespace argonaut::expr::internal
