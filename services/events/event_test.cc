#include "services/events/event.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::events {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

CloudEvent Sample() {
  CloudEvent event;
  event.id = NewEventId();
  event.source = "webhook";
  event.type = "webhook";
  event.subject = "example";
  event.time = absl::FromUnixNanos(1765104772123456789);
  event.data = {{"header", {{"Content-Type", {"application/json"}}}},
                {"body", {{"message", "HelloWorld!"}}}};
  return event;
}

TEST(NewEventIdTest, IsAVersion4UuidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewEventId();
    ASSERT_THAT(id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]"
                                 "[0-9a-f]{3}-[0-9a-f]{12}"));
    ASSERT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(EventTimeTest, FormatsUtcWithNanoseconds) {
  EXPECT_EQ(FormatEventTime(absl::FromUnixNanos(1765104772123456789)),
            "2025-12-07T10:52:52.123456789Z");
  EXPECT_EQ(FormatEventTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00.000000000Z");
}

TEST(EventTimeTest, ParsesOffsetsAndShortFractions) {
  auto t = ParseEventTime("2025-12-07T11:52:52.5+01:00");
  ASSERT_OK(t.status());
  EXPECT_EQ(*t, absl::FromUnixMillis(1765104772500));
  EXPECT_THAT(ParseEventTime("yesterday").status().message(), HasSubstr("yesterday"));
}

TEST(CloudEventTest, JsonRoundTrip) {
  CloudEvent event = Sample();
  nlohmann::json json = event.ToJson();
  EXPECT_EQ(json["specversion"], "1.0");
  EXPECT_EQ(json["datacontenttype"], "application/json");
  EXPECT_EQ(json["time"], "2025-12-07T10:52:52.123456789Z");
  EXPECT_EQ(json["data"]["body"]["message"], "HelloWorld!");
  auto back = CloudEvent::FromJson(json);
  ASSERT_OK(back.status());
  EXPECT_EQ(*back, event);
  // Through text as well, as the bus stores it.
  auto reparsed = CloudEvent::FromJson(nlohmann::json::parse(json.dump()));
  ASSERT_OK(reparsed.status());
  EXPECT_EQ(*reparsed, event);
}

TEST(CloudEventTest, DefaultsOptionalAttributes) {
  auto event = CloudEvent::FromJson({{"id", "1"}, {"source", "s"}, {"type", "calendar"}});
  ASSERT_OK(event.status());
  EXPECT_EQ(event->specversion, "1.0");
  EXPECT_EQ(event->datacontenttype, "application/json");
  EXPECT_EQ(event->subject, "");
  EXPECT_TRUE(event->data.is_null());
}

TEST(CloudEventTest, DecodesDataBase64) {
  auto event = CloudEvent::FromJson(
      {{"id", "1"}, {"source", "s"}, {"type", "t"}, {"data_base64", "aGVsbG8="}});
  ASSERT_OK(event.status());
  EXPECT_EQ(event->data, "hello");
}

TEST(CloudEventTest, RefusesBadInputNamingTheField) {
  struct Case {
    nlohmann::json json;
    std::string field;
  };
  std::vector<Case> cases = {
      {nlohmann::json::array(), "JSON object"},
      {{{"source", "s"}, {"type", "t"}}, "CloudEvent.id: required"},
      {{{"id", ""}, {"source", "s"}, {"type", "t"}}, "CloudEvent.id"},
      {{{"id", 1}, {"source", "s"}, {"type", "t"}}, "CloudEvent.id: must be a string"},
      {{{"id", "1"}, {"type", "t"}}, "CloudEvent.source"},
      {{{"id", "1"}, {"source", "s"}}, "CloudEvent.type"},
      {{{"id", "1"}, {"source", "s"}, {"type", "t"}, {"specversion", "0.3"}},
       "CloudEvent.specversion"},
      {{{"id", "1"}, {"source", "s"}, {"type", "t"}, {"time", "noon"}}, "CloudEvent.time"},
      {{{"id", "1"}, {"source", "s"}, {"type", "t"}, {"subject", {1}}}, "CloudEvent.subject"},
      {{{"id", "1"}, {"source", "s"}, {"type", "t"}, {"data_base64", "%%"}},
       "CloudEvent.data_base64"},
  };
  for (const Case& c : cases) {
    auto event = CloudEvent::FromJson(c.json);
    EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(event.status().message(), HasSubstr(c.field)) << c.json;
  }
}

}  // namespace
}  // namespace argonaut::events
