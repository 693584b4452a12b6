// The nats source against a real nats-server on a loopback port.
#include "services/events/sources/nats.h"

#include <nats/nats.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/events/sources/broker_test_util.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

class NatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    dir_ = TestDir("nats");
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds,
                                                   cluster::KubernetesValidator());
    cluster_ = std::make_unique<cluster::ApiCluster>(api_.get());
    ctx_.cluster = cluster_.get();
  }
  void TearDown() override {
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }

  bool StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return server_.Start(argv, {}, port_, dir_ + "/server.log");
  }
  std::string Url() const { return absl::StrCat("nats://127.0.0.1:", port_); }
  json Config(json extra = json::object()) {
    json c = {{"url", Url()},
              {"subject", "orders.*"},
              {"connectionBackoff", {{"duration", "100ms"}, {"factor", 1.5}}}};
    c.update(extra);
    return c;
  }
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& events) {
    return EventSourceRunner::Start(MakeEventSource("broker", "nats", events), collector_.publish(),
                                    ctx_);
  }
  // Publishes with one header, on a client connection of the test's own.
  void Publish(const std::string& subject, const std::string& body, const char* token = nullptr) {
    if (nc_ == nullptr) {
      natsOptions* opts = nullptr;
      ASSERT_EQ(natsOptions_Create(&opts), NATS_OK);
      natsOptions_SetURL(opts, Url().c_str());
      if (token != nullptr) natsOptions_SetToken(opts, token);
      ASSERT_EQ(natsConnection_Connect(&nc_, opts), NATS_OK);
      natsOptions_Destroy(opts);
    }
    natsMsg* msg = nullptr;
    ASSERT_EQ(
        natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())),
        NATS_OK);
    natsMsgHeader_Set(msg, "X-Trace", "t1");
    ASSERT_EQ(natsConnection_PublishMsg(nc_, msg), NATS_OK);
    natsMsg_Destroy(msg);
    ASSERT_EQ(natsConnection_Flush(nc_), NATS_OK);
  }
  void DropClient() {
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    nc_ = nullptr;
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
  std::string dir_;
  ServerProcess server_;
  natsConnection* nc_ = nullptr;
  Collector collector_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  SourceContext ctx_;
};

TEST_F(NatsTest, JsonBodySubjectAndHeaders) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"orders", Config({{"jsonBody", true}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("orders.new", R"({"id": 7, "items": ["a"]})");
  Publish("orders.old", "not json");
  Publish("other.new", "{}");  // another subject: not heard
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "nats");
  EXPECT_EQ(events[0].source, "broker");
  EXPECT_EQ(events[0].subject, "orders");
  EXPECT_EQ(events[0].data["subject"], "orders.new");
  EXPECT_EQ(events[0].data["body"], json({{"id", 7}, {"items", {"a"}}}));
  EXPECT_EQ(events[0].data["header"], json({{"X-Trace", {"t1"}}}));
  // Not JSON: kept as a string.
  EXPECT_EQ(events[1].data["body"], "not json");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(collector_.events().size(), 2u);
  EXPECT_EQ(runner->Status()["listeners"][0]["eventsSent"], 2);
}

TEST_F(NatsTest, WithoutJsonBodyTheBytesAreBase64) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"raw", Config()}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("orders.x", R"({"id": 1})");
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["body"], absl::Base64Escape(R"({"id": 1})"));
}

TEST_F(NatsTest, QueueGroupDeliversEachMessageOnce) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"a", Config({{"queue", "workers"}})},
                                           {"b", Config({{"queue", "workers"}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  for (int i = 0; i < 20; ++i) Publish("orders.q", std::to_string(i));
  collector_.WaitFor(20);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(collector_.events().size(), 20u);
}

TEST_F(NatsTest, TokenAuthFromASecret) {
  ASSERT_TRUE(StartServer({"--auth", "s3cret"}));
  AddSecret("nats-token", "token", "s3cret");
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start(
          {{"authed", Config({{"auth", {{"token", {{"name", "nats-token"}, {"key", "token"}}}}}})},
           {"anonymous", Config()}}));
  // The one without the token is refused by the server and says so.
  absl::SleepFor(absl::Milliseconds(500));
  const json status = runner->Status();
  EXPECT_EQ(status["listeners"][0]["name"], "anonymous");
  EXPECT_EQ(status["listeners"][0]["state"], "error");
  EXPECT_THAT(status["listeners"][0].value("message", ""), HasSubstr("Authentication"));
  EXPECT_EQ(status["listeners"][1]["state"], "listening");
  EXPECT_EQ(status["conditions"][1]["status"], "False");
  Publish("orders.a", "x", "s3cret");
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].subject, "authed");
  // The token is not in the status.
  EXPECT_THAT(runner->Status().dump(), ::testing::Not(HasSubstr("s3cret")));
}

TEST_F(NatsTest, ReconnectsWhenTheServerComesBack) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"orders", Config()}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("orders.1", "before");
  ASSERT_EQ(collector_.WaitFor(1).size(), 1u);
  DropClient();
  server_.Stop();
  ASSERT_TRUE(WaitForState(*runner, "error")) << runner->Status().dump();
  EXPECT_THAT(runner->Status()["listeners"][0].value("message", ""), HasSubstr("reconnecting"));
  ASSERT_TRUE(StartServer());
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("orders.2", "after");
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data["body"], absl::Base64Escape("after"));
}

TEST_F(NatsTest, ABrokerDownAtStartIsWaitedFor) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"orders", Config()}}));
  EXPECT_EQ(runner->Status()["listeners"][0]["state"], "error");
  ASSERT_TRUE(StartServer());
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("orders.1", "late");
  EXPECT_EQ(collector_.WaitFor(1).size(), 1u);
  runner->Stop();
  EXPECT_EQ(runner->Status()["listeners"][0]["state"], "stopped");
}

TEST_F(NatsTest, BadConfigNamesTheField) {
  EXPECT_THAT(Start({{"x", {{"url", Url()}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.nats.x.subject")));
  EXPECT_THAT(Start({{"x", Config({{"url", "http://h:1"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.nats.x.url")));
  EXPECT_THAT(
      Start({{"x", Config({{"auth", {{"nkey", {{"name", "a"}, {"key", "b"}}}}}})}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.nats.x.auth.nkey")));
  EXPECT_THAT(Start({{"x", Config({{"connectionBackoff", {{"duration", "soon"}}}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.nats.x.connectionBackoff.duration")));
}

TEST(KafkaTest, RefusedWithAReason) {
  Collector collector;
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> r = EventSourceRunner::Start(
      MakeEventSource("k", "kafka", {{"x", {{"url", "127.0.0.1:9092"}, {"topic", "t"}}}}),
      collector.publish(), {});
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("spec.kafka: source type not supported: kafka event "
                                             "sources are not supported here (no Kafka broker "
                                             "in Debian)")));
  const json status = EventSourceRunner::FailedStatus({}, r.status(), absl::UnixEpoch());
  EXPECT_THAT(status["conditions"][1].value("message", ""), HasSubstr("no Kafka broker"));
}

}  // namespace
}  // namespace argonaut::events::sources
