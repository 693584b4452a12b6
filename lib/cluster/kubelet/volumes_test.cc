#include "lib/cluster/kubelet/volumes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

mode_t ModeOf(const fs::path& p) {
  struct stat st;
  if (lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class VolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  fs::path dir_;
};

const ObjectLookup kLookup = [](const std::string& kind,
                                const std::string& name) -> std::optional<json> {
  if (kind == "Secret" && name == "db") {
    return json{{"data", {{"password", absl::Base64Escape("pw-1")}}},
                {"stringData", {{"token", "tk-2"}}}};
  }
  if (kind == "ConfigMap" && name == "cfg") return json{{"data", {{"mode", "fast"}}}};
  return std::nullopt;
};

TEST_F(VolumesTest, SecretFilesAre0600ConfigMapFiles0644) {
  const json pod = {{"spec",
                     {{"volumes",
                       {{{"name", "s"}, {"secret", {{"secretName", "db"}}}},
                        {{"name", "c"}, {"configMap", {{"name", "cfg"}}}}}}}}};
  absl::StatusOr<std::map<std::string, std::string>> vols = PrepareVolumes(pod, dir_, kLookup);
  ASSERT_OK(vols);
  const fs::path s = vols->at("s");
  EXPECT_EQ(Read(s / "password"), "pw-1");
  EXPECT_EQ(Read(s / "token"), "tk-2");
  EXPECT_EQ(ModeOf(s / "password"), 0600);
  EXPECT_EQ(ModeOf(s / "token"), 0600);
  EXPECT_EQ(Read(fs::path(vols->at("c")) / "mode"), "fast");
  EXPECT_EQ(ModeOf(fs::path(vols->at("c")) / "mode"), 0644);
}

TEST_F(VolumesTest, ALinkPlantedAtASecretFileIsNotFollowed) {
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "untouched";
  fs::create_directories(dir_ / "volumes" / "s");
  fs::create_symlink(victim, dir_ / "volumes" / "s" / "password");
  const json pod = {{"spec", {{"volumes", {{{"name", "s"}, {"secret", {{"secretName", "db"}}}}}}}}};
  EXPECT_FALSE(PrepareVolumes(pod, dir_, kLookup).ok());
  EXPECT_EQ(Read(victim), "untouched");
}

}  // namespace
}  // namespace argonaut::cluster::kubelet
