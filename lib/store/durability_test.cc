// Acknowledged writes survive SIGKILL: a forked child writes to a RocksDbStore
// and acknowledges each Put over a pipe; the parent kills it mid-stream and
// checks that the reopened store holds every acknowledged write.
//
// The parent must not open RocksDB (or start any thread) before the last
// fork: a forked child inherits only the forking thread, so locks held by
// other threads would never be released in it.
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/store/rocksdb_store.h"
#include "lib/store/test_util.h"

namespace argonaut::store {
namespace {

constexpr char kKind[] = "items";

// Exit codes of the writer child, so the parent can tell failures apart from the kill.
constexpr int kChildFinished = 0;
constexpr int kChildOpenFailed = 2;
constexpr int kChildPutFailed = 3;
constexpr int kChildPipeFailed = 4;

std::string KeyFor(int round, int i) { return absl::StrCat("round", round, "/", i); }

// Varying sizes so that writes straddle WAL block boundaries.
std::string ValueFor(const std::string& key, int i) {
  return absl::StrCat(key, "=", std::string(static_cast<size_t>(16 + (i * 37) % 900), 'v'));
}

int ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    int n = 0;
    if (line.rfind("Threads:", 0) == 0 && absl::SimpleAtoi(line.substr(8), &n)) return n;
  }
  return -1;
}

// Whether the writer fsyncs; read by the forked child.
bool g_fsync = true;

// Runs in the child: bounded in writes and time so it cannot outlive a broken parent.
int RunWriter(const std::string& dir, int round, int ack_fd) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      RocksDbStore::Open({.path = dir, .kinds = {kKind}, .fsync = g_fsync});
  if (!store.ok()) return kChildOpenFailed;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (int i = 0; i < 100000 && absl::Now() < deadline; ++i) {
    const std::string key = KeyFor(round, i);
    if (!(*store)->Put(kKind, key, ValueFor(key, i), kMustNotExist).ok()) return kChildPutFailed;
    // One short write per ack: atomic on a pipe, so the parent never sees half a line.
    const std::string ack = absl::StrCat(i, "\n");
    if (write(ack_fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) {
      return kChildPipeFailed;
    }
  }
  return kChildFinished;
}

struct RoundResult {
  // Indices of acknowledged Puts, in order.
  std::vector<int> acked;
};

// Forks a writer, kills it with SIGKILL after `kill_after` acks and collects
// every ack it managed to send.
void RunRound(const std::string& dir, int round, int kill_after, RoundResult& result) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    // _exit: the child must not run the parent's atexit handlers or gtest teardown.
    _exit(RunWriter(dir, round, fds[1]));
  }
  close(fds[1]);

  bool killed = false;
  std::string pending;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    pollfd p{.fd = fds[0], .events = POLLIN, .revents = 0};
    const int ready = poll(&p, 1, 1000);
    if (ready < 0 && errno == EINTR) continue;
    ASSERT_GE(ready, 0);
    if (ready == 0) continue;
    char buf[4096];
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GE(n, 0);
    if (n == 0) break;  // EOF: the child is gone and every ack it sent is read.
    pending.append(buf, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      int i = 0;
      ASSERT_TRUE(absl::SimpleAtoi(pending.substr(0, newline), &i));
      result.acked.push_back(i);
      pending.erase(0, newline + 1);
    }
    if (!killed && static_cast<int>(result.acked.size()) >= kill_after) {
      // The child is still writing: the kill lands in the middle of some Put.
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      killed = true;
    }
  }
  close(fds[0]);
  if (!killed) kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(killed) << "no EOF or too few acks within the deadline";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "writer exited by itself with code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT_TRUE(pending.empty()) << "partial ack: " << pending;
}

void AcknowledgedWritesSurviveSigkill(bool fsync) {
  g_fsync = fsync;
  ASSERT_EQ(ThreadCount(), 1) << "fork needs a single-threaded parent";
  const std::string dir = NewTempDir();
  ASSERT_FALSE(dir.empty());

  // The second round recovers from the first crash in the child and crashes again.
  const int kill_after[] = {200, 150};
  std::vector<RoundResult> rounds(2);
  for (int round = 0; round < 2; ++round) {
    ASSERT_NO_FATAL_FAILURE(RunRound(dir, round, kill_after[round], rounds[round]));
  }

  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened =
      RocksDbStore::Open({.path = dir, .kinds = {kKind}});
  ASSERT_OK(opened);
  RocksDbStore& store = **opened;

  size_t total_acks = 0;
  uint64_t present = 0;
  for (int round = 0; round < 2; ++round) {
    const std::vector<int>& acked = rounds[round].acked;
    total_acks += acked.size();
    ASSERT_GE(acked.size(), static_cast<size_t>(kill_after[round]));
    for (size_t j = 0; j < acked.size(); ++j) {
      ASSERT_EQ(acked[j], static_cast<int>(j)) << "acks arrive in order";
      const std::string key = KeyFor(round, acked[j]);
      absl::StatusOr<Record> r = store.Get(kKind, key);
      ASSERT_OK(r) << key;
      EXPECT_EQ(r->value, ValueFor(key, acked[j]));
    }
    // Besides the acknowledged writes, at most the one in flight at the kill may have landed.
    absl::StatusOr<std::vector<Record>> listed =
        store.List(kKind, absl::StrCat("round", round, "/"));
    ASSERT_OK(listed);
    EXPECT_GE(listed->size(), acked.size());
    EXPECT_LE(listed->size(), acked.size() + 1);
    present += listed->size();
    std::cout << "round " << round << ": " << acked.size() << " acks, " << listed->size()
              << " writes landed\n";
  }

  // Every write that landed has exactly one version and one log entry, in order.
  EXPECT_GE(store.CurrentVersion(), total_acks);
  EXPECT_EQ(store.CurrentVersion(), present);
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = store.Watch("", "", 0);
  ASSERT_OK(watcher);
  uint64_t expected = 1;
  while (true) {
    absl::StatusOr<std::vector<Event>> batch = (*watcher)->Next(absl::InfinitePast());
    ASSERT_OK(batch);
    if (batch->empty()) break;
    for (const Event& e : *batch) {
      ASSERT_EQ(e.record.resource_version, expected);
      absl::StatusOr<Record> r = store.Get(kKind, e.record.key);
      ASSERT_OK(r);
      EXPECT_EQ(r->resource_version, expected);
      EXPECT_EQ(r->value, e.record.value);
      ++expected;
    }
  }
  EXPECT_EQ(expected - 1, store.CurrentVersion());

  // The recovered store keeps counting.
  absl::StatusOr<uint64_t> next = store.Put(kKind, "after/crash", "x", kMustNotExist);
  ASSERT_OK(next);
  EXPECT_EQ(*next, present + 1);
}

TEST(DurabilityTest, AcknowledgedWritesSurviveSigkill) { AcknowledgedWritesSurviveSigkill(true); }

// Without fsync the write-ahead log still reaches the page cache before a
// write returns, so a killed process loses nothing (only a machine crash
// could): what the cluster service's runtime state relies on.
TEST(DurabilityTest, WithoutFsyncWritesStillSurviveSigkill) {
  AcknowledgedWritesSurviveSigkill(false);
}

}  // namespace
}  // namespace argonaut::store
