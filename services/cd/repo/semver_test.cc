#include "services/cd/repo/semver.h"

#include "gtest/gtest.h"

namespace argonaut::cd::repo {
namespace {

const std::map<std::string, std::string> kTags = {
    {"v0.9.0", "a"}, {"v1.0.0", "b"}, {"v1.2.0", "c"},      {"v1.2.5", "d"},
    {"1.3.0", "e"},  {"v2.0.0", "f"}, {"v2.1.0-rc.1", "g"}, {"release", "h"},
    {"v0.0.3", "i"}, {"v0.2.9", "j"}, {"v1.10.0", "k"}};

TEST(SemverTest, MaxSatisfying) {
  EXPECT_EQ(MaxSatisfying("1.2.*", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("1.2.x", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("1.2", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("1.x", kTags), "v1.10.0");  // numeric, not lexical, order
  EXPECT_EQ(MaxSatisfying(">=1.0 <1.3", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying(">=1.0, <1.3", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("< 1.0", kTags), "v0.9.0");
  EXPECT_EQ(MaxSatisfying("~1.2.0", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("^1.2.0", kTags), "v1.10.0");
  EXPECT_EQ(MaxSatisfying("^0.2.0", kTags), "v0.2.9");
  EXPECT_EQ(MaxSatisfying("^0.0.3", kTags), "v0.0.3");
  EXPECT_EQ(MaxSatisfying("*", kTags), "v2.0.0");  // the rc is a prerelease
  EXPECT_EQ(MaxSatisfying(">=2.1.0-rc.0", kTags), "v2.1.0-rc.1");
  EXPECT_EQ(MaxSatisfying("1.0.0 || 1.3.0", kTags), "1.3.0");
  EXPECT_EQ(MaxSatisfying("1.0 - 1.2", kTags), "v1.2.5");
  EXPECT_EQ(MaxSatisfying("!=2.0.0 >1.9", kTags), "v1.10.0");
  EXPECT_EQ(MaxSatisfying("!=2.0.0 >1.10", kTags), "");
  EXPECT_EQ(MaxSatisfying("3.x", kTags), "");
  EXPECT_EQ(MaxSatisfying("main", kTags), "");
}

TEST(SemverTest, WhatIsAConstraint) {
  EXPECT_TRUE(IsSemVerConstraint("1.2.*"));
  EXPECT_TRUE(IsSemVerConstraint(">=1.0 <2"));
  EXPECT_TRUE(IsSemVerConstraint("v1.2.3"));
  EXPECT_FALSE(IsSemVerConstraint("main"));
  EXPECT_FALSE(IsSemVerConstraint("HEAD"));
  EXPECT_FALSE(IsSemVerConstraint("release-1"));
  EXPECT_FALSE(IsSemVerConstraint(""));
  ASSERT_TRUE(ParseSemVer("v1.2.3-rc.1+b7").has_value());
  EXPECT_EQ(ParseSemVer("v1.2.3-rc.1+b7")->prerelease, "rc.1");
}

}  // namespace
}  // namespace argonaut::cd::repo
