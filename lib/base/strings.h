// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat, SimpleAtoi and friends do not accept a
// std::string_view. Convert explicitly at those call sites.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace argonaut {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace argonaut
