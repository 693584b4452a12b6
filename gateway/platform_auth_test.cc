// `argonaut up` with authentication on (auth-mode client): the admin token file, gRPC and REST
// refused without a token, a readonly account refused writes by the same proxy on both, the
// AccountService and its REST paths in Argo's shapes, and auth-mode server.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "argonaut/auth/v1/auth.grpc.pb.h"
#include "gateway/platform.h"
#include "gateway/swagger_schema.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace a1 = ::argonaut::auth::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Dir(const std::string& suffix = "") {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/",
                      ::testing::UnitTest::GetInstance()->current_test_info()->name(), suffix);
}

const char kWorkflow[] =
    R"({"metadata":{"name":"NAME"},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}}]}})";

std::string Workflow(const std::string& name) {
  std::string s = kWorkflow;
  s.replace(s.find("NAME"), 4, name);
  return s;
}

class PlatformAuthTest : public ::testing::Test {
 protected:
  void Start(PlatformOptions options) {
    if (options.data_dir.empty()) options.data_dir = Dir();
    options.port = 0;
    auto p = Platform::Start(options);
    ASSERT_OK(p);
    platform_ = std::move(*p);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", platform_->port()),
                                   grpc::InsecureChannelCredentials());
    resources_ = api::v1::ResourceService::NewStub(channel_);
    accounts_ = a1::AccountService::NewStub(channel_);
    if (!platform_->admin_token_file().empty()) {
      admin_ = std::string(absl::StripAsciiWhitespace(ReadAll(platform_->admin_token_file())));
    }
  }

  // One unary gRPC call's context carrying `token` (none when empty).
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  grpc::Status CreateWorkflow(const std::string& token, const std::string& name) {
    api::v1::CreateRequest req;
    req.set_kind("Workflow");
    req.set_json(Workflow(name));
    api::v1::Object out;
    return resources_->Create(Ctx(token).get(), req, &out);
  }

  grpc::Status GetWorkflow(const std::string& token, const std::string& name) {
    api::v1::GetRequest req;
    req.set_kind("Workflow");
    req.set_namespace_("default");
    req.set_name(name);
    api::v1::Object out;
    return resources_->Get(Ctx(token).get(), req, &out);
  }

  httplib::Headers Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  std::unique_ptr<Platform> platform_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::v1::ResourceService::Stub> resources_;
  std::unique_ptr<a1::AccountService::Stub> accounts_;
  std::string admin_;
};

TEST_F(PlatformAuthTest, AdminTokenFileIsPrivateAndKeptAcrossRestarts) {
  Start({});
  ASSERT_FALSE(admin_.empty());
  EXPECT_EQ(platform_->admin_token_file(), Dir() + "/admin.token");
  struct stat st;
  ASSERT_EQ(stat(platform_->admin_token_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The token store keeps hashes only.
  EXPECT_EQ(ReadAll(Dir() + "/auth/tokens.json").find(admin_), std::string::npos);
  EXPECT_TRUE(CreateWorkflow(admin_, "first").ok());
  const std::string first = admin_;
  platform_->Shutdown();
  platform_.reset();
  Start({});
  EXPECT_EQ(admin_, first);
  EXPECT_TRUE(GetWorkflow(admin_, "first").ok());
}

TEST_F(PlatformAuthTest, CallsWithoutAValidTokenAreRefused) {
  Start({});
  EXPECT_EQ(CreateWorkflow("", "w").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CreateWorkflow("argn_000000000000_garbage", "w").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetWorkflow("", "w").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(CreateWorkflow(admin_, "w").ok());

  httplib::Client http("127.0.0.1", platform_->port());
  auto res = http.Get("/api/v1/workflows/default/w");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  json body = json::parse(res->body);
  EXPECT_EQ(body["code"], 16);
  EXPECT_TRUE(body["message"].is_string());
  EXPECT_TRUE(body["error"].is_string());
  res = http.Get("/api/v1/workflows/default/w", Bearer("argn_000000000000_garbage"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body.find("garbage"), std::string::npos);
  res = http.Get("/api/v1/workflows/default/w", Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // Argo's UI cookie works as the header does.
  res = http.Get("/api/v1/workflows/default/w", {{"Cookie", "authorization=Bearer " + admin_}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // Open: health, metrics, the version.
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/api/v1/version"}) {
    res = http.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
  }
  // A cross-site text/plain POST, even with the user's cookie, creates nothing.
  res = http.Post("/api/v1/workflows/default",
                  {{"Origin", "http://evil.example"}, {"Cookie", "authorization=Bearer " + admin_}},
                  Workflow("csrf"), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  res = http.Post("/api/v1/workflows/default", Bearer(admin_), Workflow("form"),
                  "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  EXPECT_EQ(GetWorkflow(admin_, "csrf").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetWorkflow(admin_, "form").error_code(), grpc::StatusCode::NOT_FOUND);
  // The git webhook carries no token: it is not refused as unauthenticated.
  res = http.Post("/api/webhook", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 401) << res->body;
}

TEST_F(PlatformAuthTest, ReadonlyAccountIsRefusedWritesOnBothApis) {
  const std::string policy = Dir("-policy.csv");
  std::ofstream(policy) << "g, viewer, role:readonly\n";
  Start({.rbac_policy_file = policy});
  a1::CreateTokenRequest create;
  create.set_account("viewer");
  create.set_expires_in_seconds(3600);
  a1::CreateTokenReply made;
  ASSERT_TRUE(accounts_->CreateToken(Ctx(admin_).get(), create, &made).ok());
  const std::string viewer = made.token();
  ASSERT_FALSE(viewer.empty());
  // Tokens are not for everyone to make.
  create.set_account("admin");
  a1::CreateTokenReply stolen;
  EXPECT_EQ(accounts_->CreateToken(Ctx(viewer).get(), create, &stolen).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(CreateWorkflow(admin_, "w").ok());
  EXPECT_TRUE(GetWorkflow(viewer, "w").ok());
  grpc::Status denied = CreateWorkflow(viewer, "v");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("workflows"), std::string::npos) << denied.error_message();

  httplib::Client http("127.0.0.1", platform_->port());
  auto res =
      http.Post("/api/v1/workflows/default", Bearer(viewer), Workflow("v"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403) << res->body;
  EXPECT_EQ(json::parse(res->body)["code"], 7);
  res = http.Get("/api/v1/workflows/default/w", Bearer(viewer));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(GetWorkflow(admin_, "v").error_code(), grpc::StatusCode::NOT_FOUND);
  // A REST watch runs its gRPC stream on a pump thread: the caller's token still reaches it.
  {
    std::string received;
    httplib::Client watcher("127.0.0.1", platform_->port());
    watcher.Get("/api/v1/workflows/default?watch=true", Bearer(viewer),
                [&](const char* data, size_t n) {
                  received.append(data, n);
                  return received.find('\n') == std::string::npos;
                });
    ASSERT_NE(received.find('\n'), std::string::npos);
    json line = json::parse(received.substr(0, received.find('\n')));
    EXPECT_EQ(line["result"]["object"]["metadata"]["name"], "w") << received;
  }
  // The denials are counted.
  res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("argonaut_auth_denied_total"), std::string::npos);

  // can-i, over gRPC and REST.
  a1::CanIRequest can;
  can.set_resource("workflows");
  can.set_action("create");
  a1::CanIReply answer;
  ASSERT_TRUE(accounts_->CanI(Ctx(admin_).get(), can, &answer).ok());
  EXPECT_TRUE(answer.allowed());
  ASSERT_TRUE(accounts_->CanI(Ctx(viewer).get(), can, &answer).ok());
  EXPECT_FALSE(answer.allowed());
  can.set_action("get");
  can.set_object("default/w");
  ASSERT_TRUE(accounts_->CanI(Ctx(viewer).get(), can, &answer).ok());
  EXPECT_TRUE(answer.allowed());
  res = http.Get("/api/v1/account/can-i/workflows/create/default%2Fw", Bearer(viewer));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body), json({{"value", "no"}}));
  res = http.Get("/api/v1/account/can-i/workflows/create/default%2Fw", Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body), json({{"value", "yes"}}));
}

TEST_F(PlatformAuthTest, AccountRestPathsAnswerInArgosShapes) {
  auto dir = testing::TestCorpusDir("gateway/testdata/corpus_anchor.txt");
  ASSERT_OK(dir.status());
  auto cd_text = testing::ReadTestFile(dir->parent_path() / "api" / "argo-cd.swagger.json");
  ASSERT_OK(cd_text.status());
  auto cd_doc = SwaggerSchema::Parse(*cd_text);
  ASSERT_OK(cd_doc.status());
  auto wf_text = testing::ReadTestFile(dir->parent_path() / "api" / "argo-workflows.swagger.json");
  ASSERT_OK(wf_text.status());
  auto wf_doc = SwaggerSchema::Parse(*wf_text);
  ASSERT_OK(wf_doc.status());
  Start({});
  httplib::Client http("127.0.0.1", platform_->port());

  auto res = http.Post("/api/v1/account/alice/token", Bearer(admin_), R"({"expiresIn":3600})",
                       "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json created = json::parse(res->body);
  EXPECT_EQ(cd_doc->Check(created, "accountCreateTokenResponse"), std::vector<std::string>{});
  const std::string alice = created["token"];

  res = http.Get("/api/v1/account", Bearer(admin_));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json list = json::parse(res->body);
  EXPECT_EQ(cd_doc->Check(list, "accountAccountsList"), std::vector<std::string>{});
  std::string alice_id;
  for (const json& a : list["items"]) {
    if (a["name"] == "alice") {
      ASSERT_EQ(a["tokens"].size(), 1u);
      alice_id = a["tokens"][0]["id"];
      EXPECT_GT(a["tokens"][0]["expiresAt"].get<int64_t>(),
                a["tokens"][0]["issuedAt"].get<int64_t>());
    }
  }
  ASSERT_FALSE(alice_id.empty()) << list;
  EXPECT_EQ(res->body.find(alice), std::string::npos);
  res = http.Get("/api/v1/account/alice", Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_EQ(cd_doc->Check(json::parse(res->body), "accountAccount"), std::vector<std::string>{});

  res = http.Get("/api/v1/userinfo", Bearer(alice));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json info = json::parse(res->body);
  EXPECT_EQ(wf_doc->Check(info, "io.argoproj.workflow.v1alpha1.GetUserInfoResponse"),
            std::vector<std::string>{});
  EXPECT_EQ(info["name"], "alice");
  res = http.Get("/api/v1/userinfo", Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_NE(json::parse(res->body)["groups"].dump().find("role:admin"), std::string::npos);

  res = http.Get("/api/v1/account/can-i/workflows/get/default%2Fx", Bearer(alice));
  ASSERT_TRUE(res);
  EXPECT_EQ(cd_doc->Check(json::parse(res->body), "accountCanIResponse"),
            std::vector<std::string>{});

  res = http.Delete(absl::StrCat("/api/v1/account/alice/token/", alice_id), Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = http.Get("/api/v1/userinfo", Bearer(alice));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = http.Delete(absl::StrCat("/api/v1/account/alice/token/", alice_id), Bearer(admin_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(PlatformAuthTest, AuthModeServerChecksNothing) {
  Start({.auth_mode = "server"});
  EXPECT_TRUE(platform_->admin_token_file().empty());
  struct stat st;
  EXPECT_NE(stat((Dir() + "/admin.token").c_str(), &st), 0);
  EXPECT_TRUE(CreateWorkflow("", "w").ok());
  httplib::Client http("127.0.0.1", platform_->port());
  auto res = http.Get("/api/v1/workflows/default/w");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // The browser checks stay.
  res = http.Post("/api/v1/workflows/default", {{"Origin", "http://evil.example"}}, Workflow("x"),
                  "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  a1::CreateTokenRequest create;
  a1::CreateTokenReply made;
  EXPECT_EQ(accounts_->CreateToken(Ctx("").get(), create, &made).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PlatformAuthTest, BadAuthOptionsAreNamed) {
  auto p = Platform::Start({.data_dir = Dir(), .port = 0, .auth_mode = "none"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("auth_mode"), std::string::npos);
  const std::string policy = Dir("-bad.csv");
  std::ofstream(policy) << "p, role:x, workflows\n";
  p = Platform::Start({.data_dir = Dir(), .port = 0, .rbac_policy_file = policy});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find(policy), std::string::npos) << p.status();
  EXPECT_NE(p.status().message().find("line 1"), std::string::npos) << p.status();
}

}  // namespace
}  // namespace argonaut::gateway
