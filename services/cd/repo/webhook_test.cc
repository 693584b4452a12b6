#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/cd/repo/repo.h"

namespace argonaut::cd::repo {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Trimmed from the providers' documented push payloads.
constexpr char kGitHubPush[] = R"({
  "ref": "refs/heads/main",
  "before": "1111111111111111111111111111111111111111",
  "after": "2222222222222222222222222222222222222222",
  "repository": {
    "name": "argocd-example-apps",
    "full_name": "argoproj/argocd-example-apps",
    "html_url": "https://github.com/argoproj/argocd-example-apps",
    "url": "https://github.com/argoproj/argocd-example-apps",
    "git_url": "git://github.com/argoproj/argocd-example-apps.git",
    "ssh_url": "git@github.com:argoproj/argocd-example-apps.git",
    "clone_url": "https://github.com/argoproj/argocd-example-apps.git",
    "default_branch": "main"
  },
  "commits": [
    {"id": "2222", "added": ["guestbook/new.yaml"], "modified": ["guestbook/guestbook-ui-deployment.yaml"], "removed": []},
    {"id": "3333", "added": [], "modified": ["guestbook/guestbook-ui-deployment.yaml"], "removed": ["old.yaml"]}
  ]
})";

constexpr char kGitLabPush[] = R"({
  "object_kind": "push",
  "ref": "refs/tags/v1.2.0",
  "project": {
    "web_url": "https://gitlab.example.com/group/app",
    "git_ssh_url": "git@gitlab.example.com:group/app.git",
    "git_http_url": "https://gitlab.example.com/group/app.git",
    "default_branch": "main"
  },
  "commits": [{"added": ["a.yaml"], "modified": [], "removed": []}]
})";

constexpr char kBitbucketCloudPush[] = R"({
  "repository": {
    "full_name": "team/app",
    "links": {"html": {"href": "https://bitbucket.org/team/app"}}
  },
  "push": {"changes": [{"new": {"type": "branch", "name": "release"}, "old": {"name": "release"}}]}
})";

constexpr char kBitbucketServerPush[] = R"({
  "eventKey": "repo:refs_changed",
  "repository": {
    "links": {"clone": [
      {"href": "ssh://git@bitbucket.example.com:7999/prj/app.git", "name": "ssh"},
      {"href": "https://bitbucket.example.com/scm/prj/app.git", "name": "http"}
    ]}
  },
  "changes": [{"ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"},
               "refId": "refs/heads/main", "type": "UPDATE"}]
})";

std::string Sign(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), len));
}

TEST(WebhookTest, GitHubPush) {
  auto e = ParseWebhook({{"x-github-event", "push"}, {"content-type", "application/json"}},
                        kGitHubPush, {});
  ASSERT_OK(e);
  EXPECT_EQ(e->revision, "main");
  EXPECT_THAT(e->repo_urls, ElementsAre("https://github.com/argoproj/argocd-example-apps",
                                        "https://github.com/argoproj/argocd-example-apps.git",
                                        "git@github.com:argoproj/argocd-example-apps.git",
                                        "git://github.com/argoproj/argocd-example-apps.git"));
  EXPECT_THAT(e->changed_files, ElementsAre("guestbook/new.yaml",
                                            "guestbook/guestbook-ui-deployment.yaml", "old.yaml"));
  // Any spelling of the app's repoURL matches one of them.
  bool matched = false;
  for (const std::string& url : e->repo_urls) {
    matched |= SameRepo(url, "ssh://git@github.com/argoproj/argocd-example-apps");
  }
  EXPECT_TRUE(matched);
}

TEST(WebhookTest, GitHubSignature) {
  const WebhookSecrets secrets{.github = "topsecret"};
  EXPECT_OK(ParseWebhook(
      {{"x-github-event", "push"}, {"x-hub-signature-256", Sign("topsecret", kGitHubPush)}},
      kGitHubPush, secrets));
  EXPECT_THAT(ParseWebhook(
                  {{"x-github-event", "push"}, {"x-hub-signature-256", Sign("other", kGitHubPush)}},
                  kGitHubPush, secrets),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ParseWebhook({{"x-github-event", "push"}}, kGitHubPush, secrets),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A tampered body fails the signature made for the original.
  std::string tampered = std::string(kGitHubPush) + " ";
  EXPECT_THAT(ParseWebhook({{"x-github-event", "push"},
                            {"x-hub-signature-256", Sign("topsecret", kGitHubPush)}},
                           tampered, secrets),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(WebhookTest, GitHubPingIsNothingToDo) {
  auto e = ParseWebhook({{"x-github-event", "ping"}}, R"({"zen": "hi"})", {});
  ASSERT_OK(e);
  EXPECT_THAT(e->repo_urls, IsEmpty());
}

TEST(WebhookTest, GitLabTagPushAndToken) {
  auto e = ParseWebhook({{"x-gitlab-event", "Tag Push Hook"}, {"x-gitlab-token", "tok"}},
                        kGitLabPush, {.gitlab = "tok"});
  ASSERT_OK(e);
  EXPECT_EQ(e->revision, "v1.2.0");
  EXPECT_THAT(e->repo_urls, Contains("git@gitlab.example.com:group/app.git"));
  EXPECT_THAT(e->changed_files, ElementsAre("a.yaml"));
  EXPECT_THAT(ParseWebhook({{"x-gitlab-event", "Push Hook"}, {"x-gitlab-token", "nope"}},
                           kGitLabPush, {.gitlab = "tok"}),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(WebhookTest, BitbucketCloudAndServer) {
  auto cloud = ParseWebhook({{"x-event-key", "repo:push"}, {"x-hook-uuid", "u-1"}},
                            kBitbucketCloudPush, {.bitbucket_uuid = "u-1"});
  ASSERT_OK(cloud);
  EXPECT_EQ(cloud->revision, "release");
  EXPECT_THAT(cloud->repo_urls,
              ElementsAre("https://bitbucket.org/team/app", "https://bitbucket.org/team/app.git",
                          "git@bitbucket.org:team/app.git"));
  EXPECT_THAT(ParseWebhook({{"x-event-key", "repo:push"}, {"x-hook-uuid", "u-2"}},
                           kBitbucketCloudPush, {.bitbucket_uuid = "u-1"}),
              StatusIs(absl::StatusCode::kUnauthenticated));

  auto server = ParseWebhook({{"x-event-key", "repo:refs_changed"}}, kBitbucketServerPush, {});
  ASSERT_OK(server);
  EXPECT_EQ(server->revision, "main");
  EXPECT_THAT(server->repo_urls, ElementsAre("ssh://git@bitbucket.example.com:7999/prj/app.git",
                                             "https://bitbucket.example.com/scm/prj/app.git"));
}

TEST(WebhookTest, BadInput) {
  EXPECT_THAT(ParseWebhook({}, "{}", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWebhook({{"x-github-event", "push"}}, "not json", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWebhook({{"x-github-event", "push"}}, R"({"ref": "refs/heads/x"})", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWebhook({{"x-github-event", "push"}}, R"({"repository": 3})", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::cd::repo
