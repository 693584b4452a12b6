// CdServer wired as `argonaut up` wires it: a real LocalCluster for the
// Kubernetes kinds and the rollout service's ResourceService (in-process
// gRPC) for the Argo kinds. An app whose repository holds a Rollout and a
// ConfigMap puts each in the store of the service that owns it.
#include "services/cd/cd_server.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/kinds.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "services/cd/validation/validate.h"
#include "services/rollout/test_util.h"

namespace argonaut::cd {
namespace {

using nlohmann::json;

constexpr char kRollout[] = R"(apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: debian:12
        command: [sleep, "3600"]
  strategy:
    canary:
      steps:
      - setWeight: 50
)";

constexpr char kConfigMap[] = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  k: v
)";

class CdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = rollout::test_util::StartTestCluster("cds-");
    ASSERT_TRUE(c.ok()) << c.status();
    env_ = *std::move(c);
    rollouts_ = rollout::test_util::NewRolloutStore();
    rollout_grpc_ = std::make_unique<resource::ResourceGrpcService>(rollouts_.api.get(), "rollout");
    rollout_server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "rollout", .grpc_port = -1, .http_port = -1});
    rollout_server_->AddService(rollout_grpc_.get());
    ASSERT_OK(rollout_server_->Start());
    stub_ = ::argonaut::api::v1::ResourceService::NewStub(rollout_server_->InProcessChannel());

    auto kinds = resource::KindsOfService("cd");
    cd_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    apps_ =
        std::make_unique<resource::ResourceApi>(cd_store_.get(), kinds, validation::CdValidator());

    repo_dir_ = env_.dir + "/git/web";
    std::filesystem::create_directories(repo_dir_ + "/app");
    std::ofstream(repo_dir_ + "/app/rollout.yaml") << kRollout;
    std::ofstream(repo_dir_ + "/app/configmap.yaml") << kConfigMap;
    const std::string cmd =
        absl::StrCat("cd '", repo_dir_,
                     "' && git init -q -b main . && git add -A && git -c user.name=test -c "
                     "user.email=test@example.com commit -q -m first >/dev/null 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  void TearDown() override {
    if (cd_) cd_->Stop();
    if (rollout_server_) rollout_server_->Shutdown(absl::Seconds(1));
    if (env_.cluster) env_.cluster->Stop(absl::Seconds(2));
  }

  rollout::test_util::TestCluster env_;
  rollout::test_util::TestRolloutStore rollouts_;
  std::unique_ptr<resource::ResourceGrpcService> rollout_grpc_;
  std::unique_ptr<server::Server> rollout_server_;
  std::unique_ptr<::argonaut::api::v1::ResourceService::Stub> stub_;
  std::unique_ptr<store::InMemoryStore> cd_store_;
  std::unique_ptr<resource::ResourceApi> apps_;
  std::string repo_dir_;
  std::unique_ptr<CdServer> cd_;
};

TEST_F(CdServerTest, ArgoKindsGoToTheirServiceAndTheRestToTheCluster) {
  const std::string data_dir = env_.dir + "/cd";
  cd_ = std::make_unique<CdServer>(apps_.get(),
                                   CdServerOptions{.data_dir = data_dir,
                                                   .cluster = env_.cluster.get(),
                                                   .resources = stub_.get(),
                                                   .repo_poll_interval = absl::Minutes(3)});
  EXPECT_EQ(cd_->grpc_services().size(), 3u);
  ASSERT_NE(cd_->state(), nullptr);
  EXPECT_NE(cd_->state()->repositories(), nullptr);
  ASSERT_OK(cd_->Start());
  // The key that seals repository secrets exists, readable by the owner only.
  struct stat st;
  ASSERT_EQ(stat((data_dir + "/repository.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  json app = {
      {"apiVersion", "argoproj.io/v1alpha1"},
      {"kind", "Application"},
      {"metadata", {{"name", "web"}, {"namespace", "argocd"}}},
      {"spec",
       {{"project", "default"},
        {"source", {{"repoURL", repo_dir_}, {"path", "app"}}},
        {"destination", {{"server", "https://kubernetes.default.svc"}, {"namespace", "default"}}},
        {"syncPolicy", {{"automated", json::object()}}}}}};
  ASSERT_OK(apps_->CreateObject("Application", app, false).status());

  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  json got;
  while (absl::Now() < deadline) {
    got = *apps_->GetObject("Application", "argocd", "web");
    const json status = got.value("status", json::object());
    const json state = status.value("operationState", json::object());
    if (state.value("phase", "") == "Succeeded" && !got.contains("operation")) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(got.value("status", json::object())
                .value("operationState", json::object())
                .value("phase", ""),
            "Succeeded")
      << got.dump();
  absl::StatusOr<json> rollout = rollouts_.api->GetObject("Rollout", "default", "web");
  ASSERT_OK(rollout.status());
  EXPECT_EQ((*rollout)["metadata"]["labels"]["app.kubernetes.io/instance"], "web");
  EXPECT_OK(env_.cluster->Get("ConfigMap", "default", "web-config").status());
  // The manifests the API asks for come through the same repo-server.
  absl::StatusOr<repo::ManifestResponse> manifests = cd_->state()->Manifests(got, "");
  ASSERT_OK(manifests.status());
  EXPECT_EQ(manifests->manifests.size(), 2u);
  // And the comparison it asks for sees the Rollout in its service.
  absl::StatusOr<engine::CompareResult> compared = cd_->state()->CompareNow(got);
  ASSERT_OK(compared.status());
  bool rollout_live = false;
  for (const engine::ResourceState& r : compared->resources) {
    if (r.key.kind == "Rollout" && r.live.has_value()) rollout_live = true;
  }
  EXPECT_TRUE(rollout_live);
}

TEST_F(CdServerTest, WithoutAClusterOnlyTheApiRuns) {
  cd_ = std::make_unique<CdServer>(apps_.get(), CdServerOptions{.data_dir = env_.dir + "/cd2"});
  EXPECT_EQ(cd_->state(), nullptr);
  EXPECT_EQ(cd_->grpc_services().size(), 3u);
  EXPECT_OK(cd_->Start());
}

}  // namespace
}  // namespace argonaut::cd
