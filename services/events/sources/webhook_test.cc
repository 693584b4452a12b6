// Webhook listeners against real HTTP clients on 127.0.0.1.
#include "services/events/sources/webhook.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds,
                                                   cluster::KubernetesValidator());
    cluster_ = std::make_unique<cluster::ApiCluster>(api_.get());
  }

  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const std::string& type,
                                                           const json& events,
                                                           const std::string& name = "es") {
    return EventSourceRunner::Start(MakeEventSource(name, type, events), collector_.publish(),
                                    ctx_);
  }
  json Hook(const std::string& endpoint, json extra = json::object()) {
    json h = {{"port", std::to_string(port_)}, {"endpoint", endpoint}, {"method", "POST"}};
    h.update(extra);
    return h;
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  void AddSecret(const std::string& name, const std::string& key, const std::string& value) {
    ASSERT_OK(cluster_
                  ->Create({{"apiVersion", "v1"},
                            {"kind", "Secret"},
                            {"metadata", {{"name", name}, {"namespace", "default"}}},
                            {"data", {{key, absl::Base64Escape(value)}}}})
                  .status());
  }

  int port_ = 0;
  Collector collector_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  SourceContext ctx_{.cluster = nullptr};
};

TEST_F(WebhookTest, PublishesJsonAndRawBodiesAndAnswersSuccess) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start("webhook", {{"example", Hook("/example")}}));
  auto c = Client();
  auto r = c.Post("/example", R"({"message": "HelloWorld!"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "success");
  r = c.Post("/example", "not json {", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].source, "es");
  EXPECT_EQ(events[0].subject, "example");
  EXPECT_EQ(events[0].type, "webhook");
  EXPECT_EQ(events[0].id.size(), 32u);
  EXPECT_EQ(events[0].data["body"], json({{"message", "HelloWorld!"}}));
  EXPECT_EQ(events[0].data["header"]["Content-Type"], json({"application/json"}));
  EXPECT_EQ(events[1].data["body"], "not json {");
  json status = runner->Status();
  EXPECT_EQ(status["conditions"][1]["type"], "Deployed");
  EXPECT_EQ(status["conditions"][1]["status"], "True");
  EXPECT_EQ(status["listeners"][0]["state"], "listening");
  EXPECT_EQ(status["listeners"][0]["eventsSent"], 2);
}

TEST_F(WebhookTest, FormLabelledJsonStaysJsonAndRealFormsAreValues) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start("webhook", {{"example", Hook("/example")}}));
  auto c = Client();
  // What `curl -d '{"message": ...}'` sends: a JSON document labelled as a form.
  auto r = c.Post("/example", R"({"message": "HelloWorld!"})", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Post("/example", "a=1&a=2&b=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["body"], json({{"message", "HelloWorld!"}}));
  EXPECT_EQ(events[1].data["body"], json({{"a", {"1", "2"}}, {"b", {"x"}}}));
}

TEST_F(WebhookTest, RefusesWrongMethodPathAndOversizedBodies) {
  ASSERT_OK_AND_ASSIGN(auto runner,
                       Start("webhook", {{"small", Hook("/small", {{"maxPayloadSize", 16}})}}));
  auto c = Client();
  auto r = c.Get("/small");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  r = c.Post("/other", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Post("/small", std::string(17, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  r = c.Post("/small", std::string(16, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(collector_.events().size(), 1u);
}

TEST_F(WebhookTest, EventSourcesShareAPortByEndpoint) {
  ASSERT_OK_AND_ASSIGN(auto a, Start("webhook", {{"a", Hook("/a")}, {"b", Hook("/b")}}, "one"));
  ASSERT_OK_AND_ASSIGN(auto b, Start("webhook", {{"c", Hook("/c")}}, "two"));
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> clash =
      Start("webhook", {{"d", Hook("/a")}}, "three");
  EXPECT_THAT(clash.status(), StatusIs(absl::StatusCode::kAlreadyExists,
                                       HasSubstr("spec.webhook.d.endpoint: endpoint /a")));
  auto c = Client();
  EXPECT_EQ(c.Post("/a", "{}", "application/json")->status, 200);
  EXPECT_EQ(c.Post("/c", "{}", "application/json")->status, 200);
  a->Stop();
  EXPECT_EQ(c.Post("/a", "{}", "application/json")->status, 404);
  EXPECT_EQ(c.Post("/c", "{}", "application/json")->status, 200);
  std::vector<CloudEvent> events = collector_.WaitFor(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].source, "one");
  EXPECT_EQ(events[1].source, "two");
  b->Stop();
  // The port is free again.
  ASSERT_OK_AND_ASSIGN(auto again, Start("webhook", {{"a", Hook("/a")}}, "four"));
}

TEST_F(WebhookTest, FloodsGet503WithRetryAfterAndFailuresGet500) {
  ctx_.webhook_max_in_flight = 1;
  ASSERT_OK_AND_ASSIGN(auto runner, Start("webhook", {{"example", Hook("/example")}}));
  collector_.SetOpen(false);
  int first = 0;
  std::thread slow([&] {
    auto c = Client();
    auto r = c.Post("/example", "{}", "application/json");
    first = r ? r->status : -1;
  });
  // Wait until the first request is inside Publish.
  absl::SleepFor(absl::Milliseconds(300));
  auto c = Client();
  auto r = c.Post("/example", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  collector_.SetOpen(true);
  slow.join();
  EXPECT_EQ(first, 200);
  collector_.SetFailure(absl::UnavailableError("bus down"));
  r = c.Post("/example", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(runner->Status()["listeners"][0]["eventsFailed"], 1);
}

TEST_F(WebhookTest, AuthSecretBearerToken) {
  ctx_.cluster = cluster_.get();
  AddSecret("hook-token", "token", "s3cret\n");
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("webhook",
            {{"example",
              Hook("/example", {{"authSecret", {{"name", "hook-token"}, {"key", "token"}}}})}}));
  auto c = Client();
  auto r = c.Post("/example", "{}", "application/json");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "Invalid Authorization Header");
  r = c.Post("/example", {{"Authorization", "Bearer nope"}}, "{}", "application/json");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "Invalid Auth token");
  r = c.Post("/example", {{"Authorization", "Bearer s3cret"}}, "{}", "application/json");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(collector_.WaitFor(1).size(), 1u);
  // A missing Secret fails Start naming the field.
  EXPECT_THAT(
      Start("webhook", {{"x", Hook("/x", {{"authSecret", {{"name", "none"}, {"key", "k"}}}})}}, "b")
          .status(),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("spec.webhook.x.authSecret")));
}

TEST_F(WebhookTest, GithubSignatureAndEventTypes) {
  ctx_.cluster = cluster_.get();
  AddSecret("gh", "secret", "hush");
  json gh = {{"webhook", Hook("/push")},
             {"events", {"push"}},
             {"webhookSecret", {{"name", "gh"}, {"key", "secret"}}}};
  ASSERT_OK_AND_ASSIGN(auto runner, Start("github", {{"gh", gh}}));
  const std::string body = R"({"ref": "refs/heads/main"})";
  auto c = Client();
  auto r = c.Post("/push",
                  {{"X-GitHub-Event", "push"},
                   {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("hush", body)}},
                  body, "application/json");
  EXPECT_EQ(r->status, 200);
  r = c.Post("/push",
             {{"X-GitHub-Event", "push"},
              {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("wrong", body)}},
             body, "application/json");
  EXPECT_EQ(r->status, 401);
  r = c.Post("/push", {{"X-GitHub-Event", "push"}}, body, "application/json");
  EXPECT_EQ(r->status, 401);
  r = c.Post("/push",
             {{"X-GitHub-Event", "issues"},
              {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("hush", body)}},
             body, "application/json");
  EXPECT_EQ(r->status, 200);
  absl::SleepFor(absl::Milliseconds(100));
  std::vector<CloudEvent> events = collector_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "github");
  EXPECT_EQ(events[0].data["body"]["ref"], "refs/heads/main");
  EXPECT_EQ(events[0].data["headers"]["X-GitHub-Event"], json({"push"}));
  // The RFC 4231 test vector keeps the HMAC honest.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(WebhookTest, GitlabTokenAndBitbucketServerSignature) {
  ctx_.cluster = cluster_.get();
  AddSecret("tok", "t", "glpat");
  ASSERT_OK_AND_ASSIGN(
      auto gl,
      Start(
          "gitlab",
          {{"gl", {{"webhook", Hook("/gl")}, {"secretToken", {{"name", "tok"}, {"key", "t"}}}}}}));
  ASSERT_OK_AND_ASSIGN(
      auto bb,
      Start(
          "bitbucketserver",
          {{"bb", {{"webhook", Hook("/bb")}, {"webhookSecret", {{"name", "tok"}, {"key", "t"}}}}}},
          "es2"));
  auto c = Client();
  EXPECT_EQ(c.Post("/gl", {{"X-Gitlab-Token", "bad"}}, "{}", "application/json")->status, 401);
  EXPECT_EQ(c.Post("/gl", {{"X-Gitlab-Token", "glpat"}}, "{}", "application/json")->status, 200);
  EXPECT_EQ(c.Post("/bb", {{"X-Hub-Signature", "sha256=00"}}, "{}", "application/json")->status,
            401);
  EXPECT_EQ(c.Post("/bb", {{"X-Hub-Signature", "sha256=" + HmacSha256Hex("glpat", "{}")}}, "{}",
                   "application/json")
                ->status,
            200);
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "gitlab");
  EXPECT_EQ(events[1].type, "bitbucketserver");
}

TEST_F(WebhookTest, FilterExpressionDropsEventsButStillAnswers200) {
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("webhook",
            {{"example",
              Hook("/example",
                   {{"filter", {{"expression", R"(body.message in ["hello", "hey"])"}}}})}}));
  auto c = Client();
  for (const char* m : {"hello", "bye", "hey"}) {
    auto r = c.Post("/example", absl::StrCat(R"({"message": ")", m, R"("})"), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["body"]["message"], "hello");
  EXPECT_EQ(events[1].data["body"]["message"], "hey");
  EXPECT_EQ(runner->Status()["listeners"][0]["eventsFiltered"], 1);
  EXPECT_THAT(
      Start("webhook", {{"x", Hook("/x", {{"filter", {{"expression", "body.("}}}})}}, "b").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.webhook.x.filter.expression")));
}

TEST_F(WebhookTest, BadSpecsAndUnsupportedTypesAreRefusedByField) {
  EXPECT_THAT(Start("kafka", {{"k", {{"url", "x"}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.kafka: source type not supported")));
  EXPECT_THAT(Start("webhook", {{"w", {{"endpoint", "/w"}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.webhook.w.port")));
  EXPECT_THAT(Start("webhook", {{"w", Hook("/w", {{"port", "http"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.webhook.w.port")));
  EXPECT_THAT(EventSourceRunner::Start({{"metadata", {{"name", "x"}}}, {"spec", json::object()}},
                                       collector_.publish(), ctx_)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec: no event sources")));
  json failed = EventSourceRunner::FailedStatus(
      json::object(), absl::InvalidArgumentError("spec.kafka: source type not supported"),
      absl::Now());
  EXPECT_EQ(failed["conditions"][1]["status"], "False");
  EXPECT_THAT(failed["conditions"][1]["message"].get<std::string>(),
              HasSubstr("source type not supported"));
}

}  // namespace
}  // namespace argonaut::events::sources
