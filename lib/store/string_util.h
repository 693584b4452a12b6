// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat and absl hash containers do not accept the
// std::string_view that store.h uses. Convert explicitly at those call sites.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace argonaut::store::internal {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace argonaut::store::internal
