#include "lib/cluster/kubelet/volumes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

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

json HostPathPod(const std::string& host, const std::string& sub_path = "") {
  json mount = {{"name", "h"}, {"mountPath", "/h"}};
  if (!sub_path.empty()) mount["subPath"] = sub_path;
  return {{"spec",
           {{"volumes", {{{"name", "h"}, {"hostPath", {{"path", host}}}}}},
            {"containers", {{{"name", "main"}, {"volumeMounts", {mount}}}}}}}};
}

// The file a held descriptor's /proc path names.
std::string Target(const std::string& open_path) {
  std::error_code ec;
  return fs::read_symlink(open_path, ec).string();
}

TEST_F(VolumesTest, HostPathResolvesBelowItsAllowedDirectory) {
  const fs::path allowed = dir_ / "allowed";
  fs::create_directories(allowed / "real");
  fs::create_symlink("real", allowed / "inside");  // stays inside: fine
  fs::create_symlink("/etc", allowed / "etc");     // leads out
  fs::create_symlink("../..", allowed / "up");
  const VolumeOptions options{.host_path_allow = {"/nowhere", allowed.string() + "/"}};

  HostPathFds held;
  const json pod = HostPathPod((allowed / "inside").string());
  absl::StatusOr<std::map<std::string, std::string>> vols =
      PrepareVolumes(pod, dir_, kLookup, options, &held);
  ASSERT_OK(vols);
  EXPECT_EQ(vols->at("h"), (allowed / "inside").string());  // the volume keeps its path
  ASSERT_GE(held.Find("h"), 0);
  absl::StatusOr<std::vector<VolumeMount>> mounts =
      ContainerMounts(pod["spec"]["containers"][0], *vols, "spec.containers[0]", &held);
  ASSERT_OK(mounts);
  ASSERT_EQ(mounts->size(), 1u);
  // What the sandbox opens (without following links) is the directory as resolved now.
  EXPECT_EQ((*mounts)[0].open_path, (allowed / "real").string());
  EXPECT_EQ(Target(absl::StrCat("/proc/self/fd/", held.Find("h"))), (allowed / "real").string());

  for (const char* out : {"etc", "etc/passwd", "up", "up/x"}) {
    SCOPED_TRACE(out);
    HostPathFds none;
    const std::string host = (allowed / out).string();
    EXPECT_THAT(PrepareVolumes(HostPathPod(host), dir_, kLookup, options, &none),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr(absl::StrCat("spec.volumes[0].hostPath.path: \"", host,
                                                "\" leads out of the allowed host path \"",
                                                allowed.string(), "\""))));
    EXPECT_EQ(none.Find("h"), -1);
  }
  // Outside every allowed directory (admission refuses it first).
  EXPECT_THAT(PrepareVolumes(HostPathPod("/etc"), dir_, kLookup, options),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("is not under an allowed")));
  // Missing directories are made below the allowed one, and only there.
  ASSERT_OK(PrepareVolumes(HostPathPod((allowed / "new/dir").string()), dir_, kLookup, options));
  EXPECT_TRUE(fs::is_directory(allowed / "new" / "dir"));
  EXPECT_FALSE(
      PrepareVolumes(HostPathPod((allowed / "etc/made").string()), dir_, kLookup, options).ok());
  EXPECT_FALSE(fs::exists("/etc/made"));
}

TEST_F(VolumesTest, SubPathOfAHostPathStaysInTheVolume) {
  const fs::path allowed = dir_ / "allowed";
  fs::create_directories(allowed / "vol" / "sub");
  fs::create_symlink("/etc", allowed / "vol" / "out");
  const VolumeOptions options{.host_path_allow = {allowed.string()}};
  for (const auto& [sub, ok] : std::vector<std::pair<std::string, bool>>{
           {"sub", true}, {"made/here", true}, {"out", false}, {"out/passwd", false}}) {
    SCOPED_TRACE(sub);
    HostPathFds held;
    const json pod = HostPathPod((allowed / "vol").string(), sub);
    absl::StatusOr<std::map<std::string, std::string>> vols =
        PrepareVolumes(pod, dir_, kLookup, options, &held);
    ASSERT_OK(vols);
    absl::StatusOr<std::vector<VolumeMount>> mounts =
        ContainerMounts(pod["spec"]["containers"][0], *vols, "spec.containers[0]", &held);
    if (!ok) {
      EXPECT_THAT(mounts, StatusIs(absl::StatusCode::kPermissionDenied,
                                   HasSubstr("spec.containers[0].volumeMounts[0].subPath: \"" +
                                             sub + "\" leads out of the volume")));
      continue;
    }
    ASSERT_OK(mounts);
    EXPECT_EQ((*mounts)[0].open_path, (allowed / "vol" / sub).string());
  }
}

TEST_F(VolumesTest, FsGroupOwnsEmptyDirAndProjectedFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to another group needs root";
  const json pod = {{"spec",
                     {{"securityContext", {{"fsGroup", 4242}}},
                      {"volumes",
                       {{{"name", "e"}, {"emptyDir", json::object()}},
                        {{"name", "s"}, {"secret", {{"secretName", "db"}}}}}}}}};
  absl::StatusOr<std::map<std::string, std::string>> vols = PrepareVolumes(pod, dir_, kLookup);
  ASSERT_OK(vols);
  struct stat st;
  ASSERT_EQ(stat(vols->at("e").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(st.st_mode & 07070, 02070u);  // setgid, group rwx
  const std::string password = vols->at("s") + "/password";
  ASSERT_EQ(stat(password.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // the group reads, nobody else
}

TEST_F(VolumesTest, EmptyDirIsWorldWritableOnlyForNonRootUsers) {
  const json root_pod = {{"spec", {{"volumes", {{{"name", "e"}, {"emptyDir", json::object()}}}}}}};
  absl::StatusOr<std::map<std::string, std::string>> vols = PrepareVolumes(root_pod, dir_, kLookup);
  ASSERT_OK(vols);
  EXPECT_EQ(ModeOf(vols->at("e")), 0755);
  json user_pod = root_pod;
  user_pod["spec"]["containers"] = {{{"name", "a"}, {"securityContext", {{"runAsUser", 1000}}}}};
  vols = PrepareVolumes(user_pod, (dir_ / "2").string(), kLookup);
  ASSERT_OK(vols);
  EXPECT_EQ(ModeOf(vols->at("e")), 0777);
}

}  // namespace
}  // namespace argonaut::cluster::kubelet
