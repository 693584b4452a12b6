// RoutedCluster over a store-backed cluster (ConfigMaps, Deployments) and a
// real ResourceService (in-process gRPC) serving the rollout kinds: each
// object lands in the store of the service that owns its kind, never in the
// other.
#include "lib/cluster/routed_cluster.h"

#include <memory>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

struct Store {
  std::unique_ptr<store::InMemoryStore> store;
  std::unique_ptr<resource::ResourceApi> api;
};

Store NewStore(const std::string& service) {
  Store s;
  auto kinds = resource::KindsOfService(service);
  s.store = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  s.api = std::make_unique<resource::ResourceApi>(s.store.get(), kinds);
  return s;
}

json Rollout(const std::string& name, int replicas) {
  return json{{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "Rollout"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", "a"}}}}},
              {"spec", {{"replicas", replicas}}}};
}

json ConfigMap(const std::string& name) {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", "a"}}}}},
              {"data", {{"k", "v"}}}};
}

class RoutedClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_store_ = NewStore("cluster");
    rollout_store_ = NewStore("rollout");
    base_ = std::make_unique<ApiCluster>(cluster_store_.api.get());
    grpc_ = std::make_unique<resource::ResourceGrpcService>(rollout_store_.api.get(), "rollout");
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "rollout", .grpc_port = -1, .http_port = -1});
    server_->AddService(grpc_.get());
    ASSERT_OK(server_->Start());
    stub_ = api::v1::ResourceService::NewStub(server_->InProcessChannel());
    routed_ = std::make_unique<RoutedCluster>(base_.get(), stub_.get());
  }

  void TearDown() override {
    routed_.reset();
    server_->Shutdown(absl::Seconds(1));
  }

  Store cluster_store_, rollout_store_;
  std::unique_ptr<ApiCluster> base_;
  std::unique_ptr<resource::ResourceGrpcService> grpc_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<api::v1::ResourceService::Stub> stub_;
  std::unique_ptr<RoutedCluster> routed_;
};

TEST_F(RoutedClusterTest, ArgoKindsGoToTheResourceServiceAndTheRestToTheBase) {
  ASSERT_OK(routed_->Apply(Rollout("r1", 2)).status());
  ASSERT_OK(routed_->Apply(ConfigMap("c1")).status());

  EXPECT_OK(rollout_store_.api->GetObject("Rollout", "default", "r1").status());
  EXPECT_THAT(cluster_store_.api->GetObject("ConfigMap", "default", "c1").status(), IsOk());
  // Neither leaked into the other store.
  EXPECT_THAT(rollout_store_.api->Resolve("ConfigMap").status(), Not(IsOk()));
  EXPECT_THAT(cluster_store_.api->Resolve("Rollout").status(), Not(IsOk()));

  absl::StatusOr<json> got = routed_->Get("Rollout", "default", "r1");
  ASSERT_OK(got.status());
  EXPECT_EQ((*got)["spec"]["replicas"], 2);
  absl::StatusOr<std::vector<json>> listed = routed_->List("Rollout", "", "app=a");
  ASSERT_OK(listed.status());
  EXPECT_EQ(listed->size(), 1u);
  absl::StatusOr<std::vector<json>> cms = routed_->List("ConfigMap", "default", "app=a");
  ASSERT_OK(cms.status());
  EXPECT_EQ(cms->size(), 1u);
}

TEST_F(RoutedClusterTest, CreateUpdateDeleteKeepTheServicesCodes) {
  ASSERT_OK(routed_->Create(Rollout("r1", 1)).status());
  EXPECT_THAT(routed_->Create(Rollout("r1", 1)).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));

  absl::StatusOr<json> live = routed_->Get("Rollout", "default", "r1");
  ASSERT_OK(live.status());
  json stale = *live;
  (*live)["spec"]["replicas"] = 3;
  ASSERT_OK(routed_->Update(*live).status());
  stale["spec"]["replicas"] = 4;
  EXPECT_THAT(routed_->Update(stale).status(), StatusIs(absl::StatusCode::kAborted));

  ASSERT_OK(routed_->Delete("Rollout", "default", "r1"));
  EXPECT_THAT(routed_->Get("Rollout", "default", "r1").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(routed_->Delete("Rollout", "default", "r1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RoutedClusterTest, WatchListsThenFollowsTheStream) {
  ASSERT_OK(routed_->Apply(Rollout("before", 1)).status());
  absl::StatusOr<std::unique_ptr<Watch>> w = routed_->WatchObjects("Rollout", "", "", "");
  ASSERT_OK(w.status());
  absl::StatusOr<std::vector<WatchEvent>> first = (*w)->Next(absl::Now() + absl::Seconds(5));
  ASSERT_OK(first.status());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].type, "ADDED");
  EXPECT_EQ((*first)[0].object["metadata"]["name"], "before");

  ASSERT_OK(routed_->Apply(Rollout("after", 1)).status());
  std::vector<WatchEvent> seen;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (seen.empty() && absl::Now() < deadline) {
    absl::StatusOr<std::vector<WatchEvent>> next = (*w)->Next(absl::Now() + absl::Seconds(1));
    ASSERT_OK(next.status());
    seen.insert(seen.end(), next->begin(), next->end());
  }
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, "ADDED");
  EXPECT_EQ(seen[0].object["metadata"]["name"], "after");
  EXPECT_GT(seen[0].resource_version, (*first)[0].resource_version);
  (*w)->Cancel();
  EXPECT_THAT((*w)->Next(absl::Now() + absl::Seconds(1)).status(),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(RoutedClusterTest, WithoutAResourceServiceArgoKindsFailWithTheKind) {
  RoutedCluster alone(base_.get(), nullptr);
  EXPECT_THAT(alone.Apply(Rollout("r1", 1)).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Rollout")));
  EXPECT_THAT(alone.List("Workflow", "", "").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Workflow")));
  EXPECT_OK(alone.Apply(ConfigMap("c1")).status());
  EXPECT_THAT(alone.Apply(json{{"metadata", {{"name", "x"}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
}

TEST(RoutedClusterKinds, ArgoKindsAreThoseUnderArgoprojIo) {
  EXPECT_TRUE(RoutedCluster::IsArgoKind("Rollout"));
  EXPECT_TRUE(RoutedCluster::IsArgoKind("Workflow"));
  EXPECT_TRUE(RoutedCluster::IsArgoKind("Application"));
  EXPECT_FALSE(RoutedCluster::IsArgoKind("Deployment"));
  EXPECT_FALSE(RoutedCluster::IsArgoKind("ConfigMap"));
  EXPECT_FALSE(RoutedCluster::IsArgoKind("NoSuchKind"));
}

}  // namespace
}  // namespace argonaut::cluster
