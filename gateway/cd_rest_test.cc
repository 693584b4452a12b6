// Argo CD's REST paths end to end: HTTP -> gateway routes -> the cd services over gRPC -> the real
// cd service in-process (store, controller, repo-server on a LocalCluster, a git repository made
// in the test). Every path the gateway serves is in argo-cd.swagger.json, and the bodies are
// checked against that document's definitions.
#include "gateway/cd_rest.h"

#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gateway/swagger_schema.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "nlohmann/json.hpp"
#include "services/cd/api/test_env.h"

namespace argonaut::gateway {
namespace {

using ::nlohmann::json;
namespace cd1 = ::argonaut::cd::v1;

// Kubernetes objects carry their type; grpc-gateway's definitions of them do not list it.
const std::set<std::string> kTypeMeta = {"apiVersion", "kind"};

// Every byte but unreserved ones percent-encoded, as a client escapes a URL into a path segment.
std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

// The paths the gateway serves for the cd service, as the swagger document names them.
const std::vector<std::pair<std::string, std::string>> kPaths = {
    {"GET", "/api/v1/applications"},
    {"POST", "/api/v1/applications"},
    {"GET", "/api/v1/applications/{name}"},
    {"PUT", "/api/v1/applications/{application.metadata.name}"},
    {"DELETE", "/api/v1/applications/{name}"},
    {"POST", "/api/v1/applications/{name}/sync"},
    {"POST", "/api/v1/applications/{name}/rollback"},
    {"GET", "/api/v1/applications/{name}/manifests"},
    {"GET", "/api/v1/applications/{applicationName}/managed-resources"},
    {"GET", "/api/v1/applications/{applicationName}/resource-tree"},
    {"DELETE", "/api/v1/applications/{name}/operation"},
    {"PUT", "/api/v1/applications/{name}/spec"},
    {"GET", "/api/v1/stream/applications"},
    {"GET", "/api/v1/repositories"},
    {"POST", "/api/v1/repositories"},
    {"GET", "/api/v1/repositories/{repo}"},
    {"DELETE", "/api/v1/repositories/{repo}"},
    {"POST", "/api/v1/repositories/{repo}/validate"},
    {"GET", "/api/v1/projects"},
    {"POST", "/api/v1/projects"},
    {"GET", "/api/v1/projects/{name}"},
    {"PUT", "/api/v1/projects/{project.metadata.name}"},
    {"DELETE", "/api/v1/projects/{name}"},
};

class CdRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing::TestCorpusDir("gateway/testdata/corpus_anchor.txt");
    ASSERT_OK(dir.status());
    auto text = testing::ReadTestFile(dir->parent_path() / "api" / "argo-cd.swagger.json");
    ASSERT_OK(text.status());
    auto schema = SwaggerSchema::Parse(*text);
    ASSERT_OK(schema.status());
    schema_ = std::make_unique<SwaggerSchema>(*std::move(schema));
    auto env = cd::test_env::Start(
        "cdrest-", true, [this](httplib::Server& http, std::shared_ptr<grpc::Channel> channel) {
          apps_ = cd1::ApplicationService::NewStub(channel);
          repos_ = cd1::RepositoryService::NewStub(channel);
          projects_ = cd1::ProjectService::NewStub(channel);
          RegisterCdRestRoutes(http, {apps_.get(), repos_.get(), projects_.get()});
        });
    ASSERT_OK(env.status());
    env_ = *std::move(env);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", env_->server->BoundHttpPort());
    http_->set_read_timeout(60, 0);
  }

  // The 200 response schema the document gives for `method path`.
  json ResponseSchema(const std::string& method, const std::string& path) {
    for (const SwaggerSchema::Operation& op : schema_->Operations()) {
      if (op.method == method && op.path == path) return op.response;
    }
    ADD_FAILURE() << method << " " << path << " is not in argo-cd.swagger.json";
    return json::object();
  }

  // Calls `method url` and checks a 200 body against the document's response for `path`.
  json Call(const std::string& method, const std::string& path, const std::string& url,
            const std::string& body = "") {
    SCOPED_TRACE(method + " " + url);
    httplib::Result res = method == "GET"      ? http_->Get(url)
                          : method == "DELETE" ? http_->Delete(url)
                          : method == "PUT"    ? http_->Put(url, body, "application/json")
                                               : http_->Post(url, body, "application/json");
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, 200) << res->body;
    json parsed = json::parse(res->body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << res->body;
    EXPECT_EQ(Joined(schema_->CheckSchema(parsed, ResponseSchema(method, path), kTypeMeta)), "")
        << parsed.dump(1);
    return parsed;
  }

  json WaitSynced(const std::string& name) {
    auto app = env_->WaitApp(name, [](const json& a) {
      const json status = a.value("status", json::object());
      return !a.contains("operation") &&
             status.value("sync", json::object()).value("status", "") == "Synced" &&
             status.value("health", json::object()).value("status", "") == "Healthy";
    });
    EXPECT_OK(app.status());
    return app.ok() ? *app : json();
  }

  std::unique_ptr<SwaggerSchema> schema_;
  std::unique_ptr<cd1::ApplicationService::Stub> apps_;
  std::unique_ptr<cd1::RepositoryService::Stub> repos_;
  std::unique_ptr<cd1::ProjectService::Stub> projects_;
  std::unique_ptr<cd::test_env::CdTestEnv> env_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(CdRestTest, EveryServedPathIsInTheDocument) {
  std::set<std::pair<std::string, std::string>> documented;
  for (const SwaggerSchema::Operation& op : schema_->Operations()) {
    documented.insert({op.method, op.path});
  }
  for (const auto& p : kPaths) EXPECT_EQ(documented.count(p), 1u) << p.first << " " << p.second;
  // /api/webhook is plain HTTP in Argo CD, outside the gRPC gateway's document; a route that
  // does not exist answers 404 with an empty body, ours answers with an error body.
  auto res = http_->Post("/api/webhook", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->body.empty());
}

TEST_F(CdRestTest, ApplicationsAnswerInTheDocumentsShape) {
  json app = env_->App("guestbook", "demo", false);
  Call("POST", "/api/v1/applications", "/api/v1/applications", app.dump());
  json synced = Call("POST", "/api/v1/applications/{name}/sync",
                     "/api/v1/applications/guestbook/sync", R"({"prune":true})");
  EXPECT_EQ(synced["operation"]["sync"]["prune"], true);
  json done = WaitSynced("guestbook");
  EXPECT_EQ(Joined(schema_->Check(done, "v1alpha1Application", kTypeMeta)), "");
  json got = Call("GET", "/api/v1/applications/{name}", "/api/v1/applications/guestbook");
  EXPECT_EQ(got["status"]["sync"]["status"], "Synced");
  Call("GET", "/api/v1/applications/{name}", "/api/v1/applications/guestbook?refresh=normal");
  json list = Call("GET", "/api/v1/applications", "/api/v1/applications?projects=default");
  ASSERT_EQ(list["items"].size(), 1u);
  json none = Call("GET", "/api/v1/applications", "/api/v1/applications?projects=other");
  EXPECT_TRUE(none["items"].empty());

  json manifests = Call("GET", "/api/v1/applications/{name}/manifests",
                        "/api/v1/applications/guestbook/manifests");
  EXPECT_EQ(manifests["manifests"].size(), 2u);
  EXPECT_EQ(manifests["sourceType"], "Directory");
  json managed = Call("GET", "/api/v1/applications/{applicationName}/managed-resources",
                      "/api/v1/applications/guestbook/managed-resources");
  ASSERT_EQ(managed["items"].size(), 2u);
  for (const json& item : managed["items"]) {
    EXPECT_EQ(item["modified"], false) << item.dump();
    EXPECT_TRUE(json::parse(item["liveState"].get<std::string>()).is_object());
  }
  json tree = Call("GET", "/api/v1/applications/{applicationName}/resource-tree",
                   "/api/v1/applications/guestbook/resource-tree");
  json windows = Call("GET", "/api/v1/applications/{name}/syncwindows",
                      "/api/v1/applications/guestbook/syncwindows");
  EXPECT_EQ(windows, json({{"activeWindows", json::array()},
                           {"assignedWindows", json::array()},
                           {"canSync", true}}));
  EXPECT_EQ(tree["nodes"].size(), 2u);

  // A second commit, then a rollback to the first deployment.
  ASSERT_OK(env_->CommitColor("green").status());
  Call("GET", "/api/v1/applications/{name}", "/api/v1/applications/guestbook?refresh=hard");
  managed = Call("GET", "/api/v1/applications/{applicationName}/managed-resources",
                 "/api/v1/applications/guestbook/managed-resources?kind=ConfigMap");
  ASSERT_EQ(managed["items"].size(), 1u);
  EXPECT_EQ(managed["items"][0]["modified"], true);
  Call("POST", "/api/v1/applications/{name}/sync", "/api/v1/applications/guestbook/sync", "{}");
  json after =
      env_->WaitApp("guestbook",
                    [](const json& a) {
                      return !a.contains("operation") && a["status"]["history"].size() == 2;
                    })
          .value_or(json());
  ASSERT_EQ(after["status"]["history"].size(), 2u);
  const int64_t first = after["status"]["history"][0]["id"];
  Call("POST", "/api/v1/applications/{name}/rollback", "/api/v1/applications/guestbook/rollback",
       json{{"id", std::to_string(first)}}.dump());
  ASSERT_OK(env_->WaitApp("guestbook",
                          [](const json& a) {
                            return !a.contains("operation") && a["status"]["history"].size() == 3;
                          })
                .status());

  // Spec and whole-app updates, an operation to terminate, then the delete.
  json spec = env_->App("guestbook", "demo", false)["spec"];
  spec["syncPolicy"] = {{"automated", {{"selfHeal", true}}}};
  json new_spec = Call("PUT", "/api/v1/applications/{name}/spec",
                       "/api/v1/applications/guestbook/spec", spec.dump());
  EXPECT_EQ(new_spec["syncPolicy"]["automated"]["selfHeal"], true);
  json whole = env_->App("guestbook", "demo", false);
  whole["metadata"]["labels"] = {{"team", "a"}};
  json updated = Call("PUT", "/api/v1/applications/{application.metadata.name}",
                      "/api/v1/applications/guestbook", whole.dump());
  EXPECT_EQ(updated["metadata"]["labels"]["team"], "a");
  auto res = http_->Delete("/api/v1/applications/guestbook/operation");
  ASSERT_TRUE(res);
  if (res->status == 200) {
    EXPECT_EQ(Joined(schema_->CheckSchema(
                  json::parse(res->body),
                  ResponseSchema("DELETE", "/api/v1/applications/{name}/operation"), kTypeMeta)),
              "");
  } else {
    EXPECT_EQ(res->status, 400) << res->body;  // FAILED_PRECONDITION: nothing running
    EXPECT_EQ(Joined(schema_->Check(json::parse(res->body), "runtimeError")), "");
  }
  Call("DELETE", "/api/v1/applications/{name}", "/api/v1/applications/guestbook?cascade=false");
  res = http_->Get("/api/v1/applications/guestbook");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["message"], "applications.argoproj.io \"guestbook\" not found");
}

TEST_F(CdRestTest, ApplicationStream) {
  std::string received;
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", env_->server->BoundHttpPort());
    c.set_read_timeout(20, 0);
    c.Get("/api/v1/stream/applications", [&](const char* data, size_t n) {
      received.append(data, n);
      return received.find('\n') == std::string::npos;
    });
  });
  absl::SleepFor(absl::Milliseconds(300));
  auto res = http_->Post("/api/v1/applications", env_->App("streamed", "demo", false).dump(),
                         "application/json");
  ASSERT_TRUE(res);
  reader.join();
  const json line = json::parse(received.substr(0, received.find('\n')), nullptr, false);
  ASSERT_TRUE(line.is_object()) << received;
  EXPECT_EQ(Joined(schema_->CheckSchema(line, ResponseSchema("GET", "/api/v1/stream/applications"),
                                        kTypeMeta)),
            "")
      << line.dump(1);
  EXPECT_EQ(line["result"]["type"], "ADDED");
  EXPECT_EQ(line["result"]["application"]["metadata"]["name"], "streamed");
}

TEST_F(CdRestTest, RepositoriesAndProjects) {
  const std::string url = env_->RepoUrl();
  const std::string escaped = Escape(url);
  json created = Call("POST", "/api/v1/repositories", "/api/v1/repositories",
                      json{{"repo", url}, {"username", "u"}, {"password", "hidden-pw"}}.dump());
  EXPECT_FALSE(created.contains("password"));
  json listed = Call("GET", "/api/v1/repositories", "/api/v1/repositories");
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["repo"], url);
  json one = Call("GET", "/api/v1/repositories/{repo}", "/api/v1/repositories/" + escaped);
  EXPECT_EQ(one["repo"], url);
  EXPECT_EQ(one.dump().find("hidden-pw"), std::string::npos);
  Call("POST", "/api/v1/repositories/{repo}/validate",
       absl::StrCat("/api/v1/repositories/", escaped, "/validate"));
  Call("DELETE", "/api/v1/repositories/{repo}", "/api/v1/repositories/" + escaped);
  auto res = http_->Get("/api/v1/repositories/" + escaped);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404) << res->body;

  json project = Call("POST", "/api/v1/projects", "/api/v1/projects",
                      R"({"project":{"metadata":{"name":"team"},
                        "spec":{"sourceRepos":["*"],"description":"the team's",
                          "destinations":[{"server":"*","namespace":"team-*"}]}}})");
  EXPECT_EQ(project["spec"]["description"], "the team's");
  json projects = Call("GET", "/api/v1/projects", "/api/v1/projects");
  EXPECT_EQ(projects["items"].size(), 2u);  // default and team
  Call("GET", "/api/v1/projects/{name}", "/api/v1/projects/default");
  json changed = Call("PUT", "/api/v1/projects/{project.metadata.name}", "/api/v1/projects/team",
                      R"({"project":{"metadata":{"name":"team"},"spec":{"sourceRepos":["*"],
                        "destinations":[{"server":"*","namespace":"*"}]}}})");
  EXPECT_EQ(changed["spec"]["destinations"][0]["namespace"], "*");
  Call("DELETE", "/api/v1/projects/{name}", "/api/v1/projects/team");
}

TEST_F(CdRestTest, PushWebhook) {
  const std::string body = json{
      {"ref", "refs/heads/main"},
      {"repository",
       {{"html_url", "https://github.com/example/apps"},
        {"clone_url", "https://github.com/example/apps.git"},
        {"default_branch", "main"}}},
      {"commits",
       json::array()}}.dump();
  httplib::Headers headers = {{"X-GitHub-Event", "push"}};
  auto res = http_->Post("/api/webhook", headers, body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["revision"], "main");
}

}  // namespace
}  // namespace argonaut::gateway
