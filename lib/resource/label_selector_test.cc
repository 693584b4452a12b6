#include "lib/resource/label_selector.h"

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::resource {
namespace {

using ::argonaut::testing::StatusIs;

bool Match(const char* selector, std::map<std::string, std::string> labels) {
  auto s = LabelSelector::Parse(selector);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() && s->Matches(labels);
}

TEST(LabelSelectorTest, EqualityForms) {
  EXPECT_TRUE(Match("app=web", {{"app", "web"}}));
  EXPECT_TRUE(Match("app==web", {{"app", "web"}}));
  EXPECT_FALSE(Match("app=web", {{"app", "db"}}));
  EXPECT_FALSE(Match("app=web", {}));
  EXPECT_TRUE(Match("app!=web", {{"app", "db"}}));
  // Kubernetes: != matches objects without the key.
  EXPECT_TRUE(Match("app!=web", {}));
  EXPECT_TRUE(Match("app=web, tier = front", {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(Match("app=web,tier=front", {{"app", "web"}}));
}

TEST(LabelSelectorTest, SetForms) {
  EXPECT_TRUE(Match("env in (prod, stage)", {{"env", "stage"}}));
  EXPECT_FALSE(Match("env in (prod,stage)", {{"env", "dev"}}));
  EXPECT_TRUE(Match("env notin (prod)", {{"env", "dev"}}));
  EXPECT_TRUE(Match("env notin (prod)", {}));
  EXPECT_TRUE(Match("env", {{"env", ""}}));
  EXPECT_FALSE(Match("env", {}));
  EXPECT_TRUE(Match("!legacy", {}));
  EXPECT_FALSE(Match("!legacy", {{"legacy", "1"}}));
  EXPECT_TRUE(Match("env in (a,b),app=x,!old", {{"env", "b"}, {"app", "x"}}));
  EXPECT_TRUE(
      Match("workflows.argoproj.io/completed=true", {{"workflows.argoproj.io/completed", "true"}}));
}

TEST(LabelSelectorTest, EmptyMatchesEverything) {
  EXPECT_TRUE(Match("", {}));
  EXPECT_TRUE(Match("  ", {{"a", "b"}}));
}

TEST(LabelSelectorTest, Errors) {
  EXPECT_THAT(LabelSelector::Parse("env in (a,b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("env within (a)"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("app=web,"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("a b=c"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("app=w e b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("((a))"), StatusIs(absl::StatusCode::kInvalidArgument));
  // Kubernetes refuses an empty value set rather than matching "".
  EXPECT_THAT(LabelSelector::Parse("a in ()"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LabelSelector::Parse("a notin ( )"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::resource
