#include "lib/artifacts/testing_files.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace argonaut::artifacts::testing {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/" + prefix + "XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

void TempDirTest::SetUp() {
  dir_ = MakeTempDir();
  ASSERT_FALSE(dir_.empty()) << "mkdtemp failed";
}

void TempDirTest::TearDown() {
  if (!dir_.empty()) fs::remove_all(dir_);
}

}  // namespace argonaut::artifacts::testing
