// Safe parsing of untrusted JSON text. nlohmann::json parses any depth, but
// copying, dumping and destroying a document recurse, so a 2 MB `[[[[...]]]]`
// would overflow the stack later; depth is checked on the raw text first.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {

// Parses JSON text that is at most `kMaxDepth` (yaml.h) levels deep.
// INVALID_ARGUMENT with the byte offset on malformed input.
absl::StatusOr<nlohmann::json> ParseJsonText(std::string_view text);

}  // namespace argonaut::manifest
