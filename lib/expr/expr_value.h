// Value semantics shared by the evaluator, builtins and sprig: Go-like
// numeric rules over nlohmann::json, equality, ordering and Go formatting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr::internal {

using Json = nlohmann::json;

// Allocation caps so a hostile expression cannot make gigabytes.
inline constexpr size_t kMaxElements = 1'000'000;
inline constexpr size_t kMaxStringBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxRegexLength = 4096;

absl::Status CheckStringSize(size_t bytes, std::string_view what);
absl::Status CheckElementCount(size_t count, std::string_view what);

// nlohmann keeps non-negative integers parsed from text as unsigned; both
// integer flavours are expr's `int`.
inline bool IsInt(const Json& v) { return v.is_number_integer(); }
inline bool IsFloat(const Json& v) { return v.is_number_float(); }
inline bool IsNumber(const Json& v) { return v.is_number(); }
int64_t AsInt(const Json& v);    // precondition: IsInt
double AsDouble(const Json& v);  // precondition: IsNumber
// Turns a huge unsigned (beyond int64) into a float so arithmetic stays defined.
Json NormalizeNumber(const Json& v);

// Names used in error messages, close to the Go types expr reports.
std::string TypeName(const Json& v);

// expr's runtime.Equal: numbers compare by value across int/float, other
// kinds must match.
bool Equal(const Json& a, const Json& b);
// -1/0/1 for numbers or strings; error for anything else.
absl::StatusOr<int> Compare(const Json& a, const Json& b, std::string_view op);

// Go's fmt %v, which string() and sprig's toString use.
std::string GoFormat(const Json& v);
// strconv.FormatFloat(f, 'g', -1, 64) as fmt %v prints it.
std::string GoFormatFloat(double f);
// encoding/json Marshal (HTML-escaped, sorted keys); indent "" means compact.
std::string GoJson(const Json& v, std::string_view indent = "");
// Appends the backslash escape that Go's strconv.Quote and encoding/json agree on for `c`
// (one of " \ \n \r \t) and returns true; returns false, appending nothing, for any other byte.
bool AppendCommonEscape(std::string& out, unsigned char c);

// Wrapping int64 arithmetic, as Go integers overflow.
inline int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Float to int the way Go's int(f) truncates, with out-of-range values
// clamped instead of undefined behaviour.
int64_t TruncateToInt(double f);

// Arithmetic for + - * / % ** ^ with expr's typing rules.
absl::StatusOr<Json> Arithmetic(std::string_view op, const Json& a, const Json& b);

}  // namespace argonaut::expr::internal
