#include "services/events/sensors/filters.h"

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/sensors/json_path.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;

MATCHER_P(Holds, value, "is OK and holds") { return arg.ok() && *arg == value; }

CloudEvent Event(json data) {
  CloudEvent e;
  e.id = "1";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.time = absl::FromCivil(absl::CivilSecond(2026, 12, 7, 10, 30, 0), absl::UTCTimeZone());
  e.data = std::move(data);
  return e;
}

TEST(JsonPath, GjsonSubset) {
  json doc = json::parse(R"({"a":{"b.c":1,"list":[{"n":"x"},{"n":"y"}]},"s":"str","f":1.5})");
  struct Case {
    const char* path;
    std::optional<json> want;
  } cases[] = {
      {"a.b\\.c", json(1)},       {"a.list.1.n", json("y")},
      {"a.list.#", json(2)},      {"a.list.#.n", json({"x", "y"})},
      {"a.l?st.0.n", json("x")},  {"a.missing", std::nullopt},
      {"a.list.5", std::nullopt}, {"s.x", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(GetPath(doc, c.path), c.want) << c.path;
  EXPECT_EQ(JsonString(json(1.5)), "1.5");
  EXPECT_EQ(JsonString(json(123)), "123");
  EXPECT_EQ(JsonString(json({{"a", 1}})), R"({"a":1})");
}

TEST(JsonPath, SjsonSubset) {
  json doc = json::object();
  ASSERT_OK(SetPath(doc, "spec.arguments.parameters.0.value", "v"));
  ASSERT_OK(SetPath(doc, "list.-1", 1));
  ASSERT_OK(SetPath(doc, "list.-1", 2));
  EXPECT_EQ(doc,
            json::parse(R"({"spec":{"arguments":{"parameters":[{"value":"v"}]}},"list":[1,2]})"));
  EXPECT_FALSE(SetPath(doc, "list.0.x", 1).ok());
}

TEST(DataFilter, Table) {
  json data = json::parse(R"({"body":{"message":"hello world","n":5,"ok":true}})");
  struct Case {
    const char* filter;
    bool pass;
    bool error;
  } cases[] = {
      {R"({"path":"body.message","type":"string","value":["hello","hey"]})", true, false},
      {R"({"path":"body.message","type":"string","value":["^hey$"]})", false, false},
      {R"({"path":"body.message","type":"string","value":["bye","wor"]})", true, false},
      {R"({"path":"body.message","type":"string","comparator":"!=","value":["hello","bye"]})", true,
       false},
      {R"({"path":"body.message","type":"string","comparator":"!=","value":["hello"]})", false,
       false},
      {R"({"path":"body.message","type":"string","comparator":">","value":["hello"]})", false,
       false},
      {R"({"path":"body.n","type":"number","comparator":">","value":["4"]})", true, false},
      {R"({"path":"body.n","type":"number","comparator":"<=","value":["4"]})", false, false},
      {R"({"path":"body.n","type":"number","value":["5"]})", true, false},
      {R"({"path":"body.n","type":"number","comparator":"!=","value":["5"]})", false, false},
      {R"({"path":"body.ok","type":"bool","value":["true"]})", true, false},
      {R"({"path":"body.ok","type":"bool","value":["f"]})", false, false},
      {R"({"path":"body.missing","type":"string","value":["x"]})", false, true},
      {R"({"path":"body.message","type":"string","value":[]})", false, true},
      {R"({"path":"body.n","type":"number","value":["x"]})", false, true},
      {R"({"path":"body.message","type":"string","value":["hello earth"],"template":"{{ .Input }}"})",
       false, false},
      {R"({"path":"body.message","type":"string","value":["^hello world!$"],"template":"{{ .Input }}!"})",
       true, false},
  };
  for (const auto& c : cases) {
    auto r = DataFilter(json::parse(c.filter), data);
    EXPECT_EQ(!r.ok(), c.error) << c.filter << " " << r.status();
    if (r.ok()) {
      EXPECT_EQ(*r, c.pass) << c.filter;
    }
  }
}

TEST(ExprFilter, GovaluateWithFields) {
  json data = json::parse(R"({"a":{"b":"x","n":3}})");
  json f = json::parse(
      R"({"expr":"b == \"x\" && n > 2","fields":[{"name":"b","path":"a.b"},{"name":"n","path":"a.n"}]})");
  EXPECT_THAT(ExprFilter(f, data), Holds(true));
  f["expr"] = "n > 5";
  EXPECT_THAT(ExprFilter(f, data), Holds(false));
  f["fields"][0]["path"] = "a.nope";
  EXPECT_FALSE(ExprFilter(f, data).ok());
}

TEST(TimeFilter, WindowAndMidnight) {
  absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 12, 7, 23, 30, 0), absl::UTCTimeZone());
  EXPECT_THAT(TimeFilter(json{{"start", "23:00:00"}, {"stop", "01:00:00"}}, t), Holds(true));
  EXPECT_THAT(TimeFilter(json{{"start", "01:00:00"}, {"stop", "23:00:00"}}, t), Holds(false));
  EXPECT_THAT(TimeFilter(json{{"start", "22:00:00"}, {"stop", "23:30:00"}}, t), Holds(false));
  EXPECT_THAT(TimeFilter(json{{"start", "23:30:00"}, {"stop", "23:31:00"}}, t), Holds(true));
  // 23:30 UTC is 18:30 in New York (EST).
  EXPECT_THAT(
      TimeFilter(
          json{{"start", "18:00:00"}, {"stop", "19:00:00"}, {"timezone", "America/New_York"}}, t),
      Holds(true));
  EXPECT_FALSE(TimeFilter(json{{"start", "10:00:00"}, {"stop", "10:00:00"}}, t).ok());
  EXPECT_FALSE(TimeFilter(json{{"start", "25:00:00"}, {"stop", "10:00:00"}}, t).ok());
}

TEST(ScriptFilter, Lua) {
  json data = json::parse(R"({"body":{"list":[1,2,3],"name":"a"}})");
  EXPECT_THAT(ScriptFilter("return event.body.name == 'a' and #event.body.list == 3", data),
              Holds(true));
  EXPECT_THAT(ScriptFilter("return 1", data), Holds(false));
  EXPECT_FALSE(ScriptFilter("while true do end", data).ok());
  EXPECT_FALSE(ScriptFilter("error('boom')", data).ok());
  EXPECT_FALSE(ScriptFilter("return os.exit(1)", data).ok());
}

TEST(ApplyFilters, SeedFilterAndOperators) {
  json dep = json::parse(R"({"name":"d","filters":{"data":[
      {"path":"body.message","type":"string","value":["hello","hey"]}]}})");
  EXPECT_TRUE(ApplyFilters(dep, Event({{"body", {{"message", "hello"}}}})).pass);
  EXPECT_TRUE(ApplyFilters(dep, Event({{"body", {{"message", "hey"}}}})).pass);
  EXPECT_FALSE(ApplyFilters(dep, Event({{"body", {{"message", "bye"}}}})).pass);
  EXPECT_TRUE(ApplyFilters(dep, Event(nullptr)).pass);  // no data: data filters pass

  dep["filters"]["context"] = {{"source", "other"}};
  EXPECT_FALSE(ApplyFilters(dep, Event({{"body", {{"message", "hello"}}}})).pass);
  dep["filtersLogicalOperator"] = "or";
  EXPECT_TRUE(ApplyFilters(dep, Event({{"body", {{"message", "hello"}}}})).pass);
  EXPECT_FALSE(ApplyFilters(dep, Event({{"body", {{"message", "bye"}}}})).pass);

  json two = json::parse(R"({"name":"d","filters":{"dataLogicalOperator":"or","data":[
      {"path":"body.a","type":"string","value":["x"]},
      {"path":"body.b","type":"string","value":["y"]}]}})");
  EXPECT_TRUE(ApplyFilters(two, Event({{"body", {{"b", "y"}}}})).pass);  // body.a missing: OR
  two["filters"].erase("dataLogicalOperator");
  FilterResult r = ApplyFilters(two, Event({{"body", {{"b", "y"}}}}));
  EXPECT_FALSE(r.pass);
  EXPECT_THAT(r.reason, ::testing::HasSubstr("body.a"));
}

TEST(CheckFilters, SeedListShapeNamesArgoShape) {
  json dep = json::parse(R"({"name":"d","filters":[{"name":"data-filter","data":[]}]})");
  absl::Status s = CheckFilters(dep);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("filters: {data: [{path:"));
  EXPECT_FALSE(ApplyFilters(dep, Event({})).pass);
}

TEST(Transform, LuaReplacesData) {
  json dep = {{"transform", {{"script", "event.body.x = 'new'; return event"}}}};
  auto out = ApplyTransform(dep, Event({{"body", {{"x", "old"}}}}));
  ASSERT_OK(out);
  EXPECT_EQ(out->data["body"]["x"], "new");
  dep["transform"]["script"] = "return 5";
  EXPECT_FALSE(ApplyTransform(dep, Event({})).ok());
}

TEST(Transform, JqReplacesDataAndWinsOverScript) {
  json dep = {{"transform",
               {{"jq", ".body.message |= ascii_upcase | .body.n = 1"}, {"script", "return {}"}}}};
  auto out = ApplyTransform(dep, Event({{"body", {{"message", "hello"}}}}));
  ASSERT_OK(out);
  EXPECT_EQ(out->data["body"], json({{"message", "HELLO"}, {"n", 1}}));
  // A transformed event goes through the filters: transform before filter.
  json filtered = dep;
  filtered["filters"] = json::parse(R"({"data": [{"path": "body.message", "type": "string",
                                                  "value": ["^HELLO$"]}]})");
  EXPECT_TRUE(ApplyFilters(filtered, *out).pass);
  auto not_object = ApplyTransform({{"transform", {{"jq", ".body.message"}}}},
                                   Event({{"body", {{"message", "hi"}}}}));
  EXPECT_EQ(not_object.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_object.status().message(), ::testing::HasSubstr("must be an object, got string"));
  auto bad = ApplyTransform({{"transform", {{"jq", ".a |||"}}}}, Event({}));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("transform.jq: jq"));
}

}  // namespace
}  // namespace argonaut::events::sensors
