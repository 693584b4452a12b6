// The application controller end to end inside one process: an in-memory cd
// store, a real LocalCluster (plain processes) running the Deployment's pods,
// a real git repository made with the `git` binary in the test's temp dir,
// the repo-server over it, the pure engine, and a FakeClock for the poll
// timer, the self-heal backoff and the operation times.
#include "services/cd/controller.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/cd/api/app_ops.h"
#include "services/cd/repo/repo.h"
#include "services/cd/validation/validate.h"
#include "services/rollout/test_util.h"

namespace argonaut::cd {
namespace {

using nlohmann::json;

constexpr char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: guestbook-ui}
  template:
    metadata:
      labels: {app: guestbook-ui}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: debian:12
        command: [sleep, "3600"]
)";

constexpr char kConfigMap[] = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: guestbook-config
data:
  color: COLOR
)";

std::string Str(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return "";
  return o[key].get<std::string>();
}

const json& Field(const json& o, const char* key) {
  static const json* null = new json();
  if (!o.is_object() || !o.contains(key)) return *null;
  return o[key];
}

std::string SyncStatus(const json& app) {
  return Str(Field(Field(app, "status"), "sync"), "status");
}
std::string HealthStatus(const json& app) {
  return Str(Field(Field(app, "status"), "health"), "status");
}
std::string OpPhase(const json& app) {
  return Str(Field(Field(app, "status"), "operationState"), "phase");
}
const json& History(const json& app) { return Field(Field(app, "status"), "history"); }

class CdControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = rollout::test_util::StartTestCluster("cdc-");
    ASSERT_TRUE(c.ok()) << c.status();
    env_ = *std::move(c);
    cluster_ = env_.cluster.get();

    auto kinds = resource::KindsOfService("cd");
    cd_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    apps_ =
        std::make_unique<resource::ResourceApi>(cd_store_.get(), kinds, validation::CdValidator());

    repo_dir_ = env_.dir + "/git/guestbook";
    std::filesystem::create_directories(repo_dir_ + "/app");
    Git("init -q -b main .");
    Commit(2, "blue", "first");
    repos_ = std::make_unique<repo::RepoServer>(
        repo::RepoServerOptions{.cache_dir = env_.dir + "/repos", .clock = &clock_});
    controller_ = std::make_unique<CdController>(
        apps_.get(), cluster_, repos_.get(), nullptr,
        CdControllerOptions{.clock = &clock_, .metrics = &registry_});
    ASSERT_OK(controller_->Start());
  }

  void TearDown() override {
    if (controller_) controller_->Stop();
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  void Git(const std::string& args) {
    const std::string cmd = absl::StrCat(
        "cd '", repo_dir_, "' && git -c user.name=test -c user.email=test@example.com ", args,
        " >/dev/null 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  std::string Head() {
    const std::string out = env_.dir + "/head.txt";
    const std::string cmd =
        absl::StrCat("cd '", repo_dir_, "' && git rev-parse HEAD > '", out, "'");
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(out);
    std::string sha;
    in >> sha;
    return sha;
  }

  // Writes the app's manifests and commits them.
  void Commit(int replicas, const std::string& color, const std::string& message) {
    std::ofstream(repo_dir_ + "/app/deployment.yaml")
        << absl::StrReplaceAll(kDeployment, {{"REPLICAS", absl::StrCat(replicas)}});
    std::ofstream(repo_dir_ + "/app/configmap.yaml")
        << absl::StrReplaceAll(kConfigMap, {{"COLOR", color}});
    Git("add -A");
    Git(absl::StrCat("commit -q -m '", message, "'"));
  }

  json AppManifest(bool automated) {
    json app = {{"apiVersion", "argoproj.io/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", "guestbook"}, {"namespace", "argocd"}}},
                {"spec",
                 {{"project", "default"},
                  {"source",
                   {{"repoURL", absl::StrCat("file://", repo_dir_)},
                    {"path", "app"},
                    {"targetRevision", "HEAD"}}},
                  {"destination",
                   {{"server", "https://kubernetes.default.svc"}, {"namespace", "default"}}}}}};
    if (automated) {
      app["spec"]["syncPolicy"] = {{"automated", {{"prune", true}, {"selfHeal", true}}}};
    }
    return app;
  }

  json Get() {
    auto a = apps_->GetObject("Application", "argocd", "guestbook");
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : json();
  }

  // Read-modify-write of the app, retried when the controller's own write
  // lands in between (as the API does).
  void Modify(const std::function<void(json&)>& change) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      json a = Get();
      change(a);
      absl::StatusOr<json> written = apps_->UpdateObject("Application", a);
      if (written.ok()) return;
      ASSERT_TRUE(absl::IsAborted(written.status())) << written.status();
    }
    FAIL() << "application kept changing";
  }

  json WaitFor(const std::string& what, const std::function<bool(const json&)>& pred,
               absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    json a;
    while (absl::Now() < deadline) {
      a = Get();
      if (pred(a)) return a;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; app: " << a.dump();
    return a;
  }

  json LiveDeployment() {
    auto d = cluster_->Get("Deployment", "default", "guestbook-ui");
    return d.ok() ? *d : json();
  }

  int LiveReplicas() {
    json d = LiveDeployment();
    if (!d.is_object()) return -1;
    return d["spec"].value("replicas", -1);
  }

  std::string LiveColor() {
    auto c = cluster_->Get("ConfigMap", "default", "guestbook-config");
    return c.ok() ? Str(Field(*c, "data"), "color") : "";
  }

  // What the API's Sync writes.
  void RequestSync() {
    Modify([](json& a) {
      a["operation"] = {{"sync", {{"revision", ""}}}, {"initiatedBy", {{"username", "test"}}}};
    });
  }

  json WaitSyncedHealthy(const std::string& revision) {
    return WaitFor("Synced and Healthy at " + revision, [&](const json& a) {
      return SyncStatus(a) == "Synced" && HealthStatus(a) == "Healthy" &&
             Str(Field(Field(a, "status"), "sync"), "revision") == revision &&
             !a.contains("operation");
    });
  }

  controller::FakeClock clock_;
  metrics::MetricsRegistry registry_;
  rollout::test_util::TestCluster env_;
  cluster::LocalCluster* cluster_ = nullptr;
  std::unique_ptr<store::InMemoryStore> cd_store_;
  std::unique_ptr<resource::ResourceApi> apps_;
  std::string repo_dir_;
  std::unique_ptr<repo::RepoServer> repos_;
  std::unique_ptr<CdController> controller_;
};

TEST_F(CdControllerTest, ManualSyncSelfHealPollAutoSyncHistoryAndRollback) {
  const std::string first = Head();
  // The default project exists from the start.
  EXPECT_OK(apps_->GetObject("AppProject", "argocd", "default").status());
  ASSERT_OK(apps_->CreateObject("Application", AppManifest(false), false).status());

  // Nothing deployed yet: OutOfSync, resources Missing, nothing applied.
  json app = WaitFor("OutOfSync", [](const json& a) { return SyncStatus(a) == "OutOfSync"; });
  EXPECT_EQ(HealthStatus(app), "Missing");
  EXPECT_EQ(Str(Field(app, "status"), "sourceType"), "Directory");
  EXPECT_EQ(Field(Field(app, "status"), "resources").size(), 2u);
  EXPECT_EQ(LiveReplicas(), -1);

  // A manual sync deploys it; the pods come up and the app is Healthy.
  RequestSync();
  app = WaitSyncedHealthy(first);
  EXPECT_EQ(OpPhase(app), "Succeeded");
  EXPECT_EQ(LiveReplicas(), 2);
  EXPECT_EQ(LiveColor(), "blue");
  // At rest the controller writes nothing: reconciles that find no change
  // (a requeue, a poll that is not due) leave the app's version alone.
  {
    const std::string version = Str(Field(Get(), "metadata"), "resourceVersion");
    for (int i = 0; i < 5; ++i) {
      controller_->Enqueue("argocd/guestbook");
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(Str(Field(Get(), "metadata"), "resourceVersion"), version);
  }
  ASSERT_EQ(History(app).size(), 1u);
  EXPECT_EQ(History(app)[0]["id"], 0);
  EXPECT_EQ(History(app)[0]["revision"], first);
  // The live objects carry Argo CD's tracking label and annotation.
  json live = LiveDeployment();
  EXPECT_EQ(Str(Field(Field(live, "metadata"), "labels"), "app.kubernetes.io/instance"),
            "guestbook");
  EXPECT_EQ(Str(Field(Field(live, "metadata"), "annotations"), "argocd.argoproj.io/tracking-id"),
            "guestbook:apps/Deployment:default/guestbook-ui");

  // A change by hand, with self-heal off: OutOfSync, and it stays.
  live["spec"]["replicas"] = 4;
  ASSERT_OK(cluster_->Update(live).status());
  WaitFor("OutOfSync after a change by hand",
          [](const json& a) { return SyncStatus(a) == "OutOfSync"; });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(LiveReplicas(), 4);
  // A manual sync puts it back, and is recorded.
  RequestSync();
  app = WaitFor("synced again", [&](const json& a) {
    return SyncStatus(a) == "Synced" && !a.contains("operation") && History(a).size() == 2;
  });
  EXPECT_EQ(LiveReplicas(), 2);
  EXPECT_EQ(History(app)[1]["id"], 1);

  // With automated sync, a new commit is seen at the next poll (fake clock)
  // and synced with no manual step.
  Modify([](json& a) {
    a["spec"]["syncPolicy"] = {{"automated", {{"prune", true}, {"selfHeal", true}}}};
  });
  Commit(2, "green", "second");
  const std::string second = Head();
  ASSERT_NE(first, second);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(LiveColor(), "blue") << "the new commit is not seen before the poll";
  clock_.Advance(absl::Minutes(3));
  app = WaitSyncedHealthy(second);
  EXPECT_EQ(LiveColor(), "green");
  ASSERT_EQ(History(app).size(), 3u);
  EXPECT_EQ(History(app)[2]["id"], 2);
  EXPECT_EQ(History(app)[2]["revision"], second);
  EXPECT_EQ(Field(Field(Field(app, "status"), "operationState"), "operation")["initiatedBy"].value(
                "automated", false),
            true);

  // Self-heal: a change by hand is reverted after the backoff by a selective
  // sync, which history does not record.
  live = LiveDeployment();
  live["spec"]["replicas"] = 5;
  ASSERT_OK(cluster_->Update(live).status());
  // (The first attempt may start at once; later ones wait for the backoff.)
  clock_.Advance(absl::Seconds(10));
  controller_->Enqueue("argocd/guestbook");
  app = WaitFor("self-healed", [&](const json& a) {
    return SyncStatus(a) == "Synced" && !a.contains("operation") && LiveReplicas() == 2;
  });
  EXPECT_EQ(History(app).size(), 3u);
  const json& healed = Field(Field(Field(app, "status"), "operationState"), "operation");
  EXPECT_TRUE(Field(Field(healed, "sync"), "autoHealAttemptsCount").is_number()) << healed.dump();
  EXPECT_EQ(Field(Field(healed, "sync"), "resources").size(), 1u) << "a selective sync";

  // Rollback to the first deployment (auto-sync off first, as Argo CD
  // requires), written as the API writes it.
  Modify([](json& a) { a["spec"].erase("syncPolicy"); });
  for (int attempt = 0; attempt < 50; ++attempt) {
    absl::StatusOr<json> rolled = api::WithRollbackOperation(Get(), 0, false, false, "test");
    ASSERT_OK(rolled.status());
    if (apps_->UpdateObject("Application", *rolled).ok()) break;
  }
  app = WaitFor("rolled back", [&](const json& a) {
    return OpPhase(a) == "Succeeded" && !a.contains("operation") && History(a).size() == 4;
  });
  EXPECT_EQ(LiveColor(), "blue");
  EXPECT_EQ(History(app)[3]["id"], 3);
  EXPECT_EQ(History(app)[3]["revision"], first);
  // Rolled back to an older commit than the branch: OutOfSync against HEAD.
  WaitFor("OutOfSync after rollback", [](const json& a) { return SyncStatus(a) == "OutOfSync"; });

  const std::string metrics = registry_.Serialize();
  EXPECT_THAT(metrics, ::testing::HasSubstr("argocd_app_sync_total{"));
  EXPECT_THAT(metrics, ::testing::HasSubstr("argocd_app_info{"));
}

TEST_F(CdControllerTest, RefusesOtherDestinationsAndUnknownProjects) {
  json app = AppManifest(true);
  app["spec"]["destination"]["server"] = "https://example.com:6443";
  ASSERT_OK(apps_->CreateObject("Application", app, false).status());
  app = WaitFor("InvalidSpecError", [](const json& a) {
    const json& c = Field(Field(a, "status"), "conditions");
    return c.is_array() && !c.empty() && Str(c[0], "type") == "InvalidSpecError";
  });
  EXPECT_THAT(Str(Field(app, "status")["conditions"][0], "message"),
              ::testing::HasSubstr("https://example.com:6443"));
  EXPECT_EQ(SyncStatus(app), "Unknown");
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(LiveReplicas(), -1) << "nothing deployed for a refused destination";

  Modify([](json& a) {
    a["spec"]["destination"]["server"] = "https://kubernetes.default.svc";
    a["spec"]["project"] = "nope";
  });
  app = WaitFor("unknown project", [](const json& a) {
    const json& c = Field(Field(a, "status"), "conditions");
    return c.is_array() && !c.empty() && Str(c[0], "message").find("nope") != std::string::npos;
  });
  EXPECT_EQ(LiveReplicas(), -1);
}

TEST_F(CdControllerTest, CascadingDeleteRemovesResourcesThenTheApp) {
  json app = AppManifest(true);
  app["metadata"]["finalizers"] = json::array({kResourcesFinalizer});
  ASSERT_OK(apps_->CreateObject("Application", app, false).status());
  WaitSyncedHealthy(Head());
  ASSERT_EQ(LiveReplicas(), 2);
  // What the API's cascading Delete does: mark the app deleted.
  Modify([](json& a) { a["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"; });
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && apps_->GetObject("Application", "argocd", "guestbook").ok()) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(apps_->GetObject("Application", "argocd", "guestbook").status(),
              ::argonaut::testing::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(LiveReplicas(), -1);
  EXPECT_EQ(LiveColor(), "");
}

}  // namespace
}  // namespace argonaut::cd
