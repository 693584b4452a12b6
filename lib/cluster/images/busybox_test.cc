// Busybox-based images through the image table, run for real with the host's
// busybox (scripts/install-deps.sh installs it).
#include "lib/cluster/images/busybox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/images/image_table.h"

namespace argonaut::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The seed's analysis Job: `busybox`, command [sh, -c], this one argument.
constexpr char kSeedCheck[] = "[[ $(expr $RANDOM % 2) -eq 1 ]]";

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string HostBusybox() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

ImageTableOptions Options(const std::string& applet_parent, const std::string& busybox = "") {
  ImageTableOptions o;
  o.builtin_binary = "/opt/builtin_images";
  o.builtin_prefix = {};
  o.busybox_binary = busybox;
  o.busybox_applet_dir = applet_parent;
  return o;
}

struct Outcome {
  int code = -1;
  std::string out;
};

// fork/exec of a resolved argv with the PATH the container would get.
Outcome Exec(const std::vector<std::string>& argv, const std::string& path) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    std::vector<char*> cargv;
    std::vector<std::string> copy = argv;
    for (std::string& a : copy) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::string env_path = "PATH=" + path;
    char* envp[] = {env_path.data(), nullptr};
    execvpe(cargv[0], cargv.data(), envp);
    _exit(127);
  }
  close(fds[1]);
  Outcome r;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class BusyboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    busybox_ = HostBusybox();
    ASSERT_FALSE(busybox_.empty()) << "busybox is not installed: run scripts/install-deps.sh";
    parent_ = TmpDir() + "/applets-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name();
    absl::StatusOr<ImageTable> t = ImageTable::Load("", Options(parent_));
    ASSERT_OK(t);
    table_ = std::make_unique<ImageTable>(*std::move(t));
    ASSERT_TRUE(table_->busybox().has_value());
  }
  std::string busybox_;
  std::string parent_;
  std::unique_ptr<ImageTable> table_;
};

TEST_F(BusyboxTest, SeedAnalysisCommandGivesBothOutcomes) {
  absl::StatusOr<std::vector<std::string>> argv =
      table_->Resolve("busybox", {"sh", "-c"}, {kSeedCheck});
  ASSERT_OK(argv);
  EXPECT_THAT(*argv, ElementsAre(busybox_, "sh", "-c", kSeedCheck));
  std::set<int> codes;
  int ones = 0;
  for (int i = 0; i < 40; ++i) {
    Outcome r = Exec(*argv, table_->PathFor("busybox"));
    codes.insert(r.code);
    if (r.code == 1) ++ones;
  }
  // Both outcomes, and nothing else (2 would be dash's "[[: not found").
  EXPECT_THAT(codes, ElementsAre(0, 1)) << ones << " of 40 failed";
}

TEST_F(BusyboxTest, ShellCommandsAreApplets) {
  const Busybox& bb = *table_->busybox();
  ASSERT_FALSE(bb.applet_dir.empty()) << bb.applet_dir_problem;
  EXPECT_EQ(table_->PathFor("busybox:1.36"), bb.applet_dir + ":" + table_->default_path());
  EXPECT_EQ(table_->PathFor("docker.io/library/alpine:3.18"),
            bb.applet_dir + ":" + table_->default_path());
  // Commands a script runs resolve through the applet links.
  auto argv = table_->Resolve("alpine:3.18", {"sh", "-c"}, {"command -v expr; echo $RANDOM"});
  ASSERT_OK(argv);
  Outcome r = Exec(*argv, table_->PathFor("alpine:3.18"));
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, StartsWith(bb.applet_dir + "/expr\n"));
  char target[4096] = {};
  ASSERT_GT(readlink((bb.applet_dir + "/wget").c_str(), target, sizeof(target) - 1), 0);
  char real[4096];
  ASSERT_NE(realpath(busybox_.c_str(), real), nullptr);
  EXPECT_STREQ(target, real);
  // Applets that would act on the host are left out.
  EXPECT_EQ(bb.applets.count("reboot"), 0u);
  EXPECT_NE(access((bb.applet_dir + "/reboot").c_str(), F_OK), 0);
}

TEST_F(BusyboxTest, Argv0Rewrites) {
  EXPECT_THAT(*table_->Resolve("busybox", {}, {}), ElementsAre(busybox_, "sh"));
  EXPECT_THAT(*table_->Resolve("busybox", {"/bin/sh", "-c", "x"}, {}),
              ElementsAre(busybox_, "sh", "-c", "x"));
  EXPECT_THAT(*table_->Resolve("alpine", {"sleep", "1"}, {}), ElementsAre(busybox_, "sleep", "1"));
  EXPECT_THAT(*table_->Resolve("python:3.12-alpine", {"sh", "-c"}, {"x"}),
              ElementsAre(busybox_, "sh", "-c", "x"));
  EXPECT_THAT(*table_->Resolve("python:3.12-alpine", {}, {}), ElementsAre("python3"));
  // Explicit rewrites still win; non-applets and other images are unchanged.
  EXPECT_THAT(*table_->Resolve("busybox", {"busybox", "true"}, {}),
              ElementsAre("/usr/bin/busybox", "true"));
  EXPECT_THAT(*table_->Resolve("alpine", {"python3"}, {}), ElementsAre("python3"));
  EXPECT_THAT(*table_->Resolve("alpine", {"/opt/app/sh"}, {}), ElementsAre("/opt/app/sh"));
  EXPECT_THAT(*table_->Resolve("debian", {"sh", "-c", "x"}, {}), ElementsAre("sh", "-c", "x"));
  EXPECT_THAT(*table_->Resolve("python:3.12", {"sh"}, {}), ElementsAre("sh"));
  EXPECT_EQ(table_->PathFor("debian:12"), table_->default_path());
  EXPECT_EQ(table_->PathFor("no such image"), table_->default_path());
}

TEST_F(BusyboxTest, CurlEntrypointScriptRunsUnderAsh) {
  auto argv = table_->Resolve("curlimages/curl:8.5.0", {}, {"echo", "from", "curl image"});
  ASSERT_OK(argv);
  EXPECT_EQ((*argv)[0], busybox_);
  Outcome r = Exec(*argv, table_->PathFor("curlimages/curl:8.5.0"));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "from curl image\n");
}

TEST_F(BusyboxTest, AppletDirIsReusedAndUntrustedOnesRefused) {
  const std::string dir = table_->busybox()->applet_dir;
  ASSERT_FALSE(dir.empty());
  struct stat before;
  ASSERT_EQ(lstat((dir + "/sh").c_str(), &before), 0);
  std::optional<Busybox> again = LoadBusybox("", parent_);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->applet_dir, dir);
  EXPECT_EQ(again->applets, table_->busybox()->applets);
  struct stat after;
  ASSERT_EQ(lstat((dir + "/sh").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not made again
  // A directory others may write to is not put on any PATH.
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  std::optional<Busybox> open = LoadBusybox("", parent_);
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->applet_dir, "");
  EXPECT_THAT(open->applet_dir_problem, HasSubstr("writable by others"));
  EXPECT_FALSE(open->applets.empty());
}

TEST(BusyboxAbsentTest, KeepsHostCommands) {
  auto t = ImageTable::Load("", Options(TmpDir() + "/unused", "/nonexistent/busybox"));
  ASSERT_OK(t);
  EXPECT_FALSE(t->busybox().has_value());
  EXPECT_THAT(*t->Resolve("busybox", {"sh", "-c"}, {kSeedCheck}),
              ElementsAre("sh", "-c", kSeedCheck));
  EXPECT_THAT(*t->Resolve("alpine", {}, {}), ElementsAre("sh"));
  EXPECT_EQ(t->PathFor("busybox"), t->default_path());
}

// Sets an environment variable for one scope, restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(DefaultAppletParentTest, NeverUnderTmpWhichPodsDoNotShare) {
  const std::string fallback = absl::StrCat("/var/tmp/argonaut-", geteuid());
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/srv/cache");
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(DefaultBusyboxAppletParent(), "/srv/cache/argonaut");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(DefaultBusyboxAppletParent(), "/home/u/.cache/argonaut");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/cache");
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(DefaultBusyboxAppletParent(), "/home/u/.cache/argonaut");
  }
  for (const char* tmp : {"/tmp", "/tmp/", "/tmp/home", "relative", "/"}) {
    ScopedEnv xdg("XDG_CACHE_HOME", tmp);
    ScopedEnv home("HOME", tmp);
    EXPECT_EQ(DefaultBusyboxAppletParent(), fallback) << tmp;
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmpfs/cache");  // only /tmp itself is private
    EXPECT_EQ(DefaultBusyboxAppletParent(), "/tmpfs/cache/argonaut");
  }
}

}  // namespace
}  // namespace argonaut::cluster
