// Helpers for lib/store tests.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace argonaut::store {

// A new empty directory under the test's private temp dir; "" on failure.
inline std::string NewTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/store-XXXXXX");
  return mkdtemp(dir.data()) != nullptr ? dir : "";
}

}  // namespace argonaut::store
