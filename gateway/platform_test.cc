// The all-in-one platform through its gateway: routing by kind to the owning
// service, watch streams forwarded through the router, REST over the same API.
#include "gateway/platform.h"

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto p = Platform::Start({.data_dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name), .port = 0});
    ASSERT_OK(p);
    platform_ = std::move(*p);
    stub_ = api::v1::ResourceService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", platform_->port()), grpc::InsecureChannelCredentials()));
    // Auth is on, as `argonaut up` runs: the calls carry the admin token (platform_auth_test
    // covers the refusals).
    std::ifstream in(platform_->admin_token_file());
    std::getline(in, token_);
    ASSERT_FALSE(token_.empty());
  }

  // A client context carrying the admin token.
  void Authorize(grpc::ClientContext& ctx) { ctx.AddMetadata("authorization", "Bearer " + token_); }

  // An HTTP client of the gateway sending the admin token.
  std::unique_ptr<httplib::Client> Http() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", platform_->port());
    c->set_bearer_token_auth(token_);
    return c;
  }

  grpc::Status Create(const std::string& kind, const json& obj, bool upsert = true) {
    api::v1::CreateRequest req;
    req.set_kind(kind);
    req.set_json(obj.dump());
    req.set_upsert(upsert);
    api::v1::Object out;
    grpc::ClientContext ctx;
    Authorize(ctx);
    return stub_->Create(&ctx, req, &out);
  }

  std::unique_ptr<Platform> platform_;
  std::unique_ptr<api::v1::ResourceService::Stub> stub_;
  std::string token_;
};

// A valid workflow spec (the workflow service validates what it stores),
// with two templates so that the entrypoint can change.
json Spec() {
  return json::parse(R"({"entrypoint": "m", "templates": [
      {"name": "m", "container": {"image": "alpine", "command": ["true"]}},
      {"name": "n", "container": {"image": "alpine", "command": ["true"]}}]})");
}

// A valid canary Rollout spec (the rollout service validates what it stores).
json RolloutSpec() {
  return json::parse(R"({"replicas": 3, "selector": {"matchLabels": {"app": "r"}},
      "template": {"metadata": {"labels": {"app": "r"}},
                   "spec": {"containers": [{"name": "r", "image": "nginx"}]}},
      "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}})");
}

// A valid Sensor spec (the events service validates what it stores).
json SensorSpec() {
  return json::parse(R"({"dependencies": [{"name": "d", "eventSourceName": "es", "eventName": "e"}],
      "triggers": [{"template": {"name": "t", "log": {}}}]})");
}

// A valid Application spec (the cd service validates what it stores); its repository is a
// local path that does not exist, so the controller fails fast without any network.
json AppSpec() {
  return json::parse(R"({"source": {"repoURL": "file:///nonexistent/repo", "path": "."},
      "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}})");
}

TEST_F(PlatformTest, RoutesEachKindToItsService) {
  ASSERT_TRUE(Create("wf", {{"metadata", {{"name", "w"}}}, {"spec", Spec()}}).ok());
  ASSERT_TRUE(Create("ro", {{"metadata", {{"name", "r"}}}, {"spec", RolloutSpec()}}).ok());
  ASSERT_TRUE(Create("sensor", {{"metadata", {{"name", "s"}}}, {"spec", SensorSpec()}}).ok());
  ASSERT_TRUE(Create("app", {{"metadata", {{"name", "a"}}}, {"spec", AppSpec()}}).ok());
  // Each object lives only in the store of the service that owns its kind.
  EXPECT_OK(platform_->service("workflow").store().Get("workflows", "default/w"));
  EXPECT_OK(platform_->service("rollout").store().Get("rollouts", "default/r"));
  EXPECT_OK(platform_->service("events").store().Get("sensors", "default/s"));
  EXPECT_OK(platform_->service("cd").store().Get("applications", "default/a"));
  grpc::Status unknown = Create("gadget", {{"metadata", {{"name", "g"}}}});
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PlatformTest, WatchStreamsThroughTheRouter) {
  // A first object, seen as the watch's initial ADDED, proves the stream is
  // established before the changes below.
  // WorkflowTemplates: no controller writes to them, so the events are ours.
  ASSERT_TRUE(Create("wftmpl", {{"metadata", {{"name", "first"}}}, {"spec", Spec()}}).ok());
  grpc::ClientContext ctx;
  Authorize(ctx);
  api::v1::WatchRequest req;
  req.set_kind("WorkflowTemplate");
  req.set_namespace_("default");
  auto reader = stub_->Watch(&ctx, req);
  api::v1::WatchEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.type(), "ADDED");
  json wf = {{"metadata", {{"name", "watched"}}}, {"spec", Spec()}};
  ASSERT_TRUE(Create("wftmpl", wf).ok());
  wf["spec"]["entrypoint"] = "n";
  ASSERT_TRUE(Create("wftmpl", wf).ok());
  std::vector<std::string> types;
  while (types.size() < 2 && reader->Read(&event)) types.push_back(event.type());
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED"}));
  EXPECT_EQ(json::parse(event.object().json())["spec"]["entrypoint"], "n");
  // Cancelling the client ends the stream on both hops.
  ctx.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(PlatformTest, RestMirrorsTheApi) {
  auto client = Http();
  httplib::Client& http = *client;
  auto res = http.Post(
      "/api/v1/workflow-templates/team-a",
      R"({"template":{"metadata":{"name":"t"},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}},{"name":"n","container":{"image":"alpine","command":["true"]}}]}}})",
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = http.Get("/api/v1/workflow-templates/team-a/t");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["metadata"]["namespace"], "team-a");
  res = http.Get("/api/v1/workflowtemplates/team-a");  // the plural works too
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["items"].size(), 1u);
  res = http.Post(
      "/api/v1/cluster-workflow-templates",
      R"({"metadata":{"name":"c"},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}},{"name":"n","container":{"image":"alpine","command":["true"]}}]}})",
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = http.Delete("/api/v1/cluster-workflow-templates/c");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = http.Get("/api/v1/cluster-workflow-templates/c");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["code"], 5);
  res = http.Post("/api/v1/workflows/default", "not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = http.Get("/api/v1/no-such-things/default");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  // Deep nesting is refused before anything recurses over it.
  res = http.Post(
      "/api/v1/workflows/default",
      R"({"metadata":{},"spec":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}",
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // Errors that echo invalid UTF-8 stay well-formed JSON.
  res = http.Get("/api/v1/workflows/default?labelSelector=%FF");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_FALSE(json::parse(res->body, nullptr, false).is_discarded());
  // A wrong method is 405; an empty namespace in the body comes from the path.
  res = http.Put("/api/v1/workflows/default", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  res = http.Post(
      "/api/v1/workflows/team-b",
      R"({"metadata":{"name":"e","namespace":""},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}},{"name":"n","container":{"image":"alpine","command":["true"]}}]}})",
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // A REST watch streams newline-delimited events until the client stops.
  {
    auto watch_client = Http();
    httplib::Client& watcher = *watch_client;
    std::string received;
    std::thread writer([&] {
      absl::SleepFor(absl::Milliseconds(300));
      auto c = Http();
      c->Post("/api/v1/workflows/team-w",
              json{{"metadata", {{"name", "streamed"}}}, {"spec", Spec()}}.dump(),
              "application/json");
    });
    auto streamed =
        watcher.Get("/api/v1/workflows/team-w?watch=true", [&](const char* data, size_t n) {
          received.append(data, n);
          // Stop reading once the event is in.
          return received.find('\n') == std::string::npos;
        });
    writer.join();
    json line = json::parse(received.substr(0, received.find('\n')));
    EXPECT_EQ(line["result"]["type"], "ADDED");
    EXPECT_EQ(line["result"]["object"]["metadata"]["name"], "streamed");
  }
  // Bodies beyond the limit are refused before they are parsed.
  res = http.Post("/api/v1/workflows/default", std::string(17 << 20, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(PlatformTest, ShutdownEndsOpenRestWatches) {
  // Shutdown does not hang on a REST watch that is still open: the watch must
  // be open (its response headers received) before Shutdown starts.
  absl::Notification connected;
  int status = 0;
  std::thread open_watch([port = platform_->port(), token = token_, &connected, &status] {
    httplib::Client c("127.0.0.1", port);
    c.set_bearer_token_auth(token);
    c.set_read_timeout(60);
    c.Get(
        "/api/v1/workflows/default?watch=true", httplib::Headers{},
        [&](const httplib::Response& r) {
          status = r.status;
          connected.Notify();
          return true;
        },
        [](const char*, size_t) { return true; });
    if (!connected.HasBeenNotified()) connected.Notify();
  });
  EXPECT_TRUE(connected.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(status, 200);
  const absl::Time start = absl::Now();
  platform_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  open_watch.join();
}

}  // namespace
}  // namespace argonaut::gateway
