// Argo Server's workflow REST paths end to end: HTTP -> gateway routes -> WorkflowService over
// gRPC -> an in-memory workflow store and cluster.
#include "gateway/workflow_rest.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/workflow/api/workflow_service.h"

namespace argonaut::gateway {
namespace {

using ::nlohmann::json;

class WorkflowRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto wf_kinds = resource::KindsOfService("workflow");
    wf_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(wf_kinds)});
    wf_api_ = std::make_unique<resource::ResourceApi>(wf_store_.get(), wf_kinds);
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(c_api_.get());
    service_ = std::make_unique<workflow::api::WorkflowGrpcService>(wf_api_.get(), cluster_.get());
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "wf-rest", .grpc_port = -1, .http_port = 0});
    server_->AddService(service_.get());
    server::Server* raw = server_.get();
    server_->ConfigureHttp([this, raw](httplib::Server& http) {
      stub_ = workflow::v1::WorkflowService::NewStub(raw->InProcessChannel());
      RegisterWorkflowRestRoutes(http, stub_.get());
    });
    ASSERT_OK(server_->Start());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->BoundHttpPort());
    ASSERT_OK(wf_api_
                  ->Create("Workflow", R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",
          "metadata":{"name":"w","namespace":"ns1"},
          "spec":{"entrypoint":"main","templates":[{"name":"main","suspend":{}}]},
          "status":{"phase":"Running","nodes":{"w":{"id":"w","name":"w","displayName":"w",
            "type":"Suspend","templateName":"main","phase":"Running"}}}})",
                           false)
                  .status());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  std::unique_ptr<store::InMemoryStore> wf_store_, c_store_;
  std::unique_ptr<resource::ResourceApi> wf_api_, c_api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<workflow::api::WorkflowGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<workflow::v1::WorkflowService::Stub> stub_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(WorkflowRestTest, ActionsUnderArgoPaths) {
  auto res = http_->Put("/api/v1/workflows/ns1/w/suspend", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["spec"]["suspend"], true);

  res = http_->Put("/api/v1/workflows/ns1/w/set",
                   R"({"nodeFieldSelector":"displayName=w","message":"looked at",
                       "outputParameters":"{}"})",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["status"]["nodes"]["w"]["message"], "looked at");

  res = http_->Put("/api/v1/workflows/ns1/w/resume", R"({"nodeFieldSelector":"displayName=w"})",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["status"]["nodes"]["w"]["phase"], "Succeeded");

  res = http_->Put("/api/v1/workflows/ns1/w/stop", R"({"message":"halt"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["spec"]["shutdown"], "Stop");
  res = http_->Put("/api/v1/workflows/ns1/w/terminate", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["spec"]["shutdown"], "Terminate");

  // Not Failed: retry is refused with 400 and a JSON error.
  res = http_->Put("/api/v1/workflows/ns1/w/retry", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["code"], 9);

  res = http_->Put("/api/v1/workflows/ns1/w/resubmit", R"({"parameters":["a=1"]})",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  json resubmitted = json::parse(res->body);
  EXPECT_EQ(resubmitted["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"],
            "w");
  EXPECT_EQ(resubmitted["metadata"]["namespace"], "ns1");

  res = http_->Put("/api/v1/workflows/ns1/missing/suspend", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = http_->Put("/api/v1/workflows/ns1/w/suspend", "[1]", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(WorkflowRestTest, LintSubmitLogsAndEvents) {
  auto res = http_->Post("/api/v1/workflows/ns1/lint",
                         R"({"workflow":{"metadata":{"name":"x"},"spec":{"entrypoint":"nope",
                             "templates":[{"name":"main","container":{"image":"a"}}]}}})",
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(
      absl::StartsWith(json::parse(res->body)["message"].get<std::string>(), "spec.entrypoint"))
      << res->body;

  ASSERT_OK(wf_api_
                ->Create("WorkflowTemplate", R"({"apiVersion":"argoproj.io/v1alpha1",
        "kind":"WorkflowTemplate","metadata":{"name":"lib","namespace":"ns1"},
        "spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"a"}}]}})",
                         false)
                .status());
  res = http_->Post("/api/v1/workflows/ns1/submit",
                    R"({"resourceKind":"WorkflowTemplate","resourceName":"lib",
                        "submitOptions":{"labels":"a=b,c=d","parameters":["p=1"]}})",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  json submitted = json::parse(res->body);
  EXPECT_EQ(submitted["metadata"]["labels"]["c"], "d");
  EXPECT_EQ(submitted["spec"]["workflowTemplateRef"]["name"], "lib");

  // No pods: the log stream ends at once, empty.
  res = http_->Get("/api/v1/workflows/ns1/w/log?logOptions.container=main");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
  res = http_->Get("/api/v1/workflows/ns1/nope/log");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("\"error\""), std::string::npos) << res->body;

  // The workflow-events stream of one workflow: the current object first.
  std::string received;
  httplib::Client watcher("127.0.0.1", server_->BoundHttpPort());
  watcher.Get("/api/v1/workflow-events/ns1?listOptions.fieldSelector=metadata.name%3Dw",
              [&](const char* data, size_t n) {
                received.append(data, n);
                return received.find('\n') == std::string::npos;
              });
  ASSERT_NE(received.find('\n'), std::string::npos);
  json line = json::parse(received.substr(0, received.find('\n')));
  EXPECT_EQ(line["result"]["type"], "ADDED");
  EXPECT_EQ(line["result"]["object"]["metadata"]["name"], "w");
}

}  // namespace
}  // namespace argonaut::gateway
