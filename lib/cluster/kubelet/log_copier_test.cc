#include "lib/cluster/kubelet/log_copier.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::kubelet {
namespace {

using ::argonaut::testing::IsOk;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string TestFile(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(t != nullptr ? t : "/tmp", "/log_copier-", getpid());
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    ASSERT_GT(n, 0) << strerror(errno);
    done += static_cast<size_t>(n);
  }
}

TEST(LogCopierTest, CopiesAndDrains) {
  absl::StatusOr<std::unique_ptr<LogCopier>> c = LogCopier::Start(1 << 20);
  ASSERT_THAT(c, IsOk());
  const std::string path = TestFile("plain.log");
  absl::StatusOr<std::shared_ptr<LogStream>> s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  WriteAll((*s)->write_fd(), "hello\nworld\n");
  // Drain returns with everything written so far in the file.
  (*c)->Drain(**s);
  EXPECT_EQ(ReadFile(path), "hello\nworld\n");
  (*s)->CloseWriteEnd();
  (*c)->Close(*s);
  // A second stream on the same file appends.
  s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  WriteAll((*s)->write_fd(), "again\n");
  (*s)->CloseWriteEnd();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ReadFile(path).size() < 18 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(ReadFile(path), "hello\nworld\nagain\n");
}

// A writer that never stops (`yes`) fills the file to the cap, then its
// output is dropped while it keeps writing unblocked.
TEST(LogCopierTest, CapsAFlood) {
  constexpr int64_t kCap = 4 << 20;
  absl::StatusOr<std::unique_ptr<LogCopier>> c = LogCopier::Start(kCap);
  ASSERT_THAT(c, IsOk());
  const std::string path = TestFile("flood.log");
  absl::StatusOr<std::shared_ptr<LogStream>> s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  const std::string chunk(64 * 1024, 'y');
  // 5 times the cap: without the copier discarding, this would block.
  for (int i = 0; i < 5 * kCap / static_cast<int64_t>(chunk.size()); ++i) {
    WriteAll((*s)->write_fd(), chunk);
  }
  (*s)->CloseWriteEnd();
  (*c)->Drain(**s);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ReadFile(path).find("reached its cap") == std::string::npos && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const std::string text = ReadFile(path);
  EXPECT_LE(text.size(), static_cast<size_t>(kCap) + 200);
  EXPECT_GE(text.size(), static_cast<size_t>(kCap));
  EXPECT_EQ(text.substr(0, 10), "yyyyyyyyyy");
  EXPECT_THAT(text, EndsWith("further output is dropped (LocalClusterOptions.max_log_bytes)\n"));

  // A new instance of the container starts a fresh file that says why.
  (*c)->Close(*s);
  s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  WriteAll((*s)->write_fd(), "next\n");
  (*c)->Drain(**s);
  EXPECT_THAT(ReadFile(path), StartsWith("argonaut: "));
  EXPECT_THAT(ReadFile(path), HasSubstr("bytes of earlier output dropped"));
  EXPECT_THAT(ReadFile(path), EndsWith("\nnext\n"));
}

TEST(LogCopierTest, SplitsLongLines) {
  absl::StatusOr<std::unique_ptr<LogCopier>> c = LogCopier::Start(1 << 20, 16);
  ASSERT_THAT(c, IsOk());
  const std::string path = TestFile("long.log");
  absl::StatusOr<std::shared_ptr<LogStream>> s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  // A line of exactly the cap stays whole, even with its newline in the next write.
  WriteAll((*s)->write_fd(), "0123456789abcdef");
  (*c)->Drain(**s);
  WriteAll((*s)->write_fd(), "\nshort\n");
  // 40 bytes without a newline, across two writes: split at 16.
  WriteAll((*s)->write_fd(), std::string(20, 'a'));
  (*c)->Drain(**s);
  WriteAll((*s)->write_fd(), std::string(20, 'b') + "\nend");
  (*s)->CloseWriteEnd();
  (*c)->Drain(**s);
  EXPECT_EQ(ReadFile(path), "0123456789abcdef\nshort\n" + std::string(16, 'a') + "\n" +
                                std::string(4, 'a') + std::string(12, 'b') + "\n" +
                                std::string(8, 'b') + "\nend");
  (*c)->Close(*s);
}

TEST(LogCopierTest, DefaultSplitIsKubernetes16KiB) {
  absl::StatusOr<std::unique_ptr<LogCopier>> c = LogCopier::Start(1 << 20);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*c)->max_line_bytes(), 16 << 10);
  const std::string path = TestFile("default.log");
  absl::StatusOr<std::shared_ptr<LogStream>> s = (*c)->Open(path);
  ASSERT_THAT(s, IsOk());
  WriteAll((*s)->write_fd(), std::string(100 << 10, 'x'));  // 100 KiB, no newline
  (*s)->CloseWriteEnd();
  (*c)->Drain(**s);
  const std::string text = ReadFile(path);
  size_t longest = 0, start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    longest = std::max(longest, nl - start);
  }
  longest = std::max(longest, text.size() - start);
  EXPECT_EQ(longest, size_t{16 << 10});
  EXPECT_EQ(text.size(), size_t{(100 << 10) + 6});  // six splits
  (*c)->Close(*s);
}

TEST(LogCopierTest, BadInput) {
  EXPECT_FALSE(LogCopier::Start(0).ok());
  EXPECT_FALSE(LogCopier::Start(1024, 0).ok());
  absl::StatusOr<std::unique_ptr<LogCopier>> c = LogCopier::Start(1024);
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE((*c)->Open("/nonexistent-dir/x.log").ok());
}

}  // namespace
}  // namespace argonaut::cluster::kubelet
