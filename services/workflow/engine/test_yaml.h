// Test helper: the first document of a YAML text as JSON (a failed parse is a
// test failure, and gives null).
#pragma once

#include <string>

#include "gtest/gtest.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::testing {

inline nlohmann::json Yaml(const std::string& text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : nlohmann::json();
}

}  // namespace argonaut::workflow::testing
