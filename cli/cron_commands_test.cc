#include "cli/cron_commands.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(CronCommandsTest, DescribeShowsScheduleAndStatus) {
  json cron = json::parse(R"({
    "metadata": {"name": "nightly", "namespace": "ns1"},
    "spec": {"schedules": ["0 1 * * *", "@hourly"], "timezone": "Asia/Tokyo", "suspend": true},
    "status": {"phase": "Active", "lastScheduledTime": "2024-03-01T10:00:00Z",
               "active": [{"name": "nightly-1709287200"}], "succeeded": 2,
               "conditions": [{"type": "SubmissionError", "message": "boom"}]}})");
  const std::string text = DescribeCron(cron);
  EXPECT_THAT(text, HasSubstr("Name:                    nightly\n"));
  EXPECT_THAT(text, HasSubstr("Schedules:               0 1 * * *,@hourly\n"));
  EXPECT_THAT(text, HasSubstr("Timezone:                Asia/Tokyo\n"));
  EXPECT_THAT(text, HasSubstr("Suspended:               true\n"));
  EXPECT_THAT(text, HasSubstr("Active Workflows:        nightly-1709287200\n"));
  EXPECT_THAT(text, HasSubstr("Succeeded:               2\n"));
  EXPECT_THAT(text, HasSubstr("Condition:               SubmissionError: boom\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Failed:")));
}

TEST(CronCommandsTest, UsageErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(RunCron({}, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("usage: argonaut cron"));
  err.str("");
  EXPECT_EQ(RunCron({"get"}, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("usage: argonaut cron"));
}

}  // namespace
}  // namespace argonaut::cli
