// Test helpers shared by the artifact tests: fresh scratch directories under TEST_TMPDIR and
// whole-file read/write, so each test states only what it checks.
#pragma once

#include <string>

#include "gtest/gtest.h"

namespace argonaut::artifacts::testing {

// The whole file, or "" when it cannot be read (the comparison then fails in the test).
std::string Slurp(const std::string& path);

// Writes `data` to `path`, creating the missing parent directories.
void Spit(const std::string& path, const std::string& data);

// A new empty directory under TEST_TMPDIR (or /tmp) whose name starts with `prefix`;
// "" if it could not be made.
std::string MakeTempDir(const std::string& prefix = "t");

// A fixture owning a fresh `dir_`, removed after each test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::string dir_;
};

}  // namespace argonaut::artifacts::testing
