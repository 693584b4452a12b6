#include "services/workflow/api/workflow_service.h"

#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/manifest/json_text.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "services/workflow/api/validator.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow::api {
namespace {

using ::nlohmann::json;

json Parse(const std::string& s) { return json::parse(s); }

class WorkflowServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto wf_kinds = resource::KindsOfService("workflow");
    wf_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(wf_kinds)});
    wf_api_ = std::make_unique<resource::ResourceApi>(
        wf_store_.get(), wf_kinds, WorkflowValidator(StoreTemplateLookup(&wf_api_ptr_)));
    wf_api_ptr_ = wf_api_.get();
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(c_api_.get());
    service_ = std::make_unique<WorkflowGrpcService>(wf_api_.get(), cluster_.get());
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "wf-test", .grpc_port = -1, .http_port = -1});
    server_->AddService(service_.get());
    ASSERT_OK(server_->Start());
    stub_ = v1::WorkflowService::NewStub(server_->InProcessChannel());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  absl::StatusOr<json> Create(const std::string& wf) {
    v1::CreateWorkflowRequest req;
    req.set_namespace_("default");
    req.set_json(wf);
    v1::WorkflowReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateWorkflow(&ctx, req, &reply);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return Parse(reply.json());
  }

  // Writes a status the way the controller does: a whole-object update.
  void SetStatus(const std::string& name, const json& status) {
    json wf = Parse(*wf_api_->Get("Workflow", "default", name));
    wf["status"] = status;
    ASSERT_OK(wf_api_->Update("Workflow", wf.dump()).status());
  }

  void AddPod(const std::string& name, const std::string& wf, const std::string& node_id) {
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata",
         {{"name", name},
          {"namespace", "default"},
          {"labels", {{"workflows.argoproj.io/workflow", wf}}},
          {"annotations", {{"workflows.argoproj.io/node-id", node_id}}}}},
        {"spec", {{"containers", json::array({json{{"name", "main"}, {"image", "alpine"}}})}}}};
    ASSERT_OK(cluster_->Create(pod).status());
  }

  std::vector<std::string> PodNames() {
    std::vector<std::string> out;
    auto pods = cluster_->List("Pod", "default", "");
    EXPECT_TRUE(pods.ok()) << pods.status();
    if (!pods.ok()) return out;
    for (const json& p : *pods) out.push_back(p["metadata"]["name"]);
    return out;
  }

  resource::ResourceApi* wf_api_ptr_ = nullptr;
  std::unique_ptr<store::InMemoryStore> wf_store_, c_store_;
  std::unique_ptr<resource::ResourceApi> wf_api_, c_api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<WorkflowGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
};

constexpr char kHello[] = R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",
  "metadata":{"name":"hello","labels":{"app":"x"}},
  "spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"alpine"}},
          {"name":"wait","suspend":{}}]}})";

TEST_F(WorkflowServiceTest, CreateValidatesAndStoresNothingOnError) {
  auto bad = Create(R"({"metadata":{"name":"bad"},"spec":{"entrypoint":"main","templates":[
      {"name":"main","steps":[[{"name":"a","templateRef":{"name":"missing","template":"t"}}]]}]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.status().message(), "spec.templates[0].steps[0][0].templateRef"))
      << bad.status();
  EXPECT_EQ(wf_api_->Get("Workflow", "default", "bad").status().code(),
            absl::StatusCode::kNotFound);
  auto ok = Create(kHello);
  ASSERT_OK(ok.status());
  EXPECT_EQ((*ok)["metadata"]["namespace"], "default");
  EXPECT_FALSE((*ok)["metadata"].value("resourceVersion", "").empty());

  v1::GetWorkflowRequest get;
  get.set_name("hello");
  v1::WorkflowReply reply;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetWorkflow(&ctx, get, &reply).ok());
  EXPECT_EQ(Parse(reply.json())["spec"]["entrypoint"], "main");
}

TEST_F(WorkflowServiceTest, ListFiltersByPhaseAndLabel) {
  ASSERT_OK(Create(kHello).status());
  json other = Parse(kHello);
  other["metadata"] = {{"name", "other"}};
  ASSERT_OK(Create(other.dump()).status());
  SetStatus("hello", {{"phase", "Running"}});
  SetStatus("other", {{"phase", "Succeeded"}});
  auto list = [&](std::vector<std::string> phases, std::string selector) {
    v1::ListWorkflowsRequest req;
    req.set_namespace_("default");
    req.set_label_selector(selector);
    for (auto& p : phases) req.add_phases(p);
    v1::ListWorkflowsReply reply;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->ListWorkflows(&ctx, req, &reply).ok());
    std::vector<std::string> names;
    for (const auto& item : reply.items()) names.push_back(Parse(item)["metadata"]["name"]);
    return names;
  };
  EXPECT_EQ(list({}, ""), (std::vector<std::string>{"hello", "other"}));
  EXPECT_EQ(list({"Running", "Pending"}, ""), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(list({"Succeeded"}, ""), (std::vector<std::string>{"other"}));
  EXPECT_EQ(list({}, "app=x"), (std::vector<std::string>{"hello"}));
}

TEST_F(WorkflowServiceTest, SuspendResumeStopTerminate) {
  ASSERT_OK(Create(kHello).status());
  SetStatus("hello", {{"phase", "Running"},
                      {"nodes",
                       {{"hello-1",
                         {{"id", "hello-1"},
                          {"name", "hello.wait"},
                          {"displayName", "wait"},
                          {"type", "Suspend"},
                          {"templateName", "wait"},
                          {"phase", "Running"}}}}}});
  v1::WorkflowNameRequest name;
  name.set_name("hello");
  v1::WorkflowReply reply;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->SuspendWorkflow(&ctx, name, &reply).ok());
    EXPECT_EQ(Parse(reply.json())["spec"]["suspend"], true);
  }
  {
    v1::ResumeWorkflowRequest req;
    req.set_name("hello");
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ResumeWorkflow(&ctx, req, &reply).ok());
    json wf = Parse(reply.json());
    EXPECT_FALSE(wf["spec"].contains("suspend"));
    EXPECT_EQ(wf["status"]["nodes"]["hello-1"]["phase"], "Succeeded");
  }
  {
    v1::StopWorkflowRequest req;
    req.set_name("hello");
    req.set_message("bye");
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StopWorkflow(&ctx, req, &reply).ok());
    EXPECT_EQ(Parse(reply.json())["spec"]["shutdown"], "Stop");
  }
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->TerminateWorkflow(&ctx, name, &reply).ok());
    EXPECT_EQ(Parse(reply.json())["spec"]["shutdown"], "Terminate");
  }
  SetStatus("hello", {{"phase", "Failed"}});
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->SuspendWorkflow(&ctx, name, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    v1::WorkflowNameRequest missing;
    missing.set_name("nope");
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->SuspendWorkflow(&ctx, missing, &reply).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

// A writer racing the verb (the controller updating status) makes the first Update fail with
// ABORTED; the service reads again and still applies the change.
TEST_F(WorkflowServiceTest, UpdatesRetryOnConflict) {
  ASSERT_OK(Create(kHello).status());
  SetStatus("hello", {{"phase", "Running"}});
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      json wf = Parse(*wf_api_->Get("Workflow", "default", "hello"));
      wf["status"]["progress"] = std::to_string(i) + "/200";
      (void)wf_api_->Update("Workflow", wf.dump());
    }
  });
  for (int i = 0; i < 20; ++i) {
    v1::WorkflowNameRequest name;
    name.set_name("hello");
    v1::WorkflowReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->SuspendWorkflow(&ctx, name, &reply);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  done = true;
  writer.join();
  json wf = Parse(*wf_api_->Get("Workflow", "default", "hello"));
  EXPECT_EQ(wf["spec"]["suspend"], true);
}

TEST_F(WorkflowServiceTest, RetryResetsNodesAndDeletesTheirPods) {
  ASSERT_OK(Create(kHello).status());
  SetStatus("hello", {{"phase", "Failed"},
                      {"nodes",
                       {{"hello",
                         {{"id", "hello"},
                          {"name", "hello"},
                          {"type", "Steps"},
                          {"phase", "Failed"},
                          {"children", json::array({"hello-a", "hello-b"})}}},
                        {"hello-a",
                         {{"id", "hello-a"},
                          {"name", "hello.a"},
                          {"type", "Pod"},
                          {"phase", "Succeeded"},
                          {"boundaryID", "hello"}}},
                        {"hello-b",
                         {{"id", "hello-b"},
                          {"name", "hello.b"},
                          {"type", "Pod"},
                          {"phase", "Failed"},
                          {"boundaryID", "hello"}}}}}});
  AddPod("hello-main-1", "hello", "hello-a");
  AddPod("hello-main-2", "hello", "hello-b");
  AddPod("unrelated", "zzz", "hello-b");
  v1::RetryWorkflowRequest req;
  req.set_name("hello");
  v1::WorkflowReply reply;
  grpc::ClientContext ctx;
  grpc::Status s = stub_->RetryWorkflow(&ctx, req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  json wf = Parse(reply.json());
  EXPECT_EQ(wf["status"]["phase"], "Running");
  EXPECT_FALSE(wf["status"]["nodes"].contains("hello-b"));
  EXPECT_EQ(wf["status"]["nodes"]["hello-a"]["phase"], "Succeeded");
  EXPECT_EQ(PodNames(), (std::vector<std::string>{"hello-main-1", "unrelated"}));
}

TEST_F(WorkflowServiceTest, DeleteRemovesWorkflowAndPods) {
  ASSERT_OK(Create(kHello).status());
  AddPod("hello-main-1", "hello", "x");
  AddPod("keep", "other", "x");
  v1::DeleteWorkflowRequest req;
  req.set_name("hello");
  v1::DeleteWorkflowReply reply;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->DeleteWorkflow(&ctx, req, &reply).ok());
  EXPECT_EQ(wf_api_->Get("Workflow", "default", "hello").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(PodNames(), (std::vector<std::string>{"keep"}));
}

TEST_F(WorkflowServiceTest, LintSubmitResubmitAndSet) {
  {
    v1::LintWorkflowRequest req;
    req.set_json(R"({"kind":"Workflow","metadata":{"name":"l"},"spec":{"entrypoint":"x",
                    "templates":[{"name":"main","container":{"image":"a"}}]}})");
    v1::WorkflowReply reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->LintWorkflow(&ctx, req, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(s.error_message(), "spec.entrypoint")) << s.error_message();
    req.set_json(R"({"kind":"Workflow","metadata":{"name":"l"},"spec":{"entrypont":"x"}})");
    grpc::ClientContext ctx2;
    s = stub_->LintWorkflow(&ctx2, req, &reply);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "entrypont")) << s.error_message();
  }
  ASSERT_OK(wf_api_
                ->Create("WorkflowTemplate", R"({"apiVersion":"argoproj.io/v1alpha1",
      "kind":"WorkflowTemplate","metadata":{"name":"lib","namespace":"default"},
      "spec":{"entrypoint":"main","arguments":{"parameters":[{"name":"m","value":"hi"}]},
      "templates":[{"name":"main","container":{"image":"alpine"}}]}})",
                         false)
                .status());
  v1::WorkflowReply submitted;
  {
    v1::SubmitWorkflowRequest req;
    req.set_resource_kind("workflowtemplate");
    req.set_resource_name("lib");
    req.add_parameters("m=bye");
    grpc::ClientContext ctx;
    grpc::Status s = stub_->SubmitWorkflow(&ctx, req, &submitted);
    ASSERT_TRUE(s.ok()) << s.error_message();
    json wf = Parse(submitted.json());
    EXPECT_TRUE(absl::StartsWith(wf["metadata"]["name"].get<std::string>(), "lib-"));
    EXPECT_EQ(wf["spec"]["workflowTemplateRef"]["name"], "lib");
    EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "bye");
  }
  {
    v1::SubmitWorkflowRequest req;
    req.set_resource_kind("workflowtemplate");
    req.set_resource_name("absent");
    grpc::ClientContext ctx;
    v1::WorkflowReply reply;
    EXPECT_EQ(stub_->SubmitWorkflow(&ctx, req, &reply).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  const std::string first = Parse(submitted.json())["metadata"]["name"];
  {
    v1::ResubmitWorkflowRequest req;
    req.set_name(first);
    grpc::ClientContext ctx;
    v1::WorkflowReply reply;
    grpc::Status s = stub_->ResubmitWorkflow(&ctx, req, &reply);
    ASSERT_TRUE(s.ok()) << s.error_message();
    json wf = Parse(reply.json());
    EXPECT_NE(wf["metadata"]["name"], first);
    EXPECT_EQ(wf["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"], first);
  }
  {
    SetStatus(first, {{"phase", "Running"},
                      {"nodes",
                       {{"n1",
                         {{"id", "n1"},
                          {"displayName", "approve"},
                          {"type", "Suspend"},
                          {"phase", "Running"}}}}}});
    v1::SetWorkflowRequest req;
    req.set_name(first);
    req.set_node_field_selector("displayName=approve");
    req.set_phase("Succeeded");
    req.set_message("ok");
    grpc::ClientContext ctx;
    v1::WorkflowReply reply;
    grpc::Status s = stub_->SetWorkflow(&ctx, req, &reply);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(Parse(reply.json())["status"]["nodes"]["n1"]["phase"], "Succeeded");
  }
}

TEST_F(WorkflowServiceTest, WatchStreamsChangesOfOneWorkflow) {
  ASSERT_OK(Create(kHello).status());
  json other = Parse(kHello);
  other["metadata"] = {{"name", "other"}};
  ASSERT_OK(Create(other.dump()).status());
  v1::WatchWorkflowsRequest req;
  req.set_namespace_("default");
  req.set_name("hello");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub_->WatchWorkflows(&ctx, req);
  v1::WorkflowWatchEvent e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.type(), "ADDED");
  EXPECT_EQ(Parse(e.json())["metadata"]["name"], "hello");
  SetStatus("other", {{"phase", "Running"}});
  SetStatus("hello", {{"phase", "Succeeded"}});
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.type(), "MODIFIED");
  EXPECT_EQ(Parse(e.json())["status"]["phase"], "Succeeded");
  ctx.TryCancel();
  while (reader->Read(&e)) {
  }
  reader->Finish();
}

TEST_F(WorkflowServiceTest, LogsOfAWorkflowWithoutRuntime) {
  v1::WorkflowLogsRequest req;
  req.set_name("nope");
  grpc::ClientContext ctx;
  auto reader = stub_->WorkflowLogs(&ctx, req);
  v1::LogEntry e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(LineSplitterTest, SplitsAcrossChunks) {
  LineSplitter s;
  EXPECT_EQ(s.Feed("a\nb"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.Feed("c\n\nd"), (std::vector<std::string>{"bc", ""}));
  EXPECT_EQ(s.Flush(), std::optional<std::string>("d"));
  EXPECT_EQ(s.Flush(), std::nullopt);
}

TEST(SelectLogPodsTest, FiltersByPodOrStepAndSortsByCreation) {
  std::vector<json> pods = {
      {{"metadata",
        {{"name", "wf-b-2"},
         {"creationTimestamp", "2024-01-01T00:00:02Z"},
         {"annotations", {{"workflows.argoproj.io/node-name", "wf[1].b"}}}}}},
      {{"metadata",
        {{"name", "wf-a-1"},
         {"creationTimestamp", "2024-01-01T00:00:01Z"},
         {"annotations", {{"workflows.argoproj.io/node-name", "wf[0].a"}}}}}}};
  auto names = [](const std::vector<json>& v) {
    std::vector<std::string> out;
    for (const json& p : v) out.push_back(p["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names(SelectLogPods(pods, "")), (std::vector<std::string>{"wf-a-1", "wf-b-2"}));
  EXPECT_EQ(names(SelectLogPods(pods, "wf-b-2")), (std::vector<std::string>{"wf-b-2"}));
  EXPECT_EQ(names(SelectLogPods(pods, "a")), (std::vector<std::string>{"wf-a-1"}));
  EXPECT_TRUE(SelectLogPods(pods, "zz").empty());
}

TEST(PlanLogSourcesTest, LivePodsThenArchivedLogsOfGonePods) {
  const json artifact = {{"name", "main-logs"}, {"s3", {{"key", "wf/p/main.log"}}}};
  auto pod_node = [&](const std::string& name, const std::string& started, bool logs) {
    json node = {{"type", "Pod"},
                 {"name", name},
                 {"templateName", "say"},
                 {"startedAt", started},
                 {"phase", "Succeeded"}};
    if (logs) node["outputs"]["artifacts"] = json::array({artifact});
    return node;
  };
  const json wf = {{"metadata", {{"name", "wf"}}},
                   {"status",
                    {{"nodes",
                      {{"wf", {{"type", "Steps"}, {"name", "wf"}}},
                       {"id-a", pod_node("wf[0].a", "2024-01-01T00:00:01Z", true)},
                       {"id-b", pod_node("wf[1].b", "2024-01-01T00:00:02Z", true)},
                       {"id-c", pod_node("wf[2].c", "2024-01-01T00:00:03Z", false)}}}}}};
  const std::string pod_a = engine::PodName("wf", "wf[0].a", "say");
  const std::string pod_b = engine::PodName("wf", "wf[1].b", "say");
  // b's pod is still there: read live; a's is gone: its main-logs; c's is gone without logs.
  const std::vector<json> live = {{{"metadata",
                                    {{"name", pod_b},
                                     {"creationTimestamp", "2024-01-01T00:00:02Z"},
                                     {"annotations",
                                      {{"workflows.argoproj.io/node-id", "id-b"},
                                       {"workflows.argoproj.io/node-name", "wf[1].b"}}}}}}};
  std::vector<LogSource> all = PlanLogSources(wf, live, "", "main");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].pod, pod_a);
  EXPECT_EQ(all[0].artifact, artifact);
  EXPECT_EQ(all[1].pod, pod_b);
  EXPECT_TRUE(all[1].artifact.is_null());
  // A step's name or the pod's name selects one.
  std::vector<LogSource> one = PlanLogSources(wf, live, "a", "main");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].pod, pod_a);
  EXPECT_EQ(PlanLogSources(wf, live, pod_a, "main").size(), 1u);
  // archiveLogs keeps only the main container's log.
  std::vector<LogSource> wait = PlanLogSources(wf, live, "", "wait");
  ASSERT_EQ(wait.size(), 1u);
  EXPECT_EQ(wait[0].pod, pod_b);
  // An artifact GC deleted is not read.
  json gc = wf;
  gc["status"]["nodes"]["id-a"]["outputs"]["artifacts"][0]["deleted"] = true;
  EXPECT_EQ(PlanLogSources(gc, live, "", "main").size(), 1u);
}

}  // namespace
}  // namespace argonaut::workflow::api
