#include "services/cd/engine/sync_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/yaml.h"
#include "services/cd/engine/sync_tasks.h"
#include "services/cd/engine/tracking.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

constexpr char kRevision[] = "0123456789abcdef0123456789abcdef01234567";

json Obj(std::string api_version, std::string kind, std::string name, json annotations = nullptr) {
  json o = {{"apiVersion", api_version}, {"kind", kind}, {"metadata", {{"name", name}}}};
  if (!annotations.is_null()) o["metadata"]["annotations"] = annotations;
  if (kind == "ReplicaSet" || kind == "Deployment") o["spec"] = {{"replicas", 1}};
  return o;
}

json Hook(std::string name, std::string phase, json more = json::object()) {
  json annotations = {{"argocd.argoproj.io/hook", phase}};
  annotations.update(more);
  return Obj("batch/v1", "Job", name, annotations);
}

const char* TypeName(SyncAction::Type t) {
  switch (t) {
    case SyncAction::Type::kApply:
      return "apply";
    case SyncAction::Type::kCreate:
      return "create";
    case SyncAction::Type::kReplace:
      return "replace";
    case SyncAction::Type::kDelete:
      return "delete";
  }
  return "?";
}

// A cluster that does what the actions say, and an app whose status carries the operation
// state from step to step, as the controller keeps it.
class Sim {
 public:
  explicit Sim(std::vector<json> manifests, json operation = {{"sync", json::object()}}) {
    app_ = {{"metadata", {{"name", "app"}}},
            {"spec",
             {{"source", {{"repoURL", "https://git.example/repo"}, {"path", "app"}}},
              {"destination",
               {{"server", "https://kubernetes.default.svc"}, {"namespace", "default"}}}}},
            {"operation", operation}};
    app_["operation"]["initiatedBy"] = {{"username", "admin"}};
    for (const json& m : manifests) targets_.push_back(PrepareTarget(m, "app", "default"));
  }

  json& app() { return app_; }
  std::vector<json>& targets() { return targets_; }
  std::vector<std::string>& log() { return log_; }
  std::vector<json>& history() { return history_; }
  absl::Time& now() { return now_; }
  const json& state() const { return app_["status"]["operationState"]; }

  // Put an object in the cluster as if an earlier sync had made it.
  void AddLive(const json& manifest) {
    json obj = PrepareTarget(manifest, "app", "default");
    cluster_[KeyOf(obj)] = obj;
  }
  bool Has(std::string_view kind, std::string_view name) const {
    for (const auto& [k, v] : cluster_) {
      if (k.kind == kind && k.name == name) return true;
    }
    return false;
  }
  void Remove(std::string_view kind, std::string_view name) {
    for (auto it = cluster_.begin(); it != cluster_.end(); ++it) {
      if (it->first.kind == kind && it->first.name == name) {
        cluster_.erase(it);
        return;
      }
    }
  }
  // Jobs run until told how they ended (matched by name prefix).
  void FinishJob(std::string prefix, bool ok) { jobs_[prefix] = ok; }
  void set_workloads_healthy(bool healthy) { workloads_healthy_ = healthy; }

  SyncStepOutput Step() {
    SyncStepInput in{.app = &app_, .targets = targets_, .revision = kRevision, .now = now_};
    for (const auto& [key, obj] : cluster_) in.live.push_back(WithStatus(obj));
    SyncStepOutput out = SyncStep(in);
    for (const SyncAction& a : out.actions) {
      log_.push_back(absl::StrCat(TypeName(a.type), " ", a.key.kind, "/", a.key.name));
      if (a.type == SyncAction::Type::kDelete) {
        cluster_.erase(a.key);
        deletes_.push_back(a);
      } else {
        cluster_[a.key] = a.object;
      }
    }
    app_["status"]["operationState"] = out.operation_state;
    if (out.done) app_.erase("operation");
    if (out.history_entry) history_.push_back(*out.history_entry);
    now_ += out.requeue_after.value_or(absl::Seconds(1));
    return out;
  }

  // Steps until the operation is done (bounded), returning the last output.
  SyncStepOutput RunToEnd(int max_steps = 30) {
    SyncStepOutput out;
    for (int i = 0; i < max_steps; ++i) {
      out = Step();
      if (out.done) break;
    }
    return out;
  }

  const std::vector<SyncAction>& deletes() const { return deletes_; }

 private:
  json WithStatus(json obj) const {
    std::string kind = obj.value("kind", "");
    std::string name = obj["metadata"].value("name", "");
    if (kind == "Job") {
      for (const auto& [prefix, ok] : jobs_) {
        if (absl::StartsWith(name, prefix)) {
          obj["status"]["conditions"] =
              json::array({{{"type", ok ? "Complete" : "Failed"},
                            {"status", "True"},
                            {"message", ok ? "" : "BackoffLimitExceeded"}}});
        }
      }
    } else if ((kind == "ReplicaSet" || kind == "Deployment") && workloads_healthy_) {
      int replicas = obj["spec"].value("replicas", 1);
      obj["status"] = {
          {"replicas", replicas}, {"updatedReplicas", replicas}, {"availableReplicas", replicas}};
    }
    return obj;
  }

  json app_;
  std::vector<json> targets_;
  std::map<ResourceKey, json> cluster_;
  std::map<std::string, bool> jobs_;
  bool workloads_healthy_ = true;
  std::vector<std::string> log_;
  std::vector<json> history_;
  std::vector<SyncAction> deletes_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

const json* Entry(const json& state, std::string_view kind, std::string_view name_prefix,
                  std::string_view phase = "") {
  for (const json& e : state["syncResult"]["resources"]) {
    if (e["kind"] == kind && e["name"].get<std::string>().rfind(std::string(name_prefix), 0) == 0 &&
        (phase.empty() || e["syncPhase"] == phase)) {
      return &e;
    }
  }
  return nullptr;
}

std::vector<json> Corpus(const std::string& dir, const std::string& file) {
  auto corpus = testing::TestCorpusDir("services/cd/engine/testdata/corpus_anchor.txt");
  if (!corpus.ok()) return {};
  auto text = testing::ReadTestFile(*corpus / "argocd-example-apps" / dir / file);
  if (!text.ok()) return {};
  auto docs = manifest::ParseDocuments(*text);
  return docs.ok() ? *docs : std::vector<json>{};
}

TEST(SyncStep, SyncWavesRunInOrderAndWaitForHooksAndHealth) {
  std::vector<json> docs = Corpus("sync-waves", "manifests.yaml");
  if (docs.empty()) GTEST_SKIP() << "argocd-example-apps corpus not found";
  Sim sim(docs);
  const std::string presync = "upgrade-sql-schema0123456-presync-1700000000";

  SyncStepOutput out = sim.Step();
  EXPECT_EQ(out.operation_state["phase"], "Running");
  EXPECT_EQ(out.operation_state["message"],
            "waiting for completion of hook batch/Job/" + presync + " and 6 more hooks");
  EXPECT_EQ(out.operation_state["startedAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(out.requeue_after, absl::Seconds(2));
  EXPECT_EQ(sim.log(), std::vector<std::string>{"create Job/" + presync});
  const json* hook = Entry(sim.state(), "Job", "upgrade-sql-schema");
  ASSERT_NE(hook, nullptr);
  EXPECT_EQ((*hook)["hookType"], "PreSync");
  EXPECT_EQ((*hook)["hookPhase"], "Running");
  EXPECT_EQ((*hook)["syncPhase"], "PreSync");

  // The hook runs: nothing else happens.
  out = sim.Step();
  EXPECT_EQ(out.operation_state["message"], "waiting for completion of hook batch/Job/" + presync);
  EXPECT_TRUE(out.actions.empty());

  sim.FinishJob("upgrade-sql-schema", true);
  out = sim.Step();
  EXPECT_EQ((*Entry(sim.state(), "Job", "upgrade-sql-schema"))["hookPhase"], "Succeeded");
  EXPECT_EQ(sim.log().back(), "apply ReplicaSet/backend");

  sim.FinishJob("maint-page-up", true);
  sim.FinishJob("maint-page-down", true);
  out = sim.RunToEnd();
  EXPECT_EQ(sim.log(), (std::vector<std::string>{
                           "create Job/" + presync,
                           "apply Service/backend",
                           "apply ReplicaSet/backend",
                           "create Job/maint-page-up",
                           "apply Service/frontend",
                           "apply ReplicaSet/frontend",
                           "create Job/maint-page-down",
                       }));
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(out.operation_state["message"], "successfully synced (no more tasks)");
  EXPECT_TRUE(out.operation_state.contains("finishedAt"));
  EXPECT_EQ(out.operation_state["syncResult"]["revision"], kRevision);
  EXPECT_EQ(out.operation_state["syncResult"]["resources"].size(), 7u);
  const json* rs = Entry(sim.state(), "ReplicaSet", "frontend");
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ((*rs)["status"], "Synced");
  EXPECT_EQ((*rs)["version"], "v1");
  EXPECT_EQ((*rs)["group"], "apps");
  EXPECT_EQ((*rs)["hookPhase"], "Succeeded");
  ASSERT_EQ(sim.history().size(), 1u);
  EXPECT_EQ(sim.history()[0]["revision"], kRevision);
  EXPECT_EQ(sim.history()[0]["source"]["path"], "app");
  EXPECT_EQ(sim.history()[0]["initiatedBy"]["username"], "admin");
  EXPECT_EQ(sim.history()[0]["deployStartedAt"], "2023-11-14T22:13:20Z");
  EXPECT_FALSE(sim.app().contains("operation"));

  // A second sync: the named hooks with BeforeHookCreation are deleted before they run again.
  sim.app()["operation"] = {{"sync", json::object()}};
  sim.log().clear();
  sim.RunToEnd();
  EXPECT_EQ(sim.state()["phase"], "Succeeded");
  ASSERT_GE(sim.log().size(), 5u);
  EXPECT_TRUE(absl::StartsWith(sim.log()[0], "create Job/upgrade-sql-schema0123456-presync-"));
  EXPECT_NE(sim.log()[0], "create Job/" + presync) << "a new start time, a new generated name";
  EXPECT_NE(std::find(sim.log().begin(), sim.log().end(), "delete Job/maint-page-up"),
            sim.log().end());
  auto del = std::find(sim.log().begin(), sim.log().end(), "delete Job/maint-page-up");
  auto create = std::find(sim.log().begin(), sim.log().end(), "create Job/maint-page-up");
  EXPECT_LT(del, create);
}

TEST(SyncStep, PrePostSyncCorpusRunsHooksAroundTheAppAndDeletesThem) {
  // pre-post-sync is kustomize-guestbook plus two hooks, under the kustomizations' namePrefixes.
  std::vector<json> docs;
  for (const char* file : {"guestbook-ui-deployment.yaml", "guestbook-ui-svc.yaml"}) {
    for (json& d : Corpus("kustomize-guestbook", file)) {
      d["metadata"]["name"] = "pre-post-sync-kustomize-" + d["metadata"]["name"].get<std::string>();
      docs.push_back(d);
    }
  }
  for (const char* file : {"pre-sync-job.yaml", "post-sync-job.yaml"}) {
    for (json& d : Corpus("pre-post-sync", file)) {
      d["metadata"]["name"] = "pre-post-sync-" + d["metadata"]["name"].get<std::string>();
      docs.push_back(d);
    }
  }
  if (docs.size() != 4) GTEST_SKIP() << "argocd-example-apps corpus not found";
  Sim sim(docs);
  sim.FinishJob("pre-post-sync-before", true);
  sim.FinishJob("pre-post-sync-after", true);
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(), (std::vector<std::string>{
                           "create Job/pre-post-sync-before",
                           "apply Service/pre-post-sync-kustomize-guestbook-ui",
                           "apply Deployment/pre-post-sync-kustomize-guestbook-ui",
                           "create Job/pre-post-sync-after",
                           "delete Job/pre-post-sync-before",
                           "delete Job/pre-post-sync-after",
                       }));
  EXPECT_EQ((*Entry(sim.state(), "Job", "pre-post-sync-after"))["hookType"], "PostSync");
}

TEST(SyncStep, FinalWaveWithoutHooksIsNotAwaited) {
  Sim sim(std::vector<json>{Obj("apps/v1", "Deployment", "web"), Obj("v1", "Service", "web")});
  sim.set_workloads_healthy(false);
  SyncStepOutput out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(out.operation_state["message"], "successfully synced (all tasks run)");
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"apply Service/web", "apply Deployment/web"}));
  EXPECT_EQ((*Entry(sim.state(), "Deployment", "web"))["message"], "deployment.apps/web created");
  EXPECT_EQ((*Entry(sim.state(), "Service", "web"))["message"], "service/web created");
  EXPECT_FALSE(out.requeue_after.has_value());
}

TEST(SyncStep, EarlierWaveWaitsForHealthyState) {
  Sim sim(
      std::vector<json>{Obj("apps/v1", "Deployment", "web"),
                        Obj("v1", "ConfigMap", "after", {{"argocd.argoproj.io/sync-wave", "1"}})});
  sim.set_workloads_healthy(false);
  sim.Step();
  SyncStepOutput out = sim.Step();
  EXPECT_EQ(out.operation_state["message"], "waiting for healthy state of apps/Deployment/web");
  EXPECT_TRUE(out.actions.empty());
  sim.set_workloads_healthy(true);
  out = sim.Step();
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"apply Deployment/web", "apply ConfigMap/after"}));
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");

  // A resource that vanished while it was awaited fails the operation.
  Sim gone(
      std::vector<json>{Obj("apps/v1", "Deployment", "web"),
                        Obj("v1", "ConfigMap", "after", {{"argocd.argoproj.io/sync-wave", "1"}})});
  gone.set_workloads_healthy(false);
  gone.Step();
  gone.Remove("Deployment", "web");
  out = gone.Step();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_EQ(out.operation_state["message"],
            "one or more synchronization tasks completed unsuccessfully");
  EXPECT_EQ((*Entry(gone.state(), "Deployment", "web"))["message"],
            "Resource apps/Deployment/default/web is missing");
}

TEST(SyncStep, FailedPreSyncHookRunsSyncFailHooks) {
  Sim sim(std::vector<json>{
      Hook("before", "PreSync", {{"argocd.argoproj.io/hook-delete-policy", "HookFailed"}}),
      Hook("cleanup", "SyncFail"), Obj("v1", "ConfigMap", "cfg")});
  sim.Step();
  EXPECT_EQ(sim.log(), std::vector<std::string>{"create Job/before"});
  sim.FinishJob("before", false);
  SyncStepOutput out = sim.Step();
  // The HookFailed hook goes, the SyncFail hook starts, the operation is not over yet.
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"create Job/before", "delete Job/before",
                                                 "create Job/cleanup"}));
  EXPECT_EQ(out.operation_state["phase"], "Running");
  EXPECT_FALSE(out.done);
  const json* before = Entry(sim.state(), "Job", "before");
  EXPECT_EQ((*before)["hookPhase"], "Failed");
  EXPECT_EQ((*before)["message"], "BackoffLimitExceeded");
  out = sim.Step();
  EXPECT_EQ(out.operation_state["message"], "waiting for completion of hook batch/Job/cleanup");
  sim.FinishJob("cleanup", true);
  out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_EQ(out.operation_state["message"],
            "one or more synchronization tasks completed unsuccessfully");
  EXPECT_EQ((*Entry(sim.state(), "Job", "cleanup"))["hookPhase"], "Succeeded");
  EXPECT_EQ(Entry(sim.state(), "ConfigMap", "cfg"), nullptr) << "the Sync phase never ran";
  EXPECT_TRUE(sim.history().empty());
}

TEST(SyncStep, HookSucceededHooksAreDeletedAtTheEnd) {
  Sim sim(
      {Hook("before", "PreSync", {{"argocd.argoproj.io/hook-delete-policy", "HookSucceeded"}}),
       Obj("v1", "ConfigMap", "cfg"),
       Hook("after", "PostSync", {{"argocd.argoproj.io/hook-delete-policy", "HookSucceeded"}})});
  sim.FinishJob("before", true);
  sim.FinishJob("after", true);
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"create Job/before", "apply ConfigMap/cfg",
                                                 "create Job/after", "delete Job/before",
                                                 "delete Job/after"}));
  EXPECT_FALSE(sim.Has("Job", "before"));
}

TEST(SyncStep, PruneOnlyWhenAskedInMirroredWaveOrder) {
  std::vector<json> manifests = {Obj("v1", "ConfigMap", "keep")};
  json a = Obj("v1", "ConfigMap", "a", {{"argocd.argoproj.io/sync-wave", "0"}});
  json b = Obj("v1", "ConfigMap", "b", {{"argocd.argoproj.io/sync-wave", "1"}});
  json c = Obj("v1", "ConfigMap", "c", {{"argocd.argoproj.io/sync-options", "Prune=false"}});

  Sim no_prune(manifests);
  no_prune.AddLive(a);
  no_prune.AddLive(b);
  SyncStepOutput out = no_prune.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(no_prune.log(), std::vector<std::string>{"apply ConfigMap/keep"});
  EXPECT_EQ((*Entry(no_prune.state(), "ConfigMap", "a"))["status"], "PruneSkipped");
  EXPECT_EQ((*Entry(no_prune.state(), "ConfigMap", "a"))["message"], "ignored (requires pruning)");

  Sim prune(manifests,
            {{"sync", {{"prune", true}, {"syncOptions", {"PrunePropagationPolicy=background"}}}}});
  prune.AddLive(a);
  prune.AddLive(b);
  prune.AddLive(c);
  out = prune.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  // Prune waves are mirrored: b (wave 1) is pruned in wave 0, before the apply of that wave;
  // a (wave 0) in wave 1.
  EXPECT_EQ(prune.log(), (std::vector<std::string>{"delete ConfigMap/b", "apply ConfigMap/keep",
                                                   "delete ConfigMap/a"}));
  EXPECT_EQ(prune.deletes()[0].propagation, "background");
  EXPECT_EQ((*Entry(prune.state(), "ConfigMap", "b"))["status"], "Pruned");
  EXPECT_EQ((*Entry(prune.state(), "ConfigMap", "b"))["message"], "pruned");
  EXPECT_EQ((*Entry(prune.state(), "ConfigMap", "c"))["status"], "PruneSkipped");
  EXPECT_EQ((*Entry(prune.state(), "ConfigMap", "c"))["message"], "ignored (no prune)");
  EXPECT_TRUE(prune.Has("ConfigMap", "c"));
}

TEST(SyncStep, PruneConfirmWaitsForApproval) {
  Sim sim(std::vector<json>{Obj("v1", "ConfigMap", "keep")}, {{"sync", {{"prune", true}}}});
  sim.AddLive(
      Obj("v1", "ConfigMap", "precious", {{"argocd.argoproj.io/sync-options", "Prune=confirm"}}));
  SyncStepOutput out = sim.Step();
  EXPECT_FALSE(out.done);
  EXPECT_EQ(out.operation_state["message"],
            "Waiting for pruning confirmation of v1/ConfigMap/precious");
  EXPECT_TRUE(out.actions.empty());
  out = sim.Step();
  EXPECT_TRUE(out.actions.empty());
  // Approved after the operation started.
  sim.app()["metadata"]["annotations"]["argocd.argoproj.io/deletion-approved"] =
      FormatK8sTime(sim.now());
  out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(),
            (std::vector<std::string>{"delete ConfigMap/precious", "apply ConfigMap/keep"}));
}

TEST(SyncStep, SelectiveSyncSkipsHooksAndHistory) {
  Sim sim(std::vector<json>{Hook("before", "PreSync"), Obj("v1", "ConfigMap", "one"),
                            Obj("v1", "ConfigMap", "two")},
          {{"sync", {{"resources", {{{"group", ""}, {"kind", "ConfigMap"}, {"name", "two"}}}}}}});
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(), std::vector<std::string>{"apply ConfigMap/two"});
  EXPECT_FALSE(out.history_entry.has_value());

  // The apply strategy skips hooks too, but records history.
  Sim apply(std::vector<json>{Hook("before", "PreSync"), Obj("v1", "ConfigMap", "one")},
            {{"sync", {{"syncStrategy", {{"apply", {{"force", false}}}}}}}});
  out = apply.RunToEnd();
  EXPECT_EQ(apply.log(), std::vector<std::string>{"apply ConfigMap/one"});
  EXPECT_EQ(apply.history().size(), 1u);
}

TEST(SyncStep, DryRunTouchesNothing) {
  Sim sim(std::vector<json>{Hook("before", "PreSync"), Obj("apps/v1", "Deployment", "web")},
          {{"sync", {{"dryRun", true}, {"prune", true}}}});
  sim.AddLive(Obj("v1", "ConfigMap", "old"));
  sim.AddLive(Obj("apps/v1", "Deployment", "web"));
  SyncStepOutput out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ((*Entry(sim.state(), "Deployment", "web"))["message"],
            "deployment.apps/web configured (dry run)");
  EXPECT_EQ((*Entry(sim.state(), "Job", "before"))["message"],
            "job.batch/before created (dry run)");
  EXPECT_EQ((*Entry(sim.state(), "ConfigMap", "old"))["message"], "pruned (dry run)");
  EXPECT_FALSE(out.history_entry.has_value());
}

TEST(SyncStep, InvalidObjectFailsTheDryRun) {
  json nameless = Obj("v1", "ConfigMap", "");
  Sim sim(std::vector<json>{Obj("v1", "ConfigMap", "fine"), nameless});
  SyncStepOutput out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_EQ(out.operation_state["message"], "one or more objects failed to apply (dry run)");
  const json* e = Entry(sim.state(), "ConfigMap", "");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ((*e)["status"], "SyncFailed");
  EXPECT_EQ((*e)["message"], "metadata.name: required");
}

TEST(SyncStep, CreateNamespaceAndReplace) {
  Sim sim(std::vector<json>{Obj("v1", "ConfigMap", "cfg",
                                {{"argocd.argoproj.io/sync-options", "Replace=true"}}),
                            Obj("v1", "Secret", "s")},
          {{"sync", {{"syncOptions", {"CreateNamespace=true"}}}}});
  sim.AddLive(Obj("v1", "ConfigMap", "cfg"));
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"apply Namespace/default", "apply Secret/s",
                                                 "replace ConfigMap/cfg"}));
  EXPECT_EQ((*Entry(sim.state(), "ConfigMap", "cfg"))["message"], "configmap/cfg replaced");
}

TEST(SyncStep, ApplyOutOfSyncOnlySkipsUnchangedResources) {
  json same = Obj("v1", "ConfigMap", "same");
  same["data"] = {{"k", "v"}};
  json changed = Obj("v1", "ConfigMap", "changed");
  changed["data"] = {{"k", "new"}};
  Sim sim(
      std::vector<json>{same, changed, Obj("v1", "ConfigMap", "added"), Hook("always", "PreSync")},
      {{"sync", {{"syncOptions", {"ApplyOutOfSyncOnly=true"}}}}});
  sim.AddLive(same);
  json old = changed;
  old["data"]["k"] = "old";
  sim.AddLive(old);
  sim.FinishJob("always", true);
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["phase"], "Succeeded");
  EXPECT_EQ(sim.log(), (std::vector<std::string>{"create Job/always", "apply ConfigMap/added",
                                                 "apply ConfigMap/changed"}));
  EXPECT_EQ(Entry(sim.state(), "ConfigMap", "same"), nullptr);
  EXPECT_EQ(sim.history().size(), 1u);
}

TEST(SyncStep, RecordActionFailureFailsTheNextStep) {
  Sim sim(
      std::vector<json>{Obj("apps/v1", "Deployment", "web"),
                        Obj("v1", "ConfigMap", "later", {{"argocd.argoproj.io/sync-wave", "1"}})});
  SyncStepOutput out = sim.Step();
  ASSERT_EQ(out.actions.size(), 1u);
  json state = sim.state();
  RecordActionFailure(state, out.actions[0], "admission webhook denied the request");
  sim.app()["status"]["operationState"] = state;
  out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_EQ(out.operation_state["message"],
            "one or more synchronization tasks completed unsuccessfully, reason: admission "
            "webhook denied the request");
}

TEST(SyncStep, RetriesWithBackoff) {
  Sim sim(
      std::vector<json>{Obj("apps/v1", "Deployment", "web"),
                        Obj("v1", "ConfigMap", "later", {{"argocd.argoproj.io/sync-wave", "1"}})},
      {{"sync", json::object()},
       {"retry", {{"limit", 2}, {"backoff", {{"duration", "10s"}, {"factor", 3}}}}}});
  // One attempt: the first wave is applied, its apply fails, the next step fails the operation.
  auto fail_first_apply = [&] {
    SyncStepOutput out = sim.Step();
    if (out.actions.empty()) {
      ADD_FAILURE() << "no action to fail: " << out.operation_state;
      return out;
    }
    json state = sim.state();
    RecordActionFailure(state, out.actions[0], "boom");
    sim.app()["status"]["operationState"] = state;
    return sim.Step();
  };
  // The failing step runs at 1700001000 (the first one asks to come back 2 s later).
  sim.now() = absl::FromUnixSeconds(1700000998);
  SyncStepOutput out = fail_first_apply();
  EXPECT_FALSE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Running");
  EXPECT_EQ(out.operation_state["retryCount"], 1);
  EXPECT_EQ(out.requeue_after, absl::Seconds(10));
  EXPECT_EQ(out.operation_state["message"],
            "one or more synchronization tasks completed unsuccessfully, reason: boom. Retrying "
            "attempt #1 at 10:30PM.");

  // Too early: nothing happens, come back when the backoff is over.
  sim.now() = absl::FromUnixSeconds(1700001004);
  out = sim.Step();
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(out.requeue_after, absl::Seconds(6));

  // Attempt #1 starts over (fresh results, dry run again) and fails again: wait 10 s x 3.
  sim.now() = absl::FromUnixSeconds(1700001010);
  out = fail_first_apply();
  EXPECT_EQ(out.operation_state["retryCount"], 2);
  EXPECT_EQ(out.requeue_after, absl::Seconds(30));

  out = fail_first_apply();  // the simulation waited out the requeue
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_TRUE(
      absl::EndsWith(out.operation_state["message"].get<std::string>(), "(retried 2 times)."))
      << out.operation_state["message"];
}

TEST(RetryBackoff, Table) {
  struct Case {
    json retry;
    int count;
    std::optional<absl::Duration> want;
  } cases[] = {
      {json::object(), 1, absl::Seconds(5)},
      {json::object(), 2, absl::Seconds(10)},
      {json::object(), 3, absl::Seconds(20)},
      {json::object(), 10, absl::Minutes(3)},
      {{{"backoff", {{"duration", "30"}, {"factor", 1}}}}, 4, absl::Seconds(30)},
      {{{"backoff", {{"duration", "1m"}, {"maxDuration", "90s"}}}}, 2, absl::Seconds(90)},
      {{{"backoff", {{"duration", "soon"}}}}, 1, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RetryBackoff(c.retry, c.count), c.want) << c.retry << " #" << c.count;
  }
}

TEST(SyncStep, TerminateDeletesRunningHooks) {
  Sim sim(std::vector<json>{Hook("slow", "PreSync"), Obj("v1", "ConfigMap", "cfg")});
  sim.Step();
  json state = sim.state();
  state["phase"] = "Terminating";
  sim.app()["status"]["operationState"] = state;
  SyncStepOutput out = sim.Step();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.operation_state["phase"], "Failed");
  EXPECT_EQ(out.operation_state["message"], "Operation terminated");
  EXPECT_EQ(sim.log().back(), "delete Job/slow");
}

TEST(SyncStep, RollbackRecordsTheOperationsSource) {
  json old_source = {{"repoURL", "https://git.example/repo"}, {"path", "old-path"}};
  Sim sim(std::vector<json>{Obj("v1", "ConfigMap", "cfg")},
          {{"sync", {{"revision", "abc"}, {"source", old_source}}}});
  SyncStepOutput out = sim.RunToEnd();
  EXPECT_EQ(out.operation_state["syncResult"]["source"], old_source);
  ASSERT_EQ(sim.history().size(), 1u);
  EXPECT_EQ(sim.history()[0]["source"], old_source);
}

TEST(SyncStep, NoOperationIsDone) {
  json app = {{"metadata", {{"name", "app"}}}};
  SyncStepOutput out = SyncStep({.app = &app, .now = absl::FromUnixSeconds(0)});
  EXPECT_TRUE(out.done);
  EXPECT_TRUE(out.actions.empty());
}

}  // namespace
}  // namespace argonaut::cd::engine
