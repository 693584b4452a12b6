// Pure layout/parsing cases run everywhere. Cases creating cgroups need root
// and a host with cgroups, and are skipped with a reason otherwise.
#include "lib/cluster/sandbox/cgroup.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// This machine's shape: v1 controllers plus an empty cgroup2 at unified.
constexpr char kHybridMountinfo[] =
    "25 20 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "29 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "30 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "31 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kHybridSelf[] =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

std::optional<std::string> NoControllers(const std::string&) { return std::string(""); }

TEST(CgroupLayoutTest, HybridHostUsesV1UnderOwnCgroups) {
  absl::StatusOr<CgroupLayout> l =
      PlanCgroupLayout(kHybridMountinfo, kHybridSelf, "argonaut-1", &NoControllers);
  ASSERT_THAT(l, IsOk());
  EXPECT_EQ(l->version, 1);
  ASSERT_EQ(l->parents.size(), 3u);
  EXPECT_EQ(l->parents[0].dir, "/sys/fs/cgroup/memory/process_api/abc/argonaut-1");
  EXPECT_THAT(l->parents[0].controllers, ElementsAre("memory"));
  EXPECT_EQ(l->parents[1].dir, "/sys/fs/cgroup/cpu/argonaut-1");
  EXPECT_EQ(l->parents[2].dir, "/sys/fs/cgroup/pids/argonaut-1");
}

TEST(CgroupLayoutTest, CombinedV1HierarchyUsedOnce) {
  const std::string mi =
      "26 25 0:23 / /cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "28 25 0:25 /docker/x /cg/memory rw - cgroup cgroup rw,memory,pids\n";
  absl::StatusOr<CgroupLayout> l =
      PlanCgroupLayout(mi, "3:memory,pids:/docker/x/y\n2:cpu,cpuacct:/\n", "n", &NoControllers);
  ASSERT_THAT(l, IsOk());
  ASSERT_EQ(l->parents.size(), 2u);
  // The mount's root is stripped from the process's path.
  EXPECT_EQ(l->parents[0].dir, "/cg/memory/y/n");
  EXPECT_THAT(l->parents[0].controllers, ElementsAre("memory", "pids"));
  EXPECT_EQ(l->parents[1].dir, "/cg/cpu,cpuacct/n");
  EXPECT_THAT(l->parents[1].controllers, ElementsAre("cpu"));
}

TEST(CgroupLayoutTest, UnifiedWithMemoryWins) {
  const std::string mi = "31 25 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  absl::StatusOr<CgroupLayout> l =
      PlanCgroupLayout(mi, "0::/system.slice/argonaut.service\n", "argonaut-2",
                       [](const std::string& dir) -> std::optional<std::string> {
                         EXPECT_EQ(dir, "/sys/fs/cgroup/system.slice/argonaut.service");
                         return std::string("cpuset cpu io memory hugetlb pids rdma\n");
                       });
  ASSERT_THAT(l, IsOk());
  EXPECT_EQ(l->version, 2);
  EXPECT_EQ(l->v2_own_dir, "/sys/fs/cgroup/system.slice/argonaut.service");
  ASSERT_EQ(l->parents.size(), 1u);
  EXPECT_EQ(l->parents[0].dir, "/sys/fs/cgroup/system.slice/argonaut.service/argonaut-2");
  EXPECT_THAT(l->parents[0].controllers, ElementsAre("memory", "cpu", "pids"));
}

TEST(CgroupLayoutTest, NothingUsable) {
  EXPECT_THAT(
      PlanCgroupLayout("31 25 0:28 / /u rw - cgroup2 cgroup2 rw\n", "0::/\n", "n", &NoControllers),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(PlanCgroupLayout(kHybridMountinfo, kHybridSelf, "a/b", &NoControllers),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CgroupParseTest, OomKillCount) {
  EXPECT_EQ(ParseOomKillCount("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3);
  EXPECT_EQ(ParseOomKillCount("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n"), 1);
  EXPECT_EQ(ParseOomKillCount("oom_kill_disable 0\nunder_oom 0\n"), 0);
  EXPECT_EQ(ParseOomKillCount(""), 0);
}

TEST(CgroupConversionTest, KubeletFormulas) {
  EXPECT_EQ(CpuQuotaUs(500), 50000);
  EXPECT_EQ(CpuQuotaUs(2000), 200000);
  EXPECT_EQ(CpuQuotaUs(1), 1000);  // the kernel's minimum
  EXPECT_EQ(CpuShares(0), 2);
  EXPECT_EQ(CpuShares(1000), 1024);
  EXPECT_EQ(CpuShares(100), 102);
  EXPECT_EQ(CpuWeightFromShares(2), 1);
  EXPECT_EQ(CpuWeightFromShares(262144), 10000);
  EXPECT_EQ(CpuWeightFromShares(1024), 39);
  EXPECT_EQ(CgroupName("/data"), CgroupName("/data"));
  EXPECT_NE(CgroupName("/data"), CgroupName("/data2"));
  EXPECT_THAT(CgroupName("/data"), ::testing::MatchesRegex("argonaut-[0-9a-f]{8}"));
}

// ---------------------------------------------------------------------------
// Real cgroups.

class RealCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    name_ =
        CgroupName(absl::StrCat("cgroup_test-", getpid(), "-",
                                ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    absl::StatusOr<std::unique_ptr<CgroupManager>> m = CgroupManager::Open({.name = name_});
    if (absl::IsNotFound(m.status())) GTEST_SKIP() << "no cgroups here: " << m.status();
    ASSERT_THAT(m, IsOk());
    mgr_ = std::move(*m);
  }
  void TearDown() override {
    if (mgr_) {
      EXPECT_THAT(mgr_->root().Destroy(absl::Seconds(10)), IsOk());
    }
  }

  const CgroupDir* DirWith(const Cgroup& g, std::string_view controller) {
    for (const CgroupDir& d : g.dirs()) {
      if (d.Has(controller)) return &d;
    }
    return nullptr;
  }

  std::string name_;
  std::unique_ptr<CgroupManager> mgr_;
};

TEST_F(RealCgroupTest, LimitsWritten) {
  absl::StatusOr<std::unique_ptr<Cgroup>> pod = mgr_->CreateGroup("pod-a", {.pids = 64});
  ASSERT_THAT(pod, IsOk());
  absl::StatusOr<std::unique_ptr<Cgroup>> ctr = (*pod)->CreateChild(
      "main", {.memory_bytes = 64 << 20, .cpu_quota_millis = 250, .cpu_shares = 256});
  ASSERT_THAT(ctr, IsOk());
  const bool v2 = mgr_->version() == 2;
  if (const CgroupDir* d = DirWith(**ctr, "memory")) {
    EXPECT_EQ(ReadFile(d->dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes")), "67108864\n");
  }
  if (const CgroupDir* d = DirWith(**ctr, "cpu")) {
    if (v2) {
      EXPECT_EQ(ReadFile(d->dir + "/cpu.max"), "25000 100000\n");
    } else {
      EXPECT_EQ(ReadFile(d->dir + "/cpu.cfs_quota_us"), "25000\n");
      EXPECT_EQ(ReadFile(d->dir + "/cpu.shares"), "256\n");
    }
  }
  if (const CgroupDir* d = DirWith(**pod, "pids")) {
    EXPECT_EQ(ReadFile(d->dir + "/pids.max"), "64\n");
  }
  ASSERT_THAT((*pod)->Destroy(absl::Seconds(5)), IsOk());
  for (const CgroupDir& d : (*pod)->dirs()) EXPECT_FALSE(std::filesystem::exists(d.dir)) << d.dir;
}

// The pods' parent weighs as the node's CPUs against the host's other groups,
// not as one thread (kubepods' cpu.shares).
TEST_F(RealCgroupTest, PodsParentWeighsAsTheNode) {
  const CgroupDir* d = DirWith(mgr_->root(), "cpu");
  if (d == nullptr) GTEST_SKIP() << "no cpu controller";
  const int64_t shares = 1024 * std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN));
  if (mgr_->version() == 2) {
    EXPECT_EQ(ReadFile(d->dir + "/cpu.weight"), absl::StrCat(CpuWeightFromShares(shares), "\n"));
  } else {
    EXPECT_EQ(ReadFile(d->dir + "/cpu.shares"), absl::StrCat(shares, "\n"));
  }
}

// A process spawned with the group's descriptors runs in it from its first
// instruction; a fork bomb stops at the pod's pids limit; Destroy kills it.
TEST_F(RealCgroupTest, PlacedAndPidsBounded) {
  absl::StatusOr<std::unique_ptr<Cgroup>> pod = mgr_->CreateGroup("pod-b", {.pids = 20});
  ASSERT_THAT(pod, IsOk());
  if (DirWith(**pod, "pids") == nullptr) GTEST_SKIP() << "no pids controller";
  absl::StatusOr<std::unique_ptr<Cgroup>> ctr = (*pod)->CreateChild("main", {});
  ASSERT_THAT(ctr, IsOk());
  absl::StatusOr<std::vector<int>> fds = (*ctr)->ProcsFds();
  ASSERT_THAT(fds, IsOk());
  const std::string dir = TestDir();
  for (bool isolate : {false, true}) {
    SCOPED_TRACE(isolate ? "isolated" : "plain");
    absl::StatusOr<std::unique_ptr<Sandbox>> sb =
        Sandbox::Create({.pod_name = "cg", .isolate = isolate, .pod_dir = dir + "/pod"});
    ASSERT_THAT(sb, IsOk());
    const std::string log = dir + (isolate ? "/iso.log" : "/plain.log");
    // 100 background sleeps: only 19 fit next to the shell, which then
    // fails to fork (dash exits with 2).
    absl::StatusOr<std::unique_ptr<Process>> p = (*sb)->Spawn(
        {.argv = {"/bin/sh", "-c", "n=0; while [ $n -lt 100 ]; do sleep 30 & n=$((n+1)); done"},
         .log_path = log,
         .cgroup_procs_fds = *fds});
    ASSERT_THAT(p, IsOk());
    absl::StatusOr<ExitStatus> exit = (*p)->Wait(absl::Seconds(20));
    ASSERT_THAT(exit, IsOk());
    EXPECT_NE(exit->code, 0);
    EXPECT_THAT(ReadFile(log), HasSubstr("fork"));
    std::vector<pid_t> pids = (*ctr)->Pids();
    EXPECT_GE(pids.size(), 10u);
    EXPECT_LE(pids.size(), 20u);
    ASSERT_THAT((*sb)->Destroy(absl::ZeroDuration()), IsOk());
    std::vector<pid_t> left = (*ctr)->Pids();
    if (isolate) {
      // The pod's PID 1 died: the kernel kills the rest of its namespace.
      const absl::Time end = absl::Now() + absl::Seconds(10);
      while (!left.empty() && absl::Now() < end) {
        absl::SleepFor(absl::Milliseconds(20));
        left = (*ctr)->Pids();
      }
      EXPECT_TRUE(left.empty()) << left.size() << " processes left after the pod's PID 1 died";
    } else {
      // Plain mode: the background sleeps outlive the shell; the group
      // still holds them.
      EXPECT_GE(left.size(), 10u);
      for (pid_t pid : left) kill(pid, SIGKILL);
      const absl::Time end = absl::Now() + absl::Seconds(10);
      while (!(*ctr)->Pids().empty() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
      ASSERT_TRUE((*ctr)->Pids().empty());
    }
  }
  ASSERT_THAT((*pod)->Destroy(absl::Seconds(10)), IsOk());
  for (const CgroupDir& d : (*pod)->dirs()) EXPECT_FALSE(std::filesystem::exists(d.dir)) << d.dir;
}

TEST_F(RealCgroupTest, OomKillCounted) {
  absl::StatusOr<std::unique_ptr<Cgroup>> pod = mgr_->CreateGroup("pod-c", {});
  ASSERT_THAT(pod, IsOk());
  if (DirWith(**pod, "memory") == nullptr) GTEST_SKIP() << "no memory controller";
  absl::StatusOr<std::unique_ptr<Cgroup>> ctr =
      (*pod)->CreateChild("main", {.memory_bytes = 32 << 20});
  ASSERT_THAT(ctr, IsOk());
  EXPECT_EQ((*ctr)->OomKills(), 0);
  absl::StatusOr<std::vector<int>> fds = (*ctr)->ProcsFds();
  ASSERT_THAT(fds, IsOk());
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "oom", .isolate = false, .pod_dir = dir + "/pod"});
  ASSERT_THAT(sb, IsOk());
  // tail keeps a whole "line" (no newline in /dev/zero) in memory.
  absl::StatusOr<std::unique_ptr<Process>> p =
      (*sb)->Spawn({.argv = {"/bin/sh", "-c", "exec sh -c 'head -c 512M /dev/zero | tail'"},
                    .cgroup_procs_fds = *fds});
  ASSERT_THAT(p, IsOk());
  absl::StatusOr<ExitStatus> exit = (*p)->Wait(absl::Seconds(60));
  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->KubernetesExitCode(), 137) << exit->ToString();
  EXPECT_GE((*ctr)->OomKills(), 1);
  ASSERT_THAT((*sb)->Destroy(absl::ZeroDuration()), IsOk());
  ASSERT_THAT((*pod)->Destroy(absl::Seconds(10)), IsOk());
}

// A runtime that crashed left a pod group with a live process: the next
// Open + CleanupStale of the same name kills it and removes the group.
TEST_F(RealCgroupTest, StaleGroupsRemoved) {
  absl::StatusOr<std::unique_ptr<Cgroup>> pod = mgr_->CreateGroup("pod-d", {});
  ASSERT_THAT(pod, IsOk());
  absl::StatusOr<std::unique_ptr<Cgroup>> ctr = (*pod)->CreateChild("main", {});
  ASSERT_THAT(ctr, IsOk());
  absl::StatusOr<std::vector<int>> fds = (*ctr)->ProcsFds();
  ASSERT_THAT(fds, IsOk());
  const std::string dir = TestDir();
  absl::StatusOr<std::unique_ptr<Sandbox>> sb =
      Sandbox::Create({.pod_name = "stale", .isolate = false, .pod_dir = dir + "/pod"});
  ASSERT_THAT(sb, IsOk());
  // The shell's child outlives the shell (and the sandbox) in plain mode.
  absl::StatusOr<std::unique_ptr<Process>> p = (*sb)->Spawn(
      {.argv = {"/bin/sh", "-c", "setsid sleep 60 & exit 0"}, .cgroup_procs_fds = *fds});
  ASSERT_THAT(p, IsOk());
  ASSERT_THAT((*p)->Wait(absl::Seconds(10)), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((*ctr)->Pids().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ((*ctr)->Pids().size(), 1u);
  const pid_t orphan = (*ctr)->Pids()[0];

  absl::StatusOr<std::unique_ptr<CgroupManager>> again = CgroupManager::Open({.name = name_});
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT((*again)->CleanupStale(absl::Seconds(10)), IsOk());
  for (const CgroupDir& d : (*pod)->dirs()) EXPECT_FALSE(std::filesystem::exists(d.dir)) << d.dir;
  // Killed (a zombie until init reaps it, or gone).
  const std::string stat = ReadFile(absl::StrCat("/proc/", orphan, "/stat"));
  EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos) << stat;
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
