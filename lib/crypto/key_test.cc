#include "lib/crypto/key.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/crypto/aead.h"

namespace argonaut::crypto {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class KeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    unsetenv(kKeyEnvVar);
  }
  void Write(const fs::path& p, const std::string& content, mode_t mode) {
    std::ofstream(p, std::ios::binary) << content;
    chmod(p.c_str(), mode);
  }
  fs::path dir_;
};

mode_t ModeOf(const fs::path& p) {
  struct stat st;
  stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST_F(KeyTest, CreatesAPrivateKeyFileAndReadsItBack) {
  const fs::path file = dir_ / "conf" / "argonaut" / "encryption.key";
  absl::StatusOr<std::string> created = LoadOrCreateKeyFile(file);
  ASSERT_OK(created);
  EXPECT_EQ(created->size(), kKeySize);
  EXPECT_EQ(ModeOf(file), 0600);
  EXPECT_EQ(ModeOf(file.parent_path()), 0700);
  EXPECT_EQ(ModeOf(file.parent_path().parent_path()), 0700);
  absl::StatusOr<std::string> again = LoadOrCreateKeyFile(file);
  ASSERT_OK(again);
  EXPECT_EQ(*again, *created);
}

TEST_F(KeyTest, ReadsRawAndBase64Keys) {
  const std::string key(32, '\x07');
  Write(dir_ / "raw", key, 0600);
  Write(dir_ / "b64", absl::Base64Escape(key) + "\n", 0400);
  absl::StatusOr<std::string> raw = ReadKeyFile(dir_ / "raw");
  absl::StatusOr<std::string> b64 = ReadKeyFile(dir_ / "b64");
  ASSERT_OK(raw);
  ASSERT_OK(b64);
  EXPECT_EQ(*raw, key);
  EXPECT_EQ(*b64, key);
}

TEST_F(KeyTest, RefusesAReadableKeyFileWithoutShowingIt) {
  const std::string key(32, 'S');
  Write(dir_ / "open", absl::Base64Escape(key), 0644);
  absl::StatusOr<std::string> read = ReadKeyFile(dir_ / "open");
  EXPECT_THAT(read, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0600")));
  EXPECT_THAT(std::string(read.status().message()), Not(HasSubstr(absl::Base64Escape(key))));
}

TEST_F(KeyTest, RefusesContentThatIsNotAKey) {
  Write(dir_ / "short", "c2hvcnQ=", 0600);
  EXPECT_THAT(ReadKeyFile(dir_ / "short"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32-byte key")));
  EXPECT_THAT(ReadKeyFile(dir_ / "missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(KeyTest, ResolvesFlagThenEnvironmentThenDefault) {
  const std::string env_key(32, 'e');
  setenv(kKeyEnvVar, absl::Base64Escape(env_key).c_str(), 1);
  setenv("XDG_CONFIG_HOME", dir_.c_str(), 1);
  std::string source;
  absl::StatusOr<std::string> from_env = ResolveEncryptionKey("", &source);
  ASSERT_OK(from_env);
  EXPECT_EQ(*from_env, env_key);
  EXPECT_EQ(source, kKeyEnvVar);

  absl::StatusOr<std::string> from_flag = ResolveEncryptionKey(dir_ / "flag.key", &source);
  ASSERT_OK(from_flag);
  EXPECT_NE(*from_flag, env_key);
  EXPECT_EQ(source, (dir_ / "flag.key").string());

  unsetenv(kKeyEnvVar);
  absl::StatusOr<std::string> from_default = ResolveEncryptionKey("", &source);
  ASSERT_OK(from_default);
  EXPECT_EQ(source, (dir_ / "argonaut" / "encryption.key").string());
  EXPECT_EQ(ModeOf(source), 0600);

  setenv(kKeyEnvVar, "not base64 of a key", 1);
  EXPECT_THAT(ResolveEncryptionKey(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kKeyEnvVar)));
  unsetenv(kKeyEnvVar);
}

}  // namespace
}  // namespace argonaut::crypto
