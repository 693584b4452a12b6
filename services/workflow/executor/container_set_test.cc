#include "services/workflow/executor/container_set.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::workflow::executor {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

const json kTemplate = json::parse(R"({
  "name": "t",
  "inputs": {"artifacts": [{"name": "in", "path": "/in"}]},
  "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/workspace/out"}}]},
  "containerSet": {"containers": [
    {"name": "a", "image": "alpine", "command": ["sh", "-c"], "args": ["echo a"]},
    {"name": "main", "image": "alpine", "args": ["x"], "dependencies": ["a"]}
  ]}})");

std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(base != nullptr ? base : "/tmp") / name;
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(ContainerSetPlanTest, EachContainerRunsItsOwnEntry) {
  absl::StatusOr<json> a = TemplateForContainer(kTemplate, "a");
  ASSERT_OK(a.status());
  EXPECT_EQ((*a)["container"]["args"], json::array({"echo a"}));
  EXPECT_FALSE(a->contains("containerSet"));
  // Only main loads and saves.
  EXPECT_FALSE(a->contains("outputs"));
  EXPECT_FALSE((*a)["inputs"].contains("artifacts"));
  absl::StatusOr<json> main = TemplateForContainer(kTemplate, "main");
  ASSERT_OK(main.status());
  EXPECT_FALSE((*main)["container"].contains("dependencies"));
  EXPECT_TRUE(main->contains("outputs"));
  EXPECT_THAT(TemplateForContainer(kTemplate, "zz").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no container named \"zz\"")));
  EXPECT_FALSE(TemplateForContainer(kTemplate, "").ok());
  EXPECT_EQ(ContainerDependencies(kTemplate, "main"), std::vector<std::string>{"a"});
  EXPECT_TRUE(ContainerDependencies(kTemplate, "a").empty());
  EXPECT_EQ(OtherContainers(kTemplate, "main"), std::vector<std::string>{"a"});
  EXPECT_EQ(ContainerSetDir("/x"), "/x/.argonaut/ctr");
  EXPECT_EQ(ContainerSetDir(nullptr), "/tmp/.argonaut/ctr");
}

auto Never() {
  return [] { return false; };
}

TEST(ContainerSetGateTest, DependentGoesOnOnceTheDependencyExitedZero) {
  const std::string dir = FreshDir("ok");
  ContainerSetGate a(dir, "a"), main(dir, "main");
  ASSERT_OK(a.Start());
  ASSERT_OK(main.Start());
  std::atomic<bool> done{false};
  absl::Status result;
  std::thread waiter([&] {
    result = main.WaitEnded("a", Never(), absl::Seconds(5), absl::Seconds(10));
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(done.load());  // a still holds its lock
  a.Finish(0);
  waiter.join();
  EXPECT_OK(result);
}

TEST(ContainerSetGateTest, FailedDependencyIsNamed) {
  const std::string dir = FreshDir("fail");
  ContainerSetGate a(dir, "a"), b(dir, "b");
  ASSERT_OK(a.Start());
  a.Finish(3);
  EXPECT_THAT(b.WaitEnded("a", Never(), absl::Seconds(5), absl::Seconds(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dependency \"a\" exited with non-zero code: 3"));
}

TEST(ContainerSetGateTest, DependencyThatDiesWithoutExitCode) {
  const std::string dir = FreshDir("died");
  auto a = std::make_unique<ContainerSetGate>(dir, "a");
  ASSERT_OK(a->Start());
  a.reset();  // the lock goes with the process, no exit code written
  ContainerSetGate b(dir, "b");
  EXPECT_THAT(b.WaitEnded("a", Never(), absl::Seconds(5), absl::Seconds(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("without reporting")));
}

TEST(ContainerSetGateTest, DependencyThatNeverStartsAndStop) {
  const std::string dir = FreshDir("never");
  ContainerSetGate b(dir, "b");
  const absl::Time t0 = absl::Now();
  EXPECT_THAT(b.WaitEnded("a", Never(), absl::Milliseconds(100), absl::Seconds(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition, "dependency \"a\" did not start"));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5));
  ContainerSetGate a(dir, "a");
  ASSERT_OK(a.Start());
  EXPECT_THAT(b.WaitEnded(
                  "a", [] { return true; }, absl::Seconds(5), absl::Seconds(10)),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(b.WaitEnded("a", Never(), absl::Seconds(5), absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace argonaut::workflow::executor
