#include "services/cd/repo/util.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/test_git.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SameRepoTest, FoldsSpellingsOfOneRepository) {
  EXPECT_TRUE(SameRepo("https://github.com/argoproj/argocd-example-apps.git",
                       "https://github.com/argoproj/argocd-example-apps"));
  EXPECT_TRUE(SameRepo("https://github.com/argoproj/argocd-example-apps/",
                       "https://GitHub.com/argoproj/argocd-example-apps"));
  EXPECT_TRUE(SameRepo("git@github.com:argoproj/argocd-example-apps.git",
                       "ssh://git@github.com/argoproj/argocd-example-apps"));
  EXPECT_TRUE(SameRepo("git@github.com:argoproj/argocd-example-apps.git",
                       "https://github.com/argoproj/argocd-example-apps"));
  EXPECT_TRUE(SameRepo("https://user:secret@github.com/a/b", "http://github.com:80/a/b"));
  EXPECT_TRUE(SameRepo("ssh://git@github.com:22/a/b", "git@github.com:a/b"));
  EXPECT_TRUE(SameRepo("/srv/git/repo.git", "file:///srv/git/repo"));
  EXPECT_TRUE(SameRepo("git://127.0.0.1:9000/repo", "git://127.0.0.1:9000/repo.git"));
}

TEST(SameRepoTest, TellsRepositoriesApart) {
  EXPECT_FALSE(SameRepo("https://github.com/a/b", "https://github.com/a/c"));
  EXPECT_FALSE(SameRepo("https://github.com/a/b", "https://gitlab.com/a/b"));
  EXPECT_FALSE(SameRepo("https://github.com/a/b", "https://github.com/A/b"));  // paths keep case
  EXPECT_FALSE(SameRepo("git://127.0.0.1:9000/repo", "git://127.0.0.1:9001/repo"));
  EXPECT_FALSE(SameRepo("/srv/a", "/srv/b"));
}

TEST(RedactTest, RemovesUserInfoAndSecrets) {
  EXPECT_EQ(RedactUrl("https://user:hunter2@example.com/a/b.git"), "https://example.com/a/b.git");
  EXPECT_EQ(RedactUrl("https://example.com/a"), "https://example.com/a");
  EXPECT_EQ(RedactUrl("git@github.com:a/b"), "git@github.com:a/b");
  std::string text =
      Redact("failed to reach https://bob:hunter2@example.com/x (token hunter2)", {"hunter2"});
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, HasSubstr("https://***@example.com/x"));
}

TEST(GlobTest, ArgoCdDirectoryGlobs) {
  EXPECT_TRUE(GlobMatch("*.yaml", "a.yaml"));
  EXPECT_TRUE(GlobMatch("*.yaml", "sub/a.yaml"));  // no separators: * crosses '/'
  EXPECT_FALSE(GlobMatch("*.yaml", "a.json"));
  EXPECT_TRUE(GlobMatch("{a.yaml,b.yaml}", "b.yaml"));
  EXPECT_FALSE(GlobMatch("{a.yaml,b.yaml}", "c.yaml"));
  EXPECT_TRUE(GlobMatch("{config/*,*.json}", "config/x.yaml"));
  EXPECT_TRUE(GlobMatch("{config/*,*.json}", "y.json"));
  EXPECT_TRUE(GlobMatch("app-?.yaml", "app-1.yaml"));
  EXPECT_FALSE(GlobMatch("app-?.yaml", "app-12.yaml"));
  EXPECT_TRUE(GlobMatch("app-[0-9].yaml", "app-7.yaml"));
  EXPECT_FALSE(GlobMatch("app-[!0-9].yaml", "app-7.yaml"));
  EXPECT_TRUE(GlobMatch("prod/{a,b}/*.yaml", "prod/b/deploy.yaml"));
  EXPECT_TRUE(GlobMatch("\\*.yaml", "*.yaml"));
  EXPECT_FALSE(GlobMatch("\\*.yaml", "x.yaml"));
}

TEST(ExecTest, CapturesOutputAndExitCode) {
  auto r = Exec({"sh", "-c", "echo out; echo err >&2; exit 3"}, "/", {}, absl::Seconds(10));
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_text, "out\n");
  EXPECT_EQ(r->stderr_text, "err\n");
}

TEST(ExecTest, PassesEnvironmentAndDirectory) {
  auto r = Exec({"sh", "-c", "echo $ARGOCD_APP_NAME; pwd"}, "/tmp", {{"ARGOCD_APP_NAME", "gb"}},
                absl::Seconds(10));
  ASSERT_OK(r);
  EXPECT_EQ(r->stdout_text, "gb\n/tmp\n");
}

TEST(ExecTest, StopsAToolThatRunsTooLong) {
  absl::Time start = absl::Now();
  auto r = Exec({"sh", "-c", "sleep 30"}, "/", {}, absl::Milliseconds(300));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(ExecTest, MissingBinary) {
  EXPECT_THAT(Exec({"no-such-tool-here"}, "/", {}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(PathTest, ResolveInsideRefusesEscapes) {
  std::string root = testing::FreshDir("resolve_inside");
  fs::create_directories(root + "/app");
  fs::create_directory_symlink("/etc", root + "/etc-link");
  ASSERT_OK(ResolveInside(root, "app", "source.path"));
  ASSERT_OK(ResolveInside(root, "", "source.path"));
  ASSERT_OK(ResolveInside(root, "app/../app", "source.path"));
  EXPECT_THAT(ResolveInside(root, "../x", "source.path"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source.path: ../x")));
  EXPECT_THAT(ResolveInside(root, "/etc", "source.path"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(ResolveInside(root, "etc-link", "source.path"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
}

TEST(PathTest, OutOfBoundsSymlinks) {
  std::string root = testing::FreshDir("symlinks");
  fs::create_directories(root + "/app");
  fs::create_symlink("../app", root + "/app/inside");
  ASSERT_OK(CheckSymlinksInside(root, root));
  fs::create_symlink("../../outside.yaml", root + "/app/escape.yaml");
  EXPECT_THAT(CheckSymlinksInside(root, root),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("app/escape.yaml")));
}

}  // namespace
}  // namespace argonaut::cd::repo
