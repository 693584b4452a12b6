// Triggers against real peers on 127.0.0.1: an HTTP server, and gRPC servers
// implementing the workflow and rollout services' interfaces that record what
// they were asked.
#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sensors/triggers/util.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

EventsByDependency Events(std::string message) {
  CloudEvent e;
  e.id = "id1";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.data = {{"body", {{"message", message}}}};
  return {{"test-dep", e}};
}

class HttpPeer {
 public:
  HttpPeer() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      bodies_.push_back(req.body);
      auth_ = req.get_header_value("Authorization");
      custom_ = req.get_header_value("X-Custom");
      res.status = status_;
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(5));
  }
  ~HttpPeer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void set_status(int s) {
    absl::MutexLock lock(&mu_);
    status_ = s;
  }
  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  std::string auth() {
    absl::MutexLock lock(&mu_);
    return auth_;
  }
  std::string custom() {
    absl::MutexLock lock(&mu_);
    return custom_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  int status_ = 200;
  std::vector<std::string> bodies_;
  std::string auth_, custom_;
};

TEST(HttpTrigger, PayloadHeadersSecretsAndStatusPolicy) {
  HttpPeer peer;
  TriggerContext ctx;
  ctx.secret = [](std::string_view ns, std::string_view name,
                  std::string_view key) -> absl::StatusOr<std::string> {
    if (ns == "default" && name == "creds" && key == "token") return std::string("Bearer s3cret");
    return absl::NotFoundError("no such secret");
  };
  json trigger = {
      {"template",
       {{"name", "http-trigger"},
        {"http",
         {{"url", peer.url()},
          {"headers", {{"X-Custom", "yes"}}},
          {"secureHeaders",
           json::array(
               {{{"name", "Authorization"},
                 {"valueFrom", {{"secretKeyRef", {{"name", "creds"}, {"key", "token"}}}}}}})},
          {"payload",
           json::parse(
               R"([{"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"msg"}])")}}}}},
      {"policy", {{"status", {{"allow", {200, 201}}}}}}};
  FireRequest req{"sensor", "default", trigger, Events("hello")};
  auto r = ExecuteTrigger(req, ctx);
  ASSERT_OK(r);
  EXPECT_THAT(*r, HasSubstr(" 200"));
  ASSERT_EQ(peer.bodies().size(), 1u);
  EXPECT_EQ(json::parse(peer.bodies()[0]), json({{"msg", "hello"}}));
  EXPECT_EQ(peer.auth(), "Bearer s3cret");
  EXPECT_EQ(peer.custom(), "yes");

  peer.set_status(500);
  r = ExecuteTrigger(req, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("policy.status.allow"));
  // Without a status policy any answer is a success, as in Argo.
  req.trigger.erase("policy");
  EXPECT_OK(ExecuteTrigger(req, ctx));

  // A missing secret names the header.
  req.trigger["template"]["http"]["secureHeaders"][0]["valueFrom"]["secretKeyRef"]["key"] = "nope";
  r = ExecuteTrigger(req, ctx);
  EXPECT_THAT(r.status().message(), HasSubstr("secureHeaders \"Authorization\""));
}

TEST(HttpTrigger, TargetDownIsUnavailable) {
  int port;
  {
    HttpPeer gone;
    port = std::stoi(gone.url().substr(17, gone.url().find('/', 17) - 17));
  }
  json trigger = {
      {"template",
       {{"name", "t"},
        {"http",
         {{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"}, {"timeout", 2}}}}}};
  auto r = ExecuteTrigger({"s", "default", trigger, Events("x")}, TriggerContext{});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(Trigger, UnsupportedAndBadInput) {
  EXPECT_EQ(TriggerType({{"kafka", json::object()}}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(TriggerType(json::object()).ok());
  json bad = {{"template", {{"name", "t"}, {"http", {{"url", "ftp://x"}}}}}};
  EXPECT_THAT(
      ExecuteTrigger({"s", "default", bad, Events("x")}, TriggerContext{}).status().message(),
      HasSubstr("http.url"));
  json no_wf = {{"template",
                 {{"name", "t"}, {"argoWorkflow", {{"source", {{"resource", json::object()}}}}}}}};
  EXPECT_THAT(
      ExecuteTrigger({"s", "default", no_wf, Events("x")}, TriggerContext{}).status().message(),
      HasSubstr("no workflow service"));
}

TEST(Backoff, ParseAndDelay) {
  auto b =
      ParseBackoff(json{{"duration", "2s"}, {"factor", "2"}, {"jitter", 0.5}, {"steps", 3}}, "r");
  ASSERT_OK(b);
  EXPECT_EQ(b->steps, 3);
  EXPECT_EQ(BackoffDelay(*b, 1, 0), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(*b, 2, 0), absl::Seconds(4));
  EXPECT_EQ(BackoffDelay(*b, 2, 1), absl::Seconds(6));
  EXPECT_EQ(ParseBackoff(json{{"duration", 1000000000}}, "r")->duration, absl::Seconds(1));
  EXPECT_FALSE(ParseBackoff(json{{"duration", "soon"}}, "r").ok());
}

// A workflow service peer that records requests and answers like the real one.
class WorkflowPeer final : public workflow::v1::WorkflowService::Service {
 public:
  grpc::Status CreateWorkflow(grpc::ServerContext*, const workflow::v1::CreateWorkflowRequest* req,
                              workflow::v1::WorkflowReply* reply) override {
    absl::MutexLock lock(&mu_);
    json wf = json::parse(req->json());
    if (!wf["metadata"].contains("name"))
      wf["metadata"]["name"] = wf["metadata"].value("generateName", "wf-") + "abcde";
    calls.push_back("create " + req->namespace_() + " " + wf.dump());
    reply->set_json(wf.dump());
    return grpc::Status::OK;
  }
  grpc::Status RetryWorkflow(grpc::ServerContext*, const workflow::v1::RetryWorkflowRequest* req,
                             workflow::v1::WorkflowReply* reply) override {
    absl::MutexLock lock(&mu_);
    calls.push_back("retry " + req->namespace_() + "/" + req->name());
    reply->set_json(json{{"metadata", {{"name", req->name()}}}}.dump());
    return grpc::Status::OK;
  }
  grpc::Status TerminateWorkflow(grpc::ServerContext*, const workflow::v1::WorkflowNameRequest* req,
                                 workflow::v1::WorkflowReply*) override {
    absl::MutexLock lock(&mu_);
    calls.push_back("terminate " + req->namespace_() + "/" + req->name());
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "workflow not found");
  }
  std::vector<std::string> Calls() {
    absl::MutexLock lock(&mu_);
    return calls;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls;
};

TEST(ArgoWorkflowTrigger, SubmitWithParametersAndOperations) {
  WorkflowPeer peer;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&peer);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = workflow::v1::WorkflowService::NewStub(channel);
  TriggerContext ctx;
  ctx.workflows = stub.get();

  json wf = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",
    "metadata":{"generateName":"webhook-"},
    "spec":{"entrypoint":"print","arguments":{"parameters":[{"name":"message","value":"x"}]}}})");
  json trigger = {
      {"template",
       {{"name", "wf"},
        {"argoWorkflow",
         {{"source", {{"resource", wf}}},
          {"parameters",
           json::parse(R"([{"src":{"dependencyName":"test-dep","dataKey":"body.message"},
                        "dest":"spec.arguments.parameters.0.value"}])")}}}}}};
  auto r = ExecuteTrigger({"s", "argo", trigger, Events("HelloWorld!")}, ctx);
  ASSERT_OK(r);
  EXPECT_EQ(*r, "workflow argo/webhook-abcde submitted");
  ASSERT_EQ(peer.Calls().size(), 1u);
  EXPECT_THAT(peer.Calls()[0], HasSubstr(R"("value":"HelloWorld!")"));

  trigger["template"]["argoWorkflow"]["operation"] = "retry";
  EXPECT_THAT(ExecuteTrigger({"s", "argo", trigger, Events("x")}, ctx).status().message(),
              HasSubstr("metadata.name"));
  trigger["template"]["argoWorkflow"]["source"]["resource"]["metadata"]["name"] = "wf-1";
  ASSERT_OK(ExecuteTrigger({"s", "argo", trigger, Events("x")}, ctx));
  EXPECT_EQ(peer.Calls().back(), "retry argo/wf-1");
  trigger["template"]["argoWorkflow"]["operation"] = "terminate";
  EXPECT_EQ(ExecuteTrigger({"s", "argo", trigger, Events("x")}, ctx).status().code(),
            absl::StatusCode::kNotFound);
  trigger["template"]["argoWorkflow"]["operation"] = "explode";
  EXPECT_THAT(ExecuteTrigger({"s", "argo", trigger, Events("x")}, ctx).status().message(),
              HasSubstr("argoWorkflow.operation \"explode\""));
  server->Shutdown();
}

class RolloutPeer final : public rollout::v1::RolloutService::Service {
 public:
  grpc::Status PromoteRollout(grpc::ServerContext*, const rollout::v1::PromoteRolloutRequest* req,
                              rollout::v1::RolloutReply*) override {
    absl::MutexLock lock(&mu_);
    calls.push_back(std::string(req->full() ? "promote-full " : "promote ") + req->namespace_() +
                    "/" + req->name());
    return grpc::Status::OK;
  }
  grpc::Status SetRolloutImage(grpc::ServerContext*, const rollout::v1::SetImageRequest* req,
                               rollout::v1::RolloutReply*) override {
    absl::MutexLock lock(&mu_);
    calls.push_back("set-image " + req->name() + " " + req->container() + "=" + req->image());
    return grpc::Status::OK;
  }
  std::vector<std::string> Calls() {
    absl::MutexLock lock(&mu_);
    return calls;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls;
};

TEST(RolloutTrigger, PromoteAndSetImageFromTheEvent) {
  RolloutPeer peer;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&peer);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = rollout::v1::RolloutService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  TriggerContext ctx;
  ctx.rollouts = stub.get();
  json trigger = {
      {"template",
       {{"name", "release"},
        {"rollout",
         {{"operation", "set-image"},
          {"name", "web"},
          {"parameters",
           json::parse(
               R"([{"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"image"}])")}}}}}};
  ASSERT_OK(ExecuteTrigger({"s", "default", trigger, Events("nginx:1.25")}, ctx));
  trigger["template"]["rollout"] = {{"operation", "promote-full"}, {"name", "web"}};
  ASSERT_OK(ExecuteTrigger({"s", "default", trigger, Events("x")}, ctx));
  EXPECT_EQ(peer.Calls(),
            (std::vector<std::string>{"set-image web *=nginx:1.25", "promote-full default/web"}));
  trigger["template"]["rollout"]["operation"] = "abort";  // not implemented by this peer
  EXPECT_EQ(ExecuteTrigger({"s", "default", trigger, Events("x")}, ctx).status().code(),
            absl::StatusCode::kUnimplemented);
  server->Shutdown();
}

}  // namespace
}  // namespace argonaut::events::sensors
