// Glob matching as Argo CD's util/glob (gobwas/glob) reads patterns: `*` is any
// run of characters except the separator, `**` any run including it, `?` one
// character except the separator, `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`)
// character classes, `{a,b}` alternatives (nestable), `\` escapes the next
// character. With no separator (`'\0'`), `*` and `**` are the same.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace argonaut::cd::validation {

// InvalidArgument for a pattern gobwas would not compile (unclosed `[` or `{`,
// trailing `\`, an empty class, too many alternatives).
absl::Status CheckGlob(std::string_view pattern);

// False for an invalid pattern, as Argo CD's glob.Match (it logs and refuses).
bool GlobMatch(std::string_view pattern, std::string_view text, char separator = '\0');

}  // namespace argonaut::cd::validation
