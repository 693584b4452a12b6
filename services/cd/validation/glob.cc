#include "services/cd/validation/glob.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace argonaut::cd::validation {
namespace {

// Alternatives multiply: a hostile pattern like {a,b}{a,b}... must not blow up.
constexpr size_t kMaxAlternatives = 1024;
// Patterns are repo URLs, names and kinds; a longer one is refused (Expand recurses per brace).
constexpr size_t kMaxPatternLength = 4096;

struct Token {
  enum class Type { kLiteral, kStar, kSuperStar, kOne, kClass };
  Type type = Type::kLiteral;
  char literal = 0;
  bool negated = false;
  std::vector<std::pair<char, char>> ranges;  // kClass
};

// Index just past the `]` closing the class opened at `start` (which holds `[`).
absl::StatusOr<size_t> ClassEnd(std::string_view p, size_t start) {
  size_t i = start + 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  const size_t first = i;
  while (i < p.size() && (p[i] != ']' || i == first)) {
    if (p[i] == '\\') ++i;
    ++i;
  }
  if (i >= p.size()) return absl::InvalidArgumentError("unclosed character class '['");
  return i + 1;
}

absl::StatusOr<std::vector<Token>> Tokenize(std::string_view p) {
  std::vector<Token> out;
  for (size_t i = 0; i < p.size();) {
    Token t;
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return absl::InvalidArgumentError("trailing '\\'");
      t.literal = p[i + 1];
      i += 2;
    } else if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        t.type = Token::Type::kSuperStar;
        i += 2;
      } else {
        t.type = Token::Type::kStar;
        ++i;
      }
    } else if (c == '?') {
      t.type = Token::Type::kOne;
      ++i;
    } else if (c == '[') {
      absl::StatusOr<size_t> end = ClassEnd(p, i);
      if (!end.ok()) return end.status();
      t.type = Token::Type::kClass;
      size_t j = i + 1;
      if (p[j] == '!' || p[j] == '^') {
        t.negated = true;
        ++j;
      }
      const size_t last = *end - 1;  // the closing `]`
      auto read = [&](size_t* k) {
        char ch = p[*k];
        if (ch == '\\' && *k + 1 < last) {
          ch = p[*k + 1];
          *k += 2;
        } else {
          *k += 1;
        }
        return ch;
      };
      while (j < last) {
        const char lo = read(&j);
        char hi = lo;
        if (j + 1 < last && p[j] == '-') {
          ++j;
          hi = read(&j);
          if (hi < lo) {
            return absl::InvalidArgumentError(absl::StrCat(
                "character range ", std::string(1, lo), "-", std::string(1, hi), " is reversed"));
          }
        }
        t.ranges.emplace_back(lo, hi);
      }
      if (t.ranges.empty()) return absl::InvalidArgumentError("empty character class");
      i = *end;
    } else if (c == ']' || c == '}' || c == ',') {
      // Outside a class or braces these are ordinary characters to gobwas too, except
      // that a stray `}` would have closed nothing: treat all three as literals.
      t.literal = c;
      ++i;
    } else {
      t.literal = c;
      ++i;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Expands the first top-level `{...}` into its alternatives, recursively.
absl::Status Expand(std::string_view p, std::vector<std::string>* out) {
  size_t open = std::string_view::npos;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '[') {
      absl::StatusOr<size_t> end = ClassEnd(p, i);
      if (!end.ok()) return end.status();
      i = *end - 1;
    } else if (p[i] == '{') {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos) {
    if (out->size() >= kMaxAlternatives) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxAlternatives, " alternatives"));
    }
    out->emplace_back(p);
    return absl::OkStatus();
  }
  std::vector<std::string_view> alternatives;
  int depth = 0;
  size_t start = open + 1;
  size_t close = std::string_view::npos;
  for (size_t i = open + 1; i < p.size() && close == std::string_view::npos; ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '[') {
      absl::StatusOr<size_t> end = ClassEnd(p, i);
      if (!end.ok()) return end.status();
      i = *end - 1;
    } else if (p[i] == '{') {
      ++depth;
    } else if (p[i] == '}') {
      if (depth == 0) {
        alternatives.push_back(p.substr(start, i - start));
        close = i;
      } else {
        --depth;
      }
    } else if (p[i] == ',' && depth == 0) {
      alternatives.push_back(p.substr(start, i - start));
      start = i + 1;
    }
  }
  if (close == std::string_view::npos) return absl::InvalidArgumentError("unclosed '{'");
  const std::string_view prefix = p.substr(0, open);
  const std::string_view suffix = p.substr(close + 1);
  for (std::string_view alt : alternatives) {
    const std::string candidate = std::string(prefix) + std::string(alt) + std::string(suffix);
    if (absl::Status s = Expand(candidate, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool ClassMatches(const Token& t, char c) {
  bool in = false;
  for (const auto& [lo, hi] : t.ranges) {
    if (c >= lo && c <= hi) in = true;
  }
  return in != t.negated;
}

// Bottom-up over the tokens, one row per token (no recursion, O(text) memory):
// next[si] says whether tokens[ti+1..] match text[si..].
bool Match(const std::vector<Token>& tokens, std::string_view text, char sep) {
  const size_t n = text.size();
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;  // no tokens left: only the empty rest matches
  for (size_t ti = tokens.size(); ti-- > 0;) {
    const Token& t = tokens[ti];
    for (size_t si = n + 1; si-- > 0;) {
      bool m = false;
      switch (t.type) {
        case Token::Type::kLiteral:
          m = si < n && text[si] == t.literal && next[si + 1];
          break;
        case Token::Type::kOne:
          m = si < n && (sep == '\0' || text[si] != sep) && next[si + 1];
          break;
        case Token::Type::kClass:
          m = si < n && ClassMatches(t, text[si]) && next[si + 1];
          break;
        case Token::Type::kStar:
        case Token::Type::kSuperStar: {
          // Empty, or one more character and the same star again.
          const bool any = t.type == Token::Type::kSuperStar || sep == '\0';
          m = next[si] || (si < n && (any || text[si] != sep) && cur[si + 1]);
          break;
        }
      }
      cur[si] = m;
    }
    std::swap(cur, next);
  }
  return next[0];
}

}  // namespace

absl::Status CheckGlob(std::string_view pattern) {
  if (pattern.size() > kMaxPatternLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxPatternLength, " characters"));
  }
  std::vector<std::string> expanded;
  if (absl::Status s = Expand(pattern, &expanded); !s.ok()) return s;
  for (const std::string& p : expanded) {
    if (absl::StatusOr<std::vector<Token>> t = Tokenize(p); !t.ok()) return t.status();
  }
  return absl::OkStatus();
}

bool GlobMatch(std::string_view pattern, std::string_view text, char separator) {
  if (pattern.size() > kMaxPatternLength) return false;
  std::vector<std::string> expanded;
  if (!Expand(pattern, &expanded).ok()) return false;
  for (const std::string& p : expanded) {
    absl::StatusOr<std::vector<Token>> tokens = Tokenize(p);
    if (!tokens.ok()) return false;
    if (Match(*tokens, text, separator)) return true;
  }
  return false;
}

}  // namespace argonaut::cd::validation
