#include "services/cd/engine/autosync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/cd/engine/sync_step.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

ResourceState Res(std::string kind, std::string name, std::string status, bool prune = false,
                  bool hook = false) {
  ResourceState r;
  r.key = ResourceKey{"", kind, "default", name};
  r.version = "v1";
  r.sync_status = status;
  r.requires_pruning = prune;
  r.hook = hook;
  return r;
}

CompareResult MakeCompare(std::string status, std::vector<ResourceState> resources) {
  CompareResult c;
  c.sync = {{"status", status}, {"revision", "rev2"}};
  c.resources = std::move(resources);
  return c;
}

json App(json automated) {
  json app = {
      {"metadata", {{"name", "app"}}},
      {"spec",
       {{"source",
         {{"repoURL", "https://git.example/r"}, {"path", "app"}, {"targetRevision", "HEAD"}}},
        {"destination", {{"namespace", "default"}}},
        {"syncPolicy", {{"syncOptions", {"CreateNamespace=true"}}}}}}};
  if (!automated.is_null()) app["spec"]["syncPolicy"]["automated"] = automated;
  return app;
}

// The app after an operation to `revision` that ended in `phase` `ago` before kNow.
void LastOperation(json& app, std::string revision, std::string phase, absl::Duration ago,
                   int self_heal_attempts = 0) {
  json source = app["spec"]["source"];
  source["targetRevision"] = "main";  // resolved to the same commit: not a change
  app["status"]["operationState"] = {
      {"operation", {{"sync", {{"revision", revision}}}}},
      {"phase", phase},
      {"message", phase == "Succeeded" ? "successfully synced (all tasks run)" : "boom"},
      {"finishedAt", FormatK8sTime(kNow - ago)},
      {"syncResult", {{"revision", revision}, {"source", source}}}};
  if (self_heal_attempts > 0) {
    app["status"]["operationState"]["operation"]["sync"]["autoHealAttemptsCount"] =
        self_heal_attempts;
  }
}

const std::vector<ResourceState> kDrift = {Res("ConfigMap", "a", "Synced"),
                                           Res("ConfigMap", "b", "OutOfSync"),
                                           Res("Job", "hook", "", false, true)};

TEST(AutoSync, NotWhenItShouldNot) {
  struct Case {
    const char* name;
    json app;
    CompareResult compare;
    std::string reason;
  } cases[] = {
      {"manual", App(nullptr), MakeCompare("OutOfSync", kDrift), "automated sync is not enabled"},
      {"disabled", App({{"enabled", false}}), MakeCompare("OutOfSync", kDrift),
       "automated sync is not enabled"},
      {"synced", App(json::object()), MakeCompare("Synced", kDrift),
       "application status is Synced"},
      {"unknown", App(json::object()), MakeCompare("Unknown", {}), "application status is Unknown"},
      {"prune only, prune off", App(json::object()),
       MakeCompare("OutOfSync",
                   {Res("ConfigMap", "a", "Synced"), Res("ConfigMap", "x", "OutOfSync", true)}),
       "need to prune extra resources only but automated prune is disabled"},
  };
  for (const Case& c : cases) {
    AutoSyncDecision d = DecideAutoSync(c.app, c.compare, kNow);
    EXPECT_FALSE(d.operation.has_value()) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name;
    EXPECT_FALSE(d.sync_error) << c.name;
  }
  json running = App(json::object());
  running["operation"] = {{"sync", json::object()}};
  EXPECT_EQ(DecideAutoSync(running, MakeCompare("OutOfSync", kDrift), kNow).reason,
            "another operation is in progress");
  json deleting = App(json::object());
  deleting["metadata"]["deletionTimestamp"] = "2023-11-14T22:00:00Z";
  EXPECT_EQ(DecideAutoSync(deleting, MakeCompare("OutOfSync", kDrift), kNow).reason,
            "deletion in progress");
}

TEST(AutoSync, NewRevisionSyncsEverything) {
  json app = App({{"prune", true}});
  LastOperation(app, "rev1", "Succeeded", absl::Minutes(5));
  AutoSyncDecision d = DecideAutoSync(app, MakeCompare("OutOfSync", kDrift), kNow);
  ASSERT_TRUE(d.operation.has_value()) << d.reason;
  EXPECT_EQ(*d.operation, json::parse(R"({
    "sync": {"revision": "rev2", "prune": true, "syncOptions": ["CreateNamespace=true"]},
    "initiatedBy": {"automated": true},
    "retry": {"limit": 5}})"));

  app["spec"]["syncPolicy"]["retry"] = {{"limit", 2}, {"backoff", {{"duration", "1s"}}}};
  d = DecideAutoSync(app, MakeCompare("OutOfSync", kDrift), kNow);
  ASSERT_TRUE(d.operation.has_value());
  EXPECT_EQ((*d.operation)["retry"]["limit"], 2);

  // The same commit with another path is a new source: it syncs.
  json moved = App(json::object());
  LastOperation(moved, "rev2", "Succeeded", absl::Minutes(5));
  moved["spec"]["source"]["path"] = "elsewhere";
  EXPECT_TRUE(DecideAutoSync(moved, MakeCompare("OutOfSync", kDrift), kNow).operation.has_value());
}

TEST(AutoSync, SameRevisionIsNotRetried) {
  json failed = App({{"selfHeal", true}});
  LastOperation(failed, "rev2", "Failed", absl::Minutes(5));
  AutoSyncDecision d = DecideAutoSync(failed, MakeCompare("OutOfSync", kDrift), kNow);
  EXPECT_FALSE(d.operation.has_value());
  EXPECT_TRUE(d.sync_error);
  EXPECT_EQ(d.reason, "Failed sync attempt to rev2: boom");

  json no_heal = App(json::object());
  LastOperation(no_heal, "rev2", "Succeeded", absl::Minutes(5));
  d = DecideAutoSync(no_heal, MakeCompare("OutOfSync", kDrift), kNow);
  EXPECT_FALSE(d.operation.has_value());
  EXPECT_FALSE(d.sync_error);
  EXPECT_EQ(d.reason, "most recent sync already to rev2");
}

TEST(AutoSync, SelfHealIsSelectiveWithBackoff) {
  struct Case {
    int attempts;
    absl::Duration since_finish;
    std::optional<absl::Duration> wait;  // nullopt: syncs now
    int next_attempts;
  } cases[] = {
      {0, absl::Seconds(0), std::nullopt, 1},      // first heal: at once
      {1, absl::Seconds(1), absl::Seconds(1), 0},  // 2 s after the last one
      {1, absl::Seconds(2), std::nullopt, 2},
      {2, absl::Seconds(3), absl::Seconds(3), 0},      // 6 s
      {3, absl::Seconds(10), absl::Seconds(8), 0},     // 18 s
      {8, absl::Seconds(100), absl::Seconds(200), 0},  // capped at 300 s
      {8, absl::Seconds(330), std::nullopt, 1},        // quiet long enough: count starts over
  };
  for (const Case& c : cases) {
    json app = App({{"selfHeal", true}});
    LastOperation(app, "rev2", "Succeeded", c.since_finish, c.attempts);
    AutoSyncDecision d = DecideAutoSync(app, MakeCompare("OutOfSync", kDrift), kNow);
    SCOPED_TRACE(::testing::Message() << "attempts " << c.attempts << " since " << c.since_finish);
    if (c.wait) {
      EXPECT_FALSE(d.operation.has_value());
      EXPECT_EQ(d.retry_after, c.wait) << d.reason;
      continue;
    }
    ASSERT_TRUE(d.operation.has_value()) << d.reason;
    EXPECT_EQ((*d.operation)["sync"]["autoHealAttemptsCount"], c.next_attempts);
    EXPECT_EQ((*d.operation)["sync"]["resources"],
              json::parse(R"([{"group":"","kind":"ConfigMap","name":"b","namespace":"default"}])"));
  }
}

TEST(AutoSync, RefusesToWipeEverythingWithoutAllowEmpty) {
  CompareResult all_gone = MakeCompare("OutOfSync", {Res("ConfigMap", "a", "OutOfSync", true),
                                                     Res("ConfigMap", "b", "OutOfSync", true)});
  AutoSyncDecision d = DecideAutoSync(App({{"prune", true}}), all_gone, kNow);
  EXPECT_FALSE(d.operation.has_value());
  EXPECT_TRUE(d.sync_error);
  EXPECT_EQ(d.reason, "Skipping sync attempt to rev2: auto-sync will wipe out all resources");

  d = DecideAutoSync(App({{"prune", true}, {"allowEmpty", true}}), all_gone, kNow);
  ASSERT_TRUE(d.operation.has_value());
  EXPECT_EQ((*d.operation)["sync"]["prune"], true);
}

}  // namespace
}  // namespace argonaut::cd::engine
