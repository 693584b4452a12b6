// Argo Rollouts' REST paths end to end: HTTP -> gateway routes -> RolloutService over gRPC -> an
// in-memory rollout store and cluster. Every path of argo-rollouts.swagger.json is called and its
// body checked against the document's definitions.
#include "gateway/rollout_rest.h"

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "gateway/argo_server_rest.h"
#include "gateway/swagger_schema.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/cluster/api_cluster.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/rollout/api/rollout_service.h"

namespace argonaut::gateway {
namespace {

using ::nlohmann::json;

// Kubernetes objects carry their type; grpc-gateway's definitions of them do not list it.
const std::set<std::string> kTypeMeta = {"apiVersion", "kind"};

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

class RolloutRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing::TestCorpusDir("gateway/testdata/corpus_anchor.txt");
    ASSERT_OK(dir.status());
    auto text = testing::ReadTestFile(dir->parent_path() / "api" / "argo-rollouts.swagger.json");
    ASSERT_OK(text.status());
    auto schema = SwaggerSchema::Parse(*text);
    ASSERT_OK(schema.status());
    schema_ = std::make_unique<SwaggerSchema>(*std::move(schema));

    auto ro_kinds = resource::KindsOfService("rollout");
    ro_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(ro_kinds)});
    ro_api_ = std::make_unique<resource::ResourceApi>(ro_store_.get(), ro_kinds);
    auto c_kinds = resource::KindsOfService("cluster");
    c_store_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(c_kinds)});
    c_api_ = std::make_unique<resource::ResourceApi>(c_store_.get(), c_kinds);
    cluster_ = std::make_unique<cluster::ApiCluster>(c_api_.get());
    service_ =
        std::make_unique<rollout::api::RolloutGrpcService>(ro_api_.get(), cluster_.get(), nullptr);
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "ro-rest", .grpc_port = -1, .http_port = 0});
    server_->AddService(service_.get());
    server::Server* raw = server_.get();
    server_->ConfigureHttp([this, raw](httplib::Server& http) {
      stub_ = rollout::v1::RolloutService::NewStub(raw->InProcessChannel());
      RegisterRolloutRestRoutes(http, stub_.get());
    });
    ASSERT_OK(server_->Start());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->BoundHttpPort());
    Seed();
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  // A canary paused at its first step, its two ReplicaSets with a pod each, a step AnalysisRun
  // with a job measurement and an Experiment.
  void Seed() {
    json ro = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
      "metadata":{"name":"demo","namespace":"ns1"},
      "spec":{"replicas":2,"selector":{"matchLabels":{"app":"demo"}},
        "strategy":{"canary":{"steps":[{"setWeight":50},{"pause":{}},
          {"analysis":{"templates":[{"templateName":"t"}]}}]}},
        "template":{"metadata":{"labels":{"app":"demo"}},
          "spec":{"containers":[{"name":"web","image":"argoproj/rollouts-demo:yellow",
                                 "ports":[{"containerPort":8080}]}]}}},
      "status":{"phase":"Paused","message":"CanaryPauseStep","observedGeneration":"1",
        "currentStepIndex":1,"currentPodHash":"bbb","stableRS":"aaa","controllerPause":true,
        "pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2024-01-01T00:00:00Z"}],
        "replicas":2,"updatedReplicas":1,"readyReplicas":2,"availableReplicas":2,
        "conditions":[{"type":"Paused","status":"True","reason":"RolloutPaused",
          "message":"Rollout is paused","lastUpdateTime":"2024-01-01T00:00:00Z",
          "lastTransitionTime":"2024-01-01T00:00:00Z"}]}})");
    auto created = ro_api_->CreateObject("Rollout", ro, false);
    ASSERT_OK(created.status());
    const std::string uid = (*created)["metadata"]["uid"];
    if ((*ro_api_->Resolve("Rollout"))->status_subresource) {
      json with_status = *created;
      with_status["status"] = ro["status"];
      ASSERT_OK(ro_api_->UpdateStatusObject("Rollout", with_status).status());
    }
    const json owner = {{"apiVersion", "argoproj.io/v1alpha1"},
                        {"kind", "Rollout"},
                        {"name", "demo"},
                        {"uid", uid},
                        {"controller", true}};
    for (const auto& [hash, image, revision] :
         std::vector<std::tuple<std::string, std::string, int>>{
             {"aaa", "argoproj/rollouts-demo:blue", 1},
             {"bbb", "argoproj/rollouts-demo:yellow", 2}}) {
      json labels = {{"app", "demo"}, {"rollouts-pod-template-hash", hash}};
      json rs = {{"apiVersion", "apps/v1"},
                 {"kind", "ReplicaSet"},
                 {"metadata",
                  {{"name", "demo-" + hash},
                   {"namespace", "ns1"},
                   {"labels", labels},
                   {"annotations", {{"rollout.argoproj.io/revision", std::to_string(revision)}}},
                   {"ownerReferences", {owner}}}},
                 {"spec",
                  {{"replicas", 1},
                   {"selector", {{"matchLabels", labels}}},
                   {"template",
                    {{"metadata", {{"labels", labels}}},
                     {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}}}}}};
      auto made = c_api_->CreateObject("ReplicaSet", rs, false);
      ASSERT_OK(made.status());
      (*made)["status"] = {{"replicas", 1}, {"readyReplicas", 1}, {"availableReplicas", 1}};
      ASSERT_OK(c_api_->UpdateStatusObject("ReplicaSet", *made).status());
      json pod = {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata",
                   {{"name", "demo-" + hash + "-p"},
                    {"namespace", "ns1"},
                    {"labels", labels},
                    {"ownerReferences",
                     {{{"apiVersion", "apps/v1"},
                       {"kind", "ReplicaSet"},
                       {"name", "demo-" + hash},
                       {"uid", (*made)["metadata"]["uid"]},
                       {"controller", true}}}}}},
                  {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}};
      ASSERT_OK(c_api_->CreateObject("Pod", pod, false).status());
    }
    json run = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"AnalysisRun",
      "metadata":{"name":"demo-bbb-2-2","namespace":"ns1",
        "annotations":{"rollout.argoproj.io/revision":"2"}},
      "spec":{"metrics":[{"name":"pass","count":1,"failureLimit":0,
        "provider":{"job":{"spec":{"template":{"spec":{"restartPolicy":"Never",
          "containers":[{"name":"c","image":"busybox","command":["true"]}]}}}}}}]},
      "status":{"phase":"Successful","startedAt":"2024-01-01T00:00:00Z",
        "metricResults":[{"name":"pass","phase":"Successful","count":1,"successful":1,
          "measurements":[{"phase":"Successful","startedAt":"2024-01-01T00:00:00Z",
            "finishedAt":"2024-01-01T00:00:05Z","metadata":{"job-name":"demo-job"}}]}]}})");
    run["metadata"]["ownerReferences"] = {owner};
    ASSERT_OK(ro_api_->CreateObject("AnalysisRun", run, false).status());
    json exp = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Experiment",
      "metadata":{"name":"demo-exp","namespace":"ns1",
        "annotations":{"rollout.argoproj.io/revision":"2"}},
      "spec":{"templates":[{"name":"canary","selector":{"matchLabels":{"app":"e"}},
        "template":{"metadata":{"labels":{"app":"e"}},
          "spec":{"containers":[{"name":"c","image":"nginx"}]}}}]},
      "status":{"phase":"Running"}})");
    exp["metadata"]["ownerReferences"] = {owner};
    ASSERT_OK(ro_api_->CreateObject("Experiment", exp, false).status());
  }

  // The first line of a streamed response.
  std::string FirstLine(const std::string& url) {
    std::string received;
    httplib::Client c("127.0.0.1", server_->BoundHttpPort());
    c.set_read_timeout(20, 0);
    c.Get(url, [&](const char* data, size_t n) {
      received.append(data, n);
      return received.find('\n') == std::string::npos;
    });
    return received.substr(0, received.find('\n'));
  }

  std::unique_ptr<SwaggerSchema> schema_;
  std::unique_ptr<store::InMemoryStore> ro_store_, c_store_;
  std::unique_ptr<resource::ResourceApi> ro_api_, c_api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  std::unique_ptr<rollout::api::RolloutGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<rollout::v1::RolloutService::Stub> stub_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(RolloutRestTest, EveryPathAnswersInTheDocumentsShape) {
  const std::vector<SwaggerSchema::Operation> ops = schema_->Operations();
  ASSERT_GE(ops.size(), 12u);
  for (const SwaggerSchema::Operation& op : ops) {
    SCOPED_TRACE(op.method + " " + op.path);
    const std::string url = absl::StrReplaceAll(op.path, {{"{namespace}", "ns1"},
                                                          {"{name}", "demo"},
                                                          {"{rollout}", "demo"},
                                                          {"{container}", "web"},
                                                          {"{image}", "argoproj%2Frollouts-demo"},
                                                          {"{tag}", "green"},
                                                          {"{revision}", "1"}});
    ASSERT_EQ(url.find('{'), std::string::npos) << "a path parameter the test does not fill";
    json body;
    if (op.path.ends_with("/watch")) {
      const std::string line = FirstLine(url);
      body = json::parse(line, nullptr, false);
      ASSERT_TRUE(body.is_object()) << line;
      ASSERT_TRUE(body.contains("result")) << line;
    } else {
      auto res = op.method == "GET" ? http_->Get(url) : http_->Put(url, "{}", "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      body = json::parse(res->body, nullptr, false);
      ASSERT_FALSE(body.is_discarded()) << res->body;
    }
    // The gateway's /api/v1/version also carries Argo Workflows' Version fields (both servers
    // use the path).
    std::set<std::string> extra = kTypeMeta;
    if (op.path == "/api/v1/version") {
      const json argo = ArgoVersionBody(api::v1::VersionResponse());
      for (const auto& [k, v] : argo.items()) extra.insert(k);
    }
    EXPECT_EQ(Joined(schema_->CheckSchema(body, op.response, extra)), "") << body.dump(1);
  }
}

TEST_F(RolloutRestTest, InfoActionsAndErrors) {
  auto res = http_->Get("/api/v1/rollouts/ns1/demo/info");
  ASSERT_TRUE(res);
  json info = json::parse(res->body);
  EXPECT_EQ(info["status"], "Paused");
  EXPECT_EQ(info["step"], "1/3");
  EXPECT_EQ(info["setWeight"], "50");
  EXPECT_EQ(info["actualWeight"], "50");
  ASSERT_EQ(info["replicaSets"].size(), 2u);
  EXPECT_EQ(info["replicaSets"][0]["canary"], true);
  EXPECT_EQ(info["replicaSets"][0]["pods"][0]["objectMeta"]["name"], "demo-bbb-p");
  ASSERT_EQ(info["analysisRuns"].size(), 1u);
  EXPECT_EQ(info["analysisRuns"][0]["jobs"][0]["objectMeta"]["name"], "demo-job");
  ASSERT_EQ(info["experiments"].size(), 1u);

  res = http_->Put("/api/v1/rollouts/ns1/demo/promote", R"({"full":true})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["status"]["promoteFull"], true);
  res = http_->Put("/api/v1/rollouts/ns1/demo/set/web/argoproj%2Frollouts-demo/green", "",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["spec"]["template"]["spec"]["containers"][0]["image"],
            "argoproj/rollouts-demo:green");
  res = http_->Put("/api/v1/rollouts/ns1/demo/pause", R"({"paused":true})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["spec"]["paused"], true);

  // Errors in grpc-gateway's shape with its HTTP codes.
  for (const auto& [method, url, code] : std::vector<std::tuple<std::string, std::string, int>>{
           {"PUT", "/api/v1/rollouts/ns1/nosuch/abort", 404},
           {"GET", "/api/v1/rollouts/ns1/nosuch/info", 404},
           {"PUT", "/api/v1/rollouts/ns1/demo/undo/7", 404},
           {"PUT", "/api/v1/rollouts/ns1/demo/set/nope/x/1", 404}}) {
    SCOPED_TRACE(url);
    auto r = method == "GET" ? http_->Get(url) : http_->Put(url, "", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, code) << r->body;
    json err = json::parse(r->body);
    EXPECT_EQ(Joined(schema_->Check(err, "grpc.gateway.runtime.Error")), "");
    EXPECT_FALSE(err["message"].get<std::string>().empty());
  }
  res = http_->Put("/api/v1/rollouts/ns1/demo/abort", "[1]", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["message"], "request body must be a JSON object");
  res = http_->Put("/api/v1/rollouts/ns1/demo/abort", "{", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["message"].get<std::string>().rfind("request body: ", 0), 0u)
      << res->body;
}

TEST(SwaggerSchemaTest, FindsWhatDoesNotConform) {
  auto doc = SwaggerSchema::Parse(R"({"definitions":{
    "A":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"},
      "s":{"type":"string","format":"int64"},"t":{"$ref":"#/definitions/k8s.io.apimachinery.pkg.apis.meta.v1.Time"},
      "l":{"type":"array","items":{"$ref":"#/definitions/B"}},
      "m":{"type":"object","additionalProperties":{"type":"string"}}}},
    "B":{"type":"object","properties":{"b":{"type":"boolean"}}}}})");
  ASSERT_OK(doc.status());
  EXPECT_TRUE(doc->Check(json::parse(R"({"n":1,"s":"12","t":"2024-01-01T00:00:00Z",
      "l":[{"b":true}],"m":{"x":"y"}})"),
                         "A")
                  .empty());
  EXPECT_TRUE(doc->Check(json::parse(R"({"n":1,"s":12})"), "A").empty());
  const std::vector<std::string> problems = doc->Check(
      json::parse(R"({"s":"x","t":{"seconds":1},"l":[{"b":1,"c":2}],"m":{"x":3},"z":1})"), "A");
  EXPECT_EQ(Joined(problems),
            "$: missing n\n"
            "$.l[0].b: expected a boolean, got number\n"
            "$.l[0].c: not in the definition\n"
            "$.m.x: expected a string, got number\n"
            "$.s: expected an int64 (decimal string), got \"x\"\n"
            "$.t: expected an RFC 3339 time, got {\"seconds\":1}\n"
            "$.z: not in the definition\n");
  EXPECT_FALSE(SwaggerSchema::Parse("[]").ok());
}

}  // namespace
}  // namespace argonaut::gateway
