// HTTP templates against a real server on 127.0.0.1: the libcurl request itself
// (PerformHttpRequest), the runner's threads and bookkeeping, and whole workflows through the
// workflow controller (success, successCondition false, non-2xx, timeout, a Secret header).
#include "services/workflow/http_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/artifacts/testing_http.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/workflow/controller.h"
#include "services/workflow/controller_fixture.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// The server every test talks to: a few routes that stand for what HTTP templates meet.
class Server {
 public:
  Server() {
    auto& s = http_.server();
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("x-thing", "a");
      res.set_content("hello", "text/plain");
    });
    s.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.status = std::stoi(req.matches[1]);
      res.set_content(absl::StrCat("status ", res.status), "text/plain");
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(
          absl::StrCat(req.method, " ", req.body, " token=", req.get_header_value("X-Token")),
          "text/plain");
    });
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      absl::SleepFor(absl::Seconds(2));
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(64 * 1024, 'x'), "text/plain");
    });
    s.Get("/redirect",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ok"); });
    http_.Start();
  }
  std::string Url(const std::string& path) { return http_.Url(path); }

 private:
  artifacts::testing::LoopbackHttpServer http_;
};

json Request(const std::string& url) {
  return {{"url", url},
          {"method", "GET"},
          {"headers", json::array()},
          {"timeoutSeconds", 5},
          {"insecureSkipVerify", false}};
}

// A port nothing listens on: bound to learn a free one, then closed.
std::string ClosedUrl() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/");
}

TEST(PerformHttpRequestTest, GetReturnsStatusBodyAndCanonicalHeaders) {
  Server server;
  engine::HttpResult r = PerformHttpRequest(Request(server.Url("/ok")), "default", {}, 1 << 20);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.body, "hello");
  ASSERT_TRUE(r.headers.count("X-Thing")) << "headers are keyed as Go canonicalizes them";
  EXPECT_EQ(r.headers["X-Thing"], std::vector<std::string>{"a"});
  EXPECT_EQ(r.headers["Content-Type"][0], "text/plain");

  engine::HttpResult missing =
      PerformHttpRequest(Request(server.Url("/status/404")), "default", {}, 1 << 20);
  EXPECT_EQ(missing.error, "");
  EXPECT_EQ(missing.status_code, 404);
  EXPECT_EQ(missing.body, "status 404");

  engine::HttpResult redirected =
      PerformHttpRequest(Request(server.Url("/redirect")), "default", {}, 1 << 20);
  EXPECT_EQ(redirected.status_code, 200);
  EXPECT_EQ(redirected.body, "hello");
}

TEST(PerformHttpRequestTest, MethodBodyAndSecretHeaders) {
  Server server;
  json req = Request(server.Url("/echo"));
  req["method"] = "POST";
  req["bodyBase64"] = "aGkgdGhlcmU=";  // "hi there"
  req["headers"] =
      json::array({{{"name", "X-Token"}, {"secretKeyRef", {{"name", "s"}, {"key", "k"}}}},
                   {{"name", "X-Plain"}, {"value", "v"}}});
  std::string asked;
  HttpSecretReader secrets = [&](const std::string& ns, const std::string& name,
                                 const std::string& key) -> absl::StatusOr<std::string> {
    asked = absl::StrCat(ns, "/", name, "/", key);
    if (name != "s") return absl::NotFoundError("Secret \"" + name + "\" not found");
    return std::string("s3cr3t");
  };
  engine::HttpResult r = PerformHttpRequest(req, "team", secrets, 1 << 20);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(asked, "team/s/k");
  EXPECT_EQ(r.body, "POST hi there token=s3cr3t");

  req["headers"][0]["secretKeyRef"]["name"] = "gone";
  engine::HttpResult no_secret = PerformHttpRequest(req, "team", secrets, 1 << 20);
  EXPECT_EQ(no_secret.error, "http.headers[0] (X-Token): Secret \"gone\" not found");
}

TEST(PerformHttpRequestTest, FailuresSayWhatHappened) {
  Server server;
  json slow = Request(server.Url("/slow"));
  slow["timeoutSeconds"] = 1;
  const absl::Time start = absl::Now();
  engine::HttpResult timed_out = PerformHttpRequest(slow, "default", {}, 1 << 20);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_THAT(timed_out.error, HasSubstr("GET http://127.0.0.1:"));
  EXPECT_THAT(timed_out.error, HasSubstr("/slow: no complete response within 1 s"));

  engine::HttpResult big = PerformHttpRequest(Request(server.Url("/big")), "default", {}, 1000);
  EXPECT_THAT(big.error, HasSubstr("response body larger than 1000 bytes"));

  engine::HttpResult refused = PerformHttpRequest(Request(ClosedUrl()), "default", {}, 1 << 20);
  EXPECT_THAT(refused.error, HasSubstr("GET http://127.0.0.1:"));
  EXPECT_EQ(refused.status_code, 0);

  // Credentials in the URL never reach a message.
  json secret_url = Request(ClosedUrl());
  secret_url["url"] =
      absl::StrReplaceAll(secret_url["url"].get<std::string>(), {{"http://", "http://user:pw@"}});
  secret_url["url"] = secret_url["url"].get<std::string>() + "x?sig=abc";
  engine::HttpResult hidden = PerformHttpRequest(secret_url, "default", {}, 1 << 20);
  EXPECT_THAT(hidden.error, Not(HasSubstr("pw")));
  EXPECT_THAT(hidden.error, Not(HasSubstr("sig=abc")));

  std::atomic<bool> cancel{true};
  engine::HttpResult aborted =
      PerformHttpRequest(Request(server.Url("/slow")), "default", {}, 1 << 20, &cancel);
  EXPECT_THAT(aborted.error, HasSubstr("aborted"));
}

TEST(HttpRunnerTest, RunsOffTheCallerReportsAndForgets) {
  Server server;
  std::atomic<int> done{0};
  HttpRunner runner({.workers = 2, .on_done = [&](const std::string& key) {
                       EXPECT_EQ(key, "ns/wf");
                       ++done;
                     }});
  const std::map<std::string, json> asked = {{"a", Request(server.Url("/ok"))},
                                             {"b", Request(server.Url("/status/500"))}};
  const absl::Time start = absl::Now();
  runner.Run("ns/wf", "ns", asked);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500)) << "Run must not wait for the call";
  for (int i = 0; i < 200 && done < 2; ++i) absl::SleepFor(absl::Milliseconds(25));
  ASSERT_EQ(done, 2);
  std::map<std::string, engine::HttpResult> seen = runner.Observe("ns/wf");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen["a"].done);
  EXPECT_EQ(seen["a"].body, "hello");
  EXPECT_EQ(seen["b"].status_code, 500);
  // Asked again (the status was not stored yet): not sent twice.
  runner.Run("ns/wf", "ns", asked);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(done, 2);
  // "a" was judged and stored: its answer goes, "b"'s stays while asked for.
  runner.Run("ns/wf", "ns", {{"b", asked.at("b")}});
  seen = runner.Observe("ns/wf");
  EXPECT_EQ(seen.count("a"), 0u);
  EXPECT_EQ(seen.count("b"), 1u);
  runner.Forget("ns/wf");
  EXPECT_TRUE(runner.Observe("ns/wf").empty());
}

TEST(HttpRunnerTest, StopAbortsRequestsInFlight) {
  Server server;
  auto runner = std::make_unique<HttpRunner>(HttpRunnerOptions{.workers = 1});
  runner->Run("ns/wf", "ns", {{"a", Request(server.Url("/slow"))}});
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  runner->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

// --- whole workflows through the controller

class HttpControllerTest : public testing::ControllerFixture {
 protected:
  // Real time: HTTP timeouts are libcurl's, in real time too.
  WorkflowControllerOptions ControllerOptions() override { return {}; }
};

TEST_F(HttpControllerTest, HttpStepsEndWithArgosOutcomes) {
  Server server;
  ASSERT_OK(cluster_
                ->Create(json{{"apiVersion", "v1"},
                              {"kind", "Secret"},
                              {"metadata", {{"name", "api"}, {"namespace", "default"}}},
                              {"stringData", {{"token", "t0k"}}}})
                .status());
  const std::string yaml =
      absl::StrCat(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: http-steps, namespace: default}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: ok, template: call, arguments: {parameters: [{name: url, value: ")",
                   server.Url("/ok"), R"("}]}}
      - name: not-found
        template: call
        continueOn: {failed: true}
        arguments: {parameters: [{name: url, value: ")",
                   server.Url("/status/404"), R"("}]}
      - name: wants-201
        template: created
        continueOn: {failed: true}
      - name: slow
        template: slow
        continueOn: {failed: true}
      - name: post
        template: post
    - - name: use
        template: call
        arguments: {parameters: [{name: url, value: ")",
                   server.Url("/status/2{{steps.ok.outputs.result}}"),
                   R"("}]}
        continueOn: {failed: true}
  - name: call
    inputs: {parameters: [{name: url}]}
    http: {url: "{{inputs.parameters.url}}"}
  - name: created
    http: {url: ")",
                   server.Url("/ok"), R"(", successCondition: "response.statusCode == 201"}
  - name: slow
    http: {url: ")",
                   server.Url("/slow"), R"(", timeoutSeconds: 1}
  - name: post
    http:
      url: ")",
                   server.Url("/echo"), R"("
      method: POST
      body: payload
      headers: [{name: X-Token, valueFrom: {secretKeyRef: {name: api, key: token}}}]
      successCondition: 'response.body contains "token=t0k"'
)");
  const std::string name = Submit(yaml);
  json wf = WaitDone(name);
  ASSERT_EQ(wf["status"]["phase"], "Succeeded") << wf["status"].dump(2);
  const json* ok = Node(wf, "ok");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ((*ok)["type"], "HTTP");
  EXPECT_EQ((*ok)["phase"], "Succeeded");
  EXPECT_EQ((*ok)["outputs"]["result"], "hello");
  EXPECT_EQ((*Node(wf, "not-found"))["phase"], "Failed");
  EXPECT_EQ((*Node(wf, "not-found"))["message"], "received non-2xx response code: 404");
  EXPECT_EQ((*Node(wf, "wants-201"))["message"],
            "successCondition 'response.statusCode == 201' evaluated false");
  EXPECT_EQ((*Node(wf, "slow"))["phase"], "Failed");
  EXPECT_THAT((*Node(wf, "slow")).value("message", ""),
              HasSubstr("no complete response within 1 s"));
  EXPECT_EQ((*Node(wf, "post"))["phase"], "Succeeded");
  EXPECT_EQ((*Node(wf, "post"))["outputs"]["result"], "POST payload token=t0k");
  // /status/2hello: a 404 from the route that wants digits; the output reached the URL.
  EXPECT_EQ((*Node(wf, "use"))["phase"], "Failed");
  // The Secret's value is in no stored field (the echo server put it in that one body).
  json status = wf["status"];
  for (auto& [id, n] : status["nodes"].items()) n.erase("outputs");
  EXPECT_THAT(status.dump(), Not(HasSubstr("t0k")));
  auto pods = cluster_->List("Pod", "default", "");
  ASSERT_OK(pods.status());
  EXPECT_TRUE(pods->empty()) << "http templates run no pod";
}

TEST_F(HttpControllerTest, MissingConfigMapEndsInErrorAndPresentOneRuns) {
  const std::string yaml = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: cm-, namespace: default}
spec:
  entrypoint: wait
  arguments:
    parameters:
    - name: message
      valueFrom: {configMapKeyRef: {name: simple-parameters, key: msg}}
  templates:
  - name: wait
    suspend: {duration: "0"}
    outputs:
      parameters: [{name: m, valueFrom: {default: "{{workflow.parameters.message}}"}}]
)";
  json missing = WaitDone(Submit(yaml));
  EXPECT_EQ(missing["status"]["phase"], "Error");
  EXPECT_THAT(missing["status"].value("message", ""),
              HasSubstr("ConfigMap \"simple-parameters\" not found"));

  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata",
              {{"name", "simple-parameters"},
               {"namespace", "default"},
               {"labels", {{"workflows.argoproj.io/configmap-type", "Parameter"}}}}},
             {"data", {{"msg", "hello world"}}}};
  ASSERT_OK(cluster_->Create(cm).status());
  json present = WaitDone(Submit(yaml));
  EXPECT_EQ(present["status"]["phase"], "Succeeded") << present["status"].dump(2);
}

}  // namespace
}  // namespace argonaut::workflow
