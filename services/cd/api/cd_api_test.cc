// The cd API over gRPC against the real cd service in-process: CdServer's controller, repo-server
// and repository store on a LocalCluster, apps from a git repository made in the test.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/server/grpc_status.h"
#include "nlohmann/json.hpp"
#include "services/cd/api/app_ops.h"
#include "services/cd/api/test_env.h"

namespace argonaut::cd::api {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;
namespace cd1 = ::argonaut::cd::v1;

class CdApiTest : public ::testing::Test {
 protected:
  void Start(bool with_controller) {
    auto env = test_env::Start("cdapi-", with_controller);
    ASSERT_OK(env.status());
    env_ = *std::move(env);
    auto channel = env_->server->InProcessChannel();
    apps_ = cd1::ApplicationService::NewStub(channel);
    repos_ = cd1::RepositoryService::NewStub(channel);
    projects_ = cd1::ProjectService::NewStub(channel);
  }

  absl::StatusOr<json> Create(const json& app, bool upsert = false) {
    cd1::ApplicationCreateRequest req;
    req.set_json(app.dump());
    req.set_upsert(upsert);
    req.set_validate(true);
    cd1::ApplicationReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = apps_->Create(&ctx, req, &reply); !s.ok()) return FromGrpcStatus(s);
    return json::parse(reply.json());
  }

  absl::StatusOr<json> Sync(const std::string& name, bool prune = false) {
    cd1::ApplicationSyncRequest req;
    req.set_name(name);
    req.set_prune(prune);
    cd1::ApplicationReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = apps_->Sync(&ctx, req, &reply); !s.ok()) return FromGrpcStatus(s);
    return json::parse(reply.json());
  }

  absl::StatusOr<json> Rollback(const std::string& name, int64_t id) {
    cd1::ApplicationRollbackRequest req;
    req.set_name(name);
    req.set_id(id);
    cd1::ApplicationReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = apps_->Rollback(&ctx, req, &reply); !s.ok()) return FromGrpcStatus(s);
    return json::parse(reply.json());
  }

  absl::Status Terminate(const std::string& name) {
    cd1::ApplicationName req;
    req.set_name(name);
    cd1::OperationTerminateReply reply;
    grpc::ClientContext ctx;
    return FromGrpcStatus(apps_->TerminateOperation(&ctx, req, &reply));
  }

  static std::string Phase(const json& app) {
    return app.value("status", json::object())
        .value("operationState", json::object())
        .value("phase", "");
  }

  std::unique_ptr<test_env::CdTestEnv> env_;
  std::unique_ptr<cd1::ApplicationService::Stub> apps_;
  std::unique_ptr<cd1::RepositoryService::Stub> repos_;
  std::unique_ptr<cd1::ProjectService::Stub> projects_;
};

TEST_F(CdApiTest, CreateIsIdempotentAndNeedsUpsertToChange) {
  Start(false);
  const json app = env_->App("guestbook", "demo", false);
  auto first = Create(app);
  ASSERT_OK(first.status());
  EXPECT_EQ((*first)["metadata"]["namespace"], "argocd");
  auto again = Create(app);
  ASSERT_OK(again.status());
  EXPECT_EQ((*again)["metadata"]["resourceVersion"], (*first)["metadata"]["resourceVersion"]);
  json changed = app;
  changed["spec"]["source"]["path"] = "other";
  EXPECT_THAT(Create(changed).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "existing application spec is different, use upsert flag to force update"));
  auto upserted = Create(changed, true);
  ASSERT_OK(upserted.status());
  EXPECT_EQ((*upserted)["spec"]["source"]["path"], "other");
}

TEST_F(CdApiTest, CreateChecksTheProject) {
  Start(false);
  json app = env_->App("guestbook", "demo", false);
  app["spec"]["project"] = "nope";
  EXPECT_THAT(Create(app).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "application references project nope which does not exist"));
  cd1::ProjectCreateRequest preq;
  preq.set_json(R"({"metadata":{"name":"restricted"},"spec":{
    "sourceRepos":["https://example.com/*"],
    "destinations":[{"server":"https://kubernetes.default.svc","namespace":"demo"}]}})");
  cd1::ProjectReply preply;
  grpc::ClientContext ctx;
  ASSERT_TRUE(projects_->Create(&ctx, preq, &preply).ok());
  app["spec"]["project"] = "restricted";
  EXPECT_THAT(Create(app).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not permitted in project 'restricted'")));
}

TEST_F(CdApiTest, SyncRefusedOutsideSyncWindows) {
  Start(false);
  // "* * * * *" for 1h is active at any instant: a deny window always on.
  for (const auto& [project, manual] : {std::pair{"frozen", false}, {"frozen-manual", true}}) {
    cd1::ProjectCreateRequest preq;
    preq.set_json(json{{"metadata", {{"name", project}}},
                       {"spec",
                        {{"sourceRepos", {"*"}},
                         {"destinations", {{{"server", "*"}, {"namespace", "*"}}}},
                         {"syncWindows",
                          {{{"kind", "deny"},
                            {"schedule", "* * * * *"},
                            {"duration", "1h"},
                            {"applications", {"guestbook-*"}},
                            {"manualSync", manual}}}}}}}
                      .dump());
    cd1::ProjectReply preply;
    grpc::ClientContext ctx;
    ASSERT_TRUE(projects_->Create(&ctx, preq, &preply).ok());
  }
  json frozen = env_->App("guestbook-frozen", "demo", false);
  frozen["spec"]["project"] = "frozen";
  ASSERT_OK(Create(frozen).status());
  EXPECT_THAT(Sync("guestbook-frozen").status(),
              StatusIs(absl::StatusCode::kPermissionDenied, "cannot sync: blocked by sync window"));
  json manual = env_->App("guestbook-manual", "demo", false);
  manual["spec"]["project"] = "frozen-manual";
  ASSERT_OK(Create(manual).status());
  EXPECT_OK(Sync("guestbook-manual").status());
  // The window names its applications: another app of the frozen project syncs.
  json other = env_->App("other", "demo", false);
  other["spec"]["project"] = "frozen";
  ASSERT_OK(Create(other).status());
  EXPECT_OK(Sync("other").status());
}

TEST_F(CdApiTest, SyncWritesTheOperationOnce) {
  Start(false);  // no controller: the operation stays as written
  ASSERT_OK(Create(env_->App("guestbook", "demo", false)).status());
  auto synced = Sync("guestbook", true);
  ASSERT_OK(synced.status());
  EXPECT_EQ((*synced)["operation"]["sync"]["prune"], true);
  EXPECT_EQ((*synced)["operation"]["sync"]["revision"], "HEAD");
  EXPECT_THAT(Sync("guestbook").status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                   "another operation is already in progress"));
  ASSERT_OK(Terminate("guestbook"));
  EXPECT_THAT(Terminate("guestbook"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_OK(Sync("guestbook").status());
  EXPECT_THAT(Sync("missing").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CdApiTest, WithoutControllerWhatNeedsItIsUnavailable) {
  Start(false);
  ASSERT_OK(Create(env_->App("guestbook", "demo", false)).status());
  cd1::ApplicationManifestQuery q;
  q.set_name("guestbook");
  cd1::ManifestReply reply;
  grpc::ClientContext ctx;
  EXPECT_THAT(FromGrpcStatus(apps_->GetManifests(&ctx, q, &reply)),
              StatusIs(absl::StatusCode::kUnavailable, "cd controller not running"));
}

TEST_F(CdApiTest, SyncHistoryRollbackThroughTheController) {
  Start(true);
  ASSERT_OK(Create(env_->App("guestbook", "demo", false)).status());
  ASSERT_OK(Sync("guestbook").status());
  auto done = env_->WaitApp("guestbook", [](const json& a) {
    return !a.contains("operation") && Phase(a) == "Succeeded";
  });
  ASSERT_OK(done.status());
  auto cm = env_->cluster.cluster->Get("ConfigMap", "demo", "web-config");
  ASSERT_OK(cm.status());
  EXPECT_EQ((*cm)["data"]["color"], "blue");
  ASSERT_EQ((*done)["status"]["history"].size(), 1u);
  const int64_t first_id = (*done)["status"]["history"][0]["id"];

  // A second revision, synced, then rolled back to the first.
  ASSERT_OK(env_->CommitColor("green").status());
  cd1::ApplicationQuery gq;
  gq.set_name("guestbook");
  gq.set_refresh("normal");
  cd1::ApplicationReply got;
  grpc::ClientContext gctx;
  ASSERT_TRUE(apps_->Get(&gctx, gq, &got).ok());
  EXPECT_FALSE(RefreshPending(json::parse(got.json())));
  ASSERT_OK(Sync("guestbook").status());
  ASSERT_OK(env_->WaitApp("guestbook",
                          [](const json& a) {
                            return !a.contains("operation") && Phase(a) == "Succeeded" &&
                                   a["status"]["history"].size() == 2;
                          })
                .status());
  EXPECT_THAT(Rollback("guestbook", 99).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "application guestbook does not have deployment with id 99"));
  ASSERT_OK(Rollback("guestbook", first_id).status());
  ASSERT_OK(env_->WaitApp("guestbook",
                          [](const json& a) {
                            return !a.contains("operation") && Phase(a) == "Succeeded" &&
                                   a["status"]["history"].size() == 3;
                          })
                .status());
  cm = env_->cluster.cluster->Get("ConfigMap", "demo", "web-config");
  ASSERT_OK(cm.status());
  EXPECT_EQ((*cm)["data"]["color"], "blue");

  // Automated sync refuses a rollback.
  cd1::ApplicationUpdateSpecRequest sreq;
  sreq.set_name("guestbook");
  json spec = env_->App("guestbook", "demo", true)["spec"];
  sreq.set_spec_json(spec.dump());
  cd1::ApplicationSpecReply sreply;
  grpc::ClientContext sctx;
  ASSERT_TRUE(apps_->UpdateSpec(&sctx, sreq, &sreply).ok());
  EXPECT_THAT(Rollback("guestbook", first_id).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "rollback cannot be initiated when auto-sync is enabled"));
}

TEST_F(CdApiTest, ManifestsTreeAndCascadingDelete) {
  Start(true);
  ASSERT_OK(Create(env_->App("guestbook", "demo", true)).status());
  ASSERT_OK(env_->WaitApp("guestbook",
                          [](const json& a) {
                            return a.value("status", json::object())
                                       .value("sync", json::object())
                                       .value("status", "") == "Synced";
                          })
                .status());
  cd1::ApplicationManifestQuery mq;
  mq.set_name("guestbook");
  cd1::ManifestReply manifests;
  grpc::ClientContext mctx;
  ASSERT_TRUE(apps_->GetManifests(&mctx, mq, &manifests).ok());
  EXPECT_EQ(manifests.manifests_size(), 2);
  EXPECT_EQ(manifests.revision().size(), 40u);
  EXPECT_EQ(manifests.source_type(), "Directory");
  EXPECT_EQ(manifests.namespace_(), "demo");

  cd1::ResourcesQuery tq;
  tq.set_application_name("guestbook");
  cd1::ResourceTreeReply tree;
  grpc::ClientContext tctx;
  ASSERT_TRUE(apps_->ResourceTree(&tctx, tq, &tree).ok());
  const json nodes = json::parse(tree.json())["nodes"];
  ASSERT_EQ(nodes.size(), 2u) << tree.json();
  for (const json& n : nodes) EXPECT_TRUE(n.contains("uid")) << n.dump();

  cd1::ApplicationDeleteRequest dreq;
  dreq.set_name("guestbook");
  cd1::ApplicationDeleteReply dreply;
  grpc::ClientContext dctx;
  ASSERT_TRUE(apps_->Delete(&dctx, dreq, &dreply).ok());
  // The controller deletes the resources, then the app.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (env_->apps->GetObject("Application", "argocd", "guestbook").ok() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(env_->apps->GetObject("Application", "argocd", "guestbook").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(env_->cluster.cluster->Get("ConfigMap", "demo", "web-config").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CdApiTest, NonCascadingDeleteKeepsTheResources) {
  Start(true);
  ASSERT_OK(Create(env_->App("guestbook", "demo", true)).status());
  ASSERT_OK(env_->WaitApp("guestbook",
                          [](const json& a) {
                            return a.value("status", json::object())
                                       .value("sync", json::object())
                                       .value("status", "") == "Synced";
                          })
                .status());
  cd1::ApplicationDeleteRequest dreq;
  dreq.set_name("guestbook");
  dreq.set_cascade(false);
  cd1::ApplicationDeleteReply dreply;
  grpc::ClientContext dctx;
  ASSERT_TRUE(apps_->Delete(&dctx, dreq, &dreply).ok());
  EXPECT_THAT(env_->apps->GetObject("Application", "argocd", "guestbook").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(env_->cluster.cluster->Get("ConfigMap", "demo", "web-config").status());
}

TEST_F(CdApiTest, ListFiltersAndWatch) {
  Start(false);
  cd1::ApplicationQuery wq;
  grpc::ClientContext wctx;
  auto watch = apps_->Watch(&wctx, wq);
  ASSERT_OK(Create(env_->App("a1", "demo", false)).status());
  json other = env_->App("a2", "demo", false);
  other["spec"]["source"]["repoURL"] = "https://example.com/other.git";
  ASSERT_OK(Create(other).status());
  cd1::ApplicationWatchEvent event;
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.type(), "ADDED");
  EXPECT_EQ(NameOf(json::parse(event.json())), "a1");
  wctx.TryCancel();

  cd1::ApplicationQuery q;
  q.set_repo("https://example.com/other");
  cd1::ApplicationListReply listed;
  grpc::ClientContext lctx;
  ASSERT_TRUE(apps_->List(&lctx, q, &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_EQ(NameOf(json::parse(listed.items(0))), "a2");
  cd1::ApplicationQuery pq;
  pq.add_projects("other-project");
  cd1::ApplicationListReply none;
  grpc::ClientContext pctx;
  ASSERT_TRUE(apps_->List(&pctx, pq, &none).ok());
  EXPECT_EQ(none.items_size(), 0);
}

TEST_F(CdApiTest, RepositoriesNeverReturnSecrets) {
  Start(true);
  cd1::RepoCreateRequest req;
  req.set_json(json{{"repo", env_->RepoUrl()}, {"username", "git"}, {"password", "s3cret"}}.dump());
  cd1::RepositoryReply reply;
  grpc::ClientContext ctx;
  grpc::Status s = repos_->Create(&ctx, req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(reply.json(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_EQ(json::parse(reply.json())["connectionState"]["status"], "Successful");
  cd1::RepositoryListReply listed;
  grpc::ClientContext lctx;
  ASSERT_TRUE(repos_->List(&lctx, cd1::RepoQuery(), &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_THAT(listed.items(0), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_EQ(json::parse(listed.items(0))["username"], "git");
  EXPECT_EQ(json::parse(listed.items(0))["connectionState"]["status"], "Successful");

  cd1::RepoCreateRequest bad;
  bad.set_json(json{{"repo", "file:///nonexistent/repo"}}.dump());
  grpc::ClientContext bctx;
  EXPECT_EQ(repos_->Create(&bctx, bad, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  cd1::RepoAccessQuery access;
  access.set_repo(env_->RepoUrl());
  cd1::RepoValidateReply vreply;
  grpc::ClientContext vctx;
  EXPECT_TRUE(repos_->ValidateAccess(&vctx, access, &vreply).ok());

  cd1::RepoQuery q;
  q.set_repo(env_->RepoUrl());
  cd1::RepoDeleteReply dreply;
  grpc::ClientContext dctx;
  ASSERT_TRUE(repos_->Delete(&dctx, q, &dreply).ok());
  grpc::ClientContext gctx;
  EXPECT_EQ(repos_->Get(&gctx, q, &reply).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CdApiTest, Projects) {
  Start(false);
  cd1::ProjectListReply listed;
  grpc::ClientContext lctx;
  ASSERT_TRUE(projects_->List(&lctx, cd1::ProjectQuery(), &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_EQ(NameOf(json::parse(listed.items(0))), "default");

  cd1::ProjectCreateRequest req;
  req.set_json(R"({"metadata":{"name":"team"},"spec":{"sourceRepos":["*"],
    "destinations":[{"server":"*","namespace":"team-*"}]}})");
  cd1::ProjectReply reply;
  grpc::ClientContext cctx;
  ASSERT_TRUE(projects_->Create(&cctx, req, &reply).ok());
  json app = env_->App("teamapp", "team-a", false);
  app["spec"]["project"] = "team";
  ASSERT_OK(Create(app).status());
  app["spec"]["destination"]["namespace"] = "elsewhere";
  EXPECT_THAT(Create(app, true).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not permitted")));

  cd1::ProjectQuery del;
  del.set_name("team");
  cd1::ProjectDeleteReply dreply;
  grpc::ClientContext dctx;
  grpc::Status s = projects_->Delete(&dctx, del, &dreply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "project is referenced by 1 applications");
  del.set_name("default");
  grpc::ClientContext d2;
  EXPECT_EQ(projects_->Delete(&d2, del, &dreply).error_message(),
            "name 'default' is reserved and cannot be deleted");
}

TEST_F(CdApiTest, PushWebhookReachesTheController) {
  Start(true);
  cd1::WebhookRequest req;
  (*req.mutable_headers())["x-github-event"] = "push";
  (*req.mutable_headers())["content-type"] = "application/json";
  req.set_body(json{{"ref", "refs/heads/main"},
                    {"repository",
                     {{"html_url", "https://github.com/example/apps"},
                      {"clone_url", "https://github.com/example/apps.git"},
                      {"default_branch", "main"}}},
                    {"commits", json::array()}}
                   .dump());
  cd1::WebhookReply reply;
  grpc::ClientContext ctx;
  grpc::Status s = apps_->Webhook(&ctx, req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.revision(), "main");
  EXPECT_GE(reply.repo_urls_size(), 1);
}

}  // namespace
}  // namespace argonaut::cd::api
