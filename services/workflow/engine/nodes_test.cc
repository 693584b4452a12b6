#include "services/workflow/engine/nodes.h"

#include "gtest/gtest.h"

namespace argonaut::workflow::engine {
namespace {

TEST(NodesTest, IdsAndPodNames) {
  EXPECT_EQ(Fnv32a(""), 2166136261u);
  EXPECT_EQ(Fnv32a("a"), 0xe40c292cu);
  EXPECT_EQ(NodeId("wf", "wf"), "wf");
  EXPECT_EQ(NodeId("wf", "wf[0].a"), "wf-" + std::to_string(Fnv32a("wf[0].a")));
  EXPECT_EQ(PodName("wf", "wf[0].a", "tmpl"), "wf-tmpl-" + std::to_string(Fnv32a("wf[0].a")));
  const std::string long_name(300, 'x');
  EXPECT_LE(PodName("wf", "n", long_name).size(), 253u);
}

TEST(NodesTest, ItemsAndDurations) {
  EXPECT_EQ(ItemDescription(nlohmann::json{{"image", "debian"}, {"tag", "9.1"}}),
            "image:debian,tag:9.1");
  EXPECT_EQ(ItemDescription("a(b)"), "ab");
  EXPECT_EQ(ItemText(nlohmann::json(3)), "3");
  EXPECT_EQ(*ParseArgoDuration("30"), absl::Seconds(30));
  EXPECT_EQ(*ParseArgoDuration("1m"), absl::Minutes(1));
  EXPECT_FALSE(ParseArgoDuration("soon").has_value());
  EXPECT_EQ(FormatTimestamp(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace argonaut::workflow::engine
