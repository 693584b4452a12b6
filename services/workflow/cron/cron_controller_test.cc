// The cron controller against a real (in-memory) workflow store: CronWorkflows
// on an `@every 1s` schedule create Workflows, history limits delete them,
// Replace terminates. Child phases are written by the test, standing in for
// the workflow controller. Time is a FakeClock: the test advances it and then
// waits (bounded, in real time) for a reconcile at the new instant; nothing
// sleeps to let time pass.
#include "services/workflow/cron/cron_controller.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::workflow::cron {
namespace {

using nlohmann::json;

class CronControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kinds = resource::KindsOfService("workflow");
    auto store =
        store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    ASSERT_OK(store.status());
    store_ = std::move(*store);
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds);
    controller_ = std::make_unique<CronWorkflowController>(
        api_.get(),
        CronControllerOptions{.workers = 2, .default_zone = absl::UTCTimeZone(), .clock = &clock_});
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
  }

  void Apply(const std::string& yaml) {
    auto docs = manifest::ParseDocuments(yaml);
    ASSERT_OK(docs.status());
    ASSERT_OK(api_->Create("CronWorkflow", (*docs)[0].dump(), /*upsert=*/true).status());
  }

  std::vector<json> Children(const std::string& cron) {
    auto listed =
        api_->ListObjects("Workflow", "default", std::string(kCronWorkflowLabel) + "=" + cron);
    EXPECT_OK(listed.status());
    return listed.ok() ? *listed : std::vector<json>{};
  }

  json GetCron(const std::string& name) {
    auto c = api_->GetObject("CronWorkflow", "default", name);
    EXPECT_OK(c.status());
    return c.ok() ? *c : json();
  }

  // Moves the fake clock on by `d`, then waits until a reconcile of `name`
  // that started at the new instant has finished: whatever the controller
  // does at that time has been done when this returns true.
  bool Tick(const std::string& name, absl::Duration d) {
    clock_.Advance(d);
    const absl::Time target = clock_.Now();
    const std::string key = absl::StrCat("default/", name);
    controller_->Enqueue(key);
    return WaitFor([&] { return controller_->LastReconciled(key) >= target; });
  }

  // Polls `pred` every 50 ms of real time for at most `timeout` (a bound on
  // the controller's threads catching up, not time the test lets pass).
  bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(15)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (pred()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return pred();
  }

  void Finish(json wf, const std::string& phase) {
    wf["status"]["phase"] = phase;
    wf["status"]["finishedAt"] =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now(), absl::UTCTimeZone());
    ASSERT_OK(api_->Update("Workflow", wf.dump()).status());
  }

  // Declared first: the controller waits on it until destroyed.
  controller::FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<CronWorkflowController> controller_;
};

constexpr char kCron[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: tick, namespace: default}
spec:
  schedules: ["@every 1s"]
  workflowMetadata: {labels: {team: data}}
  workflowSpec:
    entrypoint: main
    templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]
)";

TEST_F(CronControllerTest, CreatesWorkflowsOnScheduleAndRecordsStatus) {
  Apply(kCron);
  ASSERT_TRUE(Tick("tick", absl::ZeroDuration()));
  EXPECT_TRUE(Children("tick").empty()) << "nothing is due at creation";
  ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  ASSERT_EQ(Children("tick").size(), 1u);
  const absl::Time first = clock_.Now();
  ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  ASSERT_EQ(Children("tick").size(), 2u);
  json cron = GetCron("tick");
  std::vector<json> children = Children("tick");
  std::vector<std::string> names;
  for (const json& c : children) names.push_back(c["metadata"]["name"]);
  // Named after the scheduled instant: the fake clock's, not the wall clock's.
  EXPECT_THAT(names, ::testing::Contains(absl::StrCat("tick-", absl::ToUnixSeconds(first))));
  const json& wf = children[0];
  const std::string name = wf["metadata"]["name"];
  EXPECT_EQ(name.rfind("tick-", 0), 0u) << name;
  EXPECT_EQ(wf["metadata"]["labels"]["team"], "data");
  EXPECT_EQ(wf["metadata"]["ownerReferences"][0]["name"], "tick");
  EXPECT_EQ(wf["metadata"]["ownerReferences"][0]["uid"], cron["metadata"]["uid"]);
  EXPECT_TRUE(wf["metadata"]["annotations"].contains(kScheduledTimeAnnotation));
  EXPECT_EQ(wf["spec"]["entrypoint"], "main");
  EXPECT_EQ(cron["status"].value("phase", ""), "Active");
  EXPECT_EQ(cron["status"].value("lastScheduledTime", ""),
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now(), absl::UTCTimeZone()));
  EXPECT_EQ(cron["status"].value("active", json::array()).size(), 2u) << cron["status"].dump();
}

TEST_F(CronControllerTest, HistoryLimitDeletesOldestAndCounts) {
  std::string yaml = kCron;
  yaml += "  successfulJobsHistoryLimit: 1\n  failedJobsHistoryLimit: 0\n  suspend: true\n";
  Apply(yaml);
  // Suspended: three due ticks pass and nothing is created.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  EXPECT_TRUE(Children("tick").empty());
  // Resume, let it make three, then suspend again and finish them.
  Apply(kCron);
  for (int i = 0; i < 10 && Children("tick").size() < 3; ++i) {
    ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  }
  ASSERT_EQ(Children("tick").size(), 3u);
  // Read-modify-write with the version as precondition, retried when the
  // controller's status write lands in between (as any client would).
  absl::Status updated = absl::AbortedError("not tried");
  for (int attempt = 0; attempt < 20 && absl::IsAborted(updated); ++attempt) {
    json cron = GetCron("tick");
    cron["spec"]["suspend"] = true;
    cron["spec"]["successfulJobsHistoryLimit"] = 1;
    cron["spec"]["failedJobsHistoryLimit"] = 0;
    updated = api_->Update("CronWorkflow", cron.dump()).status();
  }
  ASSERT_OK(updated);
  // A reconcile after the update has seen the suspension: no tick creates more.
  ASSERT_TRUE(Tick("tick", absl::Milliseconds(1)));
  ASSERT_TRUE(Tick("tick", absl::Seconds(2)));
  std::vector<json> children = Children("tick");
  ASSERT_EQ(children.size(), 3u);
  // One second apart, so that the last one is the newest to finish.
  Finish(children[0], "Failed");
  for (size_t i = 1; i < children.size(); ++i) {
    clock_.Advance(absl::Seconds(1));
    Finish(children[i], "Succeeded");
  }
  ASSERT_TRUE(WaitFor([&] { return Children("tick").size() == 1; }))
      << Children("tick").size() << " children left";
  EXPECT_EQ(Children("tick")[0]["metadata"]["name"], children.back()["metadata"]["name"]);
  ASSERT_TRUE(WaitFor([&] {
    json c = GetCron("tick");
    return c["status"].value("failed", 0) == 1 &&
           c["status"].value("succeeded", 0) == static_cast<int>(children.size()) - 1 &&
           !c["status"].contains("active");
  })) << GetCron("tick")["status"].dump();
}

TEST_F(CronControllerTest, ReplaceTerminatesTheRunningWorkflow) {
  std::string yaml = kCron;
  yaml += "  concurrencyPolicy: Replace\n";
  Apply(yaml);
  auto terminated = [&] {
    for (const json& wf : Children("tick")) {
      if (wf["spec"].value("shutdown", "") == "Terminate") return true;
    }
    return false;
  };
  // Armed at the current instant; the first run is still running (nothing
  // finishes it) when the second is due.
  ASSERT_TRUE(Tick("tick", absl::ZeroDuration()));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  ASSERT_TRUE(WaitFor(terminated));
}

TEST_F(CronControllerTest, SpecErrorIsReportedAndDeletionStopsScheduling) {
  Apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: broken, namespace: default}
spec:
  schedules: ["* * * * *", "*/0 * * * *"]
  workflowSpec: {entrypoint: main}
)");
  ASSERT_TRUE(WaitFor([&] {
    json c = GetCron("broken");
    return c["status"].contains("conditions") &&
           c["status"]["conditions"][0].value("message", "").find("spec.schedules[1]") !=
               std::string::npos;
  })) << GetCron("broken").dump();

  Apply(kCron);
  ASSERT_TRUE(Tick("tick", absl::ZeroDuration()));
  ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  ASSERT_FALSE(Children("tick").empty());
  ASSERT_OK(api_->Delete("CronWorkflow", "default", "tick", ""));
  // This reconcile started after the deletion, so it found the CronWorkflow gone.
  ASSERT_TRUE(Tick("tick", absl::Milliseconds(1)));
  const size_t after_delete = Children("tick").size();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Tick("tick", absl::Seconds(1)));
  EXPECT_EQ(Children("tick").size(), after_delete);
}

// As after a restart: a CronWorkflow that last ran 90 s ago on `@every 1m`
// missed the tick 30 s ago, which is within startingDeadlineSeconds.
TEST_F(CronControllerTest, CatchesUpTheMissedRunWithinTheDeadline) {
  const absl::Time last = clock_.Now() - absl::Seconds(90);
  auto docs = manifest::ParseDocuments(R"(
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: late
  namespace: default
  annotations: {cronworkflows.argoproj.io/last-used-schedule: "@every 1m"}
spec:
  schedules: ["@every 1m"]
  startingDeadlineSeconds: 60
  workflowSpec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}
)");
  ASSERT_OK(docs.status());
  json cron = (*docs)[0];
  cron["status"]["lastScheduledTime"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", last, absl::UTCTimeZone());
  ASSERT_OK(api_->Create("CronWorkflow", cron.dump(), false).status());
  ASSERT_TRUE(Tick("late", absl::ZeroDuration()));
  ASSERT_EQ(Children("late").size(), 1u);
  EXPECT_EQ(Children("late")[0]["metadata"]["name"],
            absl::StrCat("late-", absl::ToUnixSeconds(last + absl::Seconds(60))));
  // Only once: `@every 1m` counts from when the schedule was armed (now), so
  // the next run is a minute away, and comes on time.
  ASSERT_TRUE(Tick("late", absl::Seconds(59)));
  EXPECT_EQ(Children("late").size(), 1u);
  ASSERT_TRUE(Tick("late", absl::Seconds(1)));
  EXPECT_EQ(Children("late").size(), 2u);
}

}  // namespace
}  // namespace argonaut::workflow::cron
