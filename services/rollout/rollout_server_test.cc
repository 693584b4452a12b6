// RolloutServer: the rollout controller, the AnalysisRunController and the
// ExperimentController together on a real LocalCluster (plain processes). A
// canary with an analysis step finishes when its job metric passes and goes
// back to stable when it fails; one with an experiment step runs it.
#include "services/rollout/rollout_server.h"

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/rollout/test_util.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout {
namespace {

using nlohmann::json;

constexpr char kTemplates[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: job-check, namespace: default}
spec:
  args:
  - name: exit-code
  metrics:
  - name: check
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: check
                image: debian:12
                command: [sh, -c, "exit {{args.exit-code}}"]
)";

std::string Rollout(int exit_code, const std::string& sleep) {
  return absl::StrCat(R"(
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: analysed, namespace: default}
spec:
  replicas: 2
  selector:
    matchLabels: {app: analysed}
  template:
    metadata:
      labels: {app: analysed}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: debian:12, command: [sleep, ")",
                      sleep, R"("]}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates:
          - templateName: job-check
          args:
          - {name: exit-code, value: ")",
                      exit_code, R"("}
)");
}

std::string Str(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return "";
  return o[key].get<std::string>();
}

json StatusOf(const json& r) { return r.value("status", json::object()); }

class RolloutServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = test_util::StartTestCluster("ros-");
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_env_ = *std::move(c);
    cluster_ = cluster_env_.cluster.get();
    rollouts_ = test_util::NewRolloutStore(validation::RolloutValidator());
    rapi_ = rollouts_.api.get();
    server_ = std::make_unique<RolloutServer>(
        rapi_, RolloutServerOptions{.cluster = cluster_, .metrics = &registry_});
    ASSERT_OK(server_->Start());
    ASSERT_TRUE(server_->runs_controllers());
    Apply(kTemplates);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  void Apply(const std::string& yaml) {
    auto docs = manifest::ParseDocuments(yaml);
    ASSERT_TRUE(docs.ok()) << docs.status();
    const json& doc = (*docs)[0];
    auto out = rapi_->CreateObject(doc.value("kind", ""), doc, /*upsert=*/true);
    ASSERT_TRUE(out.ok()) << out.status();
  }

  json WaitFor(const std::string& what, const std::function<bool(const json&)>& pred,
               absl::Duration timeout = absl::Seconds(90)) {
    const absl::Time deadline = absl::Now() + timeout;
    json r;
    while (absl::Now() < deadline) {
      auto got = rapi_->GetObject("Rollout", "default", "analysed");
      if (got.ok()) {
        r = *got;
        if (pred(r)) return r;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; rollout status: " << StatusOf(r).dump();
    return r;
  }

  int RunningPods(const std::string& hash) {
    auto pods = cluster_->List("Pod", "default", absl::StrCat("rollouts-pod-template-hash=", hash));
    if (!pods.ok()) return -1;
    int n = 0;
    for (const json& p : *pods) {
      if (p.value("metadata", json::object()).contains("deletionTimestamp")) continue;
      if (Str(p.value("status", json::object()), "phase") == "Running") ++n;
    }
    return n;
  }

  void ExpectPods(const std::string& hash, int want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    int n = RunningPods(hash);
    while (n != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      n = RunningPods(hash);
    }
    EXPECT_EQ(n, want) << "running pods of revision " << hash;
  }

  // The first revision, Healthy; returns its hash.
  std::string Deploy(int exit_code) {
    Apply(Rollout(exit_code, "3600"));
    json r = WaitFor("first revision Healthy",
                     [](const json& r) { return Str(StatusOf(r), "phase") == "Healthy"; });
    return Str(StatusOf(r), "stableRS");
  }

  metrics::MetricsRegistry registry_;
  test_util::TestCluster cluster_env_;
  test_util::TestRolloutStore rollouts_;
  cluster::LocalCluster* cluster_ = nullptr;  // cluster_env_'s
  resource::ResourceApi* rapi_ = nullptr;     // rollouts_'
  std::unique_ptr<RolloutServer> server_;
};

TEST_F(RolloutServerTest, PassingAnalysisCompletesTheCanary) {
  const std::string v1 = Deploy(0);
  Apply(Rollout(0, "3601"));
  json r = WaitFor("Healthy at the new revision", [&](const json& r) {
    const json s = StatusOf(r);
    return Str(s, "phase") == "Healthy" && !Str(s, "stableRS").empty() && Str(s, "stableRS") != v1;
  });
  const std::string v2 = Str(StatusOf(r), "stableRS");
  ExpectPods(v2, 2);
  ExpectPods(v1, 0);
  auto runs = rapi_->ListObjects("AnalysisRun", "default", "");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(StatusOf((*runs)[0])["phase"], "Successful") << (*runs)[0].dump();
}

TEST_F(RolloutServerTest, FailingAnalysisAbortsToStable) {
  const std::string v1 = Deploy(1);
  Apply(Rollout(1, "3601"));
  json r =
      WaitFor("Degraded", [](const json& r) { return Str(StatusOf(r), "phase") == "Degraded"; });
  EXPECT_EQ(StatusOf(r)["abort"], true) << StatusOf(r).dump();
  EXPECT_EQ(Str(StatusOf(r), "stableRS"), v1);
  ExpectPods(v1, 2);
  ExpectPods(Str(StatusOf(r), "currentPodHash"), 0);
  auto runs = rapi_->ListObjects("AnalysisRun", "default", "");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(StatusOf((*runs)[0])["phase"], "Failed") << (*runs)[0].dump();
}

// The canary's experiment step: the ExperimentController runs the canary template as its own
// ReplicaSet, its required job analysis passes, and the rollout goes on to Healthy.
TEST_F(RolloutServerTest, ExperimentStepRunsItsTemplateAndAnalysis) {
  const std::string v1 = Deploy(0);
  std::string yaml = Rollout(0, "3601");
  yaml = yaml.substr(0, yaml.find("      - analysis:")) + R"(      - experiment:
          scaleDownDelaySeconds: 0
          templates:
          - {name: canary, specRef: canary}
          analyses:
          - name: check
            templateName: job-check
            requiredForCompletion: true
            args:
            - {name: exit-code, value: "0"}
)";
  Apply(yaml);
  json r = WaitFor("Healthy at the new revision", [&](const json& r) {
    const json s = StatusOf(r);
    return Str(s, "phase") == "Healthy" && !Str(s, "stableRS").empty() && Str(s, "stableRS") != v1;
  });
  const std::string v2 = Str(StatusOf(r), "stableRS");
  auto exs = rapi_->ListObjects("Experiment", "default", "");
  ASSERT_TRUE(exs.ok());
  ASSERT_EQ(exs->size(), 1u);
  const json& ex = (*exs)[0];
  EXPECT_EQ(Str(ex["metadata"], "name"), absl::StrCat("analysed-", v2, "-2-1"));
  EXPECT_EQ(StatusOf(ex)["phase"], "Successful") << StatusOf(ex).dump();
  EXPECT_EQ(StatusOf(ex)["message"], "Required AnalysisRuns completed");
  auto runs = rapi_->ListObjects("AnalysisRun", "default", "");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(StatusOf((*runs)[0])["phase"], "Successful") << (*runs)[0].dump();
  // The experiment's ReplicaSet ran the canary template and is scaled away once it is done.
  const std::string rs_name = absl::StrCat("analysed-", v2, "-2-1-canary");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  json rs;
  while (absl::Now() < deadline) {
    auto got = cluster_->Get("ReplicaSet", "default", rs_name);
    ASSERT_TRUE(got.ok()) << got.status();
    rs = *got;
    if (rs["spec"].value("replicas", -1) == 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(rs["spec"].value("replicas", -1), 0) << rs.dump();
  EXPECT_EQ(rs["metadata"]["labels"]["rollouts-pod-template-hash"], v2);
  ExpectPods(v2, 2);  // the rollout's own pods
  ExpectPods(v1, 0);
}

TEST(RolloutServerAloneTest, WithoutAClusterNoControllerRuns) {
  auto kinds = resource::KindsOfService("rollout");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi api(store.get(), kinds, validation::RolloutValidator());
  RolloutServer server(&api, {});
  ASSERT_OK(server.Start());
  EXPECT_FALSE(server.runs_controllers());
  EXPECT_NE(server.grpc_service(), nullptr);
  server.Stop();
}

}  // namespace
}  // namespace argonaut::rollout
