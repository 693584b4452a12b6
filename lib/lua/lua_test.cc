#include "lib/lua/lua.h"

#include <gtest/gtest.h>

#include "lib/base/status_matchers.h"

namespace argonaut::lua {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using json = nlohmann::json;

struct Case {
  const char* name;
  const char* script;
  const char* global;
  json value;
  json want;
};

TEST(RunLua, ConvertsBothWays) {
  const Case cases[] = {
      {"no return is null", "local x = 1", "event", json::object(), nullptr},
      {"number stays integral", "return obj.n + 1", "obj", {{"n", 41}}, 42},
      {"fraction", "return obj.n / 2", "obj", {{"n", 3}}, 1.5},
      {"string", "return event.s .. '!'", "event", {{"s", "hi"}}, "hi!"},
      {"array from 1..n keys", "return {obj[2], obj[1]}", "obj", json::array({"a", "b"}),
       json::array({"b", "a"})},
      {"table to object",
       "hs = {}; hs.status = 'Healthy'; hs.message = obj.m; return hs",
       "obj",
       {{"m", "ok"}},
       {{"status", "Healthy"}, {"message", "ok"}}},
      {"nested walk",
       "return obj.status.conditions[1].type",
       "obj",
       {{"status", {{"conditions", {{{"type", "Ready"}}}}}}},
       "Ready"},
      {"boolean", "return event.x == nil", "event", json::object(), true},
      {"string lib", "return string.upper(obj)", "obj", "abc", "ABC"},
      {"global name is the one given", "return event == nil and obj ~= nil", "obj", 1, true},
  };
  for (const Case& c : cases) {
    auto got = RunLua(c.script, c.global, c.value);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.name;
  }
}

TEST(RunLua, Errors) {
  EXPECT_THAT(RunLua("return (", "obj", 1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RunLua("error('boom')", "obj", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("boom")));
  EXPECT_THAT(RunLua("while true do end", "obj", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("instruction budget")));
}

TEST(RunLua, NoUnsafeLibraries) {
  for (const char* script : {"return os.exit(1)", "return io.open('/etc/passwd')",
                             "return require('os')", "return loadstring('return 1')()"}) {
    EXPECT_THAT(RunLua(script, "obj", 1), StatusIs(absl::StatusCode::kInvalidArgument)) << script;
  }
}

}  // namespace
}  // namespace argonaut::lua
