// File listeners on a real directory with inotify.
#include "services/events/sources/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/watched-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& events) {
    return EventSourceRunner::Start(MakeEventSource("files", "file", events), collector_.publish(),
                                    {});
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + name) << text;
  }

  std::string dir_;
  Collector collector_;
};

TEST_F(FileTest, CreateWriteRemoveRenameAndChmodOfTheWatchedFile) {
  auto watch = [&](const char* type) {
    return json{{"eventType", type}, {"watchPathConfig", {{"directory", dir_}, {"path", "x.txt"}}}};
  };
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"create", watch("CREATE")},
                                           {"write", watch("WRITE")},
                                           {"remove", watch("REMOVE")},
                                           {"rename", watch("RENAME")},
                                           {"chmod", watch("CHMOD")}}));
  Write("other.txt", "ignored");
  Write("x.txt", "hello");
  chmod((dir_ + "x.txt").c_str(), 0600);
  std::rename((dir_ + "x.txt").c_str(), (dir_ + "y.txt").c_str());
  Write("x.txt", "again");
  std::filesystem::remove(dir_ + "x.txt");
  std::vector<CloudEvent> events = collector_.WaitFor(7);
  std::vector<std::pair<std::string, int>> seen;
  for (const CloudEvent& e : events) {
    EXPECT_EQ(e.type, "file");
    EXPECT_EQ(e.data["name"], dir_ + "x.txt");
    seen.emplace_back(e.subject, e.data["op"].get<int>());
  }
  EXPECT_THAT(
      seen, ::testing::UnorderedElementsAre(
                std::pair<std::string, int>{"create", 1}, std::pair<std::string, int>{"write", 2},
                std::pair<std::string, int>{"chmod", 16}, std::pair<std::string, int>{"rename", 8},
                std::pair<std::string, int>{"create", 1}, std::pair<std::string, int>{"write", 2},
                std::pair<std::string, int>{"remove", 4}));
}

TEST_F(FileTest, PathRegexp) {
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start({{"logs",
              {{"eventType", "CREATE"},
               {"watchPathConfig", {{"directory", dir_}, {"pathRegexp", "^.*\\.log$"}}}}}}));
  Write("a.txt", "");
  Write("b.log", "");
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  absl::SleepFor(absl::Milliseconds(200));
  events = collector_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["name"], dir_ + "b.log");
}

TEST_F(FileTest, RefusesBadConfigs) {
  json w = {{"directory", dir_}, {"path", "x"}};
  EXPECT_THAT(Start({{"e", {{"eventType", "OPEN"}, {"watchPathConfig", w}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.file.e.eventType")));
  EXPECT_THAT(
      Start({{"e", {{"eventType", "CREATE"}, {"polling", true}, {"watchPathConfig", w}}}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.file.e.polling: not supported")));
  EXPECT_THAT(Start({{"e",
                      {{"eventType", "CREATE"},
                       {"watchPathConfig", {{"directory", "/no/such/dir"}, {"path", "x"}}}}}})
                  .status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("spec.file.e.watchPathConfig.directory")));
  EXPECT_THAT(Start({{"e", {{"eventType", "CREATE"}, {"watchPathConfig", {{"directory", dir_}}}}}})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one of path")));
}

}  // namespace
}  // namespace argonaut::events::sources
