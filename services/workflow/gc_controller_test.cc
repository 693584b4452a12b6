// The retention controller over in-memory stores and a fake clock: archive, podGC and TTL happen
// at exactly the instants the decisions say, and not a moment before.
#include "services/workflow/gc_controller.h"

#include <functional>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

// Waits (real time) for background threads to reach a state.
bool Eventually(const std::function<bool()>& cond, absl::Duration limit = absl::Seconds(10)) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return cond();
}

class RetentionControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ckinds = resource::KindsOfService("cluster");
    cstore_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(ckinds)});
    capi_ = std::make_unique<resource::ResourceApi>(cstore_.get(), ckinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(capi_.get());
    auto wkinds = resource::KindsOfService("workflow");
    std::vector<std::string> families = resource::ResourceApi::ColumnFamilies(wkinds);
    families.push_back(archive::kArchiveFamily);
    wstore_ = *store::InMemoryStore::Create({.kinds = families});
    wapi_ = std::make_unique<resource::ResourceApi>(wstore_.get(), wkinds);
    archive_ = std::make_unique<archive::WorkflowArchive>(wstore_.get());
  }
  void TearDown() override {
    if (gc_) gc_->Stop();
  }

  void StartController(gc::RetentionConfig defaults) {
    gc_ = std::make_unique<RetentionController>(
        wapi_.get(), cluster_.get(), archive_.get(),
        RetentionControllerOptions{.defaults = std::move(defaults), .clock = &clock_});
    ASSERT_OK(gc_->Start());
  }

  std::string At(absl::Duration d) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now() + d, absl::UTCTimeZone());
  }

  // A finished workflow with two pods: node ok (Succeeded) and node bad (Failed).
  std::string CreateFinished(json spec, const std::string& phase = "Succeeded") {
    spec["entrypoint"] = "main";
    spec["templates"] = json::array({{{"name", "main"}, {"container", {{"image", "alpine"}}}}});
    json wf = {{"apiVersion", "argoproj.io/v1alpha1"},
               {"kind", "Workflow"},
               {"metadata", {{"name", "wf"}, {"namespace", "default"}}},
               {"spec", spec},
               {"status",
                {{"phase", phase},
                 {"startedAt", At(-absl::Minutes(1))},
                 {"finishedAt", At(absl::ZeroDuration())},
                 {"nodes",
                  {{"wf-ok",
                    {{"id", "wf-ok"},
                     {"name", "wf.ok"},
                     {"type", "Pod"},
                     {"phase", "Succeeded"},
                     {"finishedAt", At(absl::ZeroDuration())}}},
                   {"wf-bad",
                    {{"id", "wf-bad"},
                     {"name", "wf.bad"},
                     {"type", "Pod"},
                     {"phase", "Failed"},
                     {"finishedAt", At(absl::ZeroDuration())}}}}}}}};
    auto created = wapi_->CreateObject("Workflow", wf, false);
    EXPECT_OK(created.status());
    if (!created.ok()) return "";
    if (!(*created).contains("status") || (*created)["status"].value("phase", "") != phase) {
      wf["metadata"] = (*created)["metadata"];
      EXPECT_OK(wapi_->UpdateStatusObject("Workflow", wf).status());
    }
    for (const char* node : {"ok", "bad"}) {
      json pod = {
          {"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", absl::StrCat("wf-", node)},
            {"namespace", "default"},
            {"labels", {{"workflows.argoproj.io/workflow", "wf"}}},
            {"annotations", {{"workflows.argoproj.io/node-id", absl::StrCat("wf-", node)}}}}},
          {"spec", {{"containers", json::array({{{"name", "main"}, {"image", "alpine"}}})}}}};
      EXPECT_OK(cluster_->Create(pod).status());
    }
    return (*created)["metadata"].value("uid", "");
  }

  bool WorkflowExists() { return wapi_->GetObject("Workflow", "default", "wf").ok(); }
  bool PodExists(const std::string& name) { return cluster_->Get("Pod", "default", name).ok(); }
  std::string ArchivingLabel() {
    auto wf = wapi_->GetObject("Workflow", "default", "wf");
    if (!wf.ok()) return "";
    return (*wf)["metadata"].value("labels", json::object()).value(gc::kArchivingStatusLabel, "");
  }

  controller::FakeClock clock_;
  std::unique_ptr<store::Store> cstore_, wstore_;
  std::unique_ptr<resource::ResourceApi> capi_, wapi_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<archive::WorkflowArchive> archive_;
  std::unique_ptr<RetentionController> gc_;
};

TEST_F(RetentionControllerTest, ArchivesThenDeletesAtTtlAndCollectsSucceededPods) {
  const std::string uid = CreateFinished({{"ttlStrategy", {{"secondsAfterCompletion", 30}}},
                                          {"podGC", {{"strategy", "OnPodSuccess"}}}});
  ASSERT_FALSE(uid.empty());
  StartController({.archive = true});
  ASSERT_TRUE(Eventually([&] { return ArchivingLabel() == gc::kArchived; }));
  ASSERT_TRUE(Eventually([&] { return !PodExists("wf-ok"); }));
  EXPECT_TRUE(PodExists("wf-bad"));  // OnPodSuccess keeps failed pods
  ASSERT_OK(archive_->Get(uid).status());

  clock_.Advance(absl::Seconds(29));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_TRUE(WorkflowExists()) << "deleted before secondsAfterCompletion";

  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(Eventually([&] { return !WorkflowExists(); }));
  // The archived copy outlives the live workflow, nodes and all.
  auto archived = archive_->Get(uid);
  ASSERT_OK(archived.status());
  EXPECT_EQ((*archived)["status"]["nodes"]["wf-ok"]["phase"], "Succeeded");
}

TEST_F(RetentionControllerTest, DeleteDelayAndControllerDefaults) {
  CreateFinished(json::object(), "Failed");
  // Defaults from the server: pods of completed workflows after 10 s, the workflow after a minute
  // when it failed; no archive.
  StartController(
      {.default_ttl_strategy = {{"secondsAfterFailure", 60}},
       .default_pod_gc = {{"strategy", "OnWorkflowCompletion"}, {"deleteDelayDuration", "10s"}}});
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_TRUE(PodExists("wf-ok"));
  EXPECT_TRUE(PodExists("wf-bad"));
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(Eventually([&] { return !PodExists("wf-ok") && !PodExists("wf-bad"); }));
  EXPECT_TRUE(WorkflowExists());
  EXPECT_EQ(ArchivingLabel(), "");
  clock_.Advance(absl::Seconds(50));
  ASSERT_TRUE(Eventually([&] { return !WorkflowExists(); }));
}

TEST_F(RetentionControllerTest, ConfigMapOverridesDefaultsAndArchiveTtlSweeps) {
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", kControllerConfigMap}, {"namespace", "argo"}}},
             {"data",
              {{"persistence", "archive: true\narchiveTTL: 1h\n"},
               {"workflowDefaults", "spec:\n  ttlStrategy:\n    secondsAfterSuccess: 5\n"}}}};
  ASSERT_OK(cluster_->Create(cm).status());
  const std::string uid = CreateFinished(json::object());
  StartController({});
  ASSERT_TRUE(Eventually([&] { return archive_->Get(uid).ok(); }));
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(Eventually([&] { return !WorkflowExists(); }));
  EXPECT_OK(archive_->Get(uid).status());
  // The sweep runs every minute; the copy goes once it finished more than an hour ago.
  for (int i = 0; i < 61 && archive_->Get(uid).ok(); ++i) {
    clock_.Advance(absl::Minutes(1));
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(Eventually([&] { return !archive_->Get(uid).ok(); }));
}

}  // namespace
}  // namespace argonaut::workflow
