// Argo CD's example applications (../shared/corpus/argocd-example-apps) committed to a local git
// repository, with the same layout, and rendered through RepoServer as an Application would.
// ARGONAUT_CORPUS_DIR overrides the corpus location; without it the test skips.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/test_git.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kAnchor[] = "services/cd/repo/testdata/corpus_anchor.txt";

std::vector<std::string> Names(const std::vector<json>& manifests) {
  std::vector<std::string> names;
  for (const json& m : manifests) {
    const json& meta = m.value("metadata", json::object());
    std::string name = meta.value("name", meta.value("generateName", std::string("?")));
    names.push_back(m["kind"].get<std::string>() + "/" + name);
  }
  return names;
}

class CorpusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto corpus = argonaut::testing::TestCorpusDir(kAnchor);
    if (!corpus.ok() || !fs::is_directory(*corpus / "argocd-example-apps")) return;
    auto dir = testing::InitRepo("corpus_repo");
    ASSERT_OK(dir);
    for (const char* app :
         {"guestbook", "jsonnet-guestbook", "jsonnet-guestbook-tla", "kustomize-guestbook",
          "sync-waves", "pre-post-sync", "helm-hooks", "sock-shop", "helm-guestbook"}) {
      testing::CopyTree((*corpus / "argocd-example-apps" / app).string(), *dir + "/" + app);
    }
    ASSERT_OK(testing::CommitAll(*dir, "argocd-example-apps"));
    repo_ = new std::string(*dir);
  }
  void SetUp() override {
    if (repo_ == nullptr) GTEST_SKIP() << "corpus not found; set ARGONAUT_CORPUS_DIR";
    server_ = std::make_unique<RepoServer>(
        RepoServerOptions{.cache_dir = testing::FreshDir("corpus_cache")});
  }
  absl::StatusOr<ManifestResponse> Render(const std::string& path, json source = json()) {
    return server_->GenerateManifests({.repo_url = *repo_,
                                       .path = path,
                                       .source = std::move(source),
                                       .app_name = path,
                                       .dest_namespace = "default"});
  }
  bool HaveKustomize() {
    return !FindOnPath("kustomize").empty() || !FindOnPath("kubectl").empty();
  }

  static std::string* repo_;
  std::unique_ptr<RepoServer> server_;
};
std::string* CorpusTest::repo_ = nullptr;

TEST_F(CorpusTest, Guestbook) {
  auto r = Render("guestbook");
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Directory");
  EXPECT_THAT(Names(r->manifests), ElementsAre("Deployment/guestbook-ui", "Service/guestbook-ui"));
  EXPECT_EQ(r->manifests[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            "gcr.io/google-samples/gb-frontend:v5");
}

TEST_F(CorpusTest, JsonnetGuestbook) {
  auto r = Render("jsonnet-guestbook");
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Directory");
  EXPECT_THAT(Names(r->manifests), UnorderedElementsAre("Service/jsonnet-guestbook-ui",
                                                        "Deployment/jsonnet-guestbook-ui"));
}

TEST_F(CorpusTest, JsonnetGuestbookWithTopLevelArguments) {
  json source = {{"directory",
                  {{"jsonnet",
                    {{"tlas",
                      {{{"name", "name"}, {"value", "tla-guestbook"}},
                       {{"name", "replicas"}, {"value", "2"}, {"code", true}}}}}}}}};
  auto r = Render("jsonnet-guestbook-tla", source);
  ASSERT_OK(r);
  EXPECT_THAT(Names(r->manifests),
              UnorderedElementsAre("Service/tla-guestbook", "Deployment/tla-guestbook"));
  for (const json& m : r->manifests) {
    if (m["kind"] == "Deployment") {
      EXPECT_EQ(m["spec"]["replicas"], 2);
    }
  }
}

TEST_F(CorpusTest, KustomizeGuestbook) {
  if (!HaveKustomize()) GTEST_SKIP() << "no kustomize or kubectl";
  auto r = Render("kustomize-guestbook");
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Kustomize");
  EXPECT_THAT(Names(r->manifests), UnorderedElementsAre("Service/kustomize-guestbook-ui",
                                                        "Deployment/kustomize-guestbook-ui"));
  // With Argo CD's overrides from the Application.
  auto o =
      Render("kustomize-guestbook",
             {{"kustomize",
               {{"namePrefix", "prod-"}, {"images", {"gcr.io/google-samples/gb-frontend:v6"}}}}});
  ASSERT_OK(o);
  EXPECT_THAT(Names(o->manifests),
              UnorderedElementsAre("Service/prod-guestbook-ui", "Deployment/prod-guestbook-ui"));
  for (const json& m : o->manifests) {
    if (m["kind"] == "Deployment") {
      EXPECT_EQ(m["spec"]["template"]["spec"]["containers"][0]["image"],
                "gcr.io/google-samples/gb-frontend:v6");
    }
  }
}

TEST_F(CorpusTest, SyncWaves) {
  auto r = Render("sync-waves");
  ASSERT_OK(r);
  EXPECT_THAT(Names(r->manifests),
              ElementsAre("Job/upgrade-sql-schema", "ReplicaSet/backend", "Service/backend",
                          "Job/maint-page-up", "ReplicaSet/frontend", "Service/frontend",
                          "Job/maint-page-down"));
  EXPECT_EQ(r->manifests[3]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], "1");
}

TEST_F(CorpusTest, PrePostSync) {
  if (!HaveKustomize()) GTEST_SKIP() << "no kustomize or kubectl";
  auto r = Render("pre-post-sync");
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Kustomize");
  EXPECT_THAT(Names(r->manifests),
              UnorderedElementsAre("Service/pre-post-sync-kustomize-guestbook-ui",
                                   "Deployment/pre-post-sync-kustomize-guestbook-ui",
                                   "Job/pre-post-sync-before", "Job/pre-post-sync-after"));
}

TEST_F(CorpusTest, HelmHooks) {
  auto r = Render("helm-hooks");
  ASSERT_OK(r);
  EXPECT_EQ(r->manifests.size(), 5u);
  EXPECT_EQ(r->manifests[0]["metadata"]["annotations"]["helm.sh/hook"], "pre-install");
}

TEST_F(CorpusTest, SockShop) {
  if (!HaveKustomize()) GTEST_SKIP() << "no kustomize or kubectl";
  auto r = Render("sock-shop");
  ASSERT_OK(r);
  EXPECT_EQ(r->source_type, "Kustomize");
  EXPECT_EQ(r->manifests.size(), 29u);
}

TEST_F(CorpusTest, HelmGuestbookNeedsHelm) {
  if (!FindOnPath("helm").empty()) GTEST_SKIP() << "a helm binary is on PATH";
  EXPECT_THAT(Render("helm-guestbook"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("helm source type needs a helm binary on PATH")));
}

}  // namespace
}  // namespace argonaut::cd::repo
