// Pods in a user namespace of their own (SandboxOptions::user_namespace_base).
// Real namespaces: needs root (CAP_SYS_ADMIN), skipped with a reason otherwise;
// the range derivation runs everywhere.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/sandbox.h"
#include "lib/cluster/sandbox/test_util.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::cluster::sandbox::testing::ReadFile;
using ::argonaut::cluster::sandbox::testing::TestDir;

using ::testing::HasSubstr;

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

// Images reopen their output by path (nginx: access_log /proc/self/fd/1;
// images linking /var/log/... to /dev/stdout): the kubelet's log pipe, made
// by host root, must be pod root's to reopen.
// Programs reopen their output through /proc/self/fd/1 (nginx's access_log):
// the pipe must belong to the container's user, pod root or its runAsUser.
TEST(UserNamespaceTest, OutputPipeReopenableThroughProc) {
  REQUIRE_ISOLATION();
  for (std::optional<uint32_t> run_as :
       {std::optional<uint32_t>(), std::optional<uint32_t>(1000)}) {
    SCOPED_TRACE(run_as ? "runAsUser 1000" : "pod root");
    const std::string dir = TestDir() + (run_as ? "/u1000" : "/root");
    absl::StatusOr<std::unique_ptr<Sandbox>> sb =
        Sandbox::Create({.pod_name = run_as ? "userns-o1" : "userns-o0",
                         .pod_dir = dir + "/pod",
                         .user_namespace_base = UserNamespaceBase(dir)});
    ASSERT_OK(sb);
    int out[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    ProcessSpec spec{
        .argv = {"sh", "-c", "echo reopened > /proc/self/fd/1 && echo direct $(id -u)"},
        .output_fd = out[1]};
    spec.security.run_as_user = run_as;
    spec.security.run_as_group = run_as;
    absl::StatusOr<std::unique_ptr<Process>> p = (*sb)->Spawn(spec);
    close(out[1]);
    ASSERT_OK(p);
    absl::StatusOr<ExitStatus> st = (*p)->Wait(absl::Seconds(20));
    ASSERT_OK(st);
    std::string got;
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
    close(out[0]);
    EXPECT_EQ(got, absl::StrCat("reopened\ndirect ", run_as.value_or(0), "\n"));
    EXPECT_TRUE(st->success()) << st->ToString();
  }
}

bool ProcessGone(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  // A zombie waiting for its new parent (init) to reap it is dead already.
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// The kernel clears a process's death signal whenever its credentials
// change: a holder that created mount points as pod root (setfsuid), and a
// container that became the pod's root, no longer died with their parent.
// A SIGKILLed runtime must still take every process of its pods along, at
// once: through the holder (PID 1) and the PID namespace.
TEST(UserNamespaceTest, KilledRuntimeLeavesNoPodProcess) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const uint32_t base = UserNamespaceBase(dir);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t runtime = fork();
  ASSERT_GE(runtime, 0);
  if (runtime == 0) {
    close(pipefd[0]);
    std::string report;
    std::vector<std::unique_ptr<Sandbox>> pods;
    std::vector<std::unique_ptr<Process>> procs;
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<Sandbox>> sb =
          Sandbox::Create({.pod_name = absl::StrCat("userns-k", i),
                           .pod_dir = absl::StrCat(dir, "/pod", i),
                           .user_namespace_base = base});
      absl::StatusOr<std::unique_ptr<Process>> p =
          sb.ok() ? (*sb)->Spawn(
                        {.argv = {"sh", "-c", "sleep 60 & sleep 60"}, .working_dir = "/work/here"})
                  : absl::StatusOr<std::unique_ptr<Process>>(sb.status());
      if (!p.ok() || (*sb)->user_namespace_base() != base) {
        report = absl::StrCat("ERR ", p.ok() ? "no user namespace" : p.status().ToString(), "\n");
        (void)!write(pipefd[1], report.data(), report.size());
        _exit(1);
      }
      report += absl::StrCat((*sb)->holder_pid(), " ", (*p)->pid(), " ");
      pods.push_back(std::move(*sb));
      procs.push_back(std::move(*p));
    }
    report += "\n";
    (void)!write(pipefd[1], report.data(), report.size());
    for (int i = 0; i < 600; ++i) pause();  // until SIGKILLed
    _exit(0);
  }
  close(pipefd[1]);
  std::string report;
  char buf[512];
  for (int i = 0; i < 300 && report.find('\n') == std::string::npos; ++i) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(pipefd[0], buf, sizeof(buf));
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  // Every process of the pods, the background sleeps included.
  std::vector<pid_t> pids;
  for (absl::string_view s : absl::StrSplit(report, ' ', absl::SkipWhitespace())) {
    int pid = 0;
    if (absl::SimpleAtoi(s, &pid)) pids.push_back(pid);
  }
  const size_t mains = pids.size();
  for (size_t i = 1; i < mains; i += 2) {
    const std::string children = absl::StrCat("/proc/", pids[i], "/task/", pids[i], "/children");
    for (int tries = 0; tries < 500 && ReadFile(children).empty(); ++tries) {
      absl::SleepFor(absl::Milliseconds(10));  // until sh started its background sleep
    }
    for (absl::string_view child :
         absl::StrSplit(ReadFile(children), ' ', absl::SkipWhitespace())) {
      int pid = 0;
      if (absl::SimpleAtoi(child, &pid)) pids.push_back(pid);
    }
  }
  kill(runtime, SIGKILL);
  waitpid(runtime, nullptr, 0);
  const absl::Time killed = absl::Now();
  ASSERT_THAT(report, ::testing::Not(HasSubstr("ERR"))) << report;
  ASSERT_EQ(mains, 4u) << report;        // per pod: holder, sh
  ASSERT_GE(pids.size(), 6u) << report;  // and the background sleeps
  for (pid_t pid : pids) {
    while (!ProcessGone(pid) && absl::Now() - killed < absl::Seconds(2)) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(ProcessGone(pid)) << "pid " << pid << " outlived the runtime by 2s";
  }
  for (pid_t pid : pids) {
    if (!ProcessGone(pid)) kill(pid, SIGKILL);  // a failed run leaves nothing behind either
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
