#include "lib/cluster/workloads/kubelet_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using Action = RestartDecision::Action;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(RestartPolicyTest, Table) {
  struct Case {
    RestartPolicy policy;
    int exit_code;
    bool restarts;
  } cases[] = {
      {RestartPolicy::kAlways, 0, true},     {RestartPolicy::kAlways, 1, true},
      {RestartPolicy::kOnFailure, 0, false}, {RestartPolicy::kOnFailure, 137, true},
      {RestartPolicy::kNever, 0, false},     {RestartPolicy::kNever, 2, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PolicyRestarts(c.policy, c.exit_code), c.restarts)
        << static_cast<int>(c.policy) << " exit " << c.exit_code;
  }
  EXPECT_EQ(*ParseRestartPolicy("", "p"), RestartPolicy::kAlways);
  EXPECT_EQ(*ParseRestartPolicy("OnFailure", "p"), RestartPolicy::kOnFailure);
  EXPECT_THAT(ParseRestartPolicy("Sometimes", "spec.restartPolicy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.restartPolicy")));
  EXPECT_EQ(TerminatedReason(0, false), "Completed");
  EXPECT_EQ(TerminatedReason(1, false), "Error");
  EXPECT_EQ(TerminatedReason(137, true), "OOMKilled");
}

TEST(OomKilledTest, CounterRoseAndContainerFailed) {
  struct Case {
    int exit_code;
    int64_t before, after;
    bool oom;
  } cases[] = {
      {137, 0, 1, true},   // main process SIGKILLed by the OOM killer
      {137, 2, 3, true},   // an earlier instance's kills are not counted twice
      {1, 0, 1, true},     // a child was killed, the main process failed
      {0, 0, 1, false},    // a child was killed, the container succeeded
      {137, 1, 1, false},  // SIGKILLed by someone else
      {1, 0, 0, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ContainerOomKilled(c.exit_code, c.before, c.after), c.oom)
        << c.exit_code << " " << c.before << "->" << c.after;
  }
  EXPECT_EQ(TerminatedReason(137, ContainerOomKilled(137, 0, 1)), "OOMKilled");
}

TEST(PodsMemoryLimitTest, ReserveForTheRuntime) {
  constexpr int64_t kMi = 1 << 20, kGi = int64_t{1} << 30;
  EXPECT_EQ(PodsMemoryLimit(24 * kGi, 0), 22 * kGi);                      // 2 GiB at most
  EXPECT_EQ(PodsMemoryLimit(8 * kGi, 0), 8 * kGi - 8 * kGi / 10);         // 10%
  EXPECT_EQ(PodsMemoryLimit(1 * kGi, 0), 768 * kMi);                      // 256 MiB at least
  EXPECT_EQ(PodsMemoryLimit(24 * kGi, 4 * kGi), 4 * kGi - 4 * kGi / 10);  // the lower one
  EXPECT_EQ(PodsMemoryLimit(4 * kGi, 24 * kGi), 4 * kGi - 4 * kGi / 10);
  EXPECT_EQ(PodsMemoryLimit(200 * kMi, 0), 0);
  EXPECT_EQ(PodsMemoryLimit(0, 0), 0);
}

TEST(ContainerResourcesTest, Quantities) {
  absl::StatusOr<ContainerResources> r = ParseContainerResources(
      Json::parse(R"({"resources":{"limits":{"memory":"64Mi","cpu":"500m"}}})"), "c");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->memory_limit_bytes, 64 << 20);
  EXPECT_EQ(r->cpu_limit_millis, 500);
  EXPECT_EQ(r->cpu_request_millis, 500);  // defaults to the limit
  r = ParseContainerResources(
      Json::parse(R"({"resources":{"limits":{"memory":"1Gi","cpu":2},"requests":{"cpu":"0.1"}}})"),
      "c");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->memory_limit_bytes, int64_t{1} << 30);
  EXPECT_EQ(r->cpu_limit_millis, 2000);
  EXPECT_EQ(r->cpu_request_millis, 100);
  r = ParseContainerResources(Json::parse(R"({"resources":{"limits":{"memory":"128M"}}})"), "c");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->memory_limit_bytes, 128000000);
  EXPECT_EQ(r->cpu_limit_millis, 0);
  r = ParseContainerResources(Json::parse(R"({"name":"x"})"), "c");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->memory_limit_bytes, 0);
  EXPECT_THAT(ParseContainerResources(Json::parse(R"({"resources":{"limits":{"memory":"lots"}}})"),
                                      "spec.containers[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[0].resources.limits.memory")));
}

TEST(CrashLoopTest, DelaysDoubleToFiveMinutes) {
  // A container that crashes 1 s after every start.
  CrashLoopBackoff backoff;
  absl::Time now = kT0;
  std::vector<absl::Duration> waits;
  for (int crash = 0; crash < 9; ++crash) {
    now += absl::Seconds(1);
    const ContainerExit exit{1, false, now};
    RestartDecision d = DecideRestart(RestartPolicy::kAlways, "app", exit, backoff, now);
    absl::Duration waited = absl::ZeroDuration();
    for (int guard = 0; d.action == Action::kWaitBackoff && guard < 1000; ++guard) {
      EXPECT_EQ(d.reason, "CrashLoopBackOff");
      EXPECT_THAT(d.message, HasSubstr("container=app"));
      now += absl::Seconds(1);
      waited += absl::Seconds(1);
      d = DecideRestart(RestartPolicy::kAlways, "app", exit, backoff, now);
    }
    ASSERT_EQ(d.action, Action::kRestartNow);
    backoff.RecordRestart(exit.finished_at, now);
    waits.push_back(waited);
  }
  const std::vector<absl::Duration> want = {
      absl::ZeroDuration(), absl::Seconds(10),  absl::Seconds(20),
      absl::Seconds(40),    absl::Seconds(80),  absl::Seconds(160),
      absl::Seconds(300),   absl::Seconds(300), absl::Seconds(300)};
  EXPECT_EQ(waits, want);
}

TEST(CrashLoopTest, ResetsAfterTenMinutesOfRunning) {
  CrashLoopBackoff backoff;
  absl::Time now = kT0;
  for (int i = 0; i < 4; ++i) backoff.RecordRestart(now, now);
  EXPECT_EQ(backoff.delay(), absl::Seconds(80));
  // Ran 9 minutes: still backing off.
  EXPECT_TRUE(backoff.InBackoff(now + absl::Minutes(9), now + absl::Minutes(9)));
  // Ran just over 10 minutes since the last restart: restart at once, back-off reset.
  const absl::Time late = now + absl::Minutes(10) + absl::Seconds(1);
  EXPECT_FALSE(backoff.InBackoff(late, late));
  EXPECT_EQ(DecideRestart(RestartPolicy::kAlways, "c", {1, false, late}, backoff, late).action,
            Action::kRestartNow);
  backoff.RecordRestart(late, late);
  EXPECT_EQ(backoff.delay(), absl::Seconds(10));
}

TEST(CrashLoopTest, PolicyDecidesBeforeBackoff) {
  CrashLoopBackoff backoff;
  backoff.RecordRestart(kT0, kT0);
  RestartDecision ok = DecideRestart(RestartPolicy::kOnFailure, "c", {0, false, kT0}, backoff, kT0);
  EXPECT_EQ(ok.action, Action::kLeaveTerminated);
  EXPECT_EQ(ok.reason, "Completed");
  RestartDecision never = DecideRestart(RestartPolicy::kNever, "c", {3, false, kT0}, backoff, kT0);
  EXPECT_EQ(never.action, Action::kLeaveTerminated);
  EXPECT_EQ(never.reason, "Error");
  RestartDecision wait = DecideRestart(RestartPolicy::kOnFailure, "c", {3, false, kT0}, backoff,
                                       kT0 + absl::Seconds(4));
  EXPECT_EQ(wait.action, Action::kWaitBackoff);
  EXPECT_EQ(wait.wait, absl::Seconds(6));
}

Json Running() { return {{"running", {{"startedAt", "2023-01-01T00:00:00Z"}}}}; }
Json Terminated(int code) { return {{"terminated", {{"exitCode", code}}}}; }
Json Waiting() { return {{"waiting", {{"reason", "ContainerCreating"}}}}; }

Json PodWith(std::string policy, Json init_states, Json states, Json last_states = nullptr) {
  Json pod = {
      {"spec", {{"restartPolicy", policy}, {"nodeName", "n"}, {"containers", Json::array()}}},
      {"status", {{"containerStatuses", Json::array()}, {"initContainerStatuses", Json::array()}}}};
  for (size_t i = 0; i < init_states.size(); ++i) {
    const std::string name = "init" + std::to_string(i);
    pod["spec"]["initContainers"].push_back({{"name", name}});
    if (!init_states[i].is_null()) {
      pod["status"]["initContainerStatuses"].push_back({{"name", name}, {"state", init_states[i]}});
    }
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const std::string name = "c" + std::to_string(i);
    pod["spec"]["containers"].push_back({{"name", name}});
    if (states[i].is_null()) continue;
    Json s = {{"name", name}, {"state", states[i]}, {"ready", states[i].contains("running")}};
    if (!last_states.is_null() && !last_states[i].is_null()) s["lastState"] = last_states[i];
    pod["status"]["containerStatuses"].push_back(s);
  }
  return pod;
}

TEST(PodPhaseTest, Table) {
  const Json none = Json::array();
  struct Case {
    const char* name;
    Json pod;
    const char* phase;
  } cases[] = {
      {"no statuses yet", PodWith("Always", none, {nullptr}), "Pending"},
      {"creating", PodWith("Always", none, {Waiting()}), "Pending"},
      {"running", PodWith("Always", none, {Running(), Running()}), "Running"},
      {"one running one unknown", PodWith("Always", none, {Running(), nullptr}), "Pending"},
      {"init running", PodWith("Never", {Running()}, {Waiting()}), "Pending"},
      {"init failed never", PodWith("Never", {Terminated(1)}, {Waiting()}), "Failed"},
      {"init failed onfailure", PodWith("OnFailure", {Terminated(1)}, {Waiting()}), "Pending"},
      {"init done, main running", PodWith("Never", {Terminated(0)}, {Running()}), "Running"},
      {"all succeeded never", PodWith("Never", none, {Terminated(0), Terminated(0)}), "Succeeded"},
      {"all succeeded onfailure", PodWith("OnFailure", none, {Terminated(0)}), "Succeeded"},
      {"all exited always", PodWith("Always", none, {Terminated(0)}), "Running"},
      {"one failed never", PodWith("Never", none, {Terminated(0), Terminated(2)}), "Failed"},
      {"one failed onfailure", PodWith("OnFailure", none, {Terminated(0), Terminated(2)}),
       "Running"},
      {"running and exited never", PodWith("Never", none, {Running(), Terminated(1)}), "Running"},
      {"crash looping", PodWith("Always", none, {Waiting()}, {Terminated(1)}), "Running"},
  };
  for (const Case& c : cases) {
    auto phase = ComputePodPhase(c.pod);
    ASSERT_TRUE(phase.ok()) << c.name << ": " << phase.status();
    EXPECT_EQ(*phase, c.phase) << c.name;
  }
  Json bad = PodWith("Whenever", none, {Running()});
  EXPECT_THAT(ComputePodPhase(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.restartPolicy")));
  EXPECT_THAT(ComputePodPhase(Json{{"spec", {{"containers", {{{"name", 5}}}}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.containers[0].name")));
}

TEST(PodConditionsTest, ReadyFollowsContainers) {
  Json pod = PodWith("Always", {Terminated(0)}, {Running(), Running()});
  Json conds = ComputePodConditions(pod, "Running", kT0);
  EXPECT_EQ((*GetCondition(conds, "PodScheduled"))["status"], "True");
  EXPECT_EQ((*GetCondition(conds, "Initialized"))["status"], "True");
  EXPECT_EQ((*GetCondition(conds, "ContainersReady"))["status"], "True");
  EXPECT_EQ((*GetCondition(conds, "Ready"))["status"], "True");
  pod["status"]["conditions"] = conds;
  pod["status"]["containerStatuses"][1]["ready"] = false;
  conds = ComputePodConditions(pod, "Running", kT0 + absl::Seconds(5));
  const Json& ready = *GetCondition(conds, "Ready");
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "ContainersNotReady");
  EXPECT_EQ(ready["message"], "containers with unready status: [c1]");
  EXPECT_EQ(ready["lastTransitionTime"], FormatK8sTime(kT0 + absl::Seconds(5)));
  // Unchanged conditions keep their transition time.
  EXPECT_EQ((*GetCondition(conds, "Initialized"))["lastTransitionTime"], FormatK8sTime(kT0));

  Json init = PodWith("Always", {Running()}, {Waiting()});
  conds = ComputePodConditions(init, "Pending", kT0);
  EXPECT_EQ((*GetCondition(conds, "Initialized"))["reason"], "ContainersNotInitialized");
  EXPECT_EQ((*GetCondition(conds, "Initialized"))["message"],
            "containers with incomplete status: [init0]");
  Json done = PodWith("Never", Json::array(), {Terminated(0)});
  conds = ComputePodConditions(done, "Succeeded", kT0);
  EXPECT_EQ((*GetCondition(conds, "Ready"))["reason"], "PodCompleted");
  done["spec"].erase("nodeName");
  conds = ComputePodConditions(done, "Pending", kT0);
  EXPECT_EQ((*GetCondition(conds, "PodScheduled"))["status"], "False");
}

TEST(ActiveDeadlineTest, ExceededAfterDeadline) {
  Json pod = {{"spec", {{"activeDeadlineSeconds", 30}}},
              {"status", {{"startTime", FormatK8sTime(kT0)}}}};
  auto before = CheckActiveDeadline(pod, kT0 + absl::Seconds(29));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->exceeded);
  EXPECT_EQ(before->remaining, absl::Seconds(1));
  auto at = CheckActiveDeadline(pod, kT0 + absl::Seconds(30));
  EXPECT_TRUE(at->exceeded);
  EXPECT_EQ(at->reason, "DeadlineExceeded");
  EXPECT_FALSE(CheckActiveDeadline(Json{{"spec", Json::object()}}, kT0)->exceeded);
  pod["spec"]["activeDeadlineSeconds"] = -4;
  EXPECT_THAT(CheckActiveDeadline(pod, kT0), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("spec.activeDeadlineSeconds")));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
