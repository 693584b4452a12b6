#include "services/rollout/api/rollout_service.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/controller/clock.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/rollout/api/actions.h"

// The StatusOr's value into `lhs`, or the test stops with its status.
#define RO_CONCAT_INNER(a, b) a##b
#define RO_CONCAT(a, b) RO_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(RO_CONCAT(statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  ASSERT_OK(statusor.status());                        \
  lhs = *std::move(statusor)

namespace argonaut::rollout::api {
namespace {

using ::nlohmann::json;

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

constexpr char kRollout[] = R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
  "metadata":{"name":"demo"},
  "spec":{"replicas":5,"selector":{"matchLabels":{"app":"demo"}},
    "strategy":{"canary":{"steps":[{"setWeight":20},{"pause":{}},{"setWeight":40}]}},
    "template":{"metadata":{"labels":{"app":"demo"}},
      "spec":{"containers":[{"name":"web","image":"demo:yellow"}]}}}})";

class RolloutServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ro_kinds = resource::KindsOfService("rollout");
    ro_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(ro_kinds)});
    ro_api_ = std::make_unique<resource::ResourceApi>(ro_store_.get(), ro_kinds);
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(c_api_.get());
    service_ = std::make_unique<RolloutGrpcService>(ro_api_.get(), cluster_.get(), &clock_);
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "ro-test", .grpc_port = -1, .http_port = -1});
    server_->AddService(service_.get());
    ASSERT_OK(server_->Start());
    stub_ = v1::RolloutService::NewStub(server_->InProcessChannel());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  absl::StatusOr<json> Create(const std::string& text) {
    v1::CreateRolloutRequest req;
    req.set_namespace_("default");
    req.set_json(text);
    v1::RolloutReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = stub_->CreateRollout(&ctx, req, &reply); !s.ok()) return FromGrpc(s);
    return json::parse(reply.json());
  }

  // What the controller would write: the status, as the stored object's.
  void WriteStatus(const json& status) {
    json ro = *ro_api_->GetObject("Rollout", "default", "demo");
    ro["status"] = status;
    const bool sub = (*ro_api_->Resolve("Rollout"))->status_subresource;
    ASSERT_OK(
        (sub ? ro_api_->UpdateStatusObject("Rollout", ro) : ro_api_->UpdateObject("Rollout", ro))
            .status());
  }

  template <typename Req>
  absl::StatusOr<json> Call(grpc::Status (v1::RolloutService::Stub::*method)(grpc::ClientContext*,
                                                                             const Req&,
                                                                             v1::RolloutReply*),
                            Req req) {
    req.set_namespace_("default");
    if (req.name().empty()) req.set_name("demo");
    v1::RolloutReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = (stub_.get()->*method)(&ctx, req, &reply); !s.ok()) return FromGrpc(s);
    return json::parse(reply.json());
  }

  absl::StatusOr<json> Info() {
    v1::RolloutNameRequest req;
    req.set_namespace_("default");
    req.set_name("demo");
    v1::RolloutInfoReply reply;
    grpc::ClientContext ctx;
    if (grpc::Status s = stub_->GetRolloutInfo(&ctx, req, &reply); !s.ok()) return FromGrpc(s);
    return json::parse(reply.json());
  }

  // A ReplicaSet of the rollout at `revision` with one ready pod, as the controller and the
  // cluster would leave them.
  void AddRevision(const json& ro, int revision, const std::string& hash,
                   const std::string& image) {
    json ref = {{"apiVersion", "argoproj.io/v1alpha1"},
                {"kind", "Rollout"},
                {"name", "demo"},
                {"uid", ro["metadata"]["uid"]},
                {"controller", true}};
    json rs = {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"metadata",
                {{"name", "demo-" + hash},
                 {"namespace", "default"},
                 {"labels", {{"app", "demo"}, {kPodTemplateHashLabel, hash}}},
                 {"annotations", {{kRevisionAnnotation, std::to_string(revision)}}},
                 {"ownerReferences", {ref}}}},
               {"spec",
                {{"replicas", 1},
                 {"selector", {{"matchLabels", {{"app", "demo"}, {kPodTemplateHashLabel, hash}}}}},
                 {"template",
                  {{"metadata", {{"labels", {{"app", "demo"}, {kPodTemplateHashLabel, hash}}}}},
                   {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}}}}}};
    ASSERT_OK_AND_ASSIGN(json created, c_api_->CreateObject("ReplicaSet", rs, false));
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata",
                 {{"name", "demo-" + hash + "-x"},
                  {"namespace", "default"},
                  {"labels", {{"app", "demo"}, {kPodTemplateHashLabel, hash}}},
                  {"ownerReferences",
                   {{{"apiVersion", "apps/v1"},
                     {"kind", "ReplicaSet"},
                     {"name", "demo-" + hash},
                     {"uid", created["metadata"]["uid"]},
                     {"controller", true}}}}}},
                {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}};
    ASSERT_OK(c_api_->CreateObject("Pod", pod, false).status());
  }

  controller::FakeClock clock_;
  std::unique_ptr<store::InMemoryStore> ro_store_, c_store_;
  std::unique_ptr<resource::ResourceApi> ro_api_, c_api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<RolloutGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::RolloutService::Stub> stub_;
};

TEST_F(RolloutServiceTest, CreateGetListDelete) {
  ASSERT_OK_AND_ASSIGN(json ro, Create(kRollout));
  EXPECT_EQ(ro["metadata"]["namespace"], "default");
  EXPECT_FALSE(ro["metadata"].value("uid", "").empty());
  EXPECT_EQ(Create(kRollout).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Create(R"({"kind":"Workflow","metadata":{"name":"x"}})").status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::ListRolloutsRequest lr;
  lr.set_namespace_("default");
  v1::ListRolloutsReply listed;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListRollouts(&ctx, lr, &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_EQ(json::parse(listed.items(0))["metadata"]["name"], "demo");

  // Delete takes the rollout's AnalysisRuns and ReplicaSets along, not another owner's.
  AddRevision(ro, 1, "aaa", "demo:blue");
  json run = {{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "AnalysisRun"},
              {"metadata",
               {{"name", "demo-aaa-1"},
                {"namespace", "default"},
                {"ownerReferences",
                 {{{"apiVersion", "argoproj.io/v1alpha1"},
                   {"kind", "Rollout"},
                   {"name", "demo"},
                   {"uid", ro["metadata"]["uid"]}}}}}},
              {"spec", {{"metrics", json::array()}}}};
  ASSERT_OK(ro_api_->CreateObject("AnalysisRun", run, false).status());
  run["metadata"]["name"] = "unrelated";
  run["metadata"].erase("ownerReferences");
  ASSERT_OK(ro_api_->CreateObject("AnalysisRun", run, false).status());
  v1::RolloutNameRequest dr;
  dr.set_namespace_("default");
  dr.set_name("demo");
  v1::DeleteRolloutReply deleted;
  grpc::ClientContext dctx;
  ASSERT_TRUE(stub_->DeleteRollout(&dctx, dr, &deleted).ok());
  EXPECT_EQ(ro_api_->GetObject("Rollout", "default", "demo").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ro_api_->GetObject("AnalysisRun", "default", "demo-aaa-1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_OK(ro_api_->GetObject("AnalysisRun", "default", "unrelated").status());
  EXPECT_EQ(c_api_->GetObject("ReplicaSet", "default", "demo-aaa").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RolloutServiceTest, ActionsWriteSpecAndStatus) {
  ASSERT_OK(Create(kRollout).status());
  WriteStatus({{"phase", "Paused"},
               {"message", "CanaryPauseStep"},
               {"currentStepIndex", 1},
               {"controllerPause", true},
               {"pauseConditions", {{{"reason", "CanaryPauseStep"}}}}});

  ASSERT_OK_AND_ASSIGN(json paused, Call(&v1::RolloutService::Stub::PauseRollout, [] {
                         v1::PauseRolloutRequest r;
                         r.set_paused(true);
                         return r;
                       }()));
  EXPECT_EQ(paused["spec"]["paused"], true);
  EXPECT_EQ(paused["status"]["currentStepIndex"], 1);  // the controller's status survives

  ASSERT_OK_AND_ASSIGN(
      json promoted, Call(&v1::RolloutService::Stub::PromoteRollout, v1::PromoteRolloutRequest()));
  EXPECT_EQ(promoted["spec"]["paused"], false);
  EXPECT_FALSE(promoted["status"].contains("pauseConditions"));
  EXPECT_EQ(promoted["status"]["currentStepIndex"], 1);
  json stored = *ro_api_->GetObject("Rollout", "default", "demo");
  EXPECT_EQ(stored["spec"]["paused"], false);
  EXPECT_FALSE(stored["status"].contains("pauseConditions"));

  ASSERT_OK_AND_ASSIGN(json aborted,
                       Call(&v1::RolloutService::Stub::AbortRollout, v1::RolloutNameRequest()));
  EXPECT_EQ(aborted["status"]["abort"], true);
  ASSERT_OK_AND_ASSIGN(json retried,
                       Call(&v1::RolloutService::Stub::RetryRollout, v1::RolloutNameRequest()));
  EXPECT_EQ(retried["status"]["abort"], false);

  ASSERT_OK_AND_ASSIGN(
      json restarted, Call(&v1::RolloutService::Stub::RestartRollout, v1::RestartRolloutRequest()));
  EXPECT_EQ(restarted["spec"]["restartAt"], "2023-11-14T22:13:20Z");  // the fake clock's now
  v1::RestartRolloutRequest bad_at;
  bad_at.set_at("tomorrow");
  EXPECT_EQ(Call(&v1::RolloutService::Stub::RestartRollout, bad_at).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::SetImageRequest si;
  si.set_container("web");
  si.set_image("demo:green");
  ASSERT_OK_AND_ASSIGN(json set, Call(&v1::RolloutService::Stub::SetRolloutImage, si));
  EXPECT_EQ(set["spec"]["template"]["spec"]["containers"][0]["image"], "demo:green");
  si.set_container("nope");
  absl::StatusOr<json> missing = Call(&v1::RolloutService::Stub::SetRolloutImage, si);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "unable to find container named \"nope\"");

  v1::RolloutNameRequest other;
  other.set_name("nosuch");
  EXPECT_EQ(Call(&v1::RolloutService::Stub::AbortRollout, other).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RolloutServiceTest, UndoFromReplicaSetHistory) {
  ASSERT_OK_AND_ASSIGN(json ro, Create(kRollout));
  AddRevision(ro, 1, "aaa", "demo:blue");
  AddRevision(ro, 2, "bbb", "demo:yellow");
  ASSERT_OK_AND_ASSIGN(json undone,
                       Call(&v1::RolloutService::Stub::UndoRollout, v1::UndoRolloutRequest()));
  EXPECT_EQ(undone["spec"]["template"]["spec"]["containers"][0]["image"], "demo:blue");
  EXPECT_EQ(undone["spec"]["template"]["metadata"]["labels"], (json{{"app", "demo"}}));
  v1::UndoRolloutRequest to;
  to.set_revision(9);
  absl::StatusOr<json> missing = Call(&v1::RolloutService::Stub::UndoRollout, to);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "revision 9 not found in the history of rollout \"demo\"");
}

// A controller writing the same object all along: every action still lands exactly once, and
// none of the controller's writes is lost.
TEST_F(RolloutServiceTest, ActionsRetryAgainstAConcurrentWriter) {
  ASSERT_OK(Create(kRollout).status());
  constexpr int kWrites = 150;
  absl::Status writer_error;
  std::thread controller([&] {
    for (int i = 1; i <= kWrites;) {
      json ro = *ro_api_->GetObject("Rollout", "default", "demo");
      ro["status"]["readyReplicas"] = i;
      const bool sub = (*ro_api_->Resolve("Rollout"))->status_subresource;
      absl::Status s =
          (sub ? ro_api_->UpdateStatusObject("Rollout", ro) : ro_api_->UpdateObject("Rollout", ro))
              .status();
      if (s.ok()) {
        ++i;
      } else if (!absl::IsAborted(s)) {
        writer_error = s;  // not a conflict: stop
        return;
      }
    }
  });
  int promotes = 0;
  for (int i = 0; i < 10; ++i) {
    v1::PauseRolloutRequest pause;
    pause.set_paused(i % 2 == 0);
    EXPECT_OK(Call(&v1::RolloutService::Stub::PauseRollout, pause).status());
    EXPECT_OK(
        Call(&v1::RolloutService::Stub::PromoteRollout, v1::PromoteRolloutRequest()).status());
    ++promotes;
  }
  controller.join();
  ASSERT_OK(writer_error);
  json ro = *ro_api_->GetObject("Rollout", "default", "demo");
  EXPECT_EQ(ro["status"]["readyReplicas"], kWrites);
  // Each promote moved one step on (capped at the 3 steps).
  EXPECT_EQ(ro["status"]["currentStepIndex"], std::min(promotes, 3));
  EXPECT_EQ(ro["spec"]["paused"], false);
}

TEST_F(RolloutServiceTest, WorkloadRefChangesTheDeployment) {
  json dep = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"default"},
    "spec":{"replicas":0,"selector":{"matchLabels":{"app":"demo"}},
      "template":{"metadata":{"labels":{"app":"demo"}},
        "spec":{"containers":[{"name":"web","image":"demo:green"}]}}}})");
  ASSERT_OK(c_api_->CreateObject("Deployment", dep, false).status());
  ASSERT_OK_AND_ASSIGN(json ro, Create(R"({"metadata":{"name":"demo"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"demo"}},
      "workloadRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},
      "strategy":{"canary":{"steps":[{"setWeight":50}]}}}})"));
  v1::SetImageRequest si;
  si.set_container("web");
  si.set_image("demo:yellow");
  ASSERT_OK_AND_ASSIGN(json same, Call(&v1::RolloutService::Stub::SetRolloutImage, si));
  EXPECT_FALSE(same["spec"].contains("template"));
  auto image = [&] {
    return (*c_api_->GetObject("Deployment", "default",
                               "web"))["spec"]["template"]["spec"]["containers"][0]["image"];
  };
  EXPECT_EQ(image(), "demo:yellow");

  AddRevision(ro, 1, "aaa", "demo:blue");
  AddRevision(ro, 2, "bbb", "demo:yellow");
  ASSERT_OK(Call(&v1::RolloutService::Stub::UndoRollout, v1::UndoRolloutRequest()).status());
  EXPECT_EQ(image(), "demo:blue");
  si.set_container("nope");
  EXPECT_EQ(Call(&v1::RolloutService::Stub::SetRolloutImage, si).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RolloutServiceTest, InfoAndItsWatch) {
  ASSERT_OK_AND_ASSIGN(json ro, Create(kRollout));
  AddRevision(ro, 1, "aaa", "demo:blue");
  WriteStatus({{"phase", "Healthy"},
               {"observedGeneration", "1"},
               {"stableRS", "aaa"},
               {"currentPodHash", "aaa"},
               {"currentStepIndex", 3},
               {"replicas", 1},
               {"availableReplicas", 1}});
  ASSERT_OK_AND_ASSIGN(json info, Info());
  EXPECT_EQ(info["status"], "Healthy");
  EXPECT_EQ(info["step"], "3/3");
  EXPECT_EQ(info["setWeight"], "100");
  ASSERT_EQ(info["replicaSets"].size(), 1u);
  EXPECT_EQ(info["replicaSets"][0]["stable"], true);
  ASSERT_EQ(info["replicaSets"][0]["pods"].size(), 1u);
  EXPECT_EQ(info["replicaSets"][0]["pods"][0]["objectMeta"]["name"], "demo-aaa-x");

  v1::ListRolloutsRequest lr;
  lr.set_namespace_("default");
  v1::RolloutInfoListReply infos;
  grpc::ClientContext lctx;
  ASSERT_TRUE(stub_->ListRolloutInfos(&lctx, lr, &infos).ok());
  ASSERT_EQ(infos.items_size(), 1);
  EXPECT_EQ(json::parse(infos.items(0)), info);

  // The watch sends the current info, then a new one when the rollout changes.
  grpc::ClientContext wctx;
  wctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::RolloutNameRequest wr;
  wr.set_namespace_("default");
  wr.set_name("demo");
  auto reader = stub_->WatchRolloutInfo(&wctx, wr);
  v1::RolloutInfoWatchEvent e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.type(), "ADDED");
  EXPECT_EQ(json::parse(e.json())["status"], "Healthy");
  ASSERT_OK(Call(&v1::RolloutService::Stub::AbortRollout, v1::RolloutNameRequest()).status());
  WriteStatus({{"phase", "Degraded"},
               {"message", "RolloutAborted: Rollout aborted update to revision 1"},
               {"observedGeneration", "1"},
               {"abort", true}});
  std::string last_status;
  while (last_status != "Degraded" && reader->Read(&e)) {
    EXPECT_EQ(e.type(), "MODIFIED");
    last_status = json::parse(e.json())["status"];
  }
  EXPECT_EQ(last_status, "Degraded");
  wctx.TryCancel();
  reader->Finish();

  v1::RolloutNameRequest missing;
  missing.set_namespace_("default");
  missing.set_name("nosuch");
  v1::RolloutInfoReply reply;
  grpc::ClientContext mctx;
  EXPECT_EQ(stub_->GetRolloutInfo(&mctx, missing, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RolloutServiceTest, LintAndVersion) {
  v1::LintRolloutRequest req;
  req.set_json(kRollout);
  v1::RolloutReply reply;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stub_->LintRollout(&ctx, req, &reply).ok());
  req.set_json(R"({"kind":"Workflow","metadata":{"name":"x"}})");
  grpc::ClientContext ctx2;
  grpc::Status s = stub_->LintRollout(&ctx2, req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "kind: \"Workflow\" is not a rollout kind");
  req.set_json(R"({"kind":"Rollout","metadata":{"name":"x"},"bogus":1})");
  grpc::ClientContext ctx3;
  EXPECT_EQ(stub_->LintRollout(&ctx3, req, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::VersionReply v;
  grpc::ClientContext vctx;
  ASSERT_TRUE(stub_->Version(&vctx, v1::VersionRequest(), &v).ok());
  EXPECT_EQ(v.rollouts_version(), kRolloutsVersion);
}

}  // namespace
}  // namespace argonaut::rollout::api
