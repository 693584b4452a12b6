// RepoServer over real git repositories on local paths and file:// URLs (libgit2's local
// transport); the network transports are in transport_test.cc.
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/test_git.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using testing::CommitAll;
using ::testing::ElementsAre;
using testing::Git;
using ::testing::HasSubstr;
using testing::WriteFile;

std::string ConfigMap(const std::string& name, const std::string& value = "1") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  v: \"" +
         value + "\"\n";
}

class RepoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing::InitRepo("rs_src");
    ASSERT_OK(dir);
    src_ = *dir;
    WriteFile(src_, "app/cm.yaml", ConfigMap("one"));
    WriteFile(src_, "other/cm.yaml", ConfigMap("other"));
    auto c1 = CommitAll(src_, "first commit\n\nwith a body");
    ASSERT_OK(c1);
    c1_ = *c1;
    ASSERT_OK(Git(src_, {"tag", "v1"}));
    ASSERT_OK(Git(src_, {"tag", "-a", "v1.1", "-m", "annotated"}));
    server_ = std::make_unique<RepoServer>(RepoServerOptions{
        .cache_dir = testing::FreshDir("rs_cache"), .metrics = &metrics_, .clock = &clock_});
  }

  absl::StatusOr<std::string> Resolve(const std::string& rev, bool force = false) {
    return server_->ResolveRevision(src_, rev, {}, force);
  }

  std::string src_, c1_;
  controller::FakeClock clock_;
  metrics::MetricsRegistry metrics_{metrics::MetricsRegistry::Options{.process_metrics = false}};
  std::unique_ptr<RepoServer> server_;
};

TEST_F(RepoServerTest, ResolvesBranchesTagsHeadAndShas) {
  EXPECT_EQ(*Resolve(""), c1_);
  EXPECT_EQ(*Resolve("HEAD"), c1_);
  EXPECT_EQ(*Resolve("main"), c1_);
  EXPECT_EQ(*Resolve("refs/heads/main"), c1_);
  EXPECT_EQ(*Resolve("v1"), c1_);
  EXPECT_EQ(*Resolve("v1.1"), c1_);  // annotated: the tag object peels to the commit
  EXPECT_EQ(*Resolve("refs/tags/v1.1"), c1_);
  EXPECT_EQ(*Resolve(c1_), c1_);
  EXPECT_EQ(*Resolve(c1_.substr(0, 8)), c1_);
  EXPECT_THAT(Resolve("no-such-branch"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("unable to resolve 'no-such-branch' to a commit SHA")));
  EXPECT_THAT(Resolve("abcdef0"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(*server_->ResolveRevision("file://" + src_, "main", {}), c1_);
}

TEST_F(RepoServerTest, SemverConstraintPicksTheHighestMatchingTag) {
  std::string c2 = *CommitAll(src_, "1.2.0");
  ASSERT_OK(Git(src_, {"tag", "-a", "v1.2.0", "-m", "release 1.2.0"}));
  std::string c3 = *CommitAll(src_, "1.10.1");
  ASSERT_OK(Git(src_, {"tag", "v1.10.1"}));
  std::string c4 = *CommitAll(src_, "2.0.0");
  ASSERT_OK(Git(src_, {"tag", "v2.0.0"}));
  EXPECT_EQ(*Resolve("1.2.*"), c2);  // annotated, peeled
  EXPECT_EQ(*Resolve(">=1.0 <2.0"), c3);
  EXPECT_EQ(*Resolve("*"), c4);
  EXPECT_EQ(*Resolve("v1.2.0"), c2);  // an exact tag name
  EXPECT_THAT(Resolve("3.x"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RepoServerTest, RevisionCacheExpiresAfterTtlOrOnForceOrWebhook) {
  ASSERT_EQ(*Resolve("main"), c1_);
  WriteFile(src_, "app/cm.yaml", ConfigMap("one", "2"));
  std::string c2 = *CommitAll(src_, "second");
  EXPECT_EQ(*Resolve("main"), c1_);  // cached refs
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(*Resolve("main"), c1_);
  clock_.Advance(absl::Minutes(1) + absl::Seconds(1));
  EXPECT_EQ(*Resolve("main"), c2);  // 3 minutes passed

  std::string c3 = *CommitAll(src_, "third");
  EXPECT_EQ(*Resolve("main"), c2);
  EXPECT_EQ(*Resolve("main", /*force=*/true), c3);

  std::string c4 = *CommitAll(src_, "fourth");
  EXPECT_EQ(*Resolve("main"), c3);
  server_->InvalidateRevisions("file://" + src_ + "/");
  EXPECT_EQ(*Resolve("main"), c4);
}

TEST_F(RepoServerTest, GeneratesManifestsWithCommitMetadata) {
  auto r = server_->GenerateManifests({.repo_url = src_, .target_revision = "main", .path = "app"});
  ASSERT_OK(r);
  EXPECT_EQ(r->revision, c1_);
  EXPECT_EQ(r->source_type, "Directory");
  ASSERT_EQ(r->manifests.size(), 1u);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "one");
  EXPECT_EQ(r->commit_message, "first commit\n\nwith a body");
  EXPECT_EQ(r->author, "Test Author <author@example.com>");

  // A new commit is picked up once the revision cache is bypassed.
  WriteFile(src_, "app/cm.yaml", ConfigMap("one", "2"));
  std::string c2 = *CommitAll(src_, "second");
  auto r2 = server_->GenerateManifests({.repo_url = src_, .path = "app", .force_resolve = true});
  ASSERT_OK(r2);
  EXPECT_EQ(r2->revision, c2);
  EXPECT_EQ(r2->manifests[0]["data"]["v"], "2");
  // The old commit still renders (its own checkout).
  auto r3 = server_->GenerateManifests({.repo_url = src_, .target_revision = c1_, .path = "app"});
  ASSERT_OK(r3);
  EXPECT_EQ(r3->manifests[0]["data"]["v"], "1");

  // The source block's path and targetRevision are used when the request leaves them empty.
  auto r4 = server_->GenerateManifests(
      {.repo_url = src_, .source = {{"path", "other"}, {"targetRevision", "v1"}}});
  ASSERT_OK(r4);
  EXPECT_EQ(r4->revision, c1_);
  EXPECT_EQ(r4->manifests[0]["metadata"]["name"], "other");
}

TEST_F(RepoServerTest, ManifestCacheServesRepeatsAndNoCacheBypassesIt) {
  ManifestRequest request{.repo_url = src_, .path = "app"};
  ASSERT_OK(server_->GenerateManifests(request));
  // Remove every checkout behind the server's back: only a cached answer can still succeed.
  fs::path cache_dir = fs::path(std::getenv("TEST_TMPDIR")) / "rs_cache" / "checkouts";
  ASSERT_TRUE(fs::exists(cache_dir));
  for (const auto& repo_dir : fs::directory_iterator(cache_dir)) {
    for (const auto& co : fs::directory_iterator(repo_dir)) fs::remove_all(co.path());
  }
  EXPECT_OK(server_->GenerateManifests(request));
  request.no_cache = true;
  EXPECT_THAT(server_->GenerateManifests(request), StatusIs(absl::StatusCode::kNotFound));
  // A different key (app name) is a miss, too.
  EXPECT_THAT(server_->GenerateManifests({.repo_url = src_, .path = "app", .app_name = "x"}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RepoServerTest, CountsGitRequests) {
  ASSERT_OK(server_->GenerateManifests({.repo_url = src_, .path = "app"}));
  ASSERT_OK(server_->TestRepository(src_, {}));
  std::string text = metrics_.Serialize();
  EXPECT_THAT(text, HasSubstr("argocd_git_request_total{repo=\"" + src_ +
                              "\",request_type=\"ls-remote\"} 2"));
  EXPECT_THAT(
      text, HasSubstr("argocd_git_request_total{repo=\"" + src_ + "\",request_type=\"fetch\"} 1"));
  EXPECT_THAT(text, HasSubstr("argocd_git_request_duration_seconds_count{repo=\"" + src_ +
                              "\",request_type=\"fetch\"} 1"));
  EXPECT_THAT(text, HasSubstr("argocd_repo_pending_request_total{repo=\"" + src_ + "\"} 0"));
}

TEST_F(RepoServerTest, RefusesPathsOutsideTheRepository) {
  EXPECT_THAT(server_->GenerateManifests({.repo_url = src_, .path = "../rs_cache"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source.path")));
  EXPECT_THAT(server_->GenerateManifests({.repo_url = src_, .path = "/etc"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  fs::create_symlink("/etc/hostname", src_ + "/app/host.yaml");
  std::string c2 = *CommitAll(src_, "symlink out");
  EXPECT_THAT(server_->GenerateManifests({.repo_url = src_, .target_revision = c2, .path = "app"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("out-of-bounds symlinks. file: app/host.yaml")));
}

TEST_F(RepoServerTest, ConcurrentRequestsShareOneCheckout) {
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<ManifestResponse>> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      results[i] = server_->GenerateManifests(
          {.repo_url = src_, .path = i % 2 == 0 ? "app" : "other", .no_cache = true});
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK(results[i]);
    EXPECT_EQ(results[i]->manifests[0]["metadata"]["name"], i % 2 == 0 ? "one" : "other");
  }
  fs::path checkouts = fs::path(std::getenv("TEST_TMPDIR")) / "rs_cache" / "checkouts";
  int count = 0;
  for (const auto& repo_dir : fs::directory_iterator(checkouts)) {
    for (const auto& co : fs::directory_iterator(repo_dir)) {
      (void)co;
      ++count;
    }
  }
  EXPECT_EQ(count, 1);
}

TEST_F(RepoServerTest, UnknownRepository) {
  auto missing = server_->GenerateManifests({.repo_url = src_ + "-missing", .path = "app"});
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("git ls-remote " + src_ + "-missing"));
  EXPECT_THAT(server_->GenerateManifests({.path = "app"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repoURL")));
}

}  // namespace
}  // namespace argonaut::cd::repo
