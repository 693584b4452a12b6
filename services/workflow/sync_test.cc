#include "services/workflow/sync.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/sim.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow {
namespace {

using engine::LockDecision;
using engine::LockRequest;
using nlohmann::json;

constexpr char kMutex[] = "ns/Mutex/m";
constexpr char kSem[] = "ns/ConfigMap/cfg/k";

// The limits a ConfigMap would hold, changeable by the test.
struct Limits {
  std::map<std::string, int64_t> by_key;  // "ns/cfg/k" -> limit
  SemaphoreLimitFn Fn() {
    return [this](const std::string& ns, const std::string& cm,
                  const std::string& key) -> absl::StatusOr<int64_t> {
      auto it = by_key.find(absl::StrCat(ns, "/", cm, "/", key));
      if (it == by_key.end()) return absl::NotFoundError(absl::StrCat("configmap ", cm));
      return it->second;
    };
  }
};

struct Woken {
  std::vector<std::string> keys;
  WakeFn Fn() {
    return [this](const std::string& k) { keys.push_back(k); };
  }
};

LockRequest Req(const std::string& holder, std::vector<std::string> keys, int64_t priority = 0,
                int64_t created = 0) {
  LockRequest r;
  r.holder = holder;
  r.keys = std::move(keys);
  r.priority = priority;
  r.created = absl::FromUnixSeconds(1700000000 + created);
  return r;
}

bool Acquired(LockManager& m, const LockRequest& r) {
  absl::StatusOr<LockDecision> d = m.TryAcquire(r);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() && d->acquired;
}

TEST(LockManagerTest, ParsesArgoKeys) {
  absl::StatusOr<LockName> pm = ParseLockName("argo/Mutex/test");
  ASSERT_OK(pm.status());
  const LockName& m = *pm;
  EXPECT_TRUE(m.mutex);
  EXPECT_EQ(m.ns, "argo");
  EXPECT_EQ(m.name, "test");
  absl::StatusOr<LockName> ps = ParseLockName("argo/ConfigMap/my-config/workflow");
  ASSERT_OK(ps.status());
  const LockName& s = *ps;
  EXPECT_FALSE(s.mutex);
  EXPECT_EQ(s.name, "my-config");
  EXPECT_EQ(s.key, "workflow");
  EXPECT_FALSE(ParseLockName("argo/Mutex").ok());
  EXPECT_FALSE(ParseLockName("argo/Other/x").ok());
  EXPECT_FALSE(ParseLockName("/Mutex/x").ok());
  EXPECT_EQ(WorkflowOfHolder("ns/wf/node-1"), "ns/wf");
  EXPECT_EQ(WorkflowOfHolder("ns/wf"), "ns/wf");
}

TEST(LockManagerTest, LimitFromConfigMap) {
  json cm = {{"metadata", {{"name", "my-config"}}}, {"data", {{"workflow", "3"}, {"bad", "x"}}}};
  absl::StatusOr<int64_t> limit = SemaphoreLimitFromConfigMap(cm, "workflow");
  ASSERT_OK(limit.status());
  EXPECT_EQ(*limit, 3);
  EXPECT_THAT(SemaphoreLimitFromConfigMap(cm, "missing"),
              ::argonaut::testing::StatusIs(absl::StatusCode::kNotFound,
                                            ::testing::HasSubstr("\"missing\"")));
  EXPECT_THAT(SemaphoreLimitFromConfigMap(cm, "bad"),
              ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                            ::testing::HasSubstr("positive")));
  cm["data"]["zero"] = "0";
  EXPECT_FALSE(SemaphoreLimitFromConfigMap(cm, "zero").ok());
}

TEST(LockManagerTest, QueueOrderIsPriorityThenAge) {
  Woken woken;
  LockManager m(nullptr, woken.Fn());
  ASSERT_TRUE(Acquired(m, Req("ns/a", {kMutex})));
  EXPECT_FALSE(Acquired(m, Req("ns/b", {kMutex}, 0, 20)));
  EXPECT_FALSE(Acquired(m, Req("ns/c", {kMutex}, 0, 10)));
  absl::StatusOr<LockDecision> d = m.TryAcquire(Req("ns/d", {kMutex}, 5, 30));
  ASSERT_OK(d.status());
  EXPECT_FALSE(d->acquired);
  EXPECT_EQ(d->message, "Waiting for ns/Mutex/m lock. Lock status: 0/1");
  EXPECT_EQ(d->waiting_on, kMutex);
  EXPECT_EQ(d->holders.at(kMutex), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(m.Waiters(kMutex), (std::vector<std::string>{"ns/d", "ns/c", "ns/b"}));

  m.Release("ns/a", {kMutex});
  EXPECT_EQ(woken.keys, std::vector<std::string>{"ns/d"});
  // Not at the front: waits, even though the mutex is free.
  EXPECT_FALSE(Acquired(m, Req("ns/b", {kMutex}, 0, 20)));
  EXPECT_TRUE(Acquired(m, Req("ns/d", {kMutex}, 5, 30)));
  EXPECT_EQ(m.Holders(kMutex), std::vector<std::string>{"ns/d"});
  // Asking again while holding is a no-op success.
  EXPECT_TRUE(Acquired(m, Req("ns/d", {kMutex}, 5, 30)));
  m.Release("ns/d", {kMutex});
  EXPECT_TRUE(Acquired(m, Req("ns/c", {kMutex}, 0, 10)));
}

TEST(LockManagerTest, SemaphoreLimitIsReadOnEveryAttempt) {
  Limits limits;
  limits.by_key["ns/cfg/k"] = 2;
  Woken woken;
  LockManager m(limits.Fn(), woken.Fn());
  EXPECT_TRUE(Acquired(m, Req("ns/w1", {kSem}, 0, 1)));
  EXPECT_TRUE(Acquired(m, Req("ns/w2", {kSem}, 0, 2)));
  absl::StatusOr<LockDecision> d = m.TryAcquire(Req("ns/w3", {kSem}, 0, 3));
  ASSERT_OK(d.status());
  EXPECT_FALSE(d->acquired);
  EXPECT_EQ(d->message, "Waiting for ns/ConfigMap/cfg/k lock. Lock status: 0/2");
  EXPECT_EQ(d->holders.at(kSem), (std::vector<std::string>{"ns/w1", "ns/w2"}));
  limits.by_key["ns/cfg/k"] = 3;
  EXPECT_TRUE(Acquired(m, Req("ns/w3", {kSem}, 0, 3)));
  // Shrunk below the holders: nobody new gets in until enough have left.
  limits.by_key["ns/cfg/k"] = 1;
  EXPECT_FALSE(Acquired(m, Req("ns/w4", {kSem}, 0, 4)));
  m.Release("ns/w1", {kSem});
  m.Release("ns/w2", {kSem});
  EXPECT_FALSE(Acquired(m, Req("ns/w4", {kSem}, 0, 4)));
  m.Release("ns/w3", {kSem});
  EXPECT_TRUE(Acquired(m, Req("ns/w4", {kSem}, 0, 4)));

  limits.by_key.clear();
  EXPECT_THAT(
      m.TryAcquire(Req("ns/w5", {kSem})),
      ::argonaut::testing::StatusIs(absl::StatusCode::kNotFound, ::testing::HasSubstr(kSem)));
}

TEST(LockManagerTest, AllLocksOrNone) {
  Limits limits;
  limits.by_key["ns/cfg/k"] = 5;
  LockManager m(limits.Fn(), nullptr);
  ASSERT_TRUE(Acquired(m, Req("ns/x", {kMutex})));
  absl::StatusOr<LockDecision> d = m.TryAcquire(Req("ns/y", {kSem, kMutex}));
  ASSERT_OK(d.status());
  EXPECT_FALSE(d->acquired);
  EXPECT_EQ(d->waiting_on, kMutex);
  EXPECT_TRUE(m.Holders(kSem).empty());
  m.Release("ns/x", {kMutex});
  EXPECT_TRUE(Acquired(m, Req("ns/y", {kSem, kMutex})));
  EXPECT_EQ(m.Holders(kSem), std::vector<std::string>{"ns/y"});
  EXPECT_EQ(m.Holders(kMutex), std::vector<std::string>{"ns/y"});
}

TEST(LockManagerTest, ReleaseWorkflowDropsItsNodesAndWaitersAndWakesTheNext) {
  Limits limits;
  limits.by_key["ns/cfg/k"] = 2;
  Woken woken;
  LockManager m(limits.Fn(), woken.Fn());
  ASSERT_TRUE(Acquired(m, Req("ns/wf/n1", {kSem})));
  ASSERT_TRUE(Acquired(m, Req("ns/wf/n2", {kSem})));
  ASSERT_FALSE(Acquired(m, Req("ns/wf/n3", {kSem})));
  ASSERT_FALSE(Acquired(m, Req("ns/other", {kSem}, 0, 1)));
  m.ReleaseWorkflow("ns/wf");
  EXPECT_TRUE(m.Holders(kSem).empty());
  EXPECT_EQ(m.Waiters(kSem), std::vector<std::string>{"ns/other"});
  EXPECT_EQ(woken.keys, std::vector<std::string>{"ns/other"});
  // A workflow that merely shares a prefix is someone else.
  ASSERT_TRUE(Acquired(m, Req("ns/other", {kSem}, 0, 1)));
  m.ReleaseWorkflow("ns/oth");
  EXPECT_EQ(m.Holders(kSem), std::vector<std::string>{"ns/other"});
}

TEST(LockManagerTest, RestoreRebuildsHoldersFromStatus) {
  Limits limits;
  limits.by_key["ns/cfg/k"] = 1;
  LockManager m(limits.Fn(), nullptr);
  json wf1 = json::parse(R"({"metadata":{"name":"a","namespace":"ns"},"status":{
    "synchronization":{"mutex":{"holding":[{"mutex":"ns/Mutex/m","holder":"ns/a"}]},
      "semaphore":{"holding":[{"semaphore":"ns/ConfigMap/cfg/k","holders":["ns/a/n1"]}]}}}})");
  json wf2 = json::parse(R"({"metadata":{"name":"b","namespace":"ns"},"status":{
    "synchronization":{"semaphore":{"holding":[{"semaphore":"ns/ConfigMap/cfg/k",
      "holders":["ns/b/n2"]}],"waiting":[{"semaphore":"ns/ConfigMap/cfg/k","holders":[]}]}}}})");
  m.Restore(wf1);
  m.Restore(wf2);
  m.Restore(
      json::parse(R"({"status":{"synchronization":{"mutex":{"holding":[{"mutex":"bad"}]}}}})"));
  EXPECT_EQ(m.Holders(kMutex), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(m.Holders(kSem), (std::vector<std::string>{"ns/a/n1", "ns/b/n2"}));
  EXPECT_FALSE(Acquired(m, Req("ns/c", {kMutex})));
  // The restored holders still count as holding.
  EXPECT_TRUE(Acquired(m, Req("ns/a/n1", {kSem})));
  EXPECT_FALSE(Acquired(m, Req("ns/c/n9", {kSem})));
  m.ReleaseWorkflow("ns/a");
  EXPECT_FALSE(Acquired(m, Req("ns/c/n9", {kSem})));
  m.ReleaseWorkflow("ns/b");
  EXPECT_TRUE(Acquired(m, Req("ns/c/n9", {kSem})));
}

TEST(LockManagerTest, ConcurrentUseNeverExceedsTheLimit) {
  Limits limits;
  limits.by_key["ns/cfg/k"] = 3;
  LockManager m(limits.Fn(), nullptr);
  std::atomic<int> inside{0};
  std::atomic<int> worst{0};
  std::atomic<int> entered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string holder = absl::StrCat("ns/wf", t);
      for (int i = 0; i < 2000; ++i) {
        absl::StatusOr<LockDecision> d = m.TryAcquire(Req(holder, {kSem}, 0, t));
        if (!d.ok() || !d->acquired) continue;
        const int now = ++inside;
        int w = worst.load();
        while (now > w && !worst.compare_exchange_weak(w, now)) {
        }
        ++entered;
        --inside;
        m.Release(holder, {kSem});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(worst.load(), 3);
  EXPECT_GT(entered.load(), 0);
  EXPECT_TRUE(m.Holders(kSem).empty());
}

// The engine and the manager together, as the controller runs them: five workflows behind a
// semaphore of 2 never have more than two running, and all finish, oldest first.
using ::argonaut::workflow::testing::Yaml;

TEST(LockManagerTest, WorkflowLevelSemaphoreAdmitsTwoOfFive) {
  Limits limits;
  limits.by_key["argo/my-config/workflow"] = 2;
  LockManager m(limits.Fn(), nullptr);
  std::vector<std::unique_ptr<engine::Sim>> sims;
  for (int i = 0; i < 5; ++i) {
    json wf = Yaml(absl::StrCat(R"(
metadata: {name: wf)",
                                i, R"(, namespace: argo, creationTimestamp: "2023-11-14T22:00:0)",
                                i, R"(Z"}
spec:
  entrypoint: main
  synchronization:
    semaphores: [{configMapKeyRef: {name: my-config, key: workflow}}]
  templates:
  - name: main
    container: {image: busybox, command: [echo], args: [hi]}
)"));
    auto sim = std::make_unique<engine::Sim>(wf, [](const std::string&, const json&) {
      engine::PodRun run;
      run.running_ticks = 3;
      return run;
    });
    sim->locks = [&m](const LockRequest& r) { return m.TryAcquire(r); };
    sims.push_back(std::move(sim));
  }
  // Everyone queues behind a holder from elsewhere first, so the queue (not the call order)
  // decides who goes next.
  ASSERT_TRUE(Acquired(m, Req("argo/blocker", {"argo/ConfigMap/my-config/workflow"})));
  ASSERT_TRUE(Acquired(m, Req("argo/blocker2", {"argo/ConfigMap/my-config/workflow"})));
  for (int i = 4; i >= 0; --i) {
    ASSERT_OK(sims[i]->Step());
    EXPECT_EQ(sims[i]->phase(), "Pending");
  }
  m.ReleaseWorkflow("argo/blocker");
  m.ReleaseWorkflow("argo/blocker2");
  std::vector<int> start_round(5, -1);
  int worst = 0;
  for (int round = 0; round < 100; ++round) {
    bool all_done = true;
    // Newest first, so the queue (not the call order) decides who goes first.
    for (int i = 4; i >= 0; --i) {
      engine::Sim& s = *sims[i];
      if (engine::PhaseCompleted(s.phase())) continue;
      all_done = false;
      const bool was_pending = s.phase() != "Running";
      ASSERT_OK(s.Step());
      for (const engine::LockRelease& r : s.releases) m.Release(r.holder, r.keys);
      s.releases.clear();
      if (engine::PhaseCompleted(s.phase())) m.ReleaseWorkflow(absl::StrCat("argo/wf", i));
      if (was_pending && s.phase() == "Running") start_round[i] = round;
    }
    int running = 0;
    for (auto& s : sims) running += s->phase() == "Running" ? 1 : 0;
    worst = std::max(worst, running);
    EXPECT_LE(static_cast<int64_t>(m.Holders("argo/ConfigMap/my-config/workflow").size()), 2);
    if (all_done) break;
  }
  for (auto& s : sims) EXPECT_EQ(s->phase(), "Succeeded");
  EXPECT_EQ(worst, 2);
  // Oldest first: a younger workflow never starts before an older one.
  for (int i = 1; i < 5; ++i) EXPECT_LE(start_round[i - 1], start_round[i]) << i;
  EXPECT_LT(start_round[1], start_round[2]);
}

TEST(LockManagerTest, TemplateLevelSemaphoreRunsTwoStepsAtATime) {
  Limits limits;
  limits.by_key["argo/my-config/template"] = 2;
  LockManager m(limits.Fn(), nullptr);
  engine::Sim sim(Yaml(R"(
metadata: {name: wf, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: s
        template: locked
        withParam: '["1","2","3","4","5"]'
  - name: locked
    synchronization:
      semaphores: [{configMapKeyRef: {name: my-config, key: template}}]
    container: {image: busybox, command: [echo], args: [hi]}
)"),
                  [](const std::string&, const json&) {
                    engine::PodRun run;
                    run.running_ticks = 2;
                    return run;
                  });
  sim.locks = [&m](const LockRequest& r) { return m.TryAcquire(r); };
  int worst = 0;
  int waiting_seen = 0;
  for (int i = 0; i < 200 && !engine::PhaseCompleted(sim.phase()); ++i) {
    ASSERT_OK(sim.Step());
    for (const engine::LockRelease& r : sim.releases) m.Release(r.holder, r.keys);
    sim.releases.clear();
    int active = 0;
    const json& st = sim.workflow()["status"];
    ASSERT_TRUE(st.is_object()) << sim.workflow().dump();
    if (!st.contains("nodes")) continue;
    for (const auto& [id, node] : st["nodes"].items()) {
      if (node.value("type", "") != "Pod") continue;
      if (node.contains("synchronizationStatus")) {
        ++waiting_seen;
        continue;
      }
      const std::string phase = node.value("phase", "");
      if (phase == "Pending" || phase == "Running") ++active;
    }
    worst = std::max(worst, active);
  }
  EXPECT_EQ(sim.phase(), "Succeeded");
  EXPECT_EQ(worst, 2);
  EXPECT_GT(waiting_seen, 0);
  EXPECT_TRUE(m.Holders("argo/ConfigMap/my-config/template").empty());
  EXPECT_TRUE(m.Waiters("argo/ConfigMap/my-config/template").empty());
}

}  // namespace
}  // namespace argonaut::workflow
