#include "services/cd/engine/sync_windows.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

json App(std::string name = "guestbook", std::string ns = "web",
         std::string server = "https://kubernetes.default.svc") {
  return {{"metadata", {{"name", name}, {"namespace", "argocd"}}},
          {"spec", {{"destination", {{"server", server}, {"namespace", ns}}}}}};
}

json Project(std::vector<json> windows) {
  return {{"metadata", {{"name", "p"}}}, {"spec", {{"syncWindows", windows}}}};
}

json Window(std::string kind, std::string schedule, std::string duration, json extra = {}) {
  json w = {{"kind", kind},
            {"schedule", schedule},
            {"duration", duration},
            {"applications", json::array({"*"})}};
  if (extra.is_object()) w.update(extra);
  return w;
}

TEST(SyncWindowActive, ScheduleDurationAndTimeZone) {
  struct Case {
    std::string name;
    json window;
    absl::Time now;
    bool active;
  };
  const json daily9 = Window("allow", "0 9 * * *", "2h");
  const json berlin = Window("allow", "0 9 * * *", "1h", {{"timeZone", "Europe/Berlin"}});
  const json ny = Window("deny", "0 22 * * FRI", "24h", {{"timeZone", "America/New_York"}});
  const std::vector<Case> cases = {
      {"inside", daily9, Utc(2026, 3, 10, 10, 0), true},
      {"just after start", daily9, Utc(2026, 3, 10, 9, 1), true},
      {"before start", daily9, Utc(2026, 3, 10, 8, 59), false},
      {"after end", daily9, Utc(2026, 3, 10, 11, 30), false},
      // Argo CD: the activation must lie strictly before now, and the end is exclusive.
      {"at the activation", daily9, Utc(2026, 3, 10, 9, 0), false},
      {"at the end", daily9, Utc(2026, 3, 10, 11, 0), false},
      // 09:30 CEST = 07:30 UTC in summer; 09:30 CET = 08:30 UTC in winter.
      {"berlin summer inside", berlin, Utc(2026, 7, 1, 7, 30), true},
      {"berlin summer 09:30 UTC is 11:30 local", berlin, Utc(2026, 7, 1, 9, 30), false},
      {"berlin winter inside", berlin, Utc(2026, 1, 15, 8, 30), true},
      {"berlin winter 07:30 UTC is 08:30 local", berlin, Utc(2026, 1, 15, 7, 30), false},
      // Friday 2026-03-13 22:00 EDT = Saturday 02:00 UTC, for 24 h.
      {"new york friday night", ny, Utc(2026, 3, 14, 3, 0), true},
      {"new york saturday evening", ny, Utc(2026, 3, 15, 1, 59), true},
      {"new york after", ny, Utc(2026, 3, 15, 2, 1), false},
      {"new york friday 22:00 UTC is 18:00 local", ny, Utc(2026, 3, 13, 22, 30), false},
      {"cron TZ prefix", Window("allow", "CRON_TZ=Asia/Tokyo 0 9 * * *", "1h"),
       Utc(2026, 3, 10, 0, 30), true},
      {"never fires", Window("allow", "0 0 30 2 *", "1h"), Utc(2026, 3, 1, 0, 30), false},
  };
  for (const Case& c : cases) {
    absl::StatusOr<bool> active = SyncWindowActive(c.window, c.now);
    ASSERT_TRUE(active.ok()) << c.name << ": " << active.status();
    EXPECT_EQ(*active, c.active) << c.name;
  }
}

TEST(SyncWindowActive, BadFieldsAreNamed) {
  const absl::Time now = Utc(2026, 3, 10, 10, 0);
  struct Case {
    json window;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {Window("maybe", "0 9 * * *", "1h"), "kind: "},
      {Window("allow", "0 25 * * *", "1h"), "schedule: "},
      {Window("allow", "0 9 * * *", "an hour"), "duration: "},
      {Window("allow", "0 9 * * *", "1h", {{"timeZone", "Mars/Olympus"}}), "timeZone: "},
  };
  for (const Case& c : cases) {
    absl::StatusOr<bool> active = SyncWindowActive(c.window, now);
    ASSERT_FALSE(active.ok()) << c.window.dump();
    EXPECT_EQ(active.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(active.status().message(), c.prefix)) << active.status();
  }
}

TEST(MatchingSyncWindows, SelectorsAndOperator) {
  struct Case {
    std::string name;
    json window;
    bool applies;
  };
  auto w = [](json selectors) {
    json out = {{"kind", "deny"}, {"schedule", "* * * * *"}, {"duration", "1h"}};
    out.update(selectors);
    return out;
  };
  const std::vector<Case> cases = {
      {"no selectors", w(json::object()), false},
      {"app glob", w({{"applications", {"guest*"}}}), true},
      {"other app", w({{"applications", {"billing"}}}), false},
      {"namespace", w({{"namespaces", {"web"}}}), true},
      {"cluster server", w({{"clusters", {"https://kubernetes.*"}}}), true},
      {"or: one list matches", w({{"applications", {"billing"}}, {"namespaces", {"web"}}}), true},
      {"and: one list fails",
       w({{"applications", {"billing"}}, {"namespaces", {"web"}}, {"andOperator", true}}), false},
      {"and: all given lists match",
       w({{"applications", {"guest*"}}, {"namespaces", {"w?b"}}, {"andOperator", true}}), true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchingSyncWindows(Project({c.window}), App()).size(), c.applies ? 1u : 0u)
        << c.name;
  }
  json by_name = App();
  by_name["spec"]["destination"] = {{"name", "in-cluster"}, {"namespace", "web"}};
  EXPECT_EQ(MatchingSyncWindows(Project({w({{"clusters", {"in-cluster"}}})}), by_name).size(), 1u);
}

TEST(EvaluateSyncWindows, Decisions) {
  // At 2026-03-10 10:00 UTC: "open" windows (09:00 for 2h) are active, "closed" ones
  // (20:00 for 1h) are not.
  const absl::Time now = Utc(2026, 3, 10, 10, 0);
  auto open = [](std::string kind, bool manual = false) {
    return Window(kind, "0 9 * * *", "2h", {{"manualSync", manual}});
  };
  auto closed = [](std::string kind, bool manual = false) {
    return Window(kind, "0 20 * * *", "1h", {{"manualSync", manual}});
  };
  struct Case {
    std::string name;
    std::vector<json> windows;
    bool automated, manual;
    size_t active;
  };
  const std::vector<Case> cases = {
      {"no windows", {}, true, true, 0},
      {"inside allow", {open("allow")}, true, true, 1},
      {"outside allow", {closed("allow")}, false, false, 0},
      {"outside allow, manualSync", {closed("allow", true)}, false, true, 0},
      {"one allow open, one closed", {open("allow"), closed("allow")}, true, true, 1},
      {"active deny", {open("deny")}, false, false, 1},
      {"active deny, manualSync", {open("deny", true)}, false, true, 1},
      {"two denies, one without manualSync", {open("deny", true), open("deny")}, false, false, 2},
      {"deny beats allow", {open("allow"), open("deny")}, false, false, 2},
      {"inactive deny only", {closed("deny")}, true, true, 0},
      {"inactive deny, active allow", {closed("deny"), open("allow")}, true, true, 1},
  };
  for (const Case& c : cases) {
    SyncWindowsState s = EvaluateSyncWindows(Project(c.windows), App(), now);
    EXPECT_TRUE(s.error.ok()) << c.name;
    EXPECT_EQ(s.automated_allowed, c.automated) << c.name;
    EXPECT_EQ(s.manual_allowed, c.manual) << c.name;
    EXPECT_EQ(s.active.size(), c.active) << c.name;
    EXPECT_EQ(s.assigned.size(), c.windows.size()) << c.name;
  }
  // Windows for other apps do not count.
  json other = closed("allow");
  other["applications"] = {"billing"};
  SyncWindowsState s = EvaluateSyncWindows(Project({other}), App(), now);
  EXPECT_TRUE(s.automated_allowed);
  EXPECT_TRUE(s.assigned.empty());
}

TEST(EvaluateSyncWindows, BrokenWindowBlocksAndIsNamed) {
  const json bad = Window("allow", "0 9 * * *", "forever");
  SyncWindowsState s = EvaluateSyncWindows(Project({Window("deny", "0 20 * * *", "1h"), bad}),
                                           App(), Utc(2026, 3, 10, 10, 0));
  EXPECT_FALSE(s.automated_allowed);
  EXPECT_FALSE(s.manual_allowed);
  EXPECT_TRUE(absl::StartsWith(s.error.message(), "spec.syncWindows[1].duration: ")) << s.error;
}

TEST(SyncWindowsResponse, ArgoShape) {
  const json open = Window("deny", "0 9 * * *", "2h", {{"manualSync", true}});
  const json closed = Window("allow", "0 20 * * *", "1h", {{"timeZone", "UTC"}});
  json r = SyncWindowsResponse(
      EvaluateSyncWindows(Project({open, closed}), App(), Utc(2026, 3, 10, 10, 0)));
  EXPECT_EQ(r["canSync"], true);
  ASSERT_EQ(r["activeWindows"].size(), 1u);
  EXPECT_EQ(
      r["activeWindows"][0],
      json(
          {{"kind", "deny"}, {"schedule", "0 9 * * *"}, {"duration", "2h"}, {"manualSync", true}}));
  ASSERT_EQ(r["assignedWindows"].size(), 2u);
  EXPECT_EQ(r["assignedWindows"][1]["kind"], "allow");
}

}  // namespace
}  // namespace argonaut::cd::engine
