// The diff against what the local runtime really stores: Argo CD's example
// manifests applied to a LocalCluster must show no drift, whatever defaults
// and controller-written fields the runtime adds; a change by hand must.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/yaml.h"
#include "services/cd/engine/compare.h"
#include "services/cd/engine/diff.h"
#include "services/cd/engine/tracking.h"
#include "services/rollout/test_util.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

std::vector<json> CorpusManifests(const std::string& path) {
  auto dir = argonaut::testing::TestCorpusDir("services/cd/engine/testdata/corpus_anchor.txt");
  EXPECT_TRUE(dir.ok()) << dir.status();
  if (!dir.ok()) return {};
  auto text = argonaut::testing::ReadTestFile(*dir / "argocd-example-apps" / path);
  EXPECT_TRUE(text.ok()) << path << ": " << text.status();
  if (!text.ok()) return {};
  auto docs = manifest::ParseDocuments(*text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() ? *docs : std::vector<json>{};
}

std::vector<json> Targets() {
  std::vector<json> out;
  for (const char* path : {"guestbook/guestbook-ui-deployment.yaml",
                           "guestbook/guestbook-ui-svc.yaml", "sync-waves/manifests.yaml"}) {
    for (json& m : CorpusManifests(path)) {
      // Hooks and generateName objects are not compared; the rest is.
      if (!m["metadata"].contains("name")) continue;
      if (m["metadata"].contains("annotations") &&
          m["metadata"]["annotations"].contains("argocd.argoproj.io/hook"))
        continue;
      out.push_back(PrepareTarget(m, "guestbook", "default"));
    }
  }
  // A cluster-scoped kind: no namespace in the target.
  out.push_back(PrepareTarget(
      json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "guestbook-ns"}}}},
      "guestbook", "default"));
  return out;
}

class DiffClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = rollout::test_util::StartTestCluster("cd-diff-");
    ASSERT_TRUE(t.ok()) << t.status();
    t_ = *std::move(t);
  }
  void TearDown() override {
    if (t_.cluster) t_.cluster->Stop();
  }

  // The live object once the runtime's controllers have had their say (the
  // Deployment controller writes annotations and status after the apply).
  json Settled(const json& target) {
    ResourceKey key = KeyOf(target);
    json live;
    for (int i = 0; i < 30; ++i) {
      auto got = t_.cluster->Get(key.kind, key.ns, key.name);
      EXPECT_TRUE(got.ok()) << key.ToString() << ": " << got.status();
      if (!got.ok()) return json();
      live = *got;
      if (key.kind == "Service" || key.kind == "ConfigMap" || key.kind == "Namespace" ||
          (live.contains("status") && live["status"].contains("observedGeneration")))
        break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return live;
  }

  rollout::test_util::TestCluster t_;
};

TEST_F(DiffClusterTest, AppliedManifestsAreInSync) {
  std::vector<json> targets = Targets();
  ASSERT_GE(targets.size(), 4u);
  for (const json& target : targets) ASSERT_OK(t_.cluster->Apply(WithLastApplied(target)));
  absl::SleepFor(absl::Milliseconds(500));
  for (const json& target : targets) {
    json live = Settled(target);
    auto d = Diff(&target, &live, json());
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_FALSE(d->modified) << KeyOf(target).ToString() << " shows drift:\n"
                              << d->text << "\nlive:\n"
                              << live.dump(2);
  }
}

TEST_F(DiffClusterTest, CompareReportsSynced) {
  std::vector<json> targets = Targets();
  for (const json& target : targets) ASSERT_OK(t_.cluster->Apply(WithLastApplied(target)));
  std::vector<json> live;
  for (const json& target : targets) live.push_back(Settled(target));
  // A stranger in the namespace is not the app's and is never passed in.
  ASSERT_OK(t_.cluster->Apply(json{{"apiVersion", "v1"},
                                   {"kind", "ConfigMap"},
                                   {"metadata", {{"name", "other"}, {"namespace", "default"}}}}));
  auto all = t_.cluster->List("ConfigMap", "default", "");
  ASSERT_TRUE(all.ok());
  for (const json& obj : *all) EXPECT_FALSE(BelongsTo(obj, "guestbook")) << obj.dump();
  json app = {{"metadata", {{"name", "guestbook"}}},
              {"spec", {{"destination", {{"namespace", "default"}}}}}};
  HealthScripts scripts;
  CompareResult r = Compare({.app = &app,
                             .targets = targets,
                             .live = live,
                             .revision = "0123456789abcdef0123456789abcdef01234567",
                             .scripts = &scripts});
  EXPECT_EQ(r.sync["status"], "Synced") << r.resources_status.dump(1);
  EXPECT_EQ(r.resources.size(), targets.size());
  for (const ResourceState& s : r.resources) EXPECT_EQ(s.sync_status, "Synced") << s.key.ToString();
  EXPECT_TRUE(r.health.contains("status"));
}

TEST_F(DiffClusterTest, AppliedWithoutLastAppliedAreInSync) {
  std::vector<json> targets = Targets();
  for (const json& target : targets) ASSERT_OK(t_.cluster->Apply(target));
  absl::SleepFor(absl::Milliseconds(500));
  for (const json& target : targets) {
    json live = Settled(target);
    auto d = Diff(&target, &live, json());
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_FALSE(d->modified) << KeyOf(target).ToString() << " shows drift:\n" << d->text;
  }
}

TEST_F(DiffClusterTest, ChangeByHandIsDrift) {
  std::vector<json> targets = Targets();
  const json& deployment = targets[0];
  ASSERT_EQ(KeyOf(deployment).kind, "Deployment");
  ASSERT_OK(t_.cluster->Apply(WithLastApplied(deployment)));
  json live = Settled(deployment);
  live["spec"]["replicas"] = 3;
  live["metadata"].erase("resourceVersion");
  ASSERT_OK(t_.cluster->Update(live));
  live = Settled(deployment);
  auto d = Diff(&deployment, &live, json());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->modified);
  EXPECT_THAT(d->text, ::testing::HasSubstr("-  replicas: 3\n+  replicas: 1\n"));
  // ... unless the app ignores it.
  json ignore = {{{"group", "apps"}, {"kind", "Deployment"}, {"jsonPointers", {"/spec/replicas"}}}};
  d = Diff(&deployment, &live, ignore);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->modified) << d->text;
}

}  // namespace
}  // namespace argonaut::cd::engine
