#include "lib/expr/builtins.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/strings.h"
#include "lib/expr/builtins_util.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {

absl::Status ArgCount(const std::vector<Json>& args, size_t min, size_t max) {
  if (args.size() < min || args.size() > max) {
    if (min == max) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected ", min, " argument(s), got ", args.size()));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", min, " to ", max, " arguments, got ", args.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringArg(const std::vector<Json>& args, size_t i) {
  if (!args[i].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", i + 1, " must be a string, got ", TypeName(args[i])));
  }
  return args[i].get<std::string>();
}

absl::StatusOr<int64_t> IntArg(const std::vector<Json>& args, size_t i) {
  if (!IsInt(args[i])) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", i + 1, " must be an int, got ", TypeName(args[i])));
  }
  return AsInt(args[i]);
}

bool ParseGoInt(std::string_view s, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i >= s.size()) return false;
  uint64_t v = 0;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string str(s);
  std::string lower = absl::AsciiStrToLower(str);
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? std::nan("") : HUGE_VAL;
    *out = lower[0] == '-' ? -v : v;
    return true;
  }
  // strtod would also take "infinity"-like prefixes and hex; restrict to Go's
  // decimal syntax plus what was handled above.
  for (char c : body) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' ||
          c == '-' || c == '_' || c == 'x' || c == 'p' || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  str.erase(std::remove(str.begin(), str.end(), '_'), str.end());
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return false;
  *out = v;  // ERANGE gives +-Inf or 0 like Go's ParseFloat value
  return true;
}

namespace {

// Go's json.Unmarshal into interface{} yields float64 for every number.
void NumbersToFloat(Json& v) {
  std::vector<Json*> stack = {&v};
  while (!stack.empty()) {
    Json* j = stack.back();
    stack.pop_back();
    if (j->is_number_integer()) {
      *j = AsDouble(*j);
    } else if (j->is_array() || j->is_object()) {
      for (Json& c : *j) stack.push_back(&c);
    }
  }
}

}  // namespace

absl::StatusOr<Json> ParseGoJson(std::string_view text) {
  // Checked before parsing: nlohmann's parser is iterative but the formatters
  // used on the result recurse.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("JSON nested deeper than ", kMaxJsonDepth, " at offset ", i));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: \"", AbslView(text.substr(0, 80)),
                                                   text.size() > 80 ? "...\"" : "\""));
  }
  NumbersToFloat(parsed);
  return parsed;
}

std::string Base64Encode(std::string_view in) { return absl::Base64Escape(AbslView(in)); }

absl::StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string out;
  if (in.size() % 4 != 0 || !absl::Base64Unescape(AbslView(in), &out)) {
    return absl::InvalidArgumentError("illegal base64 data");
  }
  return out;
}

namespace {

using Builtin = absl::StatusOr<Json> (*)(std::vector<Json>& args);

absl::StatusOr<Json> Len(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (a[0].is_string()) return Json(static_cast<int64_t>(a[0].get_ref<std::string&>().size()));
  if (a[0].is_array() || a[0].is_object()) return Json(static_cast<int64_t>(a[0].size()));
  return absl::InvalidArgumentError(
      absl::StrCat("invalid argument for len (type ", TypeName(a[0]), ")"));
}

absl::StatusOr<Json> Abs(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (IsInt(a[0])) {
    int64_t v = AsInt(a[0]);
    return Json(v < 0 ? WrapSub(0, v) : v);
  }
  if (IsFloat(a[0])) return Json(std::fabs(AsDouble(a[0])));
  return absl::InvalidArgumentError(
      absl::StrCat("invalid argument for abs (type ", TypeName(a[0]), ")"));
}

template <double (*F)(double)>
absl::StatusOr<Json> Rounding(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (!IsNumber(a[0])) {
    return absl::InvalidArgumentError(absl::StrCat("invalid argument (type ", TypeName(a[0]), ")"));
  }
  return Json(F(AsDouble(a[0])));
}

absl::StatusOr<Json> Int(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (IsInt(a[0])) return Json(AsInt(a[0]));
  if (IsFloat(a[0])) return Json(TruncateToInt(AsDouble(a[0])));
  if (a[0].is_string()) {
    int64_t v = 0;
    if (!ParseGoInt(a[0].get_ref<std::string&>(), &v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid operation: int(\"", a[0].get_ref<std::string&>().substr(0, 64), "\")"));
    }
    return Json(v);
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid operation: int(", TypeName(a[0]), ")"));
}

absl::StatusOr<Json> Float(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (IsNumber(a[0])) return Json(AsDouble(a[0]));
  if (a[0].is_string()) {
    double v = 0;
    if (!ParseGoFloat(a[0].get_ref<std::string&>(), &v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid operation: float(\"", a[0].get_ref<std::string&>().substr(0, 64), "\")"));
    }
    return Json(v);
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid operation: float(", TypeName(a[0]), ")"));
}

absl::StatusOr<Json> String(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  return Json(GoFormat(a[0]));
}

absl::StatusOr<Json> Type(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  std::string t = TypeName(a[0]);
  return Json(t == "float64" ? "float" : t);
}

absl::StatusOr<Json> Trim(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 2); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  if (a.size() == 1) return Json(std::string(absl::StripAsciiWhitespace(*str)));
  absl::StatusOr<std::string> cut = StringArg(a, 1);
  if (!cut.ok()) return cut.status();
  size_t b = str->find_first_not_of(*cut);
  if (b == std::string::npos) return Json("");
  size_t e = str->find_last_not_of(*cut);
  return Json(str->substr(b, e - b + 1));
}

template <bool kPrefix>
absl::StatusOr<Json> TrimAffix(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 2); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  std::string affix = " ";
  if (a.size() == 2) {
    absl::StatusOr<std::string> x = StringArg(a, 1);
    if (!x.ok()) return x.status();
    affix = *x;
  }
  absl::string_view v = *str;
  if (kPrefix) {
    absl::ConsumePrefix(&v, affix);
  } else {
    absl::ConsumeSuffix(&v, affix);
  }
  return Json(std::string(v));
}

template <bool kUpper>
absl::StatusOr<Json> Case(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  return Json(kUpper ? absl::AsciiStrToUpper(*str) : absl::AsciiStrToLower(*str));
}

// Go's strings.SplitN (n < 0: all) including the empty-separator case that
// splits into UTF-8 sequences.
absl::StatusOr<Json> SplitImpl(const std::string& s, const std::string& sep, int64_t n,
                               bool after) {
  Json out = Json::array();
  if (n == 0) return out;
  if (sep.empty()) {
    size_t i = 0;
    while (i < s.size()) {
      if (n > 0 && static_cast<int64_t>(out.size()) == n - 1) {
        out.push_back(s.substr(i));
        return out;
      }
      size_t len = 1;
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0xF0)
        len = 4;
      else if (c >= 0xE0)
        len = 3;
      else if (c >= 0xC0)
        len = 2;
      len = std::min(len, s.size() - i);
      out.push_back(s.substr(i, len));
      i += len;
      if (out.size() > kMaxElements) return CheckElementCount(out.size(), "split");
    }
    return out;
  }
  size_t start = 0;
  while (n < 0 || static_cast<int64_t>(out.size()) < n - 1) {
    size_t at = s.find(sep, start);
    if (at == std::string::npos) break;
    out.push_back(s.substr(start, at - start + (after ? sep.size() : 0)));
    start = at + sep.size();
    if (out.size() > kMaxElements) return CheckElementCount(out.size(), "split");
  }
  out.push_back(s.substr(start));
  return out;
}

template <bool kAfter>
absl::StatusOr<Json> Split(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 3); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<std::string> sep = StringArg(a, 1);
  if (!sep.ok()) return sep.status();
  int64_t n = -1;
  if (a.size() == 3) {
    absl::StatusOr<int64_t> x = IntArg(a, 2);
    if (!x.ok()) return x.status();
    n = *x;
  }
  return SplitImpl(*str, *sep, n, kAfter);
}

absl::StatusOr<Json> Replace(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 3, 3); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<std::string> from = StringArg(a, 1);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::string> to = StringArg(a, 2);
  if (!to.ok()) return to.status();
  if (from->empty()) {
    // strings.ReplaceAll with an empty old inserts `to` around every byte;
    // bound the result before building it.
    size_t size = str->size() + (str->size() + 1) * to->size();
    if (auto s = CheckStringSize(size, "replace"); !s.ok()) return s;
    std::string out = *to;
    for (char c : *str) {
      out += c;
      out += *to;
    }
    return Json(out);
  }
  size_t count = 0;
  for (size_t at = str->find(*from); at != std::string::npos;
       at = str->find(*from, at + from->size())) {
    ++count;
  }
  if (to->size() > from->size()) {
    if (auto s = CheckStringSize(str->size() + count * (to->size() - from->size()), "replace");
        !s.ok()) {
      return s;
    }
  }
  return Json(absl::StrReplaceAll(*str, {{*from, *to}}));
}

absl::StatusOr<Json> Repeat(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<int64_t> n = IntArg(a, 1);
  if (!n.ok()) return n.status();
  if (*n < 0) return absl::InvalidArgumentError("negative repeat count");
  if (!str->empty() && static_cast<uint64_t>(*n) > kMaxStringBytes / str->size()) {
    return CheckStringSize(kMaxStringBytes + 1, "repeat");
  }
  std::string out;
  out.reserve(str->size() * static_cast<size_t>(*n));
  for (int64_t i = 0; i < *n && !str->empty(); ++i) out += *str;
  return Json(out);
}

absl::StatusOr<Json> Join(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 2); !s.ok()) return s;
  if (!a[0].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument 1 must be an array, got ", TypeName(a[0])));
  }
  std::string sep;
  if (a.size() == 2) {
    absl::StatusOr<std::string> x = StringArg(a, 1);
    if (!x.ok()) return x.status();
    sep = *x;
  }
  std::string out;
  bool first = true;
  for (const Json& e : a[0]) {
    if (!e.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("join needs an array of strings, found ", TypeName(e)));
    }
    if (!first) out += sep;
    first = false;
    out += e.get_ref<const std::string&>();
    if (auto s = CheckStringSize(out.size(), "join"); !s.ok()) return s;
  }
  return Json(out);
}

template <bool kLast>
absl::StatusOr<Json> IndexOf(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<std::string> sub = StringArg(a, 1);
  if (!sub.ok()) return sub.status();
  size_t at = kLast ? str->rfind(*sub) : str->find(*sub);
  return Json(at == std::string::npos ? int64_t{-1} : static_cast<int64_t>(at));
}

template <bool kPrefix>
absl::StatusOr<Json> HasAffix(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<std::string> x = StringArg(a, 1);
  if (!x.ok()) return x.status();
  return Json(kPrefix ? absl::StartsWith(*str, *x) : absl::EndsWith(*str, *x));
}

// Flattens numbers out of args and nested arrays, as expr's min/max/mean do.
absl::Status CollectNumbers(const Json& v, std::vector<const Json*>* out, int depth) {
  if (depth > kMaxJsonDepth) return absl::InvalidArgumentError("arrays nested too deeply");
  if (v.is_array()) {
    for (const Json& e : v) {
      if (absl::Status s = CollectNumbers(e, out, depth + 1); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (!IsNumber(v)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid argument (type ", TypeName(v), ")"));
  }
  out->push_back(&v);
  return absl::OkStatus();
}

template <bool kMax>
absl::StatusOr<Json> MinMax(std::vector<Json>& a) {
  if (a.empty()) return absl::InvalidArgumentError("expected at least 1 argument");
  std::vector<const Json*> nums;
  for (const Json& v : a) {
    if (absl::Status s = CollectNumbers(v, &nums, 0); !s.ok()) return s;
  }
  if (nums.empty()) return Json(nullptr);
  const Json* best = nums[0];
  for (const Json* n : nums) {
    absl::StatusOr<int> c = Compare(*n, *best, kMax ? "max" : "min");
    if (!c.ok()) return c.status();
    if (kMax ? *c == 1 : *c == -1) best = n;
  }
  return *best;
}

absl::StatusOr<Json> Mean(std::vector<Json>& a) {
  std::vector<const Json*> nums;
  for (const Json& v : a) {
    if (absl::Status s = CollectNumbers(v, &nums, 0); !s.ok()) return s;
  }
  if (nums.empty()) return Json(0.0);
  double total = 0;
  for (const Json* n : nums) total += AsDouble(*n);
  return Json(total / static_cast<double>(nums.size()));
}

absl::StatusOr<Json> Median(std::vector<Json>& a) {
  std::vector<const Json*> nums;
  for (const Json& v : a) {
    if (absl::Status s = CollectNumbers(v, &nums, 0); !s.ok()) return s;
  }
  if (nums.empty()) return Json(0.0);
  std::vector<double> d;
  for (const Json* n : nums) d.push_back(AsDouble(*n));
  std::sort(d.begin(), d.end());
  size_t m = d.size() / 2;
  return Json(d.size() % 2 == 0 ? (d[m - 1] + d[m]) / 2 : d[m]);
}

absl::StatusOr<Json> ToJsonIndented(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  return Json(GoJson(a[0], "  "));
}

absl::StatusOr<Json> ToJsonCompact(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  return Json(GoJson(a[0]));
}

absl::StatusOr<Json> FromJson(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  return ParseGoJson(*str);
}

absl::StatusOr<Json> ToBase64(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  return Json(Base64Encode(*str));
}

absl::StatusOr<Json> FromBase64(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  absl::StatusOr<std::string> str = StringArg(a, 0);
  if (!str.ok()) return str.status();
  absl::StatusOr<std::string> out = Base64Decode(*str);
  if (!out.ok()) return out.status();
  return Json(*std::move(out));
}

absl::Status ArrayArg(const std::vector<Json>& a, size_t i) {
  if (!a[i].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", i + 1, " must be an array, got ", TypeName(a[i])));
  }
  return absl::OkStatus();
}

template <bool kLast>
absl::StatusOr<Json> FirstLast(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  if (a[0].empty()) return Json(nullptr);
  return kLast ? std::move(a[0].back()) : std::move(a[0].front());
}

absl::StatusOr<Json> Get(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  if (a[0].is_object() && a[1].is_string()) {
    auto it = a[0].find(a[1].get<std::string>());
    return it == a[0].end() ? Json(nullptr) : std::move(*it);
  }
  if (a[0].is_array() && IsInt(a[1])) {
    int64_t i = AsInt(a[1]);
    int64_t len = static_cast<int64_t>(a[0].size());
    if (i < 0) i += len;
    if (i < 0 || i >= len) return Json(nullptr);
    return std::move(a[0][static_cast<size_t>(i)]);
  }
  return Json(nullptr);
}

absl::StatusOr<Json> Take(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  absl::StatusOr<int64_t> n = IntArg(a, 1);
  if (!n.ok()) return n.status();
  Json out = Json::array();
  for (size_t i = 0; i < a[0].size() && static_cast<int64_t>(i) < *n; ++i) {
    out.push_back(std::move(a[0][i]));
  }
  return out;
}

template <bool kKeys>
absl::StatusOr<Json> KeysValues(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (!a[0].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument 1 must be a map, got ", TypeName(a[0])));
  }
  Json out = Json::array();
  for (auto it = a[0].begin(); it != a[0].end(); ++it) {
    if (kKeys) {
      out.push_back(it.key());
    } else {
      out.push_back(std::move(*it));
    }
  }
  return out;
}

absl::StatusOr<Json> ToPairs(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (!a[0].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument 1 must be a map, got ", TypeName(a[0])));
  }
  Json out = Json::array();
  for (auto it = a[0].begin(); it != a[0].end(); ++it) {
    out.push_back(Json::array({it.key(), std::move(*it)}));
  }
  return out;
}

absl::StatusOr<Json> FromPairs(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  Json out = Json::object();
  for (Json& p : a[0]) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_string()) {
      return absl::InvalidArgumentError("fromPairs needs [key, value] pairs with string keys");
    }
    out[p[0].get<std::string>()] = std::move(p[1]);
  }
  return out;
}

absl::StatusOr<Json> Reverse(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  std::reverse(a[0].begin(), a[0].end());
  return std::move(a[0]);
}

absl::StatusOr<Json> Uniq(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  Json out = Json::array();
  for (Json& e : a[0]) {
    bool seen = false;
    for (const Json& o : out) seen = seen || Equal(o, e);
    if (!seen) out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<Json> Concat(std::vector<Json>& a) {
  Json out = Json::array();
  for (size_t i = 0; i < a.size(); ++i) {
    if (auto s = ArrayArg(a, i); !s.ok()) return s;
    if (auto s = CheckElementCount(out.size() + a[i].size(), "concat"); !s.ok()) return s;
    for (Json& e : a[i]) out.push_back(std::move(e));
  }
  return out;
}

absl::Status FlattenInto(Json& v, Json* out, int depth) {
  if (depth > kMaxJsonDepth) return absl::InvalidArgumentError("arrays nested too deeply");
  for (Json& e : v) {
    if (e.is_array()) {
      if (absl::Status s = FlattenInto(e, out, depth + 1); !s.ok()) return s;
    } else {
      out->push_back(std::move(e));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> Flatten(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 1); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  Json out = Json::array();
  if (absl::Status s = FlattenInto(a[0], &out, 0); !s.ok()) return s;
  return out;
}

absl::StatusOr<Json> Sort(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 1, 2); !s.ok()) return s;
  if (auto s = ArrayArg(a, 0); !s.ok()) return s;
  bool desc = false;
  if (a.size() == 2) {
    if (a[1] != "asc" && a[1] != "desc") {
      return absl::InvalidArgumentError("order must be \"asc\" or \"desc\"");
    }
    desc = a[1] == "desc";
  }
  absl::Status err;
  std::stable_sort(a[0].begin(), a[0].end(), [&](const Json& x, const Json& y) {
    absl::StatusOr<int> c = Compare(x, y, "sort");
    if (!c.ok()) {
      if (err.ok()) err = c.status();
      return false;
    }
    return desc ? *c == 1 : *c == -1;
  });
  if (!err.ok()) return err;
  return std::move(a[0]);
}

absl::StatusOr<Json> JsonPathFn(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  absl::StatusOr<std::string> path = StringArg(a, 1);
  if (!path.ok()) return path.status();
  // Argo unmarshals a string argument first; other values are queried as is.
  if (a[0].is_string()) {
    absl::StatusOr<Json> doc = ParseGoJson(a[0].get_ref<const std::string&>());
    if (!doc.ok()) return doc.status();
    return JsonPath(*doc, *path);
  }
  return JsonPath(a[0], *path);
}

template <int64_t (*F)(int64_t, int64_t)>
absl::StatusOr<Json> Bit(std::vector<Json>& a) {
  if (auto s = ArgCount(a, 2, 2); !s.ok()) return s;
  absl::StatusOr<int64_t> x = IntArg(a, 0);
  if (!x.ok()) return x.status();
  absl::StatusOr<int64_t> y = IntArg(a, 1);
  if (!y.ok()) return y.status();
  return Json(F(*x, *y));
}
int64_t BitAnd(int64_t x, int64_t y) { return x & y; }
int64_t BitOr(int64_t x, int64_t y) { return x | y; }
int64_t BitXor(int64_t x, int64_t y) { return x ^ y; }
int64_t BitNand(int64_t x, int64_t y) { return x & ~y; }

const std::map<std::string, Function, std::less<>>& Table() {
  static const auto* table = new std::map<std::string, Function, std::less<>>{
      {"len", Len},
      {"abs", Abs},
      {"ceil", Rounding<std::ceil>},
      {"floor", Rounding<std::floor>},
      {"round", Rounding<std::round>},
      {"int", Int},
      {"float", Float},
      // Argo Workflows' aliases (util/expr/env).
      {"asInt", Int},
      {"asFloat", Float},
      {"string", String},
      {"type", Type},
      {"trim", Trim},
      {"trimPrefix", TrimAffix<true>},
      {"trimSuffix", TrimAffix<false>},
      {"upper", Case<true>},
      {"lower", Case<false>},
      {"split", Split<false>},
      {"splitAfter", Split<true>},
      {"replace", Replace},
      {"repeat", Repeat},
      {"join", Join},
      {"indexOf", IndexOf<false>},
      {"lastIndexOf", IndexOf<true>},
      {"hasPrefix", HasAffix<true>},
      {"hasSuffix", HasAffix<false>},
      {"max", MinMax<true>},
      {"min", MinMax<false>},
      {"mean", Mean},
      {"median", Median},
      {"toJSON", ToJsonIndented},
      // Argo's toJson is compact, unlike expr's indented toJSON.
      {"toJson", ToJsonCompact},
      {"fromJSON", FromJson},
      {"fromJson", FromJson},
      {"toBase64", ToBase64},
      {"fromBase64", FromBase64},
      {"first", FirstLast<false>},
      {"last", FirstLast<true>},
      {"get", Get},
      {"take", Take},
      {"keys", KeysValues<true>},
      {"values", KeysValues<false>},
      {"toPairs", ToPairs},
      {"fromPairs", FromPairs},
      {"reverse", Reverse},
      {"uniq", Uniq},
      {"concat", Concat},
      {"flatten", Flatten},
      {"sort", Sort},
      {"jsonpath", JsonPathFn},
      {"bitand", Bit<BitAnd>},
      {"bitor", Bit<BitOr>},
      {"bitxor", Bit<BitXor>},
      {"bitnand", Bit<BitNand>},
      {"now", NowBuiltin},
      {"date", DateBuiltin},
      {"duration", DurationBuiltin},
  };
  return *table;
}

}  // namespace

const Function* FindBuiltin(std::string_view name) {
  const auto& t = Table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : &it->second;
}

bool IsPredicateBuiltin(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "all",  "any",       "none",     "one",           "filter",  "map",    "count", "sum",
      "find", "findIndex", "findLast", "findLastIndex", "groupBy", "sortBy", "reduce"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace argonaut::expr::internal
