// Whole-file reads with an error that names what the file was for.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace argonaut::base {

// The file's bytes. NotFound "WHAT: cannot read PATH" when it cannot be opened, Internal when a
// read fails half-way. Meant for small files (tokens, keys, policies, certificates).
absl::StatusOr<std::string> ReadFileToString(const std::string& path, absl::string_view what);

}  // namespace argonaut::base
