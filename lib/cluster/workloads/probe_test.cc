#include "lib/cluster/workloads/probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const Json kExec = {{"exec", {{"command", {"true"}}}}};

TEST(ProbeSpecTest, DefaultsAndValidation) {
  auto s = ParseProbe(kExec, ProbeKind::kReadiness, "spec.containers[0].readinessProbe");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->period_seconds, 10);
  EXPECT_EQ(s->timeout_seconds, 1);
  EXPECT_EQ(s->success_threshold, 1);
  EXPECT_EQ(s->failure_threshold, 3);
  EXPECT_EQ(s->initial_delay_seconds, 0);
  Json two = kExec;
  two["successThreshold"] = 2;
  EXPECT_TRUE(ParseProbe(two, ProbeKind::kReadiness, "p").ok());
  EXPECT_THAT(ParseProbe(two, ProbeKind::kLiveness, "spec.containers[0].livenessProbe"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[0].livenessProbe.successThreshold")));
  Json zero = kExec;
  zero["periodSeconds"] = 0;
  EXPECT_THAT(ParseProbe(zero, ProbeKind::kReadiness, "r"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("r.periodSeconds")));
  EXPECT_THAT(ParseProbe(Json::object(), ProbeKind::kReadiness, "r"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one handler")));
  Json both = kExec;
  both["tcpSocket"] = {{"port", 80}};
  EXPECT_THAT(ParseProbe(both, ProbeKind::kReadiness, "r"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ClassifyAttempt(true, absl::Milliseconds(500), *s), ProbeResult::kSuccess);
  EXPECT_EQ(ClassifyAttempt(true, absl::Seconds(2), *s), ProbeResult::kFailure);
  EXPECT_EQ(ClassifyAttempt(false, absl::Milliseconds(1), *s), ProbeResult::kFailure);
}

TEST(ProbeWorkerTest, ScheduleHonoursInitialDelayAndPeriod) {
  ProbeSpec spec;
  spec.initial_delay_seconds = 5;
  spec.period_seconds = 3;
  ProbeWorker w(ProbeKind::kReadiness, spec);
  EXPECT_FALSE(w.Due(kT0, kT0 + absl::Seconds(4)));
  EXPECT_TRUE(w.Due(kT0, kT0 + absl::Seconds(5)));
  w.Record(ProbeResult::kSuccess, kT0 + absl::Seconds(5));
  EXPECT_FALSE(w.Due(kT0, kT0 + absl::Seconds(7)));
  EXPECT_TRUE(w.Due(kT0, kT0 + absl::Seconds(8)));
}

TEST(ProbeWorkerTest, ReadinessThresholds) {
  ProbeSpec spec;
  spec.success_threshold = 2;
  spec.failure_threshold = 3;
  ProbeWorker w(ProbeKind::kReadiness, spec);
  EXPECT_EQ(w.result(), ProbeResult::kFailure);  // not ready before the first success
  absl::Time t = kT0;
  auto at = [&](ProbeResult r) {
    t += absl::Seconds(10);
    return w.Record(r, t);
  };
  EXPECT_FALSE(at(ProbeResult::kSuccess).changed);
  auto o = at(ProbeResult::kSuccess);
  EXPECT_TRUE(o.changed);
  EXPECT_EQ(o.result, ProbeResult::kSuccess);
  EXPECT_FALSE(at(ProbeResult::kFailure).changed);
  EXPECT_FALSE(at(ProbeResult::kFailure).changed);
  EXPECT_FALSE(at(ProbeResult::kSuccess).changed);  // streak broken
  EXPECT_FALSE(at(ProbeResult::kFailure).changed);
  EXPECT_FALSE(at(ProbeResult::kFailure).changed);
  o = at(ProbeResult::kFailure);
  EXPECT_TRUE(o.changed);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_FALSE(o.kill_container);  // readiness never kills
  EXPECT_EQ(w.result(), ProbeResult::kFailure);
}

TEST(ProbeWorkerTest, LivenessKillsAfterFailureThresholdAndHolds) {
  ProbeWorker w(ProbeKind::kLiveness, ProbeSpec{});
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
  EXPECT_FALSE(w.Record(ProbeResult::kFailure, kT0 + absl::Seconds(10)).kill_container);
  EXPECT_FALSE(w.Record(ProbeResult::kFailure, kT0 + absl::Seconds(20)).kill_container);
  auto o = w.Record(ProbeResult::kFailure, kT0 + absl::Seconds(30));
  EXPECT_TRUE(o.kill_container);
  EXPECT_FALSE(w.Due(kT0, kT0 + absl::Seconds(100)));  // on hold until the new instance
  w.Reset();
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
  EXPECT_TRUE(w.Due(kT0, kT0 + absl::Seconds(100)));
  EXPECT_TRUE(RestartsAfterProbeKill(RestartPolicy::kAlways));
  EXPECT_TRUE(RestartsAfterProbeKill(RestartPolicy::kOnFailure));
  EXPECT_FALSE(RestartsAfterProbeKill(RestartPolicy::kNever));
}

TEST(ContainerProbesTest, StartupGatesReadinessAndLiveness) {
  Json startup_probe = kExec;
  startup_probe["failureThreshold"] = 2;
  Json c = {{"name", "app"},
            {"startupProbe", startup_probe},
            {"livenessProbe", kExec},
            {"readinessProbe", kExec}};
  auto probes = ProbesForContainer(c, "spec.containers[0]");
  ASSERT_TRUE(probes.ok()) << probes.status();
  EXPECT_FALSE(probes->Started());
  EXPECT_FALSE(probes->Ready(true));
  EXPECT_FALSE(probes->Active(ProbeKind::kLiveness));
  EXPECT_TRUE(probes->Active(ProbeKind::kStartup));
  probes->startup->Record(ProbeResult::kSuccess, kT0);
  EXPECT_TRUE(probes->Started());
  EXPECT_TRUE(probes->Active(ProbeKind::kReadiness));
  EXPECT_FALSE(probes->Ready(true));
  probes->readiness->Record(ProbeResult::kSuccess, kT0);
  EXPECT_TRUE(probes->Ready(true));
  EXPECT_FALSE(probes->Ready(false));

  ContainerProbes none = *ProbesForContainer(Json{{"name", "x"}}, "c");
  EXPECT_TRUE(none.Ready(true));

  ProbeWorker startup(ProbeKind::kStartup,
                      *ParseProbe(c["startupProbe"], ProbeKind::kStartup, "s"));
  EXPECT_FALSE(startup.Record(ProbeResult::kFailure, kT0).kill_container);
  EXPECT_TRUE(startup.Record(ProbeResult::kFailure, kT0 + absl::Seconds(10)).kill_container);

  Json bad = {{"livenessProbe", {{"exec", Json::object()}, {"timeoutSeconds", "1s"}}}};
  EXPECT_THAT(ProbesForContainer(bad, "spec.containers[2]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[2].livenessProbe.timeoutSeconds")));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
