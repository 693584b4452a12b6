// The sync runner's I/O over a store-backed cluster, and history keeping.
#include "services/cd/sync_runner.h"

#include <memory>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/cd/destination.h"

namespace argonaut::cd {
namespace {

using nlohmann::json;
using Type = engine::SyncAction::Type;

class SyncRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(api_.get());
  }

  static json ConfigMap(const std::string& name, const std::string& app, const std::string& v) {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata",
                 {{"name", name},
                  {"namespace", "default"},
                  {"labels", {{"app.kubernetes.io/instance", app}}}}},
                {"data", {{"k", v}}}};
  }

  static engine::SyncAction Action(Type type, const json& object) {
    return engine::SyncAction{.type = type,
                              .key = {"", "ConfigMap", "default", object["metadata"]["name"]},
                              .object = object,
                              .phase = "Sync"};
  }

  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
};

TEST_F(SyncRunnerTest, ApplyRecordsLastAppliedAndReplaceAndDeleteAreIdempotent) {
  ASSERT_OK(ExecuteAction(*cluster_, Action(Type::kApply, ConfigMap("a", "app", "1"))));
  absl::StatusOr<json> live = cluster_->Get("ConfigMap", "default", "a");
  ASSERT_OK(live.status());
  const std::string applied =
      (*live)["metadata"]["annotations"].value(kLastAppliedAnnotation, std::string());
  ASSERT_FALSE(applied.empty());
  json parsed = json::parse(applied);
  EXPECT_EQ(parsed["data"]["k"], "1");
  EXPECT_FALSE(parsed["metadata"].contains("annotations"));

  // Replace creates when absent, replaces when present.
  ASSERT_OK(ExecuteAction(*cluster_, Action(Type::kReplace, ConfigMap("b", "app", "1"))));
  ASSERT_OK(ExecuteAction(*cluster_, Action(Type::kReplace, ConfigMap("b", "app", "2"))));
  EXPECT_EQ((*cluster_->Get("ConfigMap", "default", "b"))["data"]["k"], "2");

  ASSERT_OK(ExecuteAction(*cluster_, Action(Type::kDelete, ConfigMap("b", "app", "2"))));
  EXPECT_OK(ExecuteAction(*cluster_, Action(Type::kDelete, ConfigMap("b", "app", "2"))));
  EXPECT_FALSE(cluster_->Get("ConfigMap", "default", "b").ok());
}

TEST_F(SyncRunnerTest, AFailedActionIsRecordedAndTheRestStillRun) {
  ASSERT_OK(ExecuteAction(*cluster_, Action(Type::kApply, ConfigMap("exists", "app", "1"))));
  json state = {{"phase", "Running"},
                {"syncResult",
                 {{"resources", json::array({{{"group", ""},
                                              {"kind", "ConfigMap"},
                                              {"namespace", "default"},
                                              {"name", "exists"},
                                              {"syncPhase", "Sync"},
                                              {"status", "Synced"}}})}}}};
  std::vector<engine::SyncAction> actions = {
      Action(Type::kCreate, ConfigMap("exists", "app", "2")),  // ALREADY_EXISTS
      Action(Type::kApply, ConfigMap("later", "app", "1")),
  };
  EXPECT_EQ(ExecuteActions(*cluster_, actions, state), 1);
  EXPECT_EQ(state["syncResult"]["resources"][0]["status"], "SyncFailed");
  EXPECT_FALSE(state["syncResult"]["resources"][0].value("message", "").empty());
  EXPECT_OK(cluster_->Get("ConfigMap", "default", "later").status());
}

TEST(History, IdsGrowAndTheOldestGoPastTheLimit) {
  json status = json::object();
  for (int i = 0; i < 4; ++i) AppendHistory(status, json{{"revision", std::to_string(i)}}, 3);
  ASSERT_EQ(status["history"].size(), 3u);
  EXPECT_EQ(status["history"][0]["id"], 1);
  EXPECT_EQ(status["history"][0]["revision"], "1");
  EXPECT_EQ(status["history"][2]["id"], 3);
  EXPECT_EQ(HistoryLimit(json{{"spec", json::object()}}), 10);
  EXPECT_EQ(HistoryLimit(json{{"spec", {{"revisionHistoryLimit", 2}}}}), 2);
}

TEST_F(SyncRunnerTest, ListLiveFindsTheAppsObjectsOfTheGivenKinds) {
  ASSERT_OK(cluster_->Apply(ConfigMap("mine", "guestbook", "1")).status());
  ASSERT_OK(cluster_->Apply(ConfigMap("theirs", "other", "1")).status());
  KindSet kinds = {{"", "ConfigMap"}, {"example.com", "NoSuchKind"}};
  KindSet served;
  absl::StatusOr<std::vector<json>> live = ListLive(*cluster_, "guestbook", kinds, &served);
  ASSERT_OK(live.status());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0]["metadata"]["name"], "mine");
  EXPECT_EQ(served, (KindSet{{"", "ConfigMap"}}));
}

TEST(Destination, OnlyTheInClusterDestinationIsServed) {
  auto app = [](json dest) { return json{{"spec", {{"destination", dest}}}}; };
  EXPECT_OK(CheckDestination(app({{"server", "https://kubernetes.default.svc"}})));
  EXPECT_OK(CheckDestination(app({{"name", "in-cluster"}})));
  absl::Status other = CheckDestination(app({{"server", "https://10.0.0.1:6443"}}));
  EXPECT_FALSE(other.ok());
  EXPECT_NE(std::string(other.message()).find("https://10.0.0.1:6443"), std::string::npos);
  EXPECT_FALSE(CheckDestination(app({{"name", "prod"}})).ok());
  EXPECT_FALSE(CheckDestination(app(json::object())).ok());
}

}  // namespace
}  // namespace argonaut::cd
