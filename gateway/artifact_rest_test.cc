// Argo Server's artifact download paths end to end: HTTP -> gateway routes -> WorkflowService's
// GetArtifact stream over gRPC -> the artifact drivers reading the platform's local folder
// repository.
#include "gateway/artifact_rest.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/workflow/api/workflow_service.h"
#include "services/workflow/artifact_drivers.h"

namespace argonaut::gateway {
namespace {

using ::nlohmann::json;

class ArtifactRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::string(std::getenv("TEST_TMPDIR")) + "/artifacts";
    std::filesystem::create_directories(root_ + "/w/w-gen-1");
    big_.resize(5 * (1 << 20) + 3);
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>((i * 7919) % 251);
    std::ofstream(root_ + "/w/w-gen-1/out.tgz", std::ios::binary) << big_;
    std::ofstream(root_ + "/w/w-gen-1/report.json", std::ios::binary) << R"({"ok":true})";

    auto kinds = resource::KindsOfService("workflow");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds);
    absl::StatusOr<json> created = api_->CreateObject("Workflow", json::parse(R"({
      "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
      "metadata": {"name": "w", "namespace": "ns1"},
      "spec": {"entrypoint": "gen", "templates": [{"name": "gen", "container": {"image": "a"}}]},
      "status": {"phase": "Succeeded", "nodes": {"w-1": {"id": "w-1", "name": "w", "type": "Pod",
        "templateName": "gen", "phase": "Succeeded",
        "inputs": {"artifacts": [{"name": "in", "path": "/in",
                                  "local": {"key": "w/w-gen-1/report.json"}}]},
        "outputs": {"artifacts": [
          {"name": "out", "path": "/tmp/out", "local": {"key": "w/w-gen-1/out.tgz"}},
          {"name": "lost", "path": "/tmp/l", "local": {"key": "w/w-gen-1/lost.tgz"}}]}}}}})"),
                                                      false);
    ASSERT_OK(created.status());
    uid_ = (*created)["metadata"]["uid"].get<std::string>();
    service_ = std::make_unique<workflow::api::WorkflowGrpcService>(api_.get(), nullptr);
    service_->set_artifact_streamer(workflow::DriverStreamer(nullptr, root_));
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "art-rest", .grpc_port = -1, .http_port = 0});
    server_->AddService(service_.get());
    server::Server* raw = server_.get();
    server_->ConfigureHttp([this, raw](httplib::Server& http) {
      stub_ = workflow::v1::WorkflowService::NewStub(raw->InProcessChannel());
      RegisterArtifactRestRoutes(http, stub_.get());
    });
    ASSERT_OK(server_->Start());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->BoundHttpPort());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  std::string root_, big_, uid_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<workflow::api::WorkflowGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> stub_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ArtifactRestTest, EveryArgoPathServesTheStoredObject) {
  for (const std::string& path : std::vector<std::string>{
           "/artifact-files/ns1/workflow/w/w-1/outputs/out",
           "/artifact-files/ns1/archived-workflows/" + uid_ + "/w-1/outputs/out",
           "/artifacts/ns1/w/w-1/out",
           "/artifacts-by-uid/" + uid_ + "/w-1/out",
       }) {
    auto res = http_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    EXPECT_EQ(res->body.size(), big_.size()) << path;
    EXPECT_TRUE(res->body == big_) << path;
    EXPECT_EQ(res->get_header_value("Content-Disposition"), "filename=\"out.tgz\"") << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/gzip") << path;
  }
  for (const std::string& path : std::vector<std::string>{
           "/input-artifacts/ns1/w/w-1/in", "/input-artifacts-by-uid/" + uid_ + "/w-1/in",
           "/artifact-files/ns1/workflow/w/w-1/inputs/in"}) {
    auto res = http_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->body, R"({"ok":true})") << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    EXPECT_EQ(res->get_header_value("Content-Disposition"), "filename=\"report.json\"") << path;
  }
}

TEST_F(ArtifactRestTest, ErrorsAreStatusTextAsArgoServerAnswers) {
  struct Row {
    std::string path;
    int status;
  };
  for (const Row& r : std::vector<Row>{
           {"/artifacts/ns1/nope/w-1/out", 404},
           {"/artifacts/other/w/w-1/out", 404},
           {"/artifacts/ns1/w/w-9/out", 404},
           {"/artifacts/ns1/w/w-1/nope", 404},
           {"/artifacts/ns1/w/w-1/lost", 404},
           {"/input-artifacts/ns1/w/w-1/out", 404},
           {"/artifacts-by-uid/not-a-uid/w-1/out", 404},
           {"/artifact-files/ns1/pipelines/w/w-1/outputs/out", 400},
           {"/artifact-files/ns1/workflow/w/w-1/sideways/out", 400},
       }) {
    auto res = http_->Get(r.path);
    ASSERT_TRUE(res) << r.path;
    EXPECT_EQ(res->status, r.status) << r.path << ": " << res->body;
    EXPECT_EQ(res->body, r.status == 404 ? "Not Found\n" : "Bad Request\n") << r.path;
    EXPECT_EQ(res->get_header_value("Content-Disposition"), "") << r.path;
  }
}

}  // namespace
}  // namespace argonaut::gateway
