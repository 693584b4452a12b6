#include "services/cd/api/app_ops.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cd::api {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;

json App() {
  return json::parse(R"({"metadata":{"name":"guestbook","namespace":"argocd"},
    "spec":{"project":"default","source":{"repoURL":"https://git.example/apps.git",
      "path":"guestbook","targetRevision":"main"},
      "destination":{"server":"https://kubernetes.default.svc","namespace":"demo"},
      "syncPolicy":{"syncOptions":["CreateNamespace=true"],"retry":{"limit":2}}},
    "status":{"history":[
      {"id":0,"revision":"aaa","source":{"repoURL":"https://git.example/apps.git","path":"guestbook"}},
      {"id":1,"revision":"bbb","source":{"repoURL":"https://git.example/apps.git","path":"guestbook"}}]}})");
}

TEST(SyncOperationTest, DefaultsFromTheApp) {
  auto app_or = WithSyncOperation(App(), {.prune = true, .username = "alice"});
  ASSERT_OK(app_or.status());
  const json app = *app_or;
  const json& op = app["operation"];
  EXPECT_EQ(op["sync"]["revision"], "main");
  EXPECT_EQ(op["sync"]["prune"], true);
  EXPECT_FALSE(op["sync"].contains("dryRun"));
  EXPECT_EQ(op["sync"]["syncOptions"], json::array({"CreateNamespace=true"}));
  EXPECT_EQ(op["retry"]["limit"], 2);
  EXPECT_EQ(op["initiatedBy"]["username"], "alice");
}

TEST(SyncOperationTest, RequestWinsAndStrategy) {
  SyncParams p{.revision = "v2", .dry_run = true, .force = true, .strategy = "hook"};
  p.resources.push_back({{"group", "apps"}, {"kind", "Deployment"}, {"name", "web"}});
  p.sync_options = {"Validate=false"};
  auto app_or = WithSyncOperation(App(), p);
  ASSERT_OK(app_or.status());
  const json app = *app_or;
  const json& sync = app["operation"]["sync"];
  EXPECT_EQ(sync["revision"], "v2");
  EXPECT_EQ(sync["dryRun"], true);
  EXPECT_EQ(sync["resources"][0]["kind"], "Deployment");
  EXPECT_EQ(sync["syncOptions"], json::array({"Validate=false"}));
  EXPECT_EQ(sync["syncStrategy"], json::parse(R"({"hook":{"force":true}})"));
  EXPECT_THAT(WithSyncOperation(App(), {.strategy = "fast"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("strategy")));
}

TEST(SyncOperationTest, RefusedWhileAnotherRuns) {
  json app = App();
  app["operation"] = {{"sync", {{"revision", "main"}}}};
  EXPECT_THAT(
      WithSyncOperation(app, {}).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, "another operation is already in progress"));
}

TEST(SyncOperationTest, AutoSyncPinsTheRevision) {
  json app = App();
  app["spec"]["syncPolicy"]["automated"] = json::object();
  EXPECT_THAT(WithSyncOperation(app, {.revision = "v1"}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot sync to v1: auto-sync currently set to main"));
  EXPECT_OK(WithSyncOperation(app, {.revision = "v1", .dry_run = true}).status());
  EXPECT_OK(WithSyncOperation(app, {.revision = "main"}).status());
}

TEST(RollbackTest, UsesTheHistoryEntry) {
  auto app_or = WithRollbackOperation(App(), 0, true, false, "");
  ASSERT_OK(app_or.status());
  const json app = *app_or;
  const json& sync = app["operation"]["sync"];
  EXPECT_EQ(sync["revision"], "aaa");
  EXPECT_EQ(sync["source"]["path"], "guestbook");
  EXPECT_EQ(sync["prune"], true);
  EXPECT_EQ(app["operation"]["initiatedBy"]["username"], "admin");
}

TEST(RollbackTest, Refusals) {
  EXPECT_THAT(WithRollbackOperation(App(), 7, false, false, "").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "application guestbook does not have deployment with id 7"));
  json automated = App();
  automated["spec"]["syncPolicy"]["automated"] = {{"selfHeal", true}};
  EXPECT_THAT(WithRollbackOperation(automated, 0, false, false, "").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "rollback cannot be initiated when auto-sync is enabled"));
  json busy = App();
  busy["operation"] = json::object();
  EXPECT_THAT(WithRollbackOperation(busy, 0, false, false, "").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(TerminateTest, RunningPendingAndNone) {
  json running = App();
  running["operation"] = json::object();
  running["status"]["operationState"] = {{"phase", "Running"}};
  auto t_or = WithOperationTerminated(running);
  ASSERT_OK(t_or.status());
  const json t = *t_or;
  EXPECT_EQ(t["status"]["operationState"]["phase"], "Terminating");
  json pending = App();
  pending["operation"] = json::object();
  auto p_or = WithOperationTerminated(pending);
  ASSERT_OK(p_or.status());
  const json p = *p_or;
  EXPECT_FALSE(p.contains("operation"));
  EXPECT_THAT(WithOperationTerminated(App()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Unable to terminate operation. No operation is in progress"));
}

TEST(RefreshTest, Annotation) {
  auto app_or = WithRefresh(App(), "hard");
  ASSERT_OK(app_or.status());
  const json app = *app_or;
  EXPECT_EQ(app["metadata"]["annotations"][kRefreshAnnotation], "hard");
  EXPECT_TRUE(RefreshPending(app));
  EXPECT_FALSE(RefreshPending(App()));
  EXPECT_THAT(WithRefresh(App(), "soft").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FilterTest, ProjectsAndRepo) {
  EXPECT_TRUE(AppMatches(App(), {}, ""));
  EXPECT_TRUE(AppMatches(App(), {"other", "default"}, ""));
  EXPECT_FALSE(AppMatches(App(), {"other"}, ""));
  EXPECT_TRUE(AppMatches(App(), {}, "https://git.example/apps"));
  EXPECT_TRUE(AppMatches(App(), {}, "https://GIT.example/apps.git/"));
  EXPECT_FALSE(AppMatches(App(), {}, "https://git.example/other"));
}

}  // namespace
}  // namespace argonaut::cd::api
