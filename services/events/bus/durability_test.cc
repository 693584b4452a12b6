// A publisher SIGKILLed mid-stream loses no event whose Publish returned.
// The publisher is this binary re-executed (a fresh process, as RocksDB's
// background threads make fork() without exec unsafe), reporting each
// returned offset and id on a pipe.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/bus/local.h"
#include "services/events/bus/test_util.h"

namespace argonaut::events::bus {
namespace {

constexpr char kDirEnv[] = "EVENTS_BUS_CHILD_DIR";
constexpr char kFdEnv[] = "EVENTS_BUS_CHILD_FD";

// The child: publishes until killed. DISABLED_ so that a normal run leaves it out (rather than
// reporting it skipped); DurabilityTest runs it with --gtest_also_run_disabled_tests.
TEST(DurabilityChild, DISABLED_PublishUntilKilled) {
  const char* dir = std::getenv(kDirEnv);
  const char* fd_text = std::getenv(kFdEnv);
  if (dir == nullptr || fd_text == nullptr) GTEST_SKIP() << "only run by DurabilityTest";
  int fd = std::atoi(fd_text);
  auto bus = OpenLocalBus(dir);
  ASSERT_OK(bus);
  for (int i = 0;; ++i) {
    CloudEvent event;
    event.id = NewEventId();
    event.source = "webhook";
    event.type = "webhook";
    event.subject = "example";
    event.data = {{"body", {{"n", i}}}};
    absl::StatusOr<uint64_t> offset = (*bus)->Publish(event);
    ASSERT_OK(offset);
    std::string line = absl::StrCat(*offset, " ", event.id, "\n");
    ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
}

TEST(DurabilityTest, SigkilledPublisherLosesNoAcknowledgedEvent) {
  std::string dir = NewTempDir("durability");
  ASSERT_FALSE(dir.empty());
  {
    // Register the checking consumer before anything is published.
    auto bus = OpenLocalBus(dir);
    ASSERT_OK(bus);
    ASSERT_OK((*bus)->Read("checker", 1, absl::Now()));
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Built before fork: the child only calls exec.
  std::vector<std::string> env_strings = {absl::StrCat(kDirEnv, "=", dir),
                                          absl::StrCat(kFdEnv, "=", fds[1])};
  for (char** e = environ; *e != nullptr; ++e) {
    // The killed child must not touch the parent's Bazel result files.
    absl::string_view var(*e);
    if (absl::StartsWith(var, "TEST_PREMATURE_EXIT_FILE=") ||
        absl::StartsWith(var, "XML_OUTPUT_FILE=") || absl::StartsWith(var, "GTEST_OUTPUT=") ||
        absl::StartsWith(var, "TEST_SHARD_STATUS_FILE=")) {
      continue;
    }
    env_strings.push_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  char arg0[] = "durability_child";
  char arg1[] = "--gtest_filter=DurabilityChild.*";
  char arg2[] = "--gtest_also_run_disabled_tests";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  // Let it publish a while (at least 300 events), then kill it mid-stream.
  std::string buffer;
  char chunk[4096];
  size_t lines = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (lines < 300 && absl::Now() < deadline) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, n);
    lines = std::count(buffer.begin(), buffer.end(), '\n');
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wstatus)) << "the publisher ended on its own: " << wstatus;
  // Everything written before the kill is still in the pipe.
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof chunk)) > 0) buffer.append(chunk, n);
  close(fds[0]);

  std::map<uint64_t, std::string> acknowledged;
  for (absl::string_view line : absl::StrSplit(buffer, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    uint64_t offset = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &offset)) continue;  // torn last line
    acknowledged[offset] = parts[1];
  }
  ASSERT_GE(acknowledged.size(), 300u);

  auto bus = OpenLocalBus(dir);
  ASSERT_OK(bus);
  std::map<uint64_t, std::string> stored;
  while (true) {
    auto batch = (*bus)->Read("checker", 1000, absl::Now());
    ASSERT_OK(batch);
    if (batch->empty()) break;
    for (const StoredEvent& e : *batch) stored[e.offset] = e.event.id;
    ASSERT_OK((*bus)->Ack("checker", batch->back().offset));
  }
  size_t missing = 0;
  for (const auto& [offset, id] : acknowledged) {
    auto it = stored.find(offset);
    if (it == stored.end() || it->second != id) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  // The store may hold a few more (written, killed before the reply).
  EXPECT_GE(stored.size(), acknowledged.size());
  std::printf("acknowledged %zu, stored %zu, lost 0 expected, lost %zu\n", acknowledged.size(),
              stored.size(), missing);
}

}  // namespace
}  // namespace argonaut::events::bus
