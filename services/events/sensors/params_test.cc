#include "services/events/sensors/params.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;

EventsByDependency Events() {
  CloudEvent e;
  e.id = "abc";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.data = json::parse(R"({"body":{"message":"HelloWorld!","n":3,"obj":{"k":"v"}}})");
  return {{"test-dep", e}};
}

TEST(Params, Resolve) {
  struct Case {
    const char* param;
    std::optional<json> want;
  } cases[] = {
      {R"({"src":{"dependencyName":"test-dep","dataKey":"body.message"}})", json("HelloWorld!")},
      {R"({"src":{"dependencyName":"test-dep","dataKey":"body.n"}})", json("3")},
      {R"({"src":{"dependencyName":"test-dep","dataKey":"body.n","useRawData":true}})", json(3)},
      {R"({"src":{"dependencyName":"test-dep","dataKey":"body.obj"}})", json(R"({"k":"v"})")},
      {R"({"src":{"dependencyName":"test-dep","dataTemplate":"msg={{ .Input.body.message }}"}})",
       json("msg=HelloWorld!")},
      {R"({"src":{"dependencyName":"test-dep","contextKey":"source"}})", json("webhook")},
      {R"({"src":{"dependencyName":"test-dep","dataKey":"body.nope","value":"dflt"}})",
       json("dflt")},
      {R"({"src":{"dependencyName":"absent","dataKey":"x","value":"dflt"}})", json("dflt")},
      {R"({"src":{"dependencyName":"absent","dataKey":"x"}})", std::nullopt},
  };
  for (const auto& c : cases) {
    auto r = ResolveParameter(json::parse(c.param), Events());
    ASSERT_OK(r) << c.param;
    EXPECT_EQ(*r, c.want) << c.param;
  }
  EXPECT_FALSE(
      ResolveParameter(
          json::parse(R"({"src":{"dependencyName":"test-dep","dataKey":"body.nope"}})"), Events())
          .ok());
  // No key: the whole event, data base64-encoded.
  auto whole = ResolveParameter(json::parse(R"({"src":{"dependencyName":"test-dep"}})"), Events());
  ASSERT_OK(whole);
  json parsed = json::parse((*whole)->get<std::string>());
  EXPECT_EQ(parsed["context"]["id"], "abc");
  std::string data;
  ASSERT_TRUE(absl::Base64Unescape(parsed["data"].get<std::string>(), &data));
  EXPECT_EQ(json::parse(data)["body"]["message"], "HelloWorld!");
}

TEST(Params, ApplyWithOperations) {
  json wf = json::parse(
      R"({"spec":{"arguments":{"parameters":[{"name":"message","value":"x"}]}},"metadata":{"generateName":"wf-"}})");
  json params = json::parse(R"([
    {"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"spec.arguments.parameters.0.value"},
    {"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"metadata.generateName","operation":"append"},
    {"src":{"dependencyName":"test-dep","value":"pre-"},"dest":"metadata.generateName","operation":"prepend"},
    {"src":{"dependencyName":"test-dep","dataKey":"body.n","useRawData":true},"dest":"spec.n"}])");
  ASSERT_OK(ApplyParameters(params, Events(), wf));
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "HelloWorld!");
  EXPECT_EQ(wf["metadata"]["generateName"], "pre-wf-HelloWorld!");
  EXPECT_EQ(wf["spec"]["n"], 3);
  json bad = json::parse(
      R"([{"src":{"dependencyName":"test-dep","value":"v"},"dest":"a","operation":"merge"}])");
  EXPECT_FALSE(ApplyParameters(bad, Events(), wf).ok());
}

TEST(Params, Payload) {
  auto p = BuildPayload(json::parse(R"([
    {"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"message"},
    {"src":{"dependencyName":"test-dep","dataKey":"body.n","useRawData":true},"dest":"nested.n"}])"),
                        Events());
  ASSERT_OK(p);
  EXPECT_EQ(*p, json::parse(R"({"message":"HelloWorld!","nested":{"n":3}})"));
  auto whole = BuildPayload(
      json::parse(R"([{"src":{"dependencyName":"test-dep","dataKey":"body.obj"}}])"), Events());
  ASSERT_OK(whole);
  EXPECT_EQ(*whole, json::parse(R"({"k":"v"})"));
}

}  // namespace
}  // namespace argonaut::events::sensors
