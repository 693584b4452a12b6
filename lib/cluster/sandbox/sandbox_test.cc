// Real processes and namespaces. Namespace checks need root (CAP_SYS_ADMIN)
// and are skipped with a reason otherwise; plain mode runs everywhere.
#include "lib/cluster/sandbox/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/network.h"
#include "lib/cluster/sandbox/test_util.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::cluster::sandbox::testing::ReadFile;
using ::argonaut::cluster::sandbox::testing::TestDir;

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

bool WaitForFile(const std::string& path, const std::string& needle, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ReadFile(path).find(needle) != std::string::npos) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

// Runs `script` with sh in the sandbox and returns its output.
std::string RunSh(Sandbox& sb, const std::string& dir, const std::string& script,
                  ExitStatus* status = nullptr) {
  static int counter = 0;
  const std::string log = absl::StrCat(dir, "/run-", ++counter, ".log");
  absl::StatusOr<std::unique_ptr<Process>> p =
      sb.Spawn({.argv = {"sh", "-c", script}, .log_path = log});
  EXPECT_OK(p);
  if (!p.ok()) return "";
  absl::StatusOr<ExitStatus> st = (*p)->Wait(absl::Seconds(10));
  EXPECT_OK(st);
  if (status != nullptr && st.ok()) *status = *st;
  return ReadFile(log);
}

bool ProcessGone(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  // A zombie waiting for its new parent (init) to reap it is dead already.
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

bool WaitGone(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ProcessGone(pid)) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return ProcessGone(pid);
}

bool LinkExists(const std::string& name) {
  return std::filesystem::exists("/sys/class/net/" + name);
}

// The kernel removes a dead namespace's veth asynchronously.
bool WaitLinkGone(const std::string& name, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (LinkExists(name) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  return !LinkExists(name);
}

#define REQUIRE_ISOLATION()                                                              \
  if (!Sandbox::CanIsolate()) {                                                          \
    GTEST_SKIP() << "namespaces need CAP_SYS_ADMIN (run as root); plain mode is tested"; \
  }

// --- plain mode ------------------------------------------------------------

TEST(PlainSandboxTest, RunsProcessesInPodWorkDir) {
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb = Sandbox::Create(
      {.pod_name = "plain-a", .isolate = false, .pod_dir = dir + "/pod", .env = {"A=1", "B=2"}});
  ASSERT_OK(sb);
  EXPECT_FALSE((*sb)->isolated());
  EXPECT_EQ((*sb)->ip(), "127.0.0.1");
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"sh", "-c", "echo out; echo err >&2; pwd; echo $A$B$TMPDIR; exit 3"},
                    .env = {"B=3"},
                    .log_path = dir + "/log"});
  ASSERT_OK(p);
  absl::StatusOr<ExitStatus> st = (*p)->Wait(absl::Seconds(10));
  ASSERT_OK(st);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(ReadFile(dir + "/log"),
            absl::StrCat("out\nerr\n", dir, "/pod/work\n13", dir, "/pod/tmp\n"));
  ASSERT_OK((*sb)->Destroy(absl::Seconds(1)));
  EXPECT_FALSE(std::filesystem::exists(dir + "/pod"));
}

TEST(PlainSandboxTest, ExecFailureIsAnErrorStatusAndLogged) {
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "plain-b", .isolate = false, .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  EXPECT_THAT((*sb)->Spawn({.argv = {"argn-no-such-binary"}, .log_path = dir + "/log"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("argn-no-such-binary")));
  EXPECT_THAT(ReadFile(dir + "/log"), HasSubstr("cannot start argn-no-such-binary"));
  EXPECT_THAT((*sb)->Spawn({.argv = {"/nonexistent/x"}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x")));
  // A file without exec permission: EACCES, as execvp reports it.
  const std::string script = dir + "/noexec.sh";
  std::ofstream(script) << "#!/bin/sh\n";
  chmod(script.c_str(), 0644);
  EXPECT_THAT((*sb)->Spawn({.argv = {script}}), StatusIs(absl::StatusCode::kPermissionDenied));
  // PATH comes from the spec's env.
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}, .env = {"PATH=/nonexistent"}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/true")));
  EXPECT_THAT((*sb)->Spawn({.argv = {}}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}, .env = {"NOEQUALS"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("env[0]")));
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}, .working_dir = "/nonexistent"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("working directory")));
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}, .log_path = "/nonexistent/log"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("log_path")));
}

TEST(PlainSandboxTest, SignalsAndKillWithGrace) {
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "plain-c", .isolate = false, .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  // Ignores SIGTERM, as does its child sleep (SIG_IGN survives exec).
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"sh", "-c", "trap '' TERM; echo ready; sleep 30; echo survived"},
                    .log_path = dir + "/log"});
  ASSERT_OK(p);
  ASSERT_TRUE(WaitForFile(dir + "/log", "ready", absl::Seconds(5)));
  absl::StatusOr<std::optional<ExitStatus>> running = (*p)->TryWait();
  ASSERT_OK(running);
  EXPECT_FALSE(running->has_value());
  EXPECT_THAT((*p)->Wait(absl::Milliseconds(50)), StatusIs(absl::StatusCode::kDeadlineExceeded));
  const absl::Time start = absl::Now();
  absl::StatusOr<ExitStatus> st = (*p)->Kill(absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  ASSERT_OK(st);
  EXPECT_EQ(st->signal, SIGKILL);
  EXPECT_EQ(st->KubernetesExitCode(), 137);
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_THAT((*p)->Signal(SIGTERM), StatusIs(absl::StatusCode::kFailedPrecondition));

  // A process that honours SIGTERM exits at once, with that signal.
  absl::StatusOr<std::unique_ptr<Process>> q =
      (*sb)->Spawn({.argv = {"sleep", "30"}, .log_path = dir + "/log2"});
  ASSERT_OK(q);
  absl::StatusOr<ExitStatus> st2 = (*q)->Kill(absl::Seconds(10));
  ASSERT_OK(st2);
  EXPECT_EQ(st2->signal, SIGTERM);
}

TEST(PlainSandboxTest, DestroyKillsEveryProcessGroup) {
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "plain-d", .isolate = false, .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  absl::StatusOr<std::unique_ptr<Process>> p = (*sb)->Spawn(
      {.argv = {"sh", "-c", "sleep 30 & echo $! > " + dir + "/child; wait"}, .log_path = ""});
  ASSERT_OK(p);
  ASSERT_TRUE(WaitForFile(dir + "/child", "\n", absl::Seconds(5)));
  const pid_t child = std::stoi(ReadFile(dir + "/child"));
  ASSERT_OK((*sb)->Destroy(absl::Seconds(2)));
  EXPECT_TRUE(WaitGone((*p)->pid(), absl::Seconds(5)));
  EXPECT_TRUE(WaitGone(child, absl::Seconds(5)));
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// --- isolated ----------------------------------------------------------------

TEST(IsolatedSandboxTest, PrivateTmpHostnameAndPid1) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string host_out = "/tmp/out";
  const bool host_had = std::filesystem::exists(host_out);
  const std::string host_before = host_had ? ReadFile(host_out) : "";
  absl::StatusOr<std::unique_ptr<Sandbox>> a =
      Sandbox::Create({.pod_name = "pod-a", .pod_dir = dir + "/a"});
  ASSERT_OK(a);
  absl::StatusOr<std::unique_ptr<Sandbox>> b =
      Sandbox::Create({.pod_name = "pod-b", .pod_dir = dir + "/b"});
  ASSERT_OK(b);
  ASSERT_TRUE((*a)->isolated());
  const std::string script = "hostname > /tmp/out; cat /tmp/out; cat /proc/1/comm; echo $$";
  ExitStatus st;
  EXPECT_EQ(RunSh(**a, dir, script, &st), "pod-a\nargn-pause\n2\n");
  EXPECT_TRUE(st.success());
  EXPECT_EQ(RunSh(**b, dir, script), "pod-b\nargn-pause\n2\n");
  // Each pod's /tmp is its own directory; the host's /tmp/out is untouched.
  EXPECT_EQ(ReadFile(dir + "/a/tmp/out"), "pod-a\n");
  EXPECT_EQ(ReadFile(dir + "/b/tmp/out"), "pod-b\n");
  EXPECT_EQ(std::filesystem::exists(host_out), host_had);
  EXPECT_EQ(host_had ? ReadFile(host_out) : "", host_before);
  // The holder is the pod's PID 1, seen from the host as a process named so.
  EXPECT_EQ(ReadFile(absl::StrCat("/proc/", (*a)->holder_pid(), "/comm")), "argn-pause\n");
  // Processes of one pod share its namespaces; /proc lists only the pod's
  // own processes: the holder and this shell (counted without forking).
  EXPECT_EQ(
      RunSh(**a, dir, "cat /tmp/out; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n"),
      "pod-a\n2\n");
}

TEST(IsolatedSandboxTest, ExecFailureInsidePod) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-e", .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  EXPECT_THAT((*sb)->Spawn({.argv = {"argn-no-such-binary"}, .log_path = dir + "/log"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("argn-no-such-binary")));
  EXPECT_THAT(ReadFile(dir + "/log"), HasSubstr("cannot start"));
  // Paths resolve in the pod's mount namespace: the pod's /tmp, not the host's.
  EXPECT_EQ(RunSh(**sb, dir, "printf '#!/bin/sh\\necho inside\\n' > /tmp/x.sh; chmod +x /tmp/x.sh"),
            "");
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"/tmp/x.sh"}, .log_path = dir + "/x.log"});
  ASSERT_OK(p);
  ASSERT_OK((*p)->Wait(absl::Seconds(5)));
  EXPECT_EQ(ReadFile(dir + "/x.log"), "inside\n");
}

TEST(IsolatedSandboxTest, VolumesMountedWithoutTouchingHost) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string src = dir + "/src";
  std::filesystem::create_directories(src);
  std::ofstream(src + "/in.txt") << "from-host\n";
  // Missing on the host: created in the pod's own root.
  const std::string missing = "/mnt/argn-test-" + std::to_string(getpid()) + "/vol";
  ASSERT_FALSE(std::filesystem::exists("/mnt/argn-test-" + std::to_string(getpid())));
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-v",
                       .pod_dir = dir + "/pod",
                       .volumes = {{src, "/tmp/work/data", false},
                                   {src, "/tmp/ro", true},
                                   {"", "/tmp/scratch", false},
                                   {src, missing, false}}});
  ASSERT_OK(sb);
  ExitStatus st;
  std::string out = RunSh(**sb, dir,
                          "cat /tmp/work/data/in.txt; echo pod > /tmp/work/data/out.txt; "
                          "(echo x > /tmp/ro/y) 2>/dev/null || echo ro-refused; "
                          "echo s > /tmp/scratch/s && cat /tmp/scratch/s; "
                          "cat " +
                              missing + "/in.txt",
                          &st);
  EXPECT_EQ(out, "from-host\nro-refused\ns\nfrom-host\n");
  EXPECT_EQ(ReadFile(src + "/out.txt"), "pod\n");
  EXPECT_FALSE(std::filesystem::exists("/mnt/argn-test-" + std::to_string(getpid())));
  EXPECT_THAT(Sandbox::Create({.pod_name = "pod-w",
                               .pod_dir = dir + "/pod2",
                               .volumes = {{dir + "/absent", "/tmp/x", false}}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("volumes[0].source")));
}

// Writes outside volumes land in the pod's own root, never on the host nor
// in another pod; host binaries, /dev and /proc work as before.
TEST(IsolatedSandboxTest, PrivateRootKeepsWritesOffTheHost) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string tag = absl::StrCat("argn-root-test-", getpid());
  const std::vector<std::string> host_paths = {"/" + tag, "/var/" + tag, "/usr/" + tag,
                                               "/etc/" + tag};
  for (const std::string& p : host_paths) ASSERT_FALSE(std::filesystem::exists(p)) << p;
  absl::StatusOr<std::unique_ptr<Sandbox>> a =
      Sandbox::Create({.pod_name = "root-a", .pod_dir = dir + "/a"});
  ASSERT_OK(a);
  absl::StatusOr<std::unique_ptr<Sandbox>> b =
      Sandbox::Create({.pod_name = "root-b", .pod_dir = dir + "/b"});
  ASSERT_OK(b);
  ExitStatus st;
  EXPECT_EQ(RunSh(**a, dir,
                  absl::StrCat("mkdir /", tag, " && echo a > /", tag, "/f && echo v > /var/", tag,
                               " && echo u > /usr/", tag, " && echo e > /etc/", tag, " && echo ok"),
                  &st),
            "ok\n");
  EXPECT_TRUE(st.success());
  for (const std::string& p : host_paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
  // A later process of the same pod sees them (it enters the pod's root).
  EXPECT_EQ(RunSh(**a, dir, absl::StrCat("cat /", tag, "/f /var/", tag, " /usr/", tag)),
            "a\nv\nu\n");
  EXPECT_EQ(RunSh(**b, dir, absl::StrCat("ls /", tag, " 2>/dev/null || echo absent")), "absent\n");
  // Host binaries and the basics a container expects; ls sees stdio and its
  // own directory only (no descriptor of the holder's setup leaks).
  EXPECT_EQ(RunSh(**a, dir,
                  "python3 -c 'print(6*7)'; echo x > /dev/null && echo devnull; "
                  "head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; "
                  "test -d /dev/shm && echo > /dev/shm/s && echo shm; "
                  "test -r /etc/resolv.conf -o ! -e /etc/resolv.conf && echo etc; "
                  "cat /proc/1/comm; test -d /sys/class/net/lo && echo sys; "
                  "(echo y > /sys/z) 2>/dev/null || echo sys-ro; ls /proc/self/fd/ | wc -l"),
            "42\ndevnull\n4\n4\nshm\netc\nargn-pause\nsys\nsys-ro\n4\n");
  // The pod's /dev/shm is its own.
  EXPECT_EQ(RunSh(**b, dir, "ls /dev/shm | wc -l"), "0\n");
  // A missing working directory is created in the pod's root, as container
  // runtimes do.
  const std::string wd = absl::StrCat("/", tag, "-wd/a/b");
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*b)->Spawn({.argv = {"pwd"}, .working_dir = wd, .log_path = dir + "/wd.log"});
  ASSERT_OK(p);
  ASSERT_OK((*p)->Wait(absl::Seconds(10)));
  EXPECT_EQ(ReadFile(dir + "/wd.log"), wd + "\n");
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/", tag, "-wd")));
  const std::string a_dir = dir + "/a";
  ASSERT_OK((*a)->Destroy(absl::Seconds(1)));
  EXPECT_FALSE(std::filesystem::exists(a_dir));
  for (const std::string& p : host_paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
}

TEST(IsolatedSandboxTest, VolumesDirectlyUnderRoot) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string src = dir + "/src";
  std::filesystem::create_directories(src);
  std::ofstream(src + "/in.txt") << "from-host\n";
  std::ofstream(dir + "/file.txt") << "a file\n";
  const std::string tag = absl::StrCat("argn-vol-test-", getpid());
  const std::vector<std::string> targets = {"/" + tag + "-foo", "/" + tag + "-empty",
                                            "/" + tag + "-deep/a/b", "/" + tag + "-file"};
  for (const std::string& t : targets) ASSERT_FALSE(std::filesystem::exists(t)) << t;
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-root-vols",
                       .pod_dir = dir + "/pod",
                       .volumes = {{src, targets[0], false},
                                   {"", targets[1], false},
                                   {src, targets[2], true},
                                   {dir + "/file.txt", targets[3], true}}});
  ASSERT_OK(sb);
  EXPECT_EQ(RunSh(**sb, dir,
                  absl::StrCat("cat ", targets[0], "/in.txt; echo w > ", targets[0], "/out.txt; ",
                               "echo e > ", targets[1], "/e && cat ", targets[1], "/e; cat ",
                               targets[2], "/in.txt; (echo x > ", targets[2],
                               "/y) 2>/dev/null || echo ro; cat ", targets[3])),
            "from-host\ne\nfrom-host\nro\na file\n");
  EXPECT_EQ(ReadFile(src + "/out.txt"), "w\n");
  // The source is live at its own host path too (not a copy-on-write view).
  EXPECT_EQ(RunSh(**sb, dir, absl::StrCat("echo alias > ", src, "/alias.txt && echo ok")), "ok\n");
  EXPECT_EQ(ReadFile(src + "/alias.txt"), "alias\n");
  for (const std::string& t : targets) EXPECT_FALSE(std::filesystem::exists(t)) << t;
  EXPECT_FALSE(std::filesystem::exists("/" + tag + "-deep"));
}

// Mounts of the host beside its root filesystem are seen in the pod, read-only.
TEST(IsolatedSandboxTest, HostMountsCarriedReadOnly) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  // In a child with a mount namespace of its own, so the test's tmpfs never
  // shows on the host; the child's sandbox machinery starts in it.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipefd[0]);
    std::string out;
    const std::string mnt = dir + "/hostmnt";
    std::filesystem::create_directories(mnt);
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
      out = "ERR setup";
    } else {
      std::ofstream(mnt + "/seen") << "carried\n";
      absl::StatusOr<std::unique_ptr<Sandbox>> sb =
          Sandbox::Create({.pod_name = "pod-hostmnt", .pod_dir = dir + "/pod"});
      if (!sb.ok()) {
        out = "ERR " + sb.status().ToString();
      } else {
        out = RunSh(
            **sb, dir,
            absl::StrCat("cat ", mnt, "/seen; (echo x > ", mnt, "/w) 2>/dev/null || echo ro"));
      }
    }
    (void)!write(pipefd[1], out.data(), out.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[256];
  for (int i = 0; i < 200; ++i) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(out, "carried\nro\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/hostmnt/seen"));  // it was the child's tmpfs
}

// Connects to ip:port and returns what the server sent before closing.
std::string Fetch(const std::string& ip, int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string got;
      char buf[256];
      for (int i = 0; i < 100; ++i) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      close(fd);
      return got;
    }
    close(fd);
    absl::SleepFor(absl::Milliseconds(20));
  }
  return "";
}

TEST(IsolatedSandboxTest, TwoPodsListenOnSamePortEachAtItsIp) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<PodNetwork>> net = PodNetwork::Create({.seed = dir});
  ASSERT_OK(net);
  const std::string bridge = (*net)->bridge_name();
  EXPECT_TRUE(LinkExists(bridge));
  const std::string server =
      "import socket\n"
      "s = socket.socket()\n"
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('0.0.0.0', 8080))\n"
      "s.listen(8)\n"
      "print('listening', flush=True)\n"
      "for _ in range(3):\n"
      "    c, _ = s.accept()\n"
      "    c.sendall(socket.gethostname().encode())\n"
      "    c.close()\n";
  std::vector<std::unique_ptr<Sandbox>> pods;
  std::vector<std::unique_ptr<Process>> servers;
  for (const std::string name : {"web-a", "web-b"}) {
    absl::StatusOr<std::unique_ptr<Sandbox>> sb =
        Sandbox::Create({.pod_name = name, .network = net->get(), .pod_dir = dir + "/" + name});
    ASSERT_OK(sb);
    absl::StatusOr<std::unique_ptr<Process>> p =
        (*sb)->Spawn({.argv = {"python3", "-c", server}, .log_path = dir + "/" + name + ".log"});
    ASSERT_OK(p);
    pods.push_back(std::move(*sb));
    servers.push_back(std::move(*p));
  }
  EXPECT_NE(pods[0]->ip(), pods[1]->ip());
  EXPECT_EQ((*net)->attached(), 2u);
  for (size_t i = 0; i < pods.size(); ++i) {
    ASSERT_TRUE(
        WaitForFile(dir + "/" + pods[i]->pod_name() + ".log", "listening", absl::Seconds(10)));
    EXPECT_EQ(Fetch(pods[i]->ip(), 8080, absl::Seconds(5)), pods[i]->pod_name());
  }
  // The pod reaches the host's bridge address (its default gateway).
  std::string route =
      RunSh(*pods[0], dir, "ip route show default; cat /sys/class/net/eth0/operstate");
  EXPECT_THAT(route, HasSubstr("default via " + (*net)->gateway_ip() + " dev eth0"));

  std::vector<pid_t> holders;
  std::vector<std::string> veths;
  for (auto& p : pods) holders.push_back(p->holder_pid());
  std::vector<std::string> links;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net")) {
    const std::string n = e.path().filename();
    if (n.rfind((*net)->veth_prefix(), 0) == 0) veths.push_back(n);
  }
  EXPECT_EQ(veths.size(), 2u);
  servers.clear();
  for (auto& p : pods) ASSERT_OK(p->Destroy(absl::Seconds(1)));
  pods.clear();
  for (pid_t h : holders) EXPECT_TRUE(WaitGone(h, absl::Seconds(5))) << h;
  for (const std::string& v : veths) EXPECT_TRUE(WaitLinkGone(v, absl::Seconds(5))) << v;
  EXPECT_EQ((*net)->attached(), 0u);
  ASSERT_OK((*net)->Destroy());
  EXPECT_FALSE(LinkExists(bridge));
}

// runc's defaults: masked and read-only /proc and /sys paths, nodev and
// nosuid mounts, Docker's capabilities, no_new_privs and seccomp.
TEST(IsolatedSandboxTest, HardenedLikeRunc) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-h", .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  const std::string before = ReadFile("/proc/sys/kernel/core_pattern");
  std::string out = RunSh(**sb, dir,
                          "(echo '|/tmp/x' > /proc/sys/kernel/core_pattern) 2>/dev/null "
                          "|| echo core_pattern-refused; "
                          "(echo b > /proc/sysrq-trigger) 2>/dev/null || echo sysrq-refused; "
                          "echo kcore=$(cat /proc/kcore 2>/dev/null | head -c 16 | wc -c); "
                          "echo keys=$(cat /proc/keys | wc -c); "
                          "echo firmware=$(ls /sys/firmware | wc -l); "
                          "mknod /tmp/sda b 8 0 2>/dev/null; "
                          "(head -c 1 /tmp/sda) 2>/dev/null || echo blockdev-refused; "
                          "grep -E '^(CapEff|CapBnd|CapPrm|CapInh|CapAmb|NoNewPrivs|Seccomp):' "
                          "/proc/self/status | tr -s '\\t' ' '; "
                          "unshare -m true 2>/dev/null || echo unshare-refused; "
                          "mount -t tmpfs none /mnt 2>/dev/null || echo mount-refused");
  EXPECT_EQ(out,
            "core_pattern-refused\nsysrq-refused\nkcore=0\nkeys=0\nfirmware=0\n"
            "blockdev-refused\n"
            "CapInh: 00000000a80425fb\nCapPrm: 00000000a80425fb\nCapEff: 00000000a80425fb\n"
            "CapBnd: 00000000a80425fb\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"
            "unshare-refused\nmount-refused\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/core_pattern"), before);
  // Every mount of the pod but /dev, /dev/pts (device nodes) and the masking
  // /dev/null binds is nodev; every one is nosuid.
  out =
      RunSh(**sb, dir,
            "awk '$5 !~ /^\\/(dev|dev\\/pts|proc\\/(kcore|keys|timer_list|interrupts|latency_stats|"
            "timer_stats|sched_debug|sysrq-trigger))$/ && $6 !~ /nodev/ {print \"dev:\" $5} "
            "$6 !~ /nosuid/ {print \"suid:\" $5}' /proc/self/mountinfo");
  EXPECT_EQ(out, "");

  // Kubernetes' securityContext: added and dropped capabilities, Unconfined,
  // allowPrivilegeEscalation, privileged.
  const std::string status =
      "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '";
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"sh", "-c", status},
                    .log_path = dir + "/custom.log",
                    .security = {.add_capabilities = {"NET_ADMIN"},
                                 .drop_capabilities = {"ALL"},
                                 .allow_privilege_escalation = true,
                                 .seccomp_unconfined = true}});
  ASSERT_OK(p);
  ASSERT_OK((*p)->Wait(absl::Seconds(10)));
  EXPECT_EQ(ReadFile(dir + "/custom.log"), "CapEff: 0000000000001000\nNoNewPrivs: 0\nSeccomp: 0\n");
  p = (*sb)->Spawn({.argv = {"sh", "-c", status + "; mount -t tmpfs none /mnt && echo mounted"},
                    .log_path = dir + "/privileged.log",
                    .security = {.privileged = true}});
  ASSERT_OK(p);
  ASSERT_OK((*p)->Wait(absl::Seconds(10)));
  // Privileged: what the runtime itself has.
  std::string own_caps;
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/self/status"), '\n')) {
    if (absl::StartsWith(line, "CapEff:")) own_caps = std::string(line.substr(7));
  }
  absl::StripAsciiWhitespace(&own_caps);
  EXPECT_EQ(ReadFile(dir + "/privileged.log"),
            absl::StrCat("CapEff: ", own_caps, "\nNoNewPrivs: 0\nSeccomp: 0\nmounted\n"));
  EXPECT_THAT((*sb)->Spawn({.argv = {"true"}, .security = {.add_capabilities = {"FLY"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown capability")));
}

// The runtime's data directory (stores, other pods) is an empty read-only
// directory in a pod; volumes whose sources lie below it still work, at
// their mount paths and at their own host paths.
TEST(IsolatedSandboxTest, HiddenPathsInvisibleVolumesBelowThemWork) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string data = dir + "/data";
  std::filesystem::create_directories(data + "/cluster");
  std::filesystem::create_directories(data + "/pods/other");
  std::filesystem::create_directories(data + "/artifacts");
  std::ofstream(data + "/cluster/CURRENT") << "MANIFEST-000001\n";
  std::ofstream(data + "/pods/other/secret") << "other pod\n";
  std::ofstream(data + "/artifacts/in") << "artifact\n";
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-hidden",
                       .pod_dir = data + "/pods/me",
                       .volumes = {{data + "/artifacts", "/argo/art", false}},
                       .hidden_paths = {data}});
  ASSERT_OK(sb);
  std::string out =
      RunSh(**sb, dir,
            absl::StrCat("cat ", data, "/cluster/CURRENT 2>/dev/null || echo store-hidden; ",
                         "cat ", data, "/pods/other/secret 2>/dev/null || echo other-pod-hidden; ",
                         "ls ", data, "; ",  // only the volume's own host path
                         "cat /argo/art/in; echo from-pod > /argo/art/out; ",
                         "echo via-host-path > ", data, "/artifacts/out2; ", "(touch ", data,
                         "/x) 2>/dev/null || echo hidden-read-only"));
  EXPECT_EQ(out, "store-hidden\nother-pod-hidden\nartifacts\nartifact\nhidden-read-only\n");
  EXPECT_EQ(ReadFile(data + "/artifacts/out"), "from-pod\n");
  EXPECT_EQ(ReadFile(data + "/artifacts/out2"), "via-host-path\n");
  EXPECT_FALSE(std::filesystem::exists(data + "/x"));
}

// A symlink planted in a directory pods write to (the artifact repository)
// must not give the next pod that names it what it points to.
TEST(IsolatedSandboxTest, VolumeSourceLeavingAHiddenPathThroughASymlinkIsRefused) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string data = dir + "/data";
  std::filesystem::create_directories(data + "/artifacts/real");
  std::filesystem::create_directories(dir + "/outside");
  std::filesystem::create_symlink(dir + "/outside", data + "/artifacts/evil");
  std::filesystem::create_symlink(data + "/artifacts/real", data + "/artifacts/inside");
  EXPECT_THAT(
      Sandbox::Create({.pod_name = "pod-sym",
                       .pod_dir = data + "/pods/a",
                       .volumes = {{data + "/artifacts/evil", "/art", false}},
                       .hidden_paths = {data}}),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("volumes[0].source: \"" + data + "/artifacts/evil\" leads out of")));
  // A symlink that stays inside is followed once, by the runtime.
  std::ofstream(data + "/artifacts/real/f") << "inside\n";
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-sym2",
                       .pod_dir = data + "/pods/b",
                       .volumes = {{data + "/artifacts/inside", "/art", false}},
                       .hidden_paths = {data}});
  ASSERT_OK(sb);
  EXPECT_EQ(RunSh(**sb, dir, "cat /art/f"), "inside\n");
}

TEST(IsolatedSandboxTest, DestroyKillsEverythingInThePod) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "pod-k", .pod_dir = dir + "/pod"});
  ASSERT_OK(sb);
  // A daemon that leaves the process group (setsid) is reached only through
  // the pod's PID 1.
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"sh", "-c", "setsid sleep 30 & trap '' TERM; echo ready; sleep 30"},
                    .log_path = dir + "/log"});
  ASSERT_OK(p);
  ASSERT_TRUE(WaitForFile(dir + "/log", "ready", absl::Seconds(5)));
  const pid_t holder = (*sb)->holder_pid();
  ASSERT_OK((*sb)->Destroy(absl::Milliseconds(100)));
  absl::StatusOr<std::optional<ExitStatus>> st = (*p)->TryWait();
  ASSERT_OK(st);
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ((*st)->signal, SIGKILL);
  EXPECT_TRUE(WaitGone(holder, absl::Seconds(5)));
  // The holder (PID 1) exits only after every process of its PID namespace
  // was reaped, the setsid daemon included.
  EXPECT_FALSE(std::filesystem::exists(dir + "/pod"));
}

// A runtime that is SIGKILLed leaves no pod process behind; CleanupStale then
// removes what stays in the kernel (its bridge).
TEST(IsolatedSandboxTest, KilledRuntimeLeavesNoOrphans) {
  REQUIRE_ISOLATION();
  const std::string dir = TestDir();
  const std::string seed = dir + "/runtime";
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t runtime = fork();
  ASSERT_GE(runtime, 0);
  if (runtime == 0) {
    close(pipefd[0]);
    std::string report;
    auto fail = [&](const absl::Status& s) {
      report = "ERR " + s.ToString() + "\n";
      (void)!write(pipefd[1], report.data(), report.size());
      _exit(1);
    };
    absl::StatusOr<std::unique_ptr<PodNetwork>> net = PodNetwork::Create({.seed = seed});
    if (!net.ok()) fail(net.status());
    std::vector<std::unique_ptr<Sandbox>> pods;
    std::vector<std::unique_ptr<Process>> procs;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<std::unique_ptr<Sandbox>> sb =
          Sandbox::Create({.pod_name = absl::StrCat("orphan-", i),
                           .isolate = i < 2,
                           .network = i == 0 ? net->get() : nullptr,
                           .pod_dir = absl::StrCat(dir, "/pod", i)});
      if (!sb.ok()) fail(sb.status());
      absl::StatusOr<std::unique_ptr<Process>> p =
          // Plain mode only covers the direct child (PR_SET_PDEATHSIG); in a
          // pod, PID 1's death also takes the background sleep.
          (*sb)->Spawn({.argv = {"sh", "-c", i < 2 ? "sleep 60 & sleep 60" : "exec sleep 60"}});
      if (!p.ok()) fail(p.status());
      if ((*sb)->holder_pid() > 0) report += absl::StrCat((*sb)->holder_pid(), " ");
      report += absl::StrCat((*p)->pid(), " ");
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
  for (int i = 0; i < 200 && report.find('\n') == std::string::npos; ++i) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof(buf));
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  kill(runtime, SIGKILL);
  waitpid(runtime, nullptr, 0);
  ASSERT_THAT(report, ::testing::Not(HasSubstr("ERR"))) << report;
  std::vector<pid_t> pids;
  for (absl::string_view s : absl::StrSplit(report, ' ', absl::SkipWhitespace())) {
    int pid = 0;
    if (absl::SimpleAtoi(s, &pid)) pids.push_back(pid);
  }
  ASSERT_EQ(pids.size(), 5u) << report;  // 2 holders + 3 processes
  for (pid_t pid : pids) EXPECT_TRUE(WaitGone(pid, absl::Seconds(5))) << pid;
  const std::string bridge = DeriveNetworkNames(seed).bridge;
  EXPECT_TRUE(LinkExists(bridge));
  ASSERT_OK(Sandbox::CleanupStale(seed));
  EXPECT_FALSE(LinkExists(bridge));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
