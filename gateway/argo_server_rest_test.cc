#include "gateway/argo_server_rest.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::gateway {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;

json ConfigMap(json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", "workflow-controller-configmap"}, {"namespace", "argo"}}},
          {"data", std::move(data)}};
}

TEST(ArgoInfoBodyTest, NoConfigMapIsTheEmptyAnswer) {
  absl::StatusOr<json> body = ArgoInfoBody(nullptr);
  ASSERT_OK(body);
  EXPECT_EQ((*body)["links"], json::array());
  EXPECT_EQ((*body)["columns"], json::array());
  EXPECT_EQ((*body)["navColor"], "");
  EXPECT_EQ((*body)["modals"]["feedback"], false);
  EXPECT_FALSE(body->contains("managedNamespace"));
}

TEST(ArgoInfoBodyTest, KeysAsArgoWritesThem) {
  absl::StatusOr<json> body = ArgoInfoBody(ConfigMap({
      {"links",
       "- name: Logs\n  scope: workflow\n  url: http://logs/${metadata.name}\n"
       "- name: Chat\n  scope: chat\n  url: http://chat\n  target: _self\n"},
      {"columns", "- name: Team\n  type: label\n  key: team\n"},
      {"navColor", "red"},
      {"parallelism", "10"},
  }));
  ASSERT_OK(body);
  EXPECT_EQ((*body)["links"],
            json::parse(R"([{"name":"Logs","scope":"workflow","url":"http://logs/${metadata.name}",
                             "target":""},
                            {"name":"Chat","scope":"chat","url":"http://chat","target":"_self"}])"));
  EXPECT_EQ((*body)["columns"], json::parse(R"([{"name":"Team","type":"label","key":"team"}])"));
  EXPECT_EQ((*body)["navColor"], "red");
}

TEST(ArgoInfoBodyTest, KeysUnderConfig) {
  absl::StatusOr<json> body = ArgoInfoBody(
      ConfigMap({{"config",
                  "navColor: blue\nlinks:\n- name: L\n  scope: pod\n  url: http://x\ncolumns:\n"
                  "- name: C\n  type: annotation\n  key: k\n"}}));
  ASSERT_OK(body);
  EXPECT_EQ((*body)["navColor"], "blue");
  EXPECT_EQ((*body)["links"][0]["scope"], "pod");
  EXPECT_EQ((*body)["columns"][0]["type"], "annotation");
}

TEST(ArgoInfoBodyTest, MalformedKeysNameTheField) {
  struct Case {
    const char* name;
    json data;
    const char* message;
  };
  const Case cases[] = {
      {"links not a list", {{"links", "name: x"}}, "links: not a list"},
      {"link without url", {{"links", "- name: x\n  scope: workflow\n"}}, "links[0].url"},
      {"link target a map",
       {{"links", "- {name: a, scope: b, url: c, target: {x: 1}}"}},
       "links[0].target"},
      {"column type", {{"columns", "- {name: a, type: field, key: k}"}}, "columns[0].type"},
      {"bad yaml", {{"columns", "- [unclosed"}}, "data.columns"},
      {"bad config", {{"config", "links: [unclosed"}}, "data.config"},
      {"navColor under config not a string", {{"config", "navColor: [1]"}}, "navColor"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ArgoInfoBody(ConfigMap(c.data)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

}  // namespace
}  // namespace argonaut::gateway
