// Tokenizer for expr-lang source. Positions are byte offsets; errors are
// reported with 1-based columns by the caller-facing layer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace argonaut::expr::internal {

enum class TokenKind {
  kIdentifier,
  kInteger,
  kFloat,
  kString,
  kOperator,  // punctuation and word operators (and, or, not, in, matches, ...)
  kBracket,   // ( ) [ ] { }
  kEof,
};

struct Token {
  TokenKind kind;
  std::string text;  // for strings: the unescaped value
  size_t pos = 0;    // byte offset in the source
  bool Is(TokenKind k, std::string_view t) const { return kind == k && text == t; }
};

// Formats `column N: <message> in "<source>"`; shared by lexer, parser and
// evaluator so every error has the same shape.
absl::Status ErrorAt(std::string_view source, size_t pos, absl::string_view message);

absl::StatusOr<std::vector<Token>> Tokenize(std::string_view source);

// Go-style unescaping of a quoted string body (no surrounding quotes).
// Returns the offending offset inside body on error via *bad_pos.
absl::StatusOr<std::string> Unescape(std::string_view body, size_t* bad_pos);

}  // namespace argonaut::expr::internal
