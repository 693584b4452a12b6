// Helpers the sandbox tests share: a per-test scratch directory and a file
// read in one call.
#ifndef ARGONAUT_LIB_CLUSTER_SANDBOX_TEST_UTIL_H_
#define ARGONAUT_LIB_CLUSTER_SANDBOX_TEST_UTIL_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace argonaut::cluster::sandbox::testing {

// A directory of the running test's own, under TEST_TMPDIR (else /tmp); the
// pid keeps repeated runs apart.
inline std::string TestDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = absl::StrCat(t != nullptr ? t : "/tmp", "/", info->name(), "-", getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

// The whole file, or "" when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace argonaut::cluster::sandbox::testing

#endif  // ARGONAUT_LIB_CLUSTER_SANDBOX_TEST_UTIL_H_
