#include "services/events/sensors/conditions.h"

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::events::sensors {
namespace {

TEST(Conditions, Table) {
  std::vector<std::string> deps = {"dep1", "dep-2", "dep3"};
  struct Case {
    const char* expr;
    std::set<std::string> present;
    bool want;
  } cases[] = {
      {"dep1 && (dep-2 || dep3)", {"dep1", "dep3"}, true},
      {"dep1 && (dep-2 || dep3)", {"dep1"}, false},
      {"dep1 && (dep-2 || dep3)", {"dep-2", "dep3"}, false},
      {"dep1 || dep3", {"dep3"}, true},
      {"", {"dep1", "dep-2"}, false},
      {"", {"dep1", "dep-2", "dep3"}, true},
  };
  for (const auto& c : cases) {
    auto cond = Conditions::Parse(c.expr, deps);
    ASSERT_OK(cond);
    EXPECT_EQ(cond->Eval(c.present), c.want) << c.expr;
  }
  EXPECT_TRUE(Conditions::Parse("dep1 || dep3", deps)->or_only());
  EXPECT_FALSE(Conditions::Parse("", deps)->or_only());
  EXPECT_EQ(Conditions::Parse("dep1 || dep3", deps)->names(),
            (std::set<std::string>{"dep1", "dep3"}));
  for (const char* bad : {"dep1 &&", "(dep1", "dep1 & dep3", "nope || dep1", "dep1 dep3"})
    EXPECT_FALSE(Conditions::Parse(bad, deps).ok()) << bad;
}

}  // namespace
}  // namespace argonaut::events::sensors
