// Pods in a user namespace of their own (SandboxOptions::user_namespace_base).
// Real namespaces: needs root (CAP_SYS_ADMIN), skipped with a reason otherwise;
// the range derivation runs everywhere.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/sandbox.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::testing::HasSubstr;

std::string TestDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  std::string base = t != nullptr ? t : "/tmp";
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = absl::StrCat(base, "/", info->name(), "-", getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RunSh(Sandbox& sb, const std::string& dir, const std::string& script,
                  const std::string& working_dir = "") {
  static int counter = 0;
  const std::string log = absl::StrCat(dir, "/run-", ++counter, ".log");
  absl::StatusOr<std::unique_ptr<Process>> p =
      sb.Spawn({.argv = {"sh", "-c", script}, .working_dir = working_dir, .log_path = log});
  EXPECT_OK(p);
  if (!p.ok()) return "";
  absl::StatusOr<ExitStatus> st = (*p)->Wait(absl::Seconds(20));
  EXPECT_OK(st);
  return ReadFile(log);
}

uid_t OwnerOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

#define REQUIRE_ISOLATION()                                                                  \
  if (!Sandbox::CanIsolate()) {                                                              \
    GTEST_SKIP() << "user namespaces with idmapped mounts need CAP_SYS_ADMIN (run as root)"; \
  }

TEST(UserNamespaceBaseTest, AlignedAboveHostUsersAndStable) {
  for (const char* seed : {"/var/lib/argonaut", "/tmp/a", "", "/x/y/z"}) {
    const uint32_t base = UserNamespaceBase(seed);
    EXPECT_EQ(base % kUserNamespaceSize, 0u) << seed;
    EXPECT_GE(base, uint32_t{1} << 28) << seed;
    EXPECT_LE(uint64_t{base} + kUserNamespaceSize, (uint64_t{1} << 32) - (uint64_t{1} << 28))
        << seed;
    EXPECT_EQ(base, UserNamespaceBase(seed));
  }
  EXPECT_NE(UserNamespaceBase("/tmp/a"), UserNamespaceBase("/tmp/b"));
}

// Pod root is uid 0 in the pod and an unprivileged uid on the host. What the
// runtime owns is idmapped: the root filesystem (writes copy up into the
// pod's layer, owned there by the mapped uid), /tmp, volumes under the hidden
// data directory (files owned on the host as in the pod). A hostPath outside
// it is not: files the pod makes there belong to the mapped uid, host root's
// files stay unwritable and cannot be chowned.
TEST(UserNamespaceTest, PodRootIsAnUnprivilegedHostUid) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string data = dir + "/data";  // the runtime's data dir: hidden
  const std::string vol = data + "/pods/a/volumes/cache";
  const std::string host = dir + "/host";  // an operator's hostPath
  std::filesystem::create_directories(vol);
  std::filesystem::create_directories(data + "/pods/a/volumes/art");
  std::filesystem::create_directories(host + "/shared");
  std::filesystem::permissions(host + "/shared", std::filesystem::perms::all);
  std::ofstream(host + "/rootfile") << "host\n";
  std::ofstream(vol + "/given") << "from the runtime\n";
  const uint32_t base = UserNamespaceBase(dir);
  const std::string motd_before = ReadFile("/etc/motd");

  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "userns-a",
                       .pod_dir = data + "/pods/a/sandbox",
                       .volumes = {{vol, "/cache"},
                                   {host, "/host"},
                                   // Its mount point is made in the idmapped /tmp.
                                   {data + "/pods/a/volumes/art", "/tmp/sub/art"}},
                       .hidden_paths = {data},
                       .user_namespace_base = base});
  ASSERT_OK(sb);
  ASSERT_TRUE((*sb)->isolated());
  ASSERT_EQ((*sb)->user_namespace_base(), base);
  const std::string out = RunSh(**sb, dir, R"(
id -u; id -g
set -- $(cat /proc/self/uid_map); echo "map $1 $2 $3"
stat -c 'passwd %u' /etc/passwd
echo pod >> /etc/motd && echo motd-written
stat -c 'given %u' /cache/given; echo more >> /cache/given && echo given-written
mkdir -p /cache/d && touch /cache/d/f && echo cache-written
touch /tmp/t && echo tmp-written
stat -c 'sub %u' /tmp/sub; touch /tmp/sub/art/x && echo tmp-volume-written
touch /host/shared/escaped && echo shared-written
stat -c 'hostfile %u' /host/rootfile
(echo pod >> /host/rootfile) 2>/dev/null && echo WROTE-rootfile || echo rootfile-refused
chown 1:1 /host/rootfile 2>/dev/null && echo CHOWNED || echo chown-refused
(touch /host/new) 2>/dev/null && echo WROTE-hostdir || echo hostdir-refused
cat /proc/sys/net/ipv4/ip_unprivileged_port_start
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 80)); print("bound-80")'
grep -E '^CapEff:' /proc/self/status | tr -s '\t' ' '
)",
                                "/new/work");
  EXPECT_EQ(out, absl::StrCat("0\n0\nmap 0 ", base,
                              " 65536\n"
                              "passwd 0\nmotd-written\ngiven 0\ngiven-written\ncache-written\n"
                              "tmp-written\nsub 0\ntmp-volume-written\nshared-written\nhostfile "
                              "65534\nrootfile-refused\n"
                              "chown-refused\nhostdir-refused\n0\nbound-80\n"
                              "CapEff: 00000000a80425fb\n"));
  // The host: its /etc/motd untouched, the pod's copy in the pod's layer
  // owned by the mapped uid; the volume idmapped back; the hostPath file
  // owned by the mapped uid; host root's file as it was.
  EXPECT_EQ(ReadFile("/etc/motd"), motd_before);
  const std::string upper = data + "/pods/a/sandbox/rootfs/upper";
  EXPECT_EQ(OwnerOf(upper + "/etc/motd"), base);
  EXPECT_EQ(OwnerOf(vol + "/given"), 0u);
  EXPECT_EQ(ReadFile(vol + "/given"), "from the runtime\nmore\n");
  EXPECT_EQ(OwnerOf(vol + "/d/f"), 0u);
  EXPECT_EQ(OwnerOf(data + "/pods/a/sandbox/tmp/t"), 0u);
  EXPECT_EQ(OwnerOf(host + "/shared/escaped"), base);
  EXPECT_EQ(OwnerOf(host + "/rootfile"), 0u);
  EXPECT_EQ(ReadFile(host + "/rootfile"), "host\n");
  EXPECT_FALSE(std::filesystem::exists(host + "/new"));
  // The missing working directory was made by (and for) pod root.
  EXPECT_EQ(OwnerOf(upper + "/new/work"), base);
  ASSERT_OK((*sb)->Destroy(absl::Seconds(1)));
  EXPECT_FALSE(std::filesystem::exists(data + "/pods/a/sandbox"));
}

// Without a base (privileged pods, hostUsers: true) the pod keeps the
// host's user namespace: pod root is host root, as before.
TEST(UserNamespaceTest, UnsetKeepsTheHostUserNamespace) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "userns-b", .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  EXPECT_FALSE((*sb)->user_namespace_base().has_value());
  EXPECT_EQ(RunSh(**sb, dir, "set -- $(cat /proc/self/uid_map); echo \"$1 $2 $3\""),
            "0 0 4294967295\n");
}

// Every process of the pod joins the same namespace; exec failures still
// come back as statuses.
TEST(UserNamespaceTest, ProcessesShareThePodsNamespace) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const uint32_t base = UserNamespaceBase(dir);
  absl::StatusOr<std::unique_ptr<Sandbox>> sb = Sandbox::Create(
      {.pod_name = "userns-c", .pod_dir = dir + "/pod", .user_namespace_base = base});
  ASSERT_OK(sb);
  const std::string a = RunSh(**sb, dir, "readlink /proc/self/ns/user");
  const std::string b = RunSh(**sb, dir, "readlink /proc/self/ns/user");
  EXPECT_THAT(a, HasSubstr("user:["));
  EXPECT_EQ(a, b);
  char self[64] = {};
  ASSERT_GT(readlink("/proc/self/ns/user", self, sizeof(self) - 1), 0);
  EXPECT_NE(a, std::string(self) + "\n");
  EXPECT_THAT((*sb)->Spawn({.argv = {"argn-no-such-binary"}}),
              argonaut::testing::StatusIs(absl::StatusCode::kNotFound));
}

// Pods created at once (each makes its user namespace on a launcher thread)
// do not wait on one another.
TEST(UserNamespaceTest, ConcurrentPodsStart) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const uint32_t base = UserNamespaceBase(dir);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<std::unique_ptr<Sandbox>> sb =
          Sandbox::Create({.pod_name = absl::StrCat("userns-p", i),
                           .pod_dir = absl::StrCat(dir, "/pod", i),
                           .user_namespace_base = base});
      if (sb.ok() && (*sb)->user_namespace_base() == base) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
