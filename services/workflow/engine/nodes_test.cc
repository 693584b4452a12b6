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

// The hand-made formatter agrees with absl's everywhere, including the years it hands back.
TEST(NodesTest, FormatTimestampMatchesAbsl) {
  auto absl_format = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  };
  for (int64_t s : {int64_t{0}, int64_t{-1}, int64_t{1700000000}, int64_t{951782400},
                    int64_t{253402300799}, int64_t{253402300800}, int64_t{-30610224000},
                    int64_t{-30610224001}, int64_t{-62135596800}}) {
    for (absl::Duration frac : {absl::ZeroDuration(), absl::Milliseconds(999)}) {
      const absl::Time t = absl::FromUnixSeconds(s) + frac;
      EXPECT_EQ(FormatTimestamp(t), absl_format(t)) << s;
    }
  }
  EXPECT_EQ(FormatTimestamp(absl::InfinitePast()), absl_format(absl::InfinitePast()));
  EXPECT_EQ(FormatTimestamp(absl::InfiniteFuture()), absl_format(absl::InfiniteFuture()));
}

}  // namespace
}  // namespace argonaut::workflow::engine
