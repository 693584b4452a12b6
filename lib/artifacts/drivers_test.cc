#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/artifacts/driver.h"
#include "lib/artifacts/local_driver.h"
#include "lib/artifacts/testing_files.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::artifacts::testing::Spit;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json Local(const std::string& key) { return {{"name", "a"}, {"local", {{"key", key}}}}; }

class DriversTest : public ::argonaut::artifacts::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    options_.local_root = dir_ + "/repo";
  }
  DriverOptions options_;
};

TEST(LocationKindTest, NamesTheOneLocation) {
  EXPECT_EQ(*LocationKind(json{{"name", "a"}, {"s3", {{"key", "k"}}}}), "s3");
  EXPECT_EQ(*LocationKind(json{{"name", "a"}, {"local", {{"key", "k"}}}}), "local");
  EXPECT_THAT(LocationKind(json{{"name", "a"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("artifact \"a\"")));
  EXPECT_THAT(LocationKind(json{{"name", "a"}, {"s3", json::object()}, {"git", json::object()}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one")));
  EXPECT_THAT(MakeDriver(json{{"name", "a"}, {"gcs", {{"key", "k"}}}}, {}),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("gcs")));
  EXPECT_THAT(MakeDriver(Local("k"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST_F(DriversTest, EveryKindReachesItsDriver) {
  auto raw = MakeDriver(json{{"name", "r"}, {"raw", {{"data", "inline"}}}}, options_);
  ASSERT_OK(raw.status());
  ASSERT_OK((*raw)->Load(json{{"name", "r"}, {"raw", {{"data", "inline"}}}}, dir_ + "/raw"));
  EXPECT_EQ(Slurp(dir_ + "/raw"), "inline");
  EXPECT_OK(MakeDriver(json{{"name", "h"}, {"http", {{"url", "http://127.0.0.1:1/x"}}}}, options_)
                .status());
  EXPECT_OK(
      MakeDriver(json{{"name", "g"}, {"git", {{"repo", "https://127.0.0.1:1/r.git"}}}}, options_)
          .status());
  EXPECT_OK(
      MakeDriver(
          json{{"name", "s"},
               {"s3",
                {{"endpoint", "127.0.0.1:1"}, {"bucket", "b"}, {"insecure", true}, {"key", "k"}}}},
          options_)
          .status());
}

TEST_F(DriversTest, LocalDriverSavesLoadsListsAndDeletes) {
  auto driver = MakeDriver(Local("wf/p/f.txt"), options_);
  ASSERT_OK(driver.status());
  Spit(dir_ + "/src/f.txt", "hello");
  Spit(dir_ + "/src/tree/a", "A");
  Spit(dir_ + "/src/tree/sub/b", "B");
  ASSERT_OK((*driver)->Save(dir_ + "/src/f.txt", Local("wf/p/f.txt")));
  ASSERT_OK((*driver)->Save(dir_ + "/src/tree", Local("wf/p/tree")));
  EXPECT_EQ(Slurp(dir_ + "/repo/wf/p/f.txt"), "hello");

  ASSERT_OK((*driver)->Load(Local("wf/p/f.txt"), dir_ + "/in.txt"));
  EXPECT_EQ(Slurp(dir_ + "/in.txt"), "hello");
  ASSERT_OK((*driver)->Load(Local("wf/p/tree"), dir_ + "/in-tree"));
  EXPECT_EQ(Slurp(dir_ + "/in-tree/sub/b"), "B");
  std::string streamed;
  ASSERT_OK((*driver)->OpenStream(Local("wf/p/f.txt"), [&](std::string_view c) {
    streamed.append(c);
    return absl::OkStatus();
  }));
  EXPECT_EQ(streamed, "hello");

  auto listed = (*driver)->ListObjects(Local("wf/p/tree"));
  ASSERT_OK(listed.status());
  std::sort(listed->begin(), listed->end());
  EXPECT_THAT(*listed, ElementsAre("wf/p/tree/a", "wf/p/tree/sub/b"));
  EXPECT_THAT(*(*driver)->ListObjects(Local("wf/p/f.txt")), ElementsAre("wf/p/f.txt"));
  EXPECT_TRUE((*driver)->ListObjects(Local("wf/p/none"))->empty());

  EXPECT_THAT((*driver)->Load(Local("wf/p/none"), dir_ + "/x"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ASSERT_OK((*driver)->Delete(Local("wf/p/tree")));
  ASSERT_OK((*driver)->Delete(Local("wf/p/tree")));  // twice: GC may run again
  EXPECT_FALSE(fs::exists(dir_ + "/repo/wf/p/tree"));
  EXPECT_TRUE(fs::exists(dir_ + "/repo/wf/p/f.txt"));
}

TEST_F(DriversTest, LocalKeysNeverPassThroughLinks) {
  auto driver = MakeLocalDriver(options_);
  ASSERT_OK(driver.status());
  fs::create_directories(dir_ + "/repo");
  fs::create_directories(dir_ + "/victim");
  Spit(dir_ + "/victim/secret", "TOPSECRET");
  ASSERT_EQ(symlink((dir_ + "/victim").c_str(), (dir_ + "/repo/wf").c_str()), 0);
  Spit(dir_ + "/out.txt", "payload");
  EXPECT_THAT((*driver)->Save(dir_ + "/out.txt", Local("wf/p/o")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  EXPECT_THAT((*driver)->Load(Local("wf/secret"), dir_ + "/stolen"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  EXPECT_THAT((*driver)->Delete(Local("wf/secret")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  EXPECT_TRUE(fs::exists(dir_ + "/victim/secret"));
  EXPECT_FALSE(fs::exists(dir_ + "/victim/p"));
  for (const char* key : {"../escape", "/etc/shadow", "wf/./p", "a//b"}) {
    EXPECT_THAT((*driver)->Save(dir_ + "/out.txt", Local(key)),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << key;
  }
}

TEST_F(DriversTest, MountedSecretsAreReadByNameAndKey) {
  Spit(dir_ + "/secrets/my-s3/accessKey", "AKIA");
  SecretResolver secrets = MountedSecretResolver(dir_ + "/secrets");
  EXPECT_EQ(*secrets("my-s3", "accessKey"), "AKIA");
  EXPECT_THAT(secrets("my-s3", "secretKey"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"my-s3\" key \"secretKey\"")));
  EXPECT_THAT(secrets("..", "x"), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(secrets("my-s3/../..", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST_F(DriversTest, PlainPodsFindMountedSecretsAtTheirHostPath) {
  // Plain mode mounts nothing; the runtime lists the volumes' host paths.
  Spit(dir_ + "/host/vol-7/secretKey", "s3cr3t");
  const std::string root = dir_ + "/not-mounted";
  const std::string mounts =
      nlohmann::json::array({{root + "/my-s3", dir_ + "/host/vol-7"}, {"/x", "/y"}}).dump();
  ASSERT_EQ(setenv("ARGONAUT_PLAIN_MOUNTS", mounts.c_str(), 1), 0);
  SecretResolver secrets = MountedSecretResolver(root);
  EXPECT_EQ(*secrets("my-s3", "secretKey"), "s3cr3t");
  EXPECT_THAT(secrets("other", "secretKey"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ASSERT_EQ(setenv("ARGONAUT_PLAIN_MOUNTS", "not json", 1), 0);
  EXPECT_THAT(secrets("my-s3", "secretKey"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  unsetenv("ARGONAUT_PLAIN_MOUNTS");
}

}  // namespace
}  // namespace argonaut::artifacts
