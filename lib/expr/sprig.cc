#include "lib/expr/sprig.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/strings.h"
#include "lib/expr/builtins_util.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/exprlang_parser.h"
#include "lib/expr/sprig_internal.h"
#include "lib/expr/sprig_time.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {
// sprig's strval: strings as they are, everything else through fmt %v.
std::string StrVal(const Json& v) { return v.is_string() ? v.get<std::string>() : GoFormat(v); }

// spf13/cast ToInt64E as sprig uses it: failures become 0.
int64_t ToInt64(const Json& v) {
  if (IsInt(v)) return AsInt(v);
  if (IsFloat(v)) return TruncateToInt(AsDouble(v));
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    // cast trims a ".0..." tail before ParseInt(s, 0, 0).
    if (size_t dot = s.find('.');
        dot != std::string::npos && s.find_first_not_of('0', dot + 1) == std::string::npos) {
      s.resize(dot);
    }
    int64_t out = 0;
    std::string_view body = s;
    bool neg = false;
    if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
      neg = body[0] == '-';
      body.remove_prefix(1);
    }
    int base = 10;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16;
      body.remove_prefix(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      base = 2;
      body.remove_prefix(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
      base = 8;
      body.remove_prefix(2);
    } else if (body.size() > 1 && body[0] == '0') {
      base = 8;
      body.remove_prefix(1);
    }
    if (body.empty()) return 0;
    uint64_t acc = 0;
    for (char c : body) {
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : 99;
      if (c == '_') continue;
      if (d >= base) return 0;
      if (acc > (uint64_t{1} << 63) / static_cast<uint64_t>(base)) return 0;
      acc = acc * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    if (acc > (uint64_t{1} << 63) || (!neg && acc == (uint64_t{1} << 63))) return 0;
    out = neg ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
    return out;
  }
  return 0;
}

double ToFloat64(const Json& v) {
  if (IsNumber(v)) return AsDouble(v);
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string()) {
    double d = 0;
    return ParseGoFloat(v.get<std::string>(), &d) ? d : 0;
  }
  return 0;
}

bool Empty(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return true;
    case Json::value_t::boolean:
      return !v.get<bool>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return AsInt(v) == 0;
    case Json::value_t::number_float:
      return v.get<double>() == 0;
    case Json::value_t::string:
      return v.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return v.empty();
    default:
      return false;
  }
}

namespace {

using Args = std::vector<Json>;

// Go's %q for a string: printable UTF-8 kept, the rest escaped.
std::string GoQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (AppendCommonEscape(out, c)) continue;
    switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// FIPS 180-4 SHA-256, for sha256sum.
std::string Sha256Hex(const std::string& msg) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::string data = msg;
  uint64_t bit_len = static_cast<uint64_t>(msg.size()) * 8;
  data += static_cast<char>(0x80);
  while (data.size() % 64 != 56) data += '\0';
  for (int i = 7; i >= 0; --i) data += static_cast<char>((bit_len >> (i * 8)) & 0xFF);
  for (size_t chunk = 0; chunk < data.size(); chunk += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data() + chunk + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      uint32_t ch = (e & f) ^ (~e & g);
      uint32_t t1 = hh + s1 + ch + k[i] + w[i];
      uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = s0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  char buf[65];
  for (int i = 0; i < 8; ++i) std::snprintf(buf + 8 * i, 9, "%08x", h[i]);
  return std::string(buf, 64);
}

// Go strings.Title over ASCII: upper-case a letter that follows a separator.
std::string Title(const std::string& s) {
  std::string out = s;
  bool prev_sep = true;
  for (char& c : out) {
    bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                (static_cast<unsigned char>(c) >= 0x80);
    if (prev_sep && word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    prev_sep = !word;
  }
  return out;
}

absl::StatusOr<absl::Time> ToTime(const Json& v) {
  if (IsTime(v)) return GetTime(v).instant;
  if (IsInt(v)) return absl::FromUnixSeconds(AsInt(v));
  if (v.is_string()) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) return t;
  }
  // sprig formats the current time for anything it does not understand.
  return absl::Now();
}

// Converts Go's $1 / ${1} / ${name}-less replacement syntax to RE2's \1.
std::string GoReplacementToRe2(const std::string& repl) {
  std::string out;
  for (size_t i = 0; i < repl.size(); ++i) {
    char c = repl[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '$' && i + 1 < repl.size() && repl[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (c == '$' && i + 1 < repl.size() &&
               std::isdigit(static_cast<unsigned char>(repl[i + 1]))) {
      out += '\\';
      out += repl[++i];
    } else if (c == '$' && i + 3 < repl.size() && repl[i + 1] == '{' &&
               std::isdigit(static_cast<unsigned char>(repl[i + 2])) && repl[i + 3] == '}') {
      out += '\\';
      out += repl[i + 2];
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

#define SPRIG_ARGS(min, max) \
  if (absl::Status _s = ArgCount(a, min, max); !_s.ok()) return _s
#define SPRIG_STR(var, i)                                 \
  absl::StatusOr<std::string> var##_or = StringArg(a, i); \
  if (!var##_or.ok()) return var##_or.status();           \
  const std::string& var = *var##_or

using Fn = SprigFn;

absl::StatusOr<Json> Trim(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return Json(std::string(absl::StripAsciiWhitespace(s)));
}
absl::StatusOr<Json> TrimAll(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(cut, 0);
  SPRIG_STR(s, 1);
  size_t b = s.find_first_not_of(cut);
  if (b == std::string::npos) return Json("");
  return Json(s.substr(b, s.find_last_not_of(cut) - b + 1));
}
absl::StatusOr<Json> TrimPrefix(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  absl::string_view v = s;
  absl::ConsumePrefix(&v, p);
  return Json(std::string(v));
}
absl::StatusOr<Json> TrimSuffix(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  absl::string_view v = s;
  absl::ConsumeSuffix(&v, p);
  return Json(std::string(v));
}
absl::StatusOr<Json> Upper(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return Json(absl::AsciiStrToUpper(s));
}
absl::StatusOr<Json> Lower(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return Json(absl::AsciiStrToLower(s));
}
absl::StatusOr<Json> TitleFn(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return Json(Title(s));
}
absl::StatusOr<Json> Replace(Args& a) {
  SPRIG_ARGS(3, 3);
  SPRIG_STR(from, 0);
  SPRIG_STR(to, 1);
  SPRIG_STR(s, 2);
  size_t count = 0;
  if (!from.empty()) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + from.size())) {
      ++count;
    }
  } else {
    count = s.size() + 1;
  }
  if (to.size() > from.size()) {
    if (auto st = CheckStringSize(s.size() + count * (to.size() - from.size()), "replace");
        !st.ok()) {
      return st;
    }
  }
  if (from.empty()) {
    std::string out = to;
    for (char c : s) {
      out += c;
      out += to;
    }
    return Json(out);
  }
  return Json(absl::StrReplaceAll(s, {{from, to}}));
}
absl::StatusOr<Json> SplitMap(const std::string& sep, const std::string& s, int64_t n) {
  Json list = Json::array();
  {
    // Same splitting as splitList, then keyed _0, _1, ... like sprig's split.
    size_t start = 0;
    if (sep.empty()) {
      for (char c : s) list.push_back(std::string(1, c));
    } else {
      while (n < 0 || static_cast<int64_t>(list.size()) < n - 1) {
        size_t at = s.find(sep, start);
        if (at == std::string::npos) break;
        list.push_back(s.substr(start, at - start));
        start = at + sep.size();
        if (auto st = CheckElementCount(list.size(), "split"); !st.ok()) return st;
      }
      if (n != 0) list.push_back(s.substr(start));
    }
  }
  Json out = Json::object();
  for (size_t i = 0; i < list.size(); ++i) out[absl::StrCat("_", i)] = std::move(list[i]);
  return out;
}
absl::StatusOr<Json> Split(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(sep, 0);
  SPRIG_STR(s, 1);
  return SplitMap(sep, s, -1);
}
absl::StatusOr<Json> SplitN(Args& a) {
  SPRIG_ARGS(3, 3);
  SPRIG_STR(sep, 0);
  SPRIG_STR(s, 2);
  return SplitMap(sep, s, ToInt64(a[1]));
}
absl::StatusOr<Json> SplitList(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(sep, 0);
  SPRIG_STR(s, 1);
  absl::StatusOr<Json> m = SplitMap(sep, s, -1);
  if (!m.ok()) return m;
  Json out = Json::array();
  for (size_t i = 0; i < m->size(); ++i) out.push_back(std::move((*m)[absl::StrCat("_", i)]));
  return out;
}
absl::StatusOr<Json> Join(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(sep, 0);
  Json list = a[1].is_array() ? a[1] : Json::array({a[1]});
  std::string out;
  bool first = true;
  for (const Json& e : list) {
    if (e.is_null()) continue;  // strslice drops nils
    if (!first) out += sep;
    first = false;
    out += StrVal(e);
    if (auto st = CheckStringSize(out.size(), "join"); !st.ok()) return st;
  }
  return Json(out);
}
absl::StatusOr<Json> Contains(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(sub, 0);
  SPRIG_STR(s, 1);
  return Json(absl::StrContains(s, sub));
}
absl::StatusOr<Json> HasPrefix(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  return Json(absl::StartsWith(s, p));
}
absl::StatusOr<Json> HasSuffix(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  return Json(absl::EndsWith(s, p));
}
absl::StatusOr<Json> Quote(Args& a) {
  std::string out;
  for (const Json& v : a) {
    if (v.is_null()) continue;
    if (!out.empty()) out += ' ';
    out += GoQuote(StrVal(v));
  }
  return Json(out);
}
absl::StatusOr<Json> Squote(Args& a) {
  std::string out;
  for (const Json& v : a) {
    if (v.is_null()) continue;
    if (!out.empty()) out += ' ';
    out += "'" + StrVal(v) + "'";
  }
  return Json(out);
}
absl::StatusOr<Json> Cat(Args& a) {
  std::string out;
  for (const Json& v : a) {
    if (v.is_null()) continue;
    if (!out.empty()) out += ' ';
    out += StrVal(v);
  }
  return Json(out);
}
absl::StatusOr<Json> Repeat(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(s, 1);
  int64_t n = ToInt64(a[0]);
  if (n < 0) return absl::InvalidArgumentError("negative repeat count");
  if (!s.empty() && static_cast<uint64_t>(n) > kMaxStringBytes / s.size()) {
    return CheckStringSize(kMaxStringBytes + 1, "repeat");
  }
  std::string out;
  for (int64_t i = 0; i < n && !s.empty(); ++i) out += s;
  return Json(out);
}
absl::StatusOr<Json> Trunc(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(s, 1);
  int64_t c = ToInt64(a[0]);
  int64_t len = static_cast<int64_t>(s.size());
  if (c < 0 && len + c > 0) return Json(s.substr(static_cast<size_t>(len + c)));
  if (c >= 0 && len > c) return Json(s.substr(0, static_cast<size_t>(c)));
  return Json(s);
}
absl::StatusOr<Json> Substr(Args& a) {
  SPRIG_ARGS(3, 3);
  SPRIG_STR(s, 2);
  int64_t start = ToInt64(a[0]), end = ToInt64(a[1]);
  int64_t len = static_cast<int64_t>(s.size());
  if (start < 0) return Json(s.substr(0, static_cast<size_t>(std::clamp<int64_t>(end, 0, len))));
  if (end < 0 || end > len) return Json(start >= len ? "" : s.substr(static_cast<size_t>(start)));
  if (start > end) return Json("");
  return Json(s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start)));
}
absl::StatusOr<Json> Indent(Args& a, bool leading_newline) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(s, 1);
  int64_t n = ToInt64(a[0]);
  if (n < 0 || n > 1024) return absl::InvalidArgumentError("indent width must be 0..1024");
  std::string pad(static_cast<size_t>(n), ' ');
  size_t lines = static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
  if (auto st = CheckStringSize(s.size() + lines * pad.size() + 1, "indent"); !st.ok()) return st;
  std::string out = pad + absl::StrReplaceAll(s, {{"\n", "\n" + pad}});
  return Json(leading_newline ? "\n" + out : out);
}
absl::StatusOr<Json> IndentFn(Args& a) { return Indent(a, false); }
absl::StatusOr<Json> NindentFn(Args& a) { return Indent(a, true); }
absl::StatusOr<Json> Nospace(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  std::string out;
  for (char c : s) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out += c;
  }
  return Json(out);
}
absl::StatusOr<Json> Default(Args& a) {
  // default(fallback, given): in templates `given | default fallback`.
  SPRIG_ARGS(1, 2);
  if (a.size() == 1 || Empty(a[1])) return std::move(a[0]);
  return std::move(a[1]);
}
absl::StatusOr<Json> EmptyFn(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(Empty(a[0]));
}
absl::StatusOr<Json> Coalesce(Args& a) {
  for (Json& v : a) {
    if (!Empty(v)) return std::move(v);
  }
  return Json(nullptr);
}
absl::StatusOr<Json> Ternary(Args& a) {
  SPRIG_ARGS(3, 3);
  if (!a[2].is_boolean()) return absl::InvalidArgumentError("ternary condition must be bool");
  return a[2].get<bool>() ? std::move(a[0]) : std::move(a[1]);
}
absl::StatusOr<Json> Add(Args& a) {
  int64_t sum = 0;
  for (const Json& v : a) sum = WrapAdd(sum, ToInt64(v));
  return Json(sum);
}
absl::StatusOr<Json> Add1(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(WrapAdd(ToInt64(a[0]), 1));
}
absl::StatusOr<Json> Sub(Args& a) {
  SPRIG_ARGS(2, 2);
  return Json(WrapSub(ToInt64(a[0]), ToInt64(a[1])));
}
absl::StatusOr<Json> Mul(Args& a) {
  SPRIG_ARGS(1, 64);
  int64_t p = ToInt64(a[0]);
  for (size_t i = 1; i < a.size(); ++i) p = WrapMul(p, ToInt64(a[i]));
  return Json(p);
}
absl::StatusOr<Json> Div(Args& a) {
  SPRIG_ARGS(2, 2);
  int64_t y = ToInt64(a[1]);
  if (y == 0) return absl::InvalidArgumentError("integer divide by zero");
  int64_t x = ToInt64(a[0]);
  if (y == -1) return Json(WrapSub(0, x));
  return Json(x / y);
}
absl::StatusOr<Json> Mod(Args& a) {
  SPRIG_ARGS(2, 2);
  int64_t y = ToInt64(a[1]);
  if (y == 0) return absl::InvalidArgumentError("integer divide by zero");
  if (y == -1) return Json(int64_t{0});
  return Json(ToInt64(a[0]) % y);
}
template <bool kMax>
absl::StatusOr<Json> MinMax(Args& a) {
  SPRIG_ARGS(1, 1024);
  int64_t best = ToInt64(a[0]);
  for (const Json& v : a) best = kMax ? std::max(best, ToInt64(v)) : std::min(best, ToInt64(v));
  return Json(best);
}
template <int kOp>
absl::StatusOr<Json> FloatOp(Args& a) {
  SPRIG_ARGS(1, 1024);
  double acc = ToFloat64(a[0]);
  for (size_t i = 1; i < a.size(); ++i) {
    double x = ToFloat64(a[i]);
    switch (kOp) {
      case 0:
        acc += x;
        break;
      case 1:
        acc -= x;
        break;
      case 2:
        acc *= x;
        break;
      case 3:
        acc /= x;
        break;
      case 4:
        acc = std::max(acc, x);
        break;
      case 5:
        acc = std::min(acc, x);
        break;
    }
  }
  return Json(acc);
}
absl::StatusOr<Json> ToStringFn(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(StrVal(a[0]));
}
absl::StatusOr<Json> Atoi(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  int64_t v = 0;
  return Json(ParseGoInt(s, &v) ? v : 0);  // sprig drops the error
}
absl::StatusOr<Json> IntFn(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(ToInt64(a[0]));
}
absl::StatusOr<Json> Float64Fn(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(ToFloat64(a[0]));
}
absl::StatusOr<Json> B64Enc(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(Base64Encode(StrVal(a[0])));
}
absl::StatusOr<Json> B64Dec(Args& a) {
  SPRIG_ARGS(1, 1);
  absl::StatusOr<std::string> out = Base64Decode(StrVal(a[0]));
  // sprig returns the error text as the value.
  return Json(out.ok() ? *out : std::string(out.status().message()));
}
absl::StatusOr<Json> Sha256Sum(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return Json(Sha256Hex(s));
}
absl::StatusOr<Json> Date(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(layout, 0);
  absl::StatusOr<absl::Time> t = ToTime(a[1]);
  if (!t.ok()) return t.status();
  return Json(FormatGoLayout(layout, *t));
}
absl::StatusOr<Json> Now(Args& a) {
  SPRIG_ARGS(0, 0);
  // No time type in JSON: RFC 3339 text, which date/dateModify accept back.
  return Json(absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
}
absl::StatusOr<Json> UnixEpoch(Args& a) {
  SPRIG_ARGS(1, 1);
  absl::StatusOr<absl::Time> t = ToTime(a[0]);
  if (!t.ok()) return t.status();
  return Json(std::to_string(absl::ToUnixSeconds(*t)));
}
absl::StatusOr<std::shared_ptr<const re2::RE2>> Regex(const std::string& pattern) {
  return CompileRegex(pattern);
}
absl::StatusOr<Json> RegexMatch(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  absl::StatusOr<std::shared_ptr<const re2::RE2>> re = Regex(p);
  if (!re.ok()) return re.status();
  return Json(re2::RE2::PartialMatch(s, **re));
}
absl::StatusOr<Json> RegexFindAll(const std::string& p, const std::string& s, int64_t n) {
  absl::StatusOr<std::shared_ptr<const re2::RE2>> re = Regex(p);
  if (!re.ok()) return re.status();
  Json out = Json::array();
  re2::StringPiece input(s);
  re2::StringPiece match;
  size_t pos = 0;
  while (pos <= s.size() && (n < 0 || static_cast<int64_t>(out.size()) < n)) {
    if (!(*re)->Match(input, pos, s.size(), re2::RE2::UNANCHORED, &match, 1)) break;
    out.push_back(std::string(match.data(), match.size()));
    size_t end = static_cast<size_t>(match.data() - s.data()) + match.size();
    pos = match.empty() ? end + 1 : end;
    if (auto st = CheckElementCount(out.size(), "regexFindAll"); !st.ok()) return st;
  }
  return out;
}
absl::StatusOr<Json> RegexFind(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  absl::StatusOr<Json> all = RegexFindAll(p, s, 1);
  if (!all.ok()) return all;
  return all->empty() ? Json("") : (*all)[0];
}
absl::StatusOr<Json> RegexFindAllFn(Args& a) {
  SPRIG_ARGS(3, 3);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  return RegexFindAll(p, s, ToInt64(a[2]));
}
absl::StatusOr<Json> RegexReplace(Args& a, bool literal) {
  SPRIG_ARGS(3, 3);
  SPRIG_STR(p, 0);
  SPRIG_STR(s, 1);
  SPRIG_STR(repl, 2);
  absl::StatusOr<std::shared_ptr<const re2::RE2>> re = Regex(p);
  if (!re.ok()) return re.status();
  std::string rewrite =
      literal ? absl::StrReplaceAll(repl, {{"\\", "\\\\"}}) : GoReplacementToRe2(repl);
  // Bound the output: every match can at most add the rewrite's length.
  if (auto st = CheckStringSize(s.size() + (s.size() + 1) * rewrite.size(), "regexReplaceAll");
      !st.ok()) {
    return st;
  }
  std::string out = s;
  re2::RE2::GlobalReplace(&out, **re, rewrite);
  return Json(out);
}
absl::StatusOr<Json> RegexReplaceAll(Args& a) { return RegexReplace(a, false); }
absl::StatusOr<Json> RegexReplaceAllLiteral(Args& a) { return RegexReplace(a, true); }
absl::StatusOr<Json> Floor(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(std::floor(ToFloat64(a[0])));
}
absl::StatusOr<Json> Ceil(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(std::ceil(ToFloat64(a[0])));
}
absl::StatusOr<Json> Round(Args& a) {
  SPRIG_ARGS(2, 3);
  double x = ToFloat64(a[0]);
  int64_t places = std::clamp<int64_t>(ToInt64(a[1]), 0, 15);
  double round_on = a.size() == 3 ? ToFloat64(a[2]) : 0.5;
  double pow = std::pow(10.0, static_cast<double>(places));
  double digit = pow * x;
  double whole = 0;
  double frac = std::modf(digit, &whole);
  double rounded = frac >= round_on ? std::ceil(digit) : std::floor(digit);
  return Json(rounded / pow);
}

const std::map<std::string, Fn, std::less<>>& Table() {
  static auto* table = new std::map<std::string, Fn, std::less<>>{
      {"trim", Trim},
      {"trimAll", TrimAll},
      {"trimPrefix", TrimPrefix},
      {"trimSuffix", TrimSuffix},
      {"upper", Upper},
      {"lower", Lower},
      {"title", TitleFn},
      {"replace", Replace},
      {"split", Split},
      {"splitn", SplitN},
      {"splitList", SplitList},
      {"join", Join},
      {"contains", Contains},
      {"hasPrefix", HasPrefix},
      {"hasSuffix", HasSuffix},
      {"quote", Quote},
      {"squote", Squote},
      {"cat", Cat},
      {"repeat", Repeat},
      {"trunc", Trunc},
      {"substr", Substr},
      {"indent", IndentFn},
      {"nindent", NindentFn},
      {"nospace", Nospace},
      {"default", Default},
      {"empty", EmptyFn},
      {"coalesce", Coalesce},
      {"ternary", Ternary},
      {"add", Add},
      {"add1", Add1},
      {"sub", Sub},
      {"mul", Mul},
      {"div", Div},
      {"mod", Mod},
      {"max", MinMax<true>},
      {"min", MinMax<false>},
      {"addf", FloatOp<0>},
      {"subf", FloatOp<1>},
      {"mulf", FloatOp<2>},
      {"divf", FloatOp<3>},
      {"maxf", FloatOp<4>},
      {"minf", FloatOp<5>},
      {"floor", Floor},
      {"ceil", Ceil},
      {"round", Round},
      {"toString", ToStringFn},
      {"atoi", Atoi},
      {"int", IntFn},
      {"int64", IntFn},
      {"float64", Float64Fn},
      {"b64enc", B64Enc},
      {"b64dec", B64Dec},
      {"sha256sum", Sha256Sum},
      {"date", Date},
      {"now", Now},
      {"unixEpoch", UnixEpoch},
      {"regexMatch", RegexMatch},
      {"regexFind", RegexFind},
      {"regexFindAll", RegexFindAllFn},
      {"regexReplaceAll", RegexReplaceAll},
      {"regexReplaceAllLiteral", RegexReplaceAllLiteral},
  };
  static const bool lists_added = (AddSprigListFunctions(*table), true);
  (void)lists_added;
  return *table;
}

}  // namespace

const Function* FindSprig(std::string_view name) {
  // Wrapped once into std::function so the parser can copy them into nodes.
  static const auto* wrapped = [] {
    auto* m = new std::map<std::string, Function, std::less<>>();
    for (const auto& [n, f] : Table()) (*m)[n] = f;
    return m;
  }();
  auto it = wrapped->find(name);
  return it == wrapped->end() ? nullptr : &it->second;
}

}  // namespace argonaut::expr::internal
