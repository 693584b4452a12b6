#include "lib/expr/expr_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {

absl::Status CheckStringSize(size_t bytes, std::string_view what) {
  if (bytes > kMaxStringBytes) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": result of ", bytes,
                                                   " bytes exceeds the limit of ", kMaxStringBytes,
                                                   " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckElementCount(size_t count, std::string_view what) {
  if (count > kMaxElements) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": result of ", count,
                                                   " elements exceeds the limit of ", kMaxElements,
                                                   " elements"));
  }
  return absl::OkStatus();
}

int64_t AsInt(const Json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return TruncateToInt(v.get<double>());
  return 0;
}

double AsDouble(const Json& v) {
  if (v.is_number_unsigned()) return static_cast<double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<double>(v.get<int64_t>());
  if (v.is_number_float()) return v.get<double>();
  return 0;
}

Json NormalizeNumber(const Json& v) {
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Json(static_cast<double>(v.get<uint64_t>()));
  }
  return v;
}

int64_t TruncateToInt(double f) {
  if (std::isnan(f)) return std::numeric_limits<int64_t>::min();
  if (f >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (f <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

std::string TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "nil";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "float64";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "map";
    case Json::value_t::binary:
      if (IsTime(v)) return "time.Time";
      if (IsDuration(v)) return "time.Duration";
      return "[]uint8";
    default:
      return "unknown";
  }
}

bool Equal(const Json& a, const Json& b) {
  // Times compare as instants (Go's Time.Equal); a duration equals an int of
  // the same nanoseconds through expr's reflect fallback for int kinds.
  if (IsTime(a) || IsTime(b)) {
    return IsTime(a) && IsTime(b) && GetTime(a).instant == GetTime(b).instant;
  }
  if (IsDuration(a) || IsDuration(b)) {
    const Json& other = IsDuration(a) ? b : a;
    int64_t d = GetDuration(IsDuration(a) ? a : b);
    if (IsDuration(other)) return GetDuration(other) == d;
    return IsInt(other) && !other.is_number_unsigned() && AsInt(other) == d;
  }
  if (IsNumber(a) && IsNumber(b)) {
    if (IsInt(a) && IsInt(b)) {
      if (a.is_number_unsigned() || b.is_number_unsigned()) return a == b;
      return AsInt(a) == AsInt(b);
    }
    return AsDouble(a) == AsDouble(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!Equal(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !Equal(*it, *other)) return false;
    }
    return true;
  }
  return a == b;
}

absl::StatusOr<int> Compare(const Json& a, const Json& b, std::string_view op) {
  if (IsNumber(a) && IsNumber(b)) {
    if (IsInt(a) && IsInt(b) && !a.is_number_unsigned() && !b.is_number_unsigned()) {
      int64_t x = AsInt(a), y = AsInt(b);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    double x = AsDouble(a), y = AsDouble(b);
    if (std::isnan(x) || std::isnan(y)) return 2;  // unordered: every comparison is false
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (IsTime(a) && IsTime(b)) {
    absl::Time x = GetTime(a).instant, y = GetTime(b).instant;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (IsDuration(a) && IsDuration(b)) {
    int64_t x = GetDuration(a), y = GetDuration(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", AbslView(op),
                                                 " (mismatched types ", TypeName(a), " and ",
                                                 TypeName(b), ")"));
}

namespace {

// Shortest round-trip digits and decimal exponent of f (f finite, non-zero).
void ShortestDigits(double f, std::string* digits, int* exponent) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = s.find('e');
  std::string_view mant = s.substr(0, e);
  digits->clear();
  for (char c : mant) {
    if (c >= '0' && c <= '9') *digits += c;
  }
  *exponent = std::atoi(std::string(s.substr(e + 1)).c_str());
  while (digits->size() > 1 && digits->back() == '0') digits->pop_back();
}

std::string FormatExp(const std::string& digits, int exp, bool go_json) {
  std::string out(1, digits[0]);
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  out += 'e';
  out += exp < 0 ? '-' : '+';
  int a = exp < 0 ? -exp : exp;
  // strconv pads the exponent to two digits; encoding/json strips that back.
  if (a < 10 && !go_json) out += '0';
  out += std::to_string(a);
  return out;
}

std::string FormatFixed(const std::string& digits, int exp) {
  // value = 0.d1d2d3... * 10^(exp+1)
  int dp = exp + 1;
  std::string out;
  if (dp <= 0) {
    out = "0.";
    out.append(static_cast<size_t>(-dp), '0');
    out += digits;
  } else if (static_cast<size_t>(dp) >= digits.size()) {
    out = digits;
    out.append(static_cast<size_t>(dp) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(dp)) + "." + digits.substr(static_cast<size_t>(dp));
  }
  return out;
}

std::string SpecialFloat(double f) {
  if (std::isnan(f)) return "NaN";
  return f > 0 ? "+Inf" : "-Inf";
}

std::string GoJsonFloat(double f) {
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(std::fabs(f), &digits, &exp);
  std::string sign = f < 0 ? "-" : "";
  double a = std::fabs(f);
  if (a < 1e-6 || a >= 1e21) return sign + FormatExp(digits, exp, true);
  return sign + FormatFixed(digits, exp);
}

}  // namespace

bool AppendCommonEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return true;
    case '\\':
      out += "\\\\";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\r':
      out += "\\r";
      return true;
    case '\t':
      out += "\\t";
      return true;
    default:
      return false;
  }
}

namespace {

void AppendJsonString(std::string& out, const std::string& s) {
  static const char* kHex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (AppendCommonEscape(out, c)) continue;
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      // U+2028 / U+2029, escaped by encoding/json for JSONP safety.
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void AppendGoJson(std::string& out, const Json& v, std::string_view indent, int level) {
  auto newline = [&](int lvl) {
    if (indent.empty()) return;
    out += '\n';
    for (int i = 0; i < lvl; ++i) out.append(indent);
  };
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return;
    case Json::value_t::number_float: {
      double f = v.get<double>();
      // encoding/json refuses NaN and Inf; emitting null keeps the output valid.
      out += std::isfinite(f) ? GoJsonFloat(f) : "null";
      return;
    }
    case Json::value_t::string:
      AppendJsonString(out, v.get_ref<const std::string&>());
      return;
    case Json::value_t::binary:
      // encoding/json: time.Time as RFC 3339 text, time.Duration as its
      // int64 nanoseconds.
      if (IsTime(v)) {
        AppendJsonString(out, TimeJson(GetTime(v)));
      } else if (IsDuration(v)) {
        out += std::to_string(GetDuration(v));
      } else {
        out += "null";
      }
      return;
    case Json::value_t::array: {
      if (v.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const Json& e : v) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        AppendGoJson(out, e, indent, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Json::value_t::object: {
      if (v.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        AppendJsonString(out, it.key());
        out += indent.empty() ? ":" : ": ";
        AppendGoJson(out, *it, indent, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    default:
      out += "null";
  }
}

}  // namespace

std::string GoFormatFloat(double f) {
  if (!std::isfinite(f)) return SpecialFloat(f);
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(std::fabs(f), &digits, &exp);
  std::string sign = f < 0 ? "-" : "";
  // strconv's %g with precision -1 decides on the exponent form as if the
  // precision were 6, hence fmt.Sprint(1e6) == "1e+06".
  if (exp < -4 || exp >= 6) return sign + FormatExp(digits, exp, false);
  return sign + FormatFixed(digits, exp);
}

std::string GoFormat(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "<nil>";
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float:
      return GoFormatFloat(v.get<double>());
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::binary: {
      if (IsTime(v)) return TimeString(GetTime(v));
      if (IsDuration(v)) return FormatGoDuration(GetDuration(v));
      std::string out = "[";
      for (uint8_t b : v.get_binary()) {
        if (out.size() > 1) out += ' ';
        out += std::to_string(b);
      }
      return out + "]";
    }
    case Json::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const Json& e : v) {
        if (!first) out += ' ';
        first = false;
        out += GoFormat(e);
      }
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ' ';
        first = false;
        out += it.key() + ":" + GoFormat(*it);
      }
      return out + "]";
    }
    default:
      return "";
  }
}

std::string GoJson(const Json& v, std::string_view indent) {
  std::string out;
  AppendGoJson(out, v, indent, 0);
  return out;
}

namespace {

// expr's runtime Add/Subtract/Multiply cases for time.Time and time.Duration.
absl::StatusOr<Json> TimeArithmetic(std::string_view op, const Json& a, const Json& b) {
  auto invalid = [&]() {
    std::string hint;
    if ((IsTime(a) && b.is_string()) || (a.is_string() && IsTime(b))) {
      hint = " (a string is not a time; convert it with date())";
    }
    return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", TypeName(a), " ",
                                                   AbslView(op), " ", TypeName(b), hint));
  };
  auto shifted = [](const Json& t, int64_t d) {
    GoTime g = GetTime(t);
    return MakeTime(g.instant + absl::Nanoseconds(d), g.offset);
  };
  if (op == "+") {
    if (IsTime(a) && IsDuration(b)) return shifted(a, GetDuration(b));
    if (IsDuration(a) && IsTime(b)) return shifted(b, GetDuration(a));
    if (IsDuration(a) && IsDuration(b))
      return MakeDuration(WrapAdd(GetDuration(a), GetDuration(b)));
  } else if (op == "-") {
    if (IsTime(a) && IsTime(b)) return MakeDuration(SubTimes(GetTime(a), GetTime(b)));
    if (IsTime(a) && IsDuration(b)) {
      int64_t d = GetDuration(b);
      // -(-2^63) overflows; step twice instead.
      if (d == std::numeric_limits<int64_t>::min()) {
        GoTime g = GetTime(a);
        return MakeTime(g.instant + absl::Nanoseconds(std::numeric_limits<int64_t>::max()) +
                            absl::Nanoseconds(1),
                        g.offset);
      }
      return shifted(a, -d);
    }
    if (IsDuration(a) && IsDuration(b))
      return MakeDuration(WrapSub(GetDuration(a), GetDuration(b)));
  } else if (op == "*") {
    const Json& other = IsDuration(a) ? b : a;
    if (IsDuration(a) != IsDuration(b)) {
      int64_t d = GetDuration(IsDuration(a) ? a : b);
      if (IsInt(other)) return MakeDuration(WrapMul(d, AsInt(other)));
      if (IsFloat(other)) return Json(static_cast<double>(d) * AsDouble(other));
    }
  }
  return invalid();
}

}  // namespace

absl::StatusOr<Json> Arithmetic(std::string_view op, const Json& a, const Json& b) {
  if (a.is_binary() || b.is_binary()) return TimeArithmetic(op, a, b);
  if (op == "+" && a.is_string() && b.is_string()) {
    const std::string& x = a.get_ref<const std::string&>();
    const std::string& y = b.get_ref<const std::string&>();
    if (auto s = CheckStringSize(x.size() + y.size(), "string concatenation"); !s.ok()) return s;
    return Json(x + y);
  }
  if (op == "+" && a.is_array() && b.is_array()) {
    if (auto s = CheckElementCount(a.size() + b.size(), "array concatenation"); !s.ok()) return s;
    Json out = a;
    for (const Json& e : b) out.push_back(e);
    return out;
  }
  if (!IsNumber(a) || !IsNumber(b)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid operation: ", TypeName(a), " ", AbslView(op), " ", TypeName(b)));
  }
  bool ints = IsInt(a) && IsInt(b);
  if (op == "%") {
    if (!ints) {
      return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", TypeName(a), " % ",
                                                     TypeName(b),
                                                     " (operator % not defined on float64)"));
    }
    int64_t y = AsInt(b);
    if (y == 0) return absl::InvalidArgumentError("integer divide by zero");
    if (y == -1) return Json(int64_t{0});  // avoids INT64_MIN % -1 overflow
    return Json(AsInt(a) % y);
  }
  if (op == "/") return Json(AsDouble(a) / AsDouble(b));
  if (op == "**" || op == "^") return Json(std::pow(AsDouble(a), AsDouble(b)));
  if (ints) {
    int64_t x = AsInt(a), y = AsInt(b);
    if (op == "+") return Json(WrapAdd(x, y));
    if (op == "-") return Json(WrapSub(x, y));
    if (op == "*") return Json(WrapMul(x, y));
  } else {
    double x = AsDouble(a), y = AsDouble(b);
    if (op == "+") return Json(x + y);
    if (op == "-") return Json(x - y);
    if (op == "*") return Json(x * y);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown operator ", AbslView(op)));
}

}  // namespace argonaut::expr::internal
