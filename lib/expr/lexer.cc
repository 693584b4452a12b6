#include "lib/expr/lexer.h"

#include <cctype>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::expr::internal {
namespace {

// Longest-first so "**" wins over "*", "?." over "?", and so on.
constexpr std::string_view kPunct[] = {"**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.",
                                       "..", "+",  "-",  "*",  "/",  "%",  "^",  "<",  ">",
                                       "!",  "?",  ":",  ".",  ",",  "#",  "|",  ";",  "="};

constexpr std::string_view kWordOperators[] = {
    "not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith", "let"};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::Status ErrorAt(std::string_view source, size_t pos, absl::string_view message) {
  // Quote at most a window of the source so a 1 MB expression does not
  // produce a 1 MB error message.
  constexpr size_t kMaxQuoted = 200;
  std::string quoted(source.substr(0, kMaxQuoted));
  if (source.size() > kMaxQuoted) quoted += "...";
  return absl::InvalidArgumentError(
      absl::StrCat("column ", pos + 1, ": ", message, " in \"", quoted, "\""));
}

absl::StatusOr<std::string> Unescape(std::string_view body, size_t* bad_pos) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    *bad_pos = i;
    if (i + 1 >= body.size()) return absl::InvalidArgumentError("unterminated escape sequence");
    char e = body[++i];
    switch (e) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case '`':
        out += '`';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        uint32_t cp = 0;
        for (size_t k = 1; k <= n; ++k) {
          if (i + k >= body.size()) return absl::InvalidArgumentError("invalid escape sequence");
          int h = HexValue(body[i + k]);
          if (h < 0) return absl::InvalidArgumentError("invalid escape sequence");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(cp);
        } else {
          AppendUtf8(out, cp);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = 0;
          for (size_t k = 0; k < 3; ++k) {
            if (i + k >= body.size() || body[i + k] < '0' || body[i + k] > '7') {
              return absl::InvalidArgumentError("invalid octal escape sequence");
            }
            v = v * 8 + static_cast<uint32_t>(body[i + k] - '0');
          }
          if (v > 255) return absl::InvalidArgumentError("invalid octal escape sequence");
          i += 2;
          out += static_cast<char>(v);
          break;
        }
        return absl::InvalidArgumentError("invalid escape sequence");
    }
  }
  return out;
}

absl::StatusOr<std::vector<Token>> Tokenize(std::string_view src) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < src.size()) {
    char c = src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    // Comments: expr accepts // line and /* block */ comments.
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      while (i < src.size() && src[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
      size_t end = src.find("*/", i + 2);
      if (end == std::string_view::npos) return ErrorAt(src, i, "unclosed comment");
      i = end + 2;
      continue;
    }
    size_t start = i;
    if (std::isdigit(static_cast<unsigned char>(c))) {
      bool is_float = false;
      std::string digits;
      if (c == '0' && i + 1 < src.size() && src[i + 1] != '\0' &&
          std::strchr("xXoObB", src[i + 1]) != nullptr) {
        char base_char = static_cast<char>(std::tolower(static_cast<unsigned char>(src[i + 1])));
        int base = base_char == 'x' ? 16 : (base_char == 'o' ? 8 : 2);
        i += 2;
        uint64_t value = 0;
        bool any = false;
        while (i < src.size() && (HexValue(src[i]) >= 0 || src[i] == '_')) {
          if (src[i] == '_') {
            ++i;
            continue;
          }
          int d = HexValue(src[i]);
          if (d >= base) return ErrorAt(src, i, "invalid digit in number literal");
          if (value > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base) ||
              value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d) >
                  static_cast<uint64_t>(INT64_MAX)) {
            return ErrorAt(src, start, "integer literal overflows int64");
          }
          value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
          any = true;
          ++i;
        }
        if (!any) return ErrorAt(src, start, "invalid number literal");
        tokens.push_back({TokenKind::kInteger, std::to_string(value), start});
        continue;
      }
      while (i < src.size() &&
             (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) {
        if (src[i] != '_') digits += src[i];
        ++i;
      }
      // "1..3" is a range, so a dot only makes a float when a digit follows.
      if (i + 1 < src.size() && src[i] == '.' &&
          std::isdigit(static_cast<unsigned char>(src[i + 1]))) {
        is_float = true;
        digits += '.';
        ++i;
        while (i < src.size() &&
               (std::isdigit(static_cast<unsigned char>(src[i])) || src[i] == '_')) {
          if (src[i] != '_') digits += src[i];
          ++i;
        }
      }
      if (i < src.size() && (src[i] == 'e' || src[i] == 'E')) {
        size_t j = i + 1;
        if (j < src.size() && (src[j] == '+' || src[j] == '-')) ++j;
        if (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) {
          is_float = true;
          digits += 'e';
          digits.append(src.substr(i + 1, j - i - 1));
          i = j;
          while (i < src.size() && std::isdigit(static_cast<unsigned char>(src[i]))) {
            digits += src[i++];
          }
        }
      }
      if (i < src.size() && IsIdentStart(src[i])) {
        return ErrorAt(src, i, "invalid character in number literal");
      }
      tokens.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, digits, start});
      continue;
    }
    if (IsIdentStart(c)) {
      while (i < src.size() && IsIdentChar(src[i])) ++i;
      std::string word(src.substr(start, i - start));
      bool is_op = false;
      for (std::string_view w : kWordOperators) is_op |= (w == word);
      tokens.push_back({is_op ? TokenKind::kOperator : TokenKind::kIdentifier, word, start});
      continue;
    }
    if (c == '"' || c == '\'') {
      ++i;
      while (i < src.size() && src[i] != c) {
        if (src[i] == '\n') return ErrorAt(src, start, "literal not terminated");
        if (src[i] == '\\') ++i;
        ++i;
      }
      if (i >= src.size()) return ErrorAt(src, start, "literal not terminated");
      std::string_view body = src.substr(start + 1, i - start - 1);
      ++i;
      size_t bad = 0;
      absl::StatusOr<std::string> value = Unescape(body, &bad);
      if (!value.ok()) return ErrorAt(src, start + 1 + bad, value.status().message());
      tokens.push_back({TokenKind::kString, *std::move(value), start});
      continue;
    }
    if (c == '`') {
      size_t end = src.find('`', i + 1);
      if (end == std::string_view::npos) return ErrorAt(src, start, "literal not terminated");
      tokens.push_back({TokenKind::kString, std::string(src.substr(i + 1, end - i - 1)), start});
      i = end + 1;
      continue;
    }
    if (c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}') {
      tokens.push_back({TokenKind::kBracket, std::string(1, c), start});
      ++i;
      continue;
    }
    bool matched = false;
    for (std::string_view p : kPunct) {
      if (src.substr(i, p.size()) == p) {
        tokens.push_back({TokenKind::kOperator, std::string(p), start});
        i += p.size();
        matched = true;
        break;
      }
    }
    if (!matched) {
      return ErrorAt(src, start, absl::StrCat("unrecognized character '", std::string(1, c), "'"));
    }
  }
  tokens.push_back({TokenKind::kEof, "", src.size()});
  return tokens;
}

}  // namespace argonaut::expr::internal
