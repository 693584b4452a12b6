#include "services/cd/engine/sync_tasks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/yaml.h"
#include "services/cd/engine/tracking.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json Obj(std::string api_version, std::string kind, std::string name, json annotations = nullptr,
         std::string ns = "") {
  json o = {{"apiVersion", api_version}, {"kind", kind}, {"metadata", {{"name", name}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  if (!annotations.is_null()) o["metadata"]["annotations"] = annotations;
  return o;
}

// "Phase/wave Kind/name" per task, the shape the assertions read best in.
std::vector<std::string> Order(const std::vector<SyncTask>& tasks) {
  std::vector<std::string> out;
  for (const SyncTask& t : tasks) {
    out.push_back(absl::StrCat(t.phase, "/", t.Wave(), " ", t.Key().kind, "/", t.Key().name,
                               t.IsPrune() ? " (prune)" : ""));
  }
  return out;
}

TEST(Hooks, Classification) {
  struct Case {
    json annotations;
    bool hook, skipped, ignored;
    std::vector<std::string> phases;
  } cases[] = {
      {nullptr, false, false, false, {"Sync"}},
      {{{"argocd.argoproj.io/hook", "PreSync"}}, true, false, false, {"PreSync"}},
      {{{"argocd.argoproj.io/hook", "PostSync, PreSync"}},
       true,
       false,
       false,
       {"PreSync", "PostSync"}},
      {{{"argocd.argoproj.io/hook", "SyncFail"}}, true, false, false, {"SyncFail"}},
      {{{"argocd.argoproj.io/hook", "Skip"}}, false, true, false, {}},
      {{{"argocd.argoproj.io/hook", "Skip,PreSync"}}, true, false, false, {"PreSync"}},
      {{{"argocd.argoproj.io/hook", "Bogus"}}, true, false, true, {}},
      {{{"argocd.argoproj.io/hook", "PreDelete"}}, true, false, false, {}},
      {{{"helm.sh/hook", "pre-install"}}, true, false, false, {"PreSync"}},
      {{{"helm.sh/hook", "pre-upgrade,post-install"}}, true, false, false, {"PreSync", "PostSync"}},
      {{{"helm.sh/hook", "post-upgrade"}}, true, false, false, {"PostSync"}},
      {{{"helm.sh/hook", "test"}}, true, false, true, {}},
      {{{"helm.sh/hook", "crd-install"}}, false, false, false, {"Sync"}},
      // The Argo annotation wins over Helm's.
      {{{"argocd.argoproj.io/hook", "PostSync"}, {"helm.sh/hook", "pre-install"}},
       true,
       false,
       false,
       {"PostSync"}},
  };
  for (const Case& c : cases) {
    json obj = Obj("batch/v1", "Job", "j", c.annotations);
    SCOPED_TRACE(c.annotations.dump());
    EXPECT_EQ(IsHook(obj), c.hook);
    EXPECT_EQ(engine::IsSkipped(obj), c.skipped);
    EXPECT_EQ(IsIgnored(obj), c.ignored);
    EXPECT_EQ(SyncPhasesOf(obj), c.phases);
  }
}

TEST(Hooks, DeletePoliciesAndWaves) {
  EXPECT_EQ(HookDeletePolicies(Obj("batch/v1", "Job", "j", {{"argocd.argoproj.io/hook", "Sync"}})),
            std::vector<std::string>{"BeforeHookCreation"});
  EXPECT_EQ(HookDeletePolicies(
                Obj("batch/v1", "Job", "j",
                    {{"argocd.argoproj.io/hook-delete-policy", "HookSucceeded, HookFailed"}})),
            (std::vector<std::string>{"HookSucceeded", "HookFailed"}));
  EXPECT_EQ(HookDeletePolicies(
                Obj("batch/v1", "Job", "j", {{"helm.sh/hook-delete-policy", "hook-succeeded"}})),
            std::vector<std::string>{"HookSucceeded"});

  struct Case {
    json annotations;
    int wave;
  } waves[] = {
      {nullptr, 0},
      {{{"argocd.argoproj.io/sync-wave", "-3"}}, -3},
      {{{"argocd.argoproj.io/sync-wave", "x"}, {"helm.sh/hook-weight", "7"}}, 7},
      {{{"argocd.argoproj.io/sync-wave", "2"}, {"helm.sh/hook-weight", "7"}}, 2},
      {{{"helm.sh/hook-weight", "nope"}}, 0},
  };
  for (const Case& c : waves) {
    EXPECT_EQ(SyncWave(Obj("v1", "ConfigMap", "c", c.annotations)), c.wave) << c.annotations;
  }
}

TEST(Hooks, GeneratedName) {
  absl::Time started = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(HookName("upgrade-sql-schema", "ABCDEF0123456789", "PreSync", started),
            "upgrade-sql-schemaabcdef0-presync-1700000000");
  EXPECT_EQ(HookName("x-", "abc", "PostSync", started), "x-abc-postsync-1700000000");
}

TEST(Order, KindRank) {
  EXPECT_LT(KindRank("Namespace"), KindRank("ConfigMap"));
  EXPECT_LT(KindRank("ConfigMap"), KindRank("Service"));
  EXPECT_LT(KindRank("Service"), KindRank("Deployment"));
  EXPECT_LT(KindRank("IngressClass"), KindRank("Ingress"));
  EXPECT_LT(KindRank("APIService"), KindRank("Rollout"));
  EXPECT_EQ(KindRank("Rollout"), 0);
  EXPECT_LT(KindRank("Namespace"), 0);
}

TEST(Options, Parse) {
  SyncOptions o = ParseSyncOptions(
      json{"PruneLast=true", "Replace=true", "CreateNamespace=true"},
      json{"Replace=false", "PrunePropagationPolicy=background", "ApplyOutOfSyncOnly=true",
           "Validate=false", "ServerSideApply=true", "Prune=confirm", "junk"});
  EXPECT_TRUE(o.prune_last);
  EXPECT_FALSE(o.replace);  // the operation's value replaces the app's
  EXPECT_TRUE(o.create_namespace);
  EXPECT_EQ(o.prune_propagation, "background");
  EXPECT_TRUE(o.apply_out_of_sync_only);
  EXPECT_FALSE(o.validate);
  EXPECT_TRUE(o.server_side_apply);
  EXPECT_EQ(o.prune, "confirm");
  SyncOptions d = ParseSyncOptions(nullptr, json{"PrunePropagationPolicy=sideways"});
  EXPECT_EQ(d.prune_propagation, "foreground");
  EXPECT_EQ(d.prune, "");

  json obj = Obj("v1", "ConfigMap", "c",
                 {{"argocd.argoproj.io/sync-options", "Prune=false, PruneLast=true"}});
  EXPECT_EQ(ResourceSyncOption(obj, "Prune"), "false");
  EXPECT_EQ(ResourceSyncOption(obj, "PruneLast"), "true");
  EXPECT_EQ(ResourceSyncOption(obj, "Replace"), std::nullopt);
}

std::vector<json> LoadCorpus(const std::string& dir, const std::vector<std::string>& files,
                             const std::string& name_prefix) {
  auto corpus = testing::TestCorpusDir("services/cd/engine/testdata/corpus_anchor.txt");
  if (!corpus.ok()) return {};
  std::vector<json> out;
  for (const std::string& f : files) {
    auto text = testing::ReadTestFile(*corpus / "argocd-example-apps" / dir / f);
    if (!text.ok()) return {};
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) return {};
    for (json& d : *docs) {
      if (!name_prefix.empty() && d["metadata"].contains("name")) {
        d["metadata"]["name"] = name_prefix + d["metadata"]["name"].get<std::string>();
      }
      out.push_back(d);
    }
  }
  return out;
}

TaskInput Input(const std::vector<json>& manifests, std::string app = "app") {
  TaskInput in;
  for (const json& m : manifests) in.targets.push_back(PrepareTarget(m, app, "default"));
  in.app_name = app;
  in.revision = "0123456789abcdef0123456789abcdef01234567";
  in.started_at = absl::FromUnixSeconds(1700000000);
  in.dest_namespace = "default";
  return in;
}

TEST(Corpus, SyncWavesOrder) {
  std::vector<json> docs = LoadCorpus("sync-waves", {"manifests.yaml"}, "");
  if (docs.empty()) GTEST_SKIP() << "argocd-example-apps corpus not found";
  std::vector<SyncTask> tasks = BuildSyncTasks(Input(docs));
  EXPECT_EQ(Order(tasks), (std::vector<std::string>{
                              "PreSync/0 Job/upgrade-sql-schema0123456-presync-1700000000",
                              "Sync/0 Service/backend",
                              "Sync/0 ReplicaSet/backend",
                              "Sync/1 Job/maint-page-up",
                              "Sync/2 Service/frontend",
                              "Sync/2 ReplicaSet/frontend",
                              "Sync/3 Job/maint-page-down",
                          }));
  // The generated hook name is tracked under its final name.
  EXPECT_TRUE(BelongsTo(*tasks[0].target, "app"));
}

TEST(Corpus, PrePostSyncOrder) {
  // kustomize-guestbook under the two namePrefixes the kustomizations apply.
  std::vector<json> docs =
      LoadCorpus("kustomize-guestbook", {"guestbook-ui-deployment.yaml", "guestbook-ui-svc.yaml"},
                 "pre-post-sync-kustomize-");
  std::vector<json> jobs =
      LoadCorpus("pre-post-sync", {"pre-sync-job.yaml", "post-sync-job.yaml"}, "pre-post-sync-");
  if (docs.empty() || jobs.empty()) GTEST_SKIP() << "argocd-example-apps corpus not found";
  docs.insert(docs.end(), jobs.begin(), jobs.end());
  EXPECT_EQ(Order(BuildSyncTasks(Input(docs))),
            (std::vector<std::string>{
                "PreSync/0 Job/pre-post-sync-before",
                "Sync/0 Service/pre-post-sync-kustomize-guestbook-ui",
                "Sync/0 Deployment/pre-post-sync-kustomize-guestbook-ui",
                "PostSync/0 Job/pre-post-sync-after",
            }));
}

TEST(Corpus, HelmHooksOrder) {
  std::vector<json> docs = LoadCorpus("helm-hooks", {"manifests.yaml"}, "");
  if (docs.empty()) GTEST_SKIP() << "argocd-example-apps corpus not found";
  EXPECT_EQ(Order(BuildSyncTasks(Input(docs))),
            (std::vector<std::string>{
                "PreSync/-2 Job/upgrade-sql-schema0123456-presync-1700000000",
                "PreSync/-1 Job/maint-page-up",
                "Sync/0 ReplicaSet/frontend",
                "Sync/2 Service/frontend",
                "PostSync/0 Job/maint-page-down",
            }));
}

TEST(Order, NamespaceAndCrdMoveBeforeTheirUsers) {
  std::vector<json> docs = {
      Obj("apps/v1", "Deployment", "web", {{"argocd.argoproj.io/sync-wave", "1"}}, "team"),
      Obj("v1", "Namespace", "team", {{"argocd.argoproj.io/sync-wave", "5"}}),
      Obj("example.com/v1", "Widget", "w1", nullptr, "default"),
      Obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com",
          {{"argocd.argoproj.io/sync-wave", "3"}}),
      Obj("v1", "ConfigMap", "cfg", nullptr, "default"),
  };
  docs[3]["spec"] = {{"group", "example.com"}, {"names", {{"kind", "Widget"}}}};
  EXPECT_EQ(Order(BuildSyncTasks(Input(docs))),
            (std::vector<std::string>{
                "Sync/0 ConfigMap/cfg",
                "Sync/0 CustomResourceDefinition/widgets.example.com",
                "Sync/0 Widget/w1",
                "Sync/1 Namespace/team",
                "Sync/1 Deployment/web",
            }));
}

TEST(Order, PruneWavesMirroredAndPruneLast) {
  TaskInput in = Input({Obj("v1", "ConfigMap", "keep", {{"argocd.argoproj.io/sync-wave", "4"}})});
  for (auto [name, wave] :
       std::vector<std::pair<std::string, std::string>>{{"a", "0"}, {"b", "1"}, {"c", "2"}}) {
    in.live.push_back(PrepareTarget(
        Obj("v1", "ConfigMap", name, {{"argocd.argoproj.io/sync-wave", wave}}), "app", "default"));
  }
  EXPECT_EQ(Order(BuildSyncTasks(in)), (std::vector<std::string>{
                                           "Sync/0 ConfigMap/c (prune)",
                                           "Sync/1 ConfigMap/b (prune)",
                                           "Sync/2 ConfigMap/a (prune)",
                                           "Sync/4 ConfigMap/keep",
                                       }));
  in.live[1]["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] = "PruneLast=true";
  EXPECT_EQ(Order(BuildSyncTasks(in)), (std::vector<std::string>{
                                           "Sync/0 ConfigMap/c (prune)",
                                           "Sync/2 ConfigMap/a (prune)",
                                           "Sync/4 ConfigMap/keep",
                                           "Sync/5 ConfigMap/b (prune)",
                                       }));
  in.options.prune_last = true;
  EXPECT_EQ(Order(BuildSyncTasks(in)), (std::vector<std::string>{
                                           "Sync/4 ConfigMap/keep",
                                           "Sync/5 ConfigMap/a (prune)",
                                           "Sync/5 ConfigMap/b (prune)",
                                           "Sync/5 ConfigMap/c (prune)",
                                       }));
}

TEST(Build, PairsLiveSkipsHooksAndSelects) {
  TaskInput in = Input({
      Obj("v1", "ConfigMap", "cfg"),
      Obj("v1", "ConfigMap", "skipped", {{"argocd.argoproj.io/hook", "Skip"}}),
      Obj("v1", "Pod", "helm-test", {{"helm.sh/hook", "test"}}),
      Obj("batch/v1", "Job", "migrate", {{"argocd.argoproj.io/hook", "PreSync"}}),
  });
  json live_cfg = in.targets[0];
  live_cfg["data"] = {{"x", "1"}};
  in.live = {
      live_cfg, in.targets[3],
      PrepareTarget(Obj("batch/v1", "Job", "old-hook", {{"argocd.argoproj.io/hook", "Sync"}}),
                    "app", "default")};
  std::vector<SyncTask> tasks = BuildSyncTasks(in);
  ASSERT_EQ(Order(tasks),
            (std::vector<std::string>{"PreSync/0 Job/migrate", "Sync/0 ConfigMap/cfg"}));
  ASSERT_TRUE(tasks[0].live.has_value());  // the hook finds its earlier run
  EXPECT_TRUE(tasks[0].IsHook());
  ASSERT_TRUE(tasks[1].live.has_value());
  EXPECT_EQ((*tasks[1].live)["data"]["x"], "1");

  in.skip_hooks = true;
  EXPECT_EQ(Order(BuildSyncTasks(in)), std::vector<std::string>{"Sync/0 ConfigMap/cfg"});

  in.targets.push_back(PrepareTarget(Obj("v1", "Service", "svc"), "app", "default"));
  in.resources = json::array({{{"group", ""}, {"kind", "Service"}, {"name", "svc"}}});
  EXPECT_EQ(Order(BuildSyncTasks(in)), std::vector<std::string>{"Sync/0 Service/svc"});
}

TEST(Build, CreateNamespaceTask) {
  TaskInput in = Input({Obj("v1", "ConfigMap", "cfg")});
  in.options.create_namespace = true;
  std::vector<SyncTask> tasks = BuildSyncTasks(in);
  // A PreSync task of its own, ahead of everything in the namespace.
  ASSERT_EQ(Order(tasks),
            (std::vector<std::string>{"PreSync/0 Namespace/default", "Sync/0 ConfigMap/cfg"}));
  EXPECT_TRUE(tasks[0].auto_namespace);
  in.targets.push_back(Obj("v1", "Namespace", "default"));
  tasks = BuildSyncTasks(in);
  EXPECT_FALSE(tasks[0].auto_namespace);
}

}  // namespace
}  // namespace argonaut::cd::engine
