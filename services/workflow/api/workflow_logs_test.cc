// WorkflowLogs over the real local runtime: pods run as processes, and the service prints each
// pod's lines prefixed with the pod name, as `argo logs` does, with and without follow.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "services/workflow/api/workflow_service.h"

namespace argonaut::workflow::api {
namespace {

using ::nlohmann::json;

class WorkflowLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/wflogs-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds,
                                                     cluster::KubernetesValidator());
    const char* src = std::getenv("TEST_SRCDIR");
    const char* ws = std::getenv("TEST_WORKSPACE");
    std::string builtin = src != nullptr && ws != nullptr
                              ? absl::StrCat(src, "/", ws, "/lib/cluster/images/builtin_images")
                              : "";
    auto c = cluster::LocalCluster::Start(
        c_api_.get(), {.data_dir = dir_, .builtin_binary = builtin, .builtin_prefix = {}});
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);

    auto wf_kinds = resource::KindsOfService("workflow");
    wf_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(wf_kinds)});
    wf_api_ = std::make_unique<resource::ResourceApi>(wf_store_.get(), wf_kinds);
    service_ = std::make_unique<WorkflowGrpcService>(wf_api_.get(), cluster_.get());
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "wf-logs", .grpc_port = -1, .http_port = -1});
    server_->AddService(service_.get());
    ASSERT_OK(server_->Start());
    stub_ = v1::WorkflowService::NewStub(server_->InProcessChannel());
    ASSERT_OK(wf_api_
                  ->Create("Workflow", R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",
          "metadata":{"name":"w","namespace":"default"},
          "spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"a"}}]},
          "status":{"phase":"Running"}})",
                           false)
                  .status());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  void RunPod(const std::string& name, const std::string& node, const std::string& script) {
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata",
                 {{"name", name},
                  {"namespace", "default"},
                  {"labels", {{"workflows.argoproj.io/workflow", "w"}}},
                  {"annotations", {{"workflows.argoproj.io/node-name", node}}}}},
                {"spec",
                 {{"restartPolicy", "Never"},
                  {"containers", json::array({json{{"name", "main"},
                                                   {"image", "alpine:3.18"},
                                                   {"command", {"sh", "-c"}},
                                                   {"args", {script}}}})}}}};
    ASSERT_OK(cluster_->Create(pod).status());
  }

  bool WaitDone(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      auto p = cluster_->Get("Pod", "default", name);
      if (p.ok()) {
        const std::string phase = p->value("status", json::object()).value("phase", "");
        if (phase == "Succeeded" || phase == "Failed") return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::vector<std::string> Logs(const std::string& pod, bool follow) {
    v1::WorkflowLogsRequest req;
    req.set_name("w");
    req.set_pod_name(pod);
    req.set_follow(follow);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub_->WorkflowLogs(&ctx, req);
    std::vector<std::string> lines;
    v1::LogEntry e;
    while (reader->Read(&e)) lines.push_back(e.pod_name() + ": " + e.content());
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return lines;
  }

  std::string dir_;
  std::unique_ptr<store::InMemoryStore> c_store_, wf_store_;
  std::unique_ptr<resource::ResourceApi> c_api_, wf_api_;
  std::unique_ptr<cluster::LocalCluster> cluster_;
  std::unique_ptr<WorkflowGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
};

TEST_F(WorkflowLogsTest, EveryPodPrefixedByName) {
  RunPod("w-a-1", "w[0].a", "echo one; echo two");
  ASSERT_TRUE(WaitDone("w-a-1"));
  RunPod("w-b-2", "w[1].b", "printf 'three\\nno-newline'");
  ASSERT_TRUE(WaitDone("w-b-2"));
  EXPECT_EQ(Logs("", false), (std::vector<std::string>{"w-a-1: one", "w-a-1: two", "w-b-2: three",
                                                       "w-b-2: no-newline"}));
  // A step name selects its pod.
  EXPECT_EQ(Logs("b", false), (std::vector<std::string>{"w-b-2: three", "w-b-2: no-newline"}));
}

TEST_F(WorkflowLogsTest, FollowEndsWhenTheWorkflowCompletes) {
  RunPod("w-a-1", "w[0].a", "echo start; sleep 1; echo end");
  std::thread finisher([&] {
    WaitDone("w-a-1");
    json wf = json::parse(*wf_api_->Get("Workflow", "default", "w"));
    wf["status"]["phase"] = "Succeeded";
    EXPECT_OK(wf_api_->Update("Workflow", wf.dump()).status());
  });
  const absl::Time start = absl::Now();
  std::vector<std::string> lines = Logs("", true);
  finisher.join();
  EXPECT_EQ(lines, (std::vector<std::string>{"w-a-1: start", "w-a-1: end"}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
}

}  // namespace
}  // namespace argonaut::workflow::api
