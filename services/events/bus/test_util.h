// Helpers for the bus tests.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace argonaut::events::bus {

// A new empty directory under the test's private temp dir; "" on failure.
inline std::string NewTempDir(const char* prefix = "bus") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "-XXXXXX");
  return mkdtemp(dir.data()) != nullptr ? dir : "";
}

}  // namespace argonaut::events::bus
