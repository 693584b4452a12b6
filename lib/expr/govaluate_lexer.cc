#include "lib/expr/govaluate_lexer.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/expr/govaluate.h"

namespace argonaut::expr::govaluate_internal {

bool DeepEqual(const Value& a, const Value& b) {
  if (a.v.index() != b.v.index()) return false;
  if (a.IsNil()) return true;
  if (a.IsNum()) return a.Num() == b.Num();
  if (a.IsBool()) return a.Bool() == b.Bool();
  if (a.IsStr()) return a.Str() == b.Str();
  const Array& x = a.Arr();
  const Array& y = b.Arr();
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!DeepEqual(x[i], y[i])) return false;
  }
  return true;
}

std::string GoString(const Value& v) {
  if (v.IsNil()) return "<nil>";
  if (v.IsNum()) return FormatGoFloat(v.Num());
  if (v.IsBool()) return v.Bool() ? "true" : "false";
  if (v.IsStr()) return v.Str();
  std::string out = "[";
  for (size_t i = 0; i < v.Arr().size(); ++i) {
    if (i > 0) out += " ";
    out += GoString(v.Arr()[i]);
  }
  return out + "]";
}

nlohmann::json ToJson(const Value& v) {
  if (v.IsNil()) return nullptr;
  if (v.IsNum()) return v.Num();
  if (v.IsBool()) return v.Bool();
  if (v.IsStr()) return v.Str();
  nlohmann::json out = nlohmann::json::array();
  for (const Value& e : v.Arr()) out.push_back(ToJson(e));
  return out;
}

absl::StatusOr<Value> FromJson(const nlohmann::json& j, std::string_view name, int depth) {
  if (depth > 64)
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", AbslView(name), "' nests too deeply"));
  if (j.is_null()) return Value{};
  if (j.is_boolean()) return Value{j.get<bool>()};
  if (j.is_number()) return Value{j.get<double>()};
  if (j.is_string()) return Value{j.get<std::string>()};
  if (j.is_array()) {
    Array out;
    out.reserve(j.size());
    for (const auto& e : j) {
      ASSIGN_OR_RETURN(Value ev, FromJson(e, name, depth + 1));
      out.push_back(std::move(ev));
    }
    return Value{std::move(out)};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("parameter '", AbslView(name),
                   "' is an object; govaluate values are numbers, strings, "
                   "bools and arrays (use a dotted accessor for fields)"));
}

namespace {

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
// govaluate uses unicode.IsLetter; every non-ASCII byte is accepted as part of a letter here so
// UTF-8 words stay one token.
bool IsLetter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}
bool IsNumericChar(unsigned char c) { return IsDigit(c) || c == '.'; }
bool IsQuote(unsigned char c) { return c == '\'' || c == '"'; }
bool IsVariableChar(unsigned char c) { return IsLetter(c) || IsDigit(c) || c == '_' || c == '.'; }
bool IsSymbolChar(unsigned char c) {
  return !(IsDigit(c) || IsLetter(c) || c == '(' || c == ')' || c == '[' || c == ']' || IsQuote(c));
}

bool IsPrefixSymbol(std::string_view s) { return s == "-" || s == "!" || s == "~"; }
bool IsModifierSymbol(std::string_view s) {
  return s == "+" || s == "-" || s == "*" || s == "/" || s == "%" || s == "**" || s == "&" ||
         s == "|" || s == "^" || s == ">>" || s == "<<";
}
bool IsLogicalSymbol(std::string_view s) { return s == "&&" || s == "||"; }
bool IsComparatorSymbol(std::string_view s) {
  return s == "==" || s == "!=" || s == ">" || s == ">=" || s == "<" || s == "<=" || s == "=~" ||
         s == "!~";
}
bool IsTernarySymbol(std::string_view s) { return s == "?" || s == ":" || s == "??"; }

}  // namespace

// Lexer states: which token kinds may follow a token of a given kind (govaluate lexerState.go).
bool IsValueKind(Kind k) {
  return k == Kind::kNumeric || k == Kind::kBoolean || k == Kind::kString || k == Kind::kVariable ||
         k == Kind::kAccessor || k == Kind::kPattern || k == Kind::kClauseClose;
}
bool StartsOperand(Kind k) {
  return k == Kind::kPrefix || k == Kind::kNumeric || k == Kind::kBoolean || k == Kind::kString ||
         k == Kind::kVariable || k == Kind::kAccessor || k == Kind::kPattern || k == Kind::kClause;
}
bool CanTransition(std::optional<Kind> prev, Kind next) {
  if (!prev.has_value()) return StartsOperand(next);
  if (IsValueKind(*prev)) {
    return next == Kind::kModifier || next == Kind::kComparator || next == Kind::kLogical ||
           next == Kind::kClauseClose || next == Kind::kTernary || next == Kind::kSeparator;
  }
  // After an opening parenthesis an immediate ')' is accepted (govaluate allows it for
  // zero-argument functions); the clause then evaluates to nil.
  if (*prev == Kind::kClause) return StartsOperand(next) || next == Kind::kClauseClose;
  return StartsOperand(next);  // after any operator
}
bool CanEnd(Kind k) { return IsValueKind(k); }

std::string Truncated(std::string_view s) {
  constexpr size_t kMax = 120;
  if (s.size() <= kMax) return std::string(s);
  return absl::StrCat(AbslView(s.substr(0, kMax)), "...");
}

absl::Status ErrorAt(std::string_view source, int column, std::string_view msg) {
  return absl::InvalidArgumentError(
      absl::StrCat("column ", column, ": ", AbslView(msg), " in \"", Truncated(source), "\""));
}

namespace {

// ---------------------------------------------------------------- date literals

// govaluate turns a quoted string that parses as a date into its Unix seconds (a TIME token).
// The RFC 3339 family is reproduced; zone-less forms are read as UTC (govaluate uses the
// controller's local zone, which is UTC in the published images).
bool TwoDigits(std::string_view s, size_t at, int* out) {
  if (at + 2 > s.size() || !IsDigit(s[at]) || !IsDigit(s[at + 1])) return false;
  *out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return true;
}

std::optional<double> ParseDateLiteral(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3}) {
    if (!IsDigit(s[i])) return std::nullopt;
  }
  int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!TwoDigits(s, 5, &month) || !TwoDigits(s, 8, &day)) return std::nullopt;
  size_t pos = 10;
  int64_t offset_seconds = 0;
  if (pos < s.size()) {
    const char sep = s[pos];
    if (sep != ' ' && sep != 'T') return std::nullopt;
    if (!TwoDigits(s, pos + 1, &hour) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !TwoDigits(s, pos + 4, &minute)) {
      return std::nullopt;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!TwoDigits(s, pos + 1, &second)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == '.' && sep == 'T') {
        ++pos;
        size_t digits = 0;
        while (pos < s.size() && IsDigit(s[pos])) ++pos, ++digits;
        if (digits == 0) return std::nullopt;
      }
    } else if (sep == 'T') {
      return std::nullopt;  // RFC 3339 requires seconds
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' && sep == 'T' && pos + 1 == s.size()) {
        pos = s.size();
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
        int oh = 0, om = 0;
        if (!TwoDigits(s, pos + 1, &oh) || !TwoDigits(s, pos + 4, &om)) return std::nullopt;
        offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        pos = s.size();
      } else {
        return std::nullopt;
      }
    } else if (sep == 'T') {
      return std::nullopt;  // RFC 3339 requires a zone
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.month() != month || civil.day() != day) return std::nullopt;  // e.g. Feb 30
  const int64_t unix = absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone()));
  return static_cast<double>(unix - offset_seconds);
}

// ---------------------------------------------------------------- lexer

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> out;
    std::optional<Kind> state;
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) break;
      ASSIGN_OR_RETURN(Token tok, Next(state));
      state = tok.kind;
      out.push_back(std::move(tok));
    }
    return out;
  }

 private:
  // Reads characters while `pred` holds; a backslash takes the next character literally and
  // whitespace ends the run (govaluate readUntilFalse with breakWhitespace).
  template <typename Pred>
  std::string ReadRun(Pred pred) {
    std::string out;
    while (pos_ < src_.size()) {
      const unsigned char c = src_[pos_];
      if (c == '\\' && pos_ + 1 < src_.size()) {
        out += src_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      if (IsSpace(c) || !pred(c)) break;
      out += static_cast<char>(c);
      ++pos_;
    }
    return out;
  }

  absl::StatusOr<Token> Next(std::optional<Kind> state) {
    const int column = static_cast<int>(pos_) + 1;
    const size_t start = pos_;
    const unsigned char c = src_[pos_];
    Token tok{Kind::kNumeric, column, "", Value{}, {}};

    if (IsNumericChar(c)) {
      std::string text = ReadRun(IsNumericChar);
      tok.text = text;
      double d = 0;
      const auto res = std::from_chars(text.data(), text.data() + text.size(), d);
      // Go's ParseFloat accepts "5." and ".5"; from_chars accepts both too but not a lone "."
      if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
        return ErrorAt(src_, column, absl::StrCat("unable to parse numeric value '", text, "'"));
      }
      tok.value = Value{d};
      return tok;
    }
    if (c == ',') {
      ++pos_;
      tok.kind = Kind::kSeparator;
      tok.text = ",";
      tok.value = Value{std::string(",")};
      return tok;
    }
    if (c == '[') {
      // [escaped variable name]: any characters up to ']'.
      ++pos_;
      std::string name;
      while (pos_ < src_.size() && src_[pos_] != ']') {
        if (src_[pos_] == '\\' && pos_ + 1 < src_.size()) ++pos_;
        name += src_[pos_++];
      }
      if (pos_ >= src_.size()) return ErrorAt(src_, column, "unclosed parameter bracket");
      ++pos_;
      tok.kind = Kind::kVariable;
      tok.text = std::string(src_.substr(start, pos_ - start));
      tok.value = Value{std::move(name)};
      return tok;
    }
    if (IsLetter(c)) {
      std::string word = ReadRun(IsVariableChar);
      tok.text = word;
      if (word == "true" || word == "false") {
        tok.kind = Kind::kBoolean;
        tok.value = Value{word == "true"};
        return tok;
      }
      if (word == "in" || word == "IN") {
        tok.kind = Kind::kComparator;
        tok.value = Value{std::string("in")};
        return tok;
      }
      if (word.find('.') != std::string::npos) {
        if (word.back() == '.') {
          return ErrorAt(src_, column, absl::StrCat("hanging accessor on token '", word, "'"));
        }
        std::vector<std::string> parts;
        size_t from = 0;
        while (true) {
          const size_t dot = word.find('.', from);
          parts.push_back(word.substr(from, dot - from));
          if (dot == std::string::npos) break;
          from = dot + 1;
        }
        for (size_t i = 1; i < parts.size(); ++i) {
          // Go only allows exported (upper-case) fields past the first segment.
          const unsigned char first = parts[i].empty() ? 0 : parts[i][0];
          if (parts[i].empty() || (first >= 'a' && first <= 'z')) {
            return ErrorAt(src_, column,
                           absl::StrCat("unable to access unexported field '", parts[i],
                                        "' in token '", word, "'"));
          }
        }
        tok.kind = Kind::kAccessor;
        tok.path = std::move(parts);
        return tok;
      }
      tok.kind = Kind::kVariable;
      tok.value = Value{std::move(word)};
      return tok;
    }
    if (IsQuote(c)) {
      // Either quote character ends the literal, whichever opened it (govaluate isNotQuote).
      ++pos_;
      std::string text;
      bool closed = false;
      while (pos_ < src_.size()) {
        const char ch = src_[pos_];
        if (ch == '\\' && pos_ + 1 < src_.size()) {
          text += src_[pos_ + 1];
          pos_ += 2;
          continue;
        }
        if (IsQuote(ch)) {
          closed = true;
          ++pos_;
          break;
        }
        text += ch;
        ++pos_;
      }
      if (!closed) return ErrorAt(src_, column, "unclosed string literal");
      tok.text = std::string(src_.substr(start, pos_ - start));
      if (std::optional<double> t = ParseDateLiteral(text); t.has_value()) {
        tok.value = Value{*t};
        return tok;  // kNumeric
      }
      tok.kind = Kind::kString;
      tok.value = Value{std::move(text)};
      return tok;
    }
    if (c == '(' || c == ')') {
      ++pos_;
      tok.kind = c == '(' ? Kind::kClause : Kind::kClauseClose;
      tok.text = std::string(1, static_cast<char>(c));
      return tok;
    }
    std::string sym = ReadRun(IsSymbolChar);
    if (sym.empty()) {  // a lone backslash at the end
      sym = std::string(src_.substr(pos_, 1));
      ++pos_;
    }
    tok.text = sym;
    tok.value = Value{sym};
    const bool prefix_ok = !state.has_value() || !IsValueKind(*state);
    if (prefix_ok && IsPrefixSymbol(sym)) {
      tok.kind = Kind::kPrefix;
    } else if (IsModifierSymbol(sym)) {
      tok.kind = Kind::kModifier;
    } else if (IsLogicalSymbol(sym)) {
      tok.kind = Kind::kLogical;
    } else if (IsComparatorSymbol(sym)) {
      tok.kind = Kind::kComparator;
    } else if (IsTernarySymbol(sym)) {
      tok.kind = Kind::kTernary;
    } else {
      return ErrorAt(src_, column,
                     absl::StrCat("invalid token '", sym,
                                  "' (hint: quote values that contain operator characters)"));
    }
    return tok;
  }

  std::string_view src_;
  size_t pos_ = 0;
};

}  // namespace

std::string Describe(const Token& t) { return absl::StrCat("'", t.text, "'"); }

absl::StatusOr<std::vector<Token>> Lex(std::string_view src) { return Lexer(src).Run(); }

}  // namespace argonaut::expr::govaluate_internal
