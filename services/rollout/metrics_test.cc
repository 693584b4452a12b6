#include "services/rollout/metrics.h"

#include "gtest/gtest.h"

namespace argonaut::rollout {
namespace {

using nlohmann::json;

json Rollout(json strategy, json status) {
  return {{"metadata", {{"name", "r"}, {"namespace", "ns"}}},
          {"spec", {{"replicas", 3}, {"strategy", std::move(strategy)}}},
          {"status", std::move(status)}};
}

json Progressing(const std::string& reason) {
  return {{"conditions", json::array({{{"type", "Progressing"}, {"reason", reason}}})}};
}

TEST(RolloutMetricsTest, PhaseLabelFollowsArgosMetricPhases) {
  const json canary = {{"canary", json::object()}};
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, Progressing("NewReplicaSetAvailable"))), "Completed");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, Progressing("RolloutPaused"))), "Paused");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, Progressing("ProgressDeadlineExceeded"))), "Timeout");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, Progressing("RolloutAborted"))), "Abort");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, Progressing("ReplicaSetUpdated"))), "Progressing");
  json invalid = Progressing("ReplicaSetUpdated");
  invalid["conditions"].push_back({{"type", "InvalidSpec"}, {"reason", "InvalidSpec"}});
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, invalid)), "InvalidSpec");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, {{"phase", "Healthy"}})), "Completed");
  EXPECT_EQ(MetricPhaseOf(Rollout(canary, json::object())), "Progressing");
}

TEST(RolloutMetricsTest, StrategyAndTrafficRouter) {
  EXPECT_EQ(StrategyOf(Rollout({{"canary", json::object()}}, {})), "canary");
  EXPECT_EQ(StrategyOf(Rollout({{"blueGreen", {{"activeService", "a"}}}}, {})), "blueGreen");
  EXPECT_EQ(StrategyOf(Rollout(json::object(), {})), "none");
  EXPECT_EQ(
      TrafficRouterOf(Rollout({{"canary", {{"trafficRouting", {{"smi", json::object()}}}}}}, {})),
      "SMI");
  EXPECT_EQ(TrafficRouterOf(Rollout(
                {{"canary", {{"trafficRouting", {{"nginx", {{"stableIngress", "i"}}}}}}}}, {})),
            "Nginx");
  EXPECT_EQ(TrafficRouterOf(Rollout({{"canary", json::object()}}, {})), "");
}

TEST(RolloutMetricsTest, SeriesMoveWithThePhaseAndGoWithTheRollout) {
  metrics::MetricsRegistry registry;
  auto created = RolloutMetrics::Create(registry);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<RolloutMetrics> m = std::move(*created);
  const json canary = {{"canary", json::object()}};
  m->ObserveRollout(Rollout(canary, Progressing("RolloutPaused")), false);
  std::string text = registry.Serialize();
  EXPECT_NE(
      text.find("rollout_info{name=\"r\",namespace=\"ns\",phase=\"Paused\",strategy=\"canary\","
                "traffic_router=\"\"} 1"),
      std::string::npos)
      << text;
  json done = Progressing("NewReplicaSetAvailable");
  done["availableReplicas"] = 3;
  done["replicas"] = 3;
  done["updatedReplicas"] = 3;
  m->ObserveRollout(Rollout(canary, done), false);
  text = registry.Serialize();
  EXPECT_EQ(text.find("phase=\"Paused\",strategy=\"canary\",traffic_router"), std::string::npos)
      << text;
  EXPECT_NE(text.find("phase=\"Completed\",strategy=\"canary\",traffic_router=\"\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rollout_phase{name=\"r\",namespace=\"ns\",phase=\"Completed\","
                      "strategy=\"canary\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rollout_phase{name=\"r\",namespace=\"ns\",phase=\"Paused\","
                      "strategy=\"canary\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("rollout_info_replicas_available{name=\"r\",namespace=\"ns\"} 3"),
            std::string::npos);
  m->ObserveReconcile("ns", "r", absl::Milliseconds(120));
  m->CountError("ns", "r");
  text = registry.Serialize();
  EXPECT_NE(text.find("rollout_reconcile_bucket{name=\"r\",namespace=\"ns\",le=\"0.15\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rollout_reconcile_error{name=\"r\",namespace=\"ns\"} 1"), std::string::npos);
  m->ObserveRollout(Rollout(canary, done), true);
  text = registry.Serialize();
  EXPECT_EQ(text.find("rollout_info{"), std::string::npos) << text;
}

TEST(RolloutMetricsTest, EventsCountedByTypeAndReason) {
  metrics::MetricsRegistry registry;
  auto created = RolloutMetrics::Create(registry);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<RolloutMetrics> m = std::move(*created);
  m->CountEvent("ns", "r", "Normal", "RestartingPod");
  m->CountEvent("ns", "r", "Normal", "RestartingPod");
  m->CountEvent("ns", "r", "Warning", "RolloutAborted");
  const std::string text = registry.Serialize();
  EXPECT_NE(text.find("rollout_events_total{name=\"r\",namespace=\"ns\",reason=\"RestartingPod\","
                      "type=\"Normal\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rollout_events_total{name=\"r\",namespace=\"ns\",reason=\"RolloutAborted\","
                      "type=\"Warning\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace argonaut::rollout
