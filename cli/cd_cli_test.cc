// `argonaut app|repo|proj`: the printers on fixed objects (argocd's layouts), the flag parsing,
// and the commands end to end against the real cd service in-process (controller, repo-server and
// repository store on a LocalCluster, a git repository made in the test) over a loopback port.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/cd_commands.h"
#include "cli/cd_printer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/cd/api/test_env.h"

namespace argonaut::cli {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json SyncedApp() {
  return json::parse(R"J({"metadata":{"name":"guestbook","namespace":"argocd"},
    "spec":{"project":"default","source":{"repoURL":"https://github.com/argoproj/argocd-example-apps.git",
      "path":"guestbook","targetRevision":"HEAD"},
      "destination":{"server":"https://kubernetes.default.svc","namespace":"default"}},
    "status":{"sync":{"status":"Synced","revision":"53e28ff20cc530b9ada2173fbbd64d48338583ba"},
      "health":{"status":"Healthy"},
      "resources":[
        {"version":"v1","kind":"Service","namespace":"default","name":"guestbook-ui",
         "status":"Synced","health":{"status":"Healthy"}},
        {"group":"apps","version":"v1","kind":"Deployment","namespace":"default",
         "name":"guestbook-ui","status":"Synced","health":{"status":"Healthy"}}],
      "operationState":{"phase":"Succeeded","message":"successfully synced (all tasks run)",
        "startedAt":"2024-01-01T10:00:00Z","finishedAt":"2024-01-01T10:00:05Z",
        "syncResult":{"revision":"53e28ff20cc530b9ada2173fbbd64d48338583ba","resources":[
          {"version":"v1","kind":"Service","namespace":"default","name":"guestbook-ui",
           "status":"Synced","message":"service/guestbook-ui created","syncPhase":"Sync"},
          {"group":"apps","version":"v1","kind":"Deployment","namespace":"default",
           "name":"guestbook-ui","status":"Synced",
           "message":"deployment.apps/guestbook-ui created","syncPhase":"Sync"},
          {"group":"batch","version":"v1","kind":"Job","namespace":"default","name":"before",
           "hookType":"PreSync","hookPhase":"Succeeded","message":"job completed",
           "syncPhase":"PreSync"}]}},
      "history":[{"id":0,"revision":"53e28ff20cc530b9ada2173fbbd64d48338583ba",
        "deployedAt":"2024-01-01T10:00:05Z",
        "source":{"repoURL":"https://github.com/argoproj/argocd-example-apps.git",
          "path":"guestbook","targetRevision":"HEAD"}}]}})J");
}

TEST(CdPrinterTest, AppGetAsArgocd) {
  const std::string want =
      "Name:               argocd/guestbook\n"
      "Project:            default\n"
      "Server:             https://kubernetes.default.svc\n"
      "Namespace:          default\n"
      "URL:                http://localhost:2746/applications/guestbook\n"
      "Repo:               https://github.com/argoproj/argocd-example-apps.git\n"
      "Target:             HEAD\n"
      "Path:               guestbook\n"
      "SyncWindow:         Sync Allowed\n"
      "Sync Policy:        Manual\n"
      "Sync Status:        Synced to HEAD (53e28ff)\n"
      "Health Status:      Healthy\n"
      "\n"
      "Operation:          Sync\n"
      "Sync Revision:      53e28ff20cc530b9ada2173fbbd64d48338583ba\n"
      "Phase:              Succeeded\n"
      "Start:              2024-01-01 10:00:00 +0000 UTC\n"
      "Finished:           2024-01-01 10:00:05 +0000 UTC\n"
      "Duration:           5s\n"
      "Message:            successfully synced (all tasks run)\n"
      "\n"
      "GROUP  KIND        NAMESPACE  NAME          STATUS     HEALTH   HOOK     MESSAGE\n"
      "       Service     default    guestbook-ui  Synced     Healthy           "
      "service/guestbook-ui created\n"
      "apps   Deployment  default    guestbook-ui  Synced     Healthy           "
      "deployment.apps/guestbook-ui created\n"
      "batch  Job         default    before        Succeeded           PreSync  job completed\n";
  EXPECT_EQ(FormatApp(SyncedApp(), "http://localhost:2746"), want);
}

TEST(CdPrinterTest, SyncStatusAndPolicy) {
  json app = SyncedApp();
  app["status"]["sync"]["status"] = "OutOfSync";
  app["spec"]["source"]["targetRevision"] = "main";
  EXPECT_EQ(SyncStatusText(app), "OutOfSync from main (53e28ff)");
  app["spec"]["syncPolicy"] = {{"automated", {{"prune", true}}}};
  EXPECT_THAT(FormatAppSummary(app, "x"), HasSubstr("Sync Policy:        Automated (Prune)\n"));
  EXPECT_THAT(FormatAppList({app}),
              HasSubstr("argocd/guestbook  https://kubernetes.default.svc  default    default  "
                        "OutOfSync  Healthy  Auto-Prune  <none>"));
}

TEST(CdPrinterTest, HistoryAndResources) {
  EXPECT_EQ(FormatHistory(SyncedApp()),
            "SOURCE  https://github.com/argoproj/argocd-example-apps.git\n"
            "ID  DATE                           REVISION\n"
            "0   2024-01-01 10:00:05 +0000 UTC  HEAD (53e28ff)\n");
  EXPECT_EQ(FormatResourceList(SyncedApp()),
            "GROUP  KIND        NAMESPACE  NAME          ORPHANED\n"
            "       Service     default    guestbook-ui  No\n"
            "apps   Deployment  default    guestbook-ui  No\n");
}

TEST(CdPrinterTest, UnifiedDiff) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n", "x", "y"), "");
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n", "live", "target"),
            "--- live\n+++ target\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n");
  EXPECT_EQ(UnifiedDiff("", "a: 1\n", "live", "target"),
            "--- live\n+++ target\n@@ -0,0 +1,1 @@\n+a: 1\n");
}

TEST(CdPrinterTest, DiffPerResource) {
  const json live = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"color", "blue"}}}};
  const json target = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"color", "green"}}}};
  const std::vector<json> items = {{{"kind", "ConfigMap"},
                                    {"namespace", "demo"},
                                    {"name", "web-config"},
                                    {"modified", true},
                                    {"targetState", target.dump()},
                                    {"liveState", live.dump()},
                                    {"normalizedLiveState", live.dump()},
                                    {"predictedLiveState", target.dump()}},
                                   {{"group", "apps"},
                                    {"kind", "Deployment"},
                                    {"namespace", "demo"},
                                    {"name", "same"},
                                    {"modified", false},
                                    {"targetState", target.dump()},
                                    {"liveState", target.dump()}}};
  const std::string out = FormatDiff(items);
  EXPECT_THAT(out, HasSubstr("\n===== ConfigMap demo/web-config ======\n"));
  EXPECT_THAT(out, HasSubstr("-  color: blue\n+  color: green\n"));
  EXPECT_THAT(out, Not(HasSubstr("same")));
}

TEST(CdPrinterTest, ReposAndProjects) {
  EXPECT_EQ(FormatRepoList({json::parse(R"({"repo":"https://x/y.git","type":"git","username":"u",
              "connectionState":{"status":"Successful","message":""}})")}),
            "TYPE  NAME  REPO             INSECURE  OCI    LFS    CREDS  STATUS      MESSAGE  "
            "PROJECT\n"
            "git         https://x/y.git  false     false  false  true   Successful           \n");
  const json project = json::parse(R"({"metadata":{"name":"team"},"spec":{"description":"d",
    "sourceRepos":["*"],"destinations":[{"server":"*","namespace":"a"},{"server":"*","namespace":"b"}],
    "clusterResourceWhitelist":[{"group":"*","kind":"*"}]}})");
  EXPECT_EQ(FormatProject(project),
            "Name:                        team\n"
            "Description:                 d\n"
            "Destinations:                *,a\n"
            "                             *,b\n"
            "Repositories:                *\n"
            "Scoped Repositories:         <none>\n"
            "Allowed Cluster Resources:   */*\n"
            "Scoped Clusters:             <none>\n"
            "Denied Namespaced Resources: <none>\n"
            "Signature keys:              <none>\n"
            "Orphaned Resources:          disabled\n");
  EXPECT_THAT(FormatProjectList({project}), HasSubstr("team  d            2 destinations  *"));
}

TEST(CdFlagsTest, ApplicationFromFlags) {
  auto args = ParseArgs(
      {"--repo", "https://r", "--path", "p", "--dest-server", "https://k", "--dest-namespace", "ns",
       "--revision", "v1", "--sync-policy", "automated", "--self-heal", "--directory-recurse",
       "--jsonnet-tla-str", "a=b", "--kustomize-image", "nginx:2"},
      {{"repo", ""},
       {"path", ""},
       {"dest-server", ""},
       {"dest-namespace", ""},
       {"revision", ""},
       {"sync-policy", ""},
       {"self-heal", "", false},
       {"directory-recurse", "", false},
       {"jsonnet-tla-str", "", true, true},
       {"kustomize-image", "", true, true}});
  ASSERT_OK(args.status());
  auto app = ApplicationFromFlags("demo", *args, json::object());
  ASSERT_OK(app.status());
  EXPECT_EQ((*app)["metadata"]["name"], "demo");
  EXPECT_EQ((*app)["spec"]["project"], "default");
  EXPECT_EQ((*app)["spec"]["source"],
            json::parse(R"({"repoURL":"https://r","path":"p","targetRevision":"v1",
              "directory":{"recurse":true,"jsonnet":{"tlas":[{"name":"a","value":"b"}]}},
              "kustomize":{"images":["nginx:2"]}})"));
  EXPECT_EQ((*app)["spec"]["destination"],
            json::parse(R"({"server":"https://k","namespace":"ns"})"));
  EXPECT_EQ((*app)["spec"]["syncPolicy"], json::parse(R"({"automated":{"selfHeal":true}})"));

  auto heal_only = ParseArgs({"--self-heal"}, {{"self-heal", "", false}});
  ASSERT_OK(heal_only.status());
  EXPECT_THAT(ApplicationFromFlags("demo", *heal_only, json::object()).status(),
              ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                            "--self-heal needs --sync-policy automated"));
}

TEST(CdFlagsTest, SyncResourceAndWaitConditions) {
  auto r = ParseSyncResource("apps:Deployment:demo/web");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->group(), "apps");
  EXPECT_EQ(r->kind(), "Deployment");
  EXPECT_EQ(r->namespace_(), "demo");
  EXPECT_EQ(r->name(), "web");
  r = ParseSyncResource("ConfigMap:web-config");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->group(), "");
  EXPECT_FALSE(ParseSyncResource("web").ok());

  json app = SyncedApp();
  EXPECT_TRUE(WaitSatisfied(app, true, true, true));
  EXPECT_TRUE(OperationDone(app));
  app["operation"] = json::object();
  EXPECT_FALSE(WaitSatisfied(app, false, false, true));
  EXPECT_FALSE(OperationDone(app));
  app["status"]["health"]["status"] = "Progressing";
  EXPECT_FALSE(WaitSatisfied(app, false, true, false));
  EXPECT_TRUE(WaitSatisfied(app, true, false, false));
}

class CdCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = cd::test_env::Start("cdcli-", true, {}, /*grpc_listener=*/true);
    ASSERT_OK(env.status());
    env_ = *std::move(env);
    server_ = absl::StrCat("127.0.0.1:", env_->server->BoundGrpcPort());
  }

  struct Result {
    int code;
    std::string out, err;
  };

  Result Run(int (*fn)(const std::vector<std::string>&, std::ostream&, std::ostream&),
             std::vector<std::string> args) {
    args.push_back("--server");
    args.push_back(server_);
    std::ostringstream out, err;
    const int code = fn(args, out, err);
    return {code, out.str(), err.str()};
  }

  std::unique_ptr<cd::test_env::CdTestEnv> env_;
  std::string server_;
};

TEST_F(CdCliTest, RepoAndProjectCommands) {
  Result r = Run(RunRepo, {"add", env_->RepoUrl(), "--username", "git", "--password", "pw-123"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("Repository '", env_->RepoUrl(), "' added\n"));
  r = Run(RunRepo, {"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(env_->RepoUrl()));
  EXPECT_THAT(r.out, Not(HasSubstr("pw-123")));
  EXPECT_THAT(r.out, HasSubstr("  true   Successful"));
  r = Run(RunRepo, {"list", "-o", "json"});
  EXPECT_THAT(r.out, Not(HasSubstr("pw-123")));
  r = Run(RunRepo, {"add", "file:///no/such/repo"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: unable to access repository file:///no/such/repo"));
  r = Run(RunRepo, {"rm", env_->RepoUrl()});
  ASSERT_EQ(r.code, 0) << r.err;

  r = Run(RunProj, {"create", "team", "--src", "*", "--dest", "*,team-*", "--description", "t"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run(RunProj, {"get", "team"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Destinations:                *,team-*\n"));
  r = Run(RunProj, {"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\ndefault "));
  EXPECT_THAT(r.out, HasSubstr("\nteam "));
  r = Run(RunProj, {"create", "bad", "--dest", "nocomma"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --dest: \"nocomma\" is not SERVER,NAMESPACE\n");
}

TEST_F(CdCliTest, AppLifecycle) {
  Result r =
      Run(RunApp, {"create", "guestbook", "--repo", env_->RepoUrl(), "--path", "app",
                   "--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "demo"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "application 'guestbook' created\n");
  r = Run(RunApp, {"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("argocd/guestbook"));

  r = Run(RunApp, {"sync", "guestbook", "--timeout", "60"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("Phase:              Succeeded\n"));
  EXPECT_THAT(r.out, HasSubstr("ConfigMap"));
  r = Run(RunApp, {"wait", "guestbook", "--sync", "--health", "--timeout", "30"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sync Status:        Synced to HEAD ("));
  EXPECT_THAT(r.out, HasSubstr("Health Status:      Healthy\n"));
  r = Run(RunApp, {"diff", "guestbook"});
  EXPECT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "");

  ASSERT_OK(env_->CommitColor("green").status());
  r = Run(RunApp, {"diff", "guestbook", "--hard-refresh"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("===== ConfigMap demo/web-config ======"));
  EXPECT_THAT(r.out, HasSubstr("-  color: blue\n+  color: green\n"));

  r = Run(RunApp, {"get", "guestbook", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["status"]["sync"]["status"], "OutOfSync");
  r = Run(RunApp, {"manifests", "guestbook"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("color: green"));
  r = Run(RunApp, {"resources", "guestbook"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("       ConfigMap  demo       web-config  No\n"));

  r = Run(RunApp, {"sync", "guestbook", "--resource", "ConfigMap:web-config", "--timeout", "60"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  r = Run(RunApp, {"history", "guestbook"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ID  DATE"));

  r = Run(RunApp, {"set", "guestbook", "--sync-policy", "automated", "--self-heal"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run(RunApp, {"rollback", "guestbook", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: rollback cannot be initiated when auto-sync is enabled\n");
  r = Run(RunApp, {"set", "guestbook", "--sync-policy", "none"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run(RunApp, {"terminate-op", "guestbook"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: Unable to terminate operation. No operation is in progress\n");

  r = Run(RunApp, {"delete", "guestbook", "--cascade=false", "-y"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run(RunApp, {"get", "guestbook"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: applications.argoproj.io \"guestbook\" not found\n");
  EXPECT_OK(env_->cluster.cluster->Get("ConfigMap", "demo", "web-config").status());
}

TEST_F(CdCliTest, AppCreateFromFileAndErrors) {
  const std::string path = env_->cluster.dir + "/app.yaml";
  std::ofstream(path) << manifest::ToYaml(env_->App("fromfile", "demo", false));
  Result r = Run(RunApp, {"create", "-f", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "application 'fromfile' created\n");
  r = Run(RunApp, {"create", "-f", path, "--label", "team=a"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: existing application spec is different, use upsert flag to force update\n");
  r = Run(RunApp, {"create", "-f", path, "--label", "team=a", "--upsert"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "application 'fromfile' updated\n");
  r = Run(RunApp, {"create", "-f", path, "--label", "team=a", "--upsert"});
  EXPECT_EQ(r.out, "application 'fromfile' unchanged\n");
  r = Run(RunApp, {"sync", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: applications.argoproj.io \"nosuch\" not found\n");
  r = Run(RunApp, {"frobnicate"});
  EXPECT_EQ(r.code, 1);
  r = Run(RunApp, {"diff", "nosuch"});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace argonaut::cli
