#include "lib/buildinfo/build_info.h"

#include "gtest/gtest.h"

namespace argonaut::buildinfo {
namespace {

// Tests are never stamped (cc_test's stamp = 0), so that a new commit does not relink them:
// every field reads "unknown", never empty.
TEST(BuildInfoTest, AnUnstampedTestSaysUnknown) {
  const BuildInfo& b = Stamp();
  EXPECT_EQ(b.git_commit, "unknown");
  EXPECT_EQ(b.git_tree_state, "unknown");
  EXPECT_EQ(b.git_tag, "unknown");
  EXPECT_EQ(b.build_date, "unknown");
  EXPECT_EQ(&Stamp(), &b);
}

TEST(BuildInfoTest, FromStampReadsTheStatusScriptsKeys) {
  const BuildInfo b = FromStamp("0123abcd", "dirty v1.2.3", 1796688000);
  EXPECT_EQ(b.git_commit, "0123abcd");
  EXPECT_EQ(b.git_tree_state, "dirty");
  EXPECT_EQ(b.git_tag, "v1.2.3");
  EXPECT_EQ(b.build_date, "2026-12-08T00:00:00Z");
}

TEST(BuildInfoTest, FromStampPlaceholdersAreUnknown) {
  for (const BuildInfo& b : {FromStamp("0", "redacted", 0), FromStamp("", "", 0),
                             FromStamp("unknown", "unknown unknown", -1)}) {
    EXPECT_EQ(b.git_commit, "unknown");
    EXPECT_EQ(b.git_tree_state, "unknown");
    EXPECT_EQ(b.git_tag, "unknown");
    EXPECT_EQ(b.build_date, "unknown");
  }
}

}  // namespace
}  // namespace argonaut::buildinfo
