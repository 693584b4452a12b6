// securityContext ids, readOnlyRootFilesystem and volumes mounted through a
// held descriptor, on real pods. Needs root (namespaces): skipped otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/sandbox.h"
#include "lib/cluster/sandbox/test_util.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::cluster::sandbox::testing::ReadFile;
using ::argonaut::cluster::sandbox::testing::TestDir;

std::string RunIn(Sandbox& sb, const std::string& log, const std::string& script,
                  const ContainerSecurity& security = {}) {
  absl::StatusOr<std::unique_ptr<Process>> p =
      sb.Spawn({.argv = {"sh", "-c", script}, .log_path = log, .security = security});
  EXPECT_OK(p);
  if (!p.ok()) return "";
  EXPECT_OK((*p)->Wait(absl::Seconds(10)));
  return ReadFile(log);
}

#define REQUIRE_ROOT()                                                        \
  if (geteuid() != 0 || !Sandbox::CanIsolate()) {                             \
    GTEST_SKIP() << "pods with namespaces and other uids need root: skipped"; \
  }

constexpr char kStatus[] =
    "grep -E '^(Uid|Gid|Groups|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | "
    "tr -s '\\t' ' '";

TEST(RunAsTest, IdsAreSetAfterTheMountsAndANonRootUserHoldsNoCapability) {
  REQUIRE_ROOT();
  const std::string dir = TestDir();
  const std::string vol = dir + "/vol";
  std::filesystem::create_directories(vol);
  std::filesystem::permissions(vol, std::filesystem::perms::all);
  absl::StatusOr<std::unique_ptr<Sandbox>> sb = Sandbox::Create(
      {.pod_name = "run-as", .pod_dir = dir + "/pod", .volumes = {{vol, "/vol", false}}});
  ASSERT_OK(sb);
  std::string out =
      RunIn(**sb, dir + "/a.log", absl::StrCat(kStatus, "; touch /vol/made; id -u; id -g; id -G"),
            {.run_as_user = 1000, .run_as_group = 3000, .supplemental_groups = {4000, 2000}});
  EXPECT_EQ(out,
            "Uid: 1000 1000 1000 1000\nGid: 3000 3000 3000 3000\nGroups: 2000 4000 \n"
            "CapPrm: 0000000000000000\nCapEff: 0000000000000000\n"
            "CapBnd: 00000000a80425fb\nNoNewPrivs: 1\nSeccomp: 2\n"
            "1000\n3000\n3000 2000 4000\n");
  struct stat st;
  ASSERT_EQ(stat((vol + "/made").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 3000u);
  // Back to root is refused: no capability, no_new_privs.
  out = RunIn(**sb, dir + "/b.log", "su -c true root </dev/null 2>/dev/null || echo no-root",
              {.run_as_user = 1000});
  EXPECT_EQ(out, "no-root\n");
  // A runAsGroup alone keeps uid 0 and its capabilities; allowPrivilegeEscalation leaves the
  // filter loaded by root before the switch.
  out = RunIn(**sb, dir + "/c.log", "id -u; id -g; grep CapEff /proc/self/status | tr -s '\\t' ' '",
              {.run_as_group = 5});
  EXPECT_EQ(out, "0\n5\nCapEff: 00000000a80425fb\n");
  out = RunIn(**sb, dir + "/d.log", "id -u; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
              {.allow_privilege_escalation = true, .run_as_user = 7});
  EXPECT_EQ(out, "7\nNoNewPrivs:\t0\nSeccomp:\t2\n");
}

TEST(RunAsTest, IdsAreThoseOfThePodsUserNamespace) {
  REQUIRE_ROOT();
  const std::string dir = TestDir();
  const std::string host = dir + "/host";  // not idmapped: the host sees mapped ids
  std::filesystem::create_directories(host);
  std::filesystem::permissions(host, std::filesystem::perms::all);
  const uint32_t base = UserNamespaceBase(dir);
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "run-as-userns",
                       .pod_dir = dir + "/pod",
                       .volumes = {{host, "/host", false}},
                       .user_namespace_base = base});
  ASSERT_OK(sb);
  if (!(*sb)->user_namespace_base().has_value()) GTEST_SKIP() << "no user namespace here";
  const std::string out = RunIn(**sb, dir + "/a.log", "id -u; id -g; touch /host/f",
                                {.run_as_user = 1000, .run_as_group = 1000});
  EXPECT_EQ(out, "1000\n1000\n");
  struct stat st;
  ASSERT_EQ(stat((host + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, base + 1000);
  EXPECT_EQ(st.st_gid, base + 1000);
}

TEST(RunAsTest, ReadOnlyRootFilesystemIsThatProcesssAlone) {
  REQUIRE_ROOT();
  const std::string dir = TestDir();
  const std::string vol = dir + "/vol";
  std::filesystem::create_directories(vol);
  absl::StatusOr<std::unique_ptr<Sandbox>> sb = Sandbox::Create(
      {.pod_name = "ro-root", .pod_dir = dir + "/pod", .volumes = {{vol, "/vol", false}}});
  ASSERT_OK(sb);
  std::string out = RunIn(**sb, dir + "/a.log",
                          "(touch /etc/ro-probe) 2>/dev/null && echo WROTE-root || echo root-ro; "
                          "touch /vol/v && echo volume-rw; touch /tmp/t && echo tmp-rw",
                          {.read_only_root_filesystem = true});
  EXPECT_EQ(out, "root-ro\nvolume-rw\ntmp-rw\n");
  // Another container of the pod keeps a writable root.
  out = RunIn(**sb, dir + "/b.log", "touch /etc/ro-probe && echo root-rw");
  EXPECT_EQ(out, "root-rw\n");
  EXPECT_FALSE(std::filesystem::exists("/etc/ro-probe"));
}

// A volume the caller resolved itself is opened at the path it resolved to
// without following links: a symlink swapped in on that path since (here its
// last component) fails the pod instead of mounting what it points to.
TEST(RunAsTest, VolumeOpenPathIsNotFollowedThroughASwappedInSymlink) {
  REQUIRE_ROOT();
  const std::string dir = TestDir();
  std::filesystem::create_directories(dir + "/link/checked");
  std::filesystem::create_directories(dir + "/elsewhere");
  std::ofstream(dir + "/link/checked/f") << "checked\n";
  std::ofstream(dir + "/elsewhere/f") << "elsewhere\n";
  // The source is a symlinked path; what was resolved is opened.
  std::filesystem::create_symlink(dir + "/link", dir + "/alias");
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "open-path",
                       .pod_dir = dir + "/pod",
                       .volumes = {{.source = dir + "/alias/checked",
                                    .mount_path = "/v",
                                    .open_path = dir + "/link/checked"}}});
  ASSERT_OK(sb);
  EXPECT_EQ(RunIn(**sb, dir + "/a.log", "cat /v/f"), "checked\n");
  ASSERT_OK((*sb)->Destroy(absl::Seconds(1)));
  std::filesystem::rename(dir + "/link/checked", dir + "/moved");
  std::filesystem::create_symlink(dir + "/elsewhere", dir + "/link/checked");
  sb = Sandbox::Create({.pod_name = "open-path2",
                        .pod_dir = dir + "/pod2",
                        .volumes = {{.source = dir + "/alias/checked",
                                     .mount_path = "/v",
                                     .open_path = dir + "/link/checked"}}});
  ASSERT_FALSE(sb.ok()) << "mounted through a swapped-in symlink";
  EXPECT_THAT(sb.status().message(),
              ::testing::HasSubstr("open host mount tree " + dir + "/link/checked"));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
