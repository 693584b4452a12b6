// The amqp source against a real rabbitmq-server on loopback ports (one
// server for the suite: it takes seconds to start). Skipped, with the reason,
// when the server cannot start here within 60 s.
#include "services/events/sources/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/sources/broker_test_util.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

RabbitServer* rabbit = nullptr;

class AmqpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rabbit = new RabbitServer();
    rabbit->Start();
  }
  static void TearDownTestSuite() {
    rabbit->server.Stop();
    rabbit->epmd.Stop();
    delete rabbit;
    rabbit = nullptr;
  }
  void SetUp() override {
    if (!rabbit->failure.empty()) GTEST_SKIP() << rabbit->failure;
  }
  void TearDown() override { DropClient(); }

  json Config(json extra = json::object()) {
    json c = {{"url", absl::StrCat("amqp://guest:guest@127.0.0.1:", rabbit->port, "/")},
              {"exchangeName", "orders"},
              {"exchangeType", "topic"},
              {"routingKey", "order.*"},
              {"connectionBackoff", {{"duration", "100ms"}, {"factor", 1.5}}}};
    c.update(extra);
    return c;
  }
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& events) {
    return EventSourceRunner::Start(MakeEventSource("broker", "amqp", events), collector_.publish(),
                                    {});
  }
  void Publish(const std::string& exchange, const std::string& key, const std::string& body) {
    if (conn_ == nullptr) {
      conn_ = amqp_new_connection();
      amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
      ASSERT_EQ(amqp_socket_open(socket, "127.0.0.1", rabbit->port), AMQP_STATUS_OK);
      ASSERT_EQ(
          amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type,
          AMQP_RESPONSE_NORMAL);
      amqp_channel_open(conn_, 1);
      ASSERT_EQ(amqp_get_rpc_reply(conn_).reply_type, AMQP_RESPONSE_NORMAL);
    }
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                   AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.message_id = amqp_cstring_bytes("m-1");
    props.timestamp = 1700000000;
    props.delivery_mode = 2;
    ASSERT_EQ(amqp_basic_publish(conn_, 1, amqp_cstring_bytes(exchange.c_str()),
                                 amqp_cstring_bytes(key.c_str()), 0, 0, &props,
                                 amqp_bytes_t{body.size(), const_cast<char*>(body.data())}),
              AMQP_STATUS_OK);
  }
  void DropClient() {
    if (conn_ == nullptr) return;
    amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }

  amqp_connection_state_t conn_ = nullptr;
  Collector collector_;
};

TEST_F(AmqpTest, TopicExchangeRoutingKeyAndProperties) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"orders", Config({{"jsonBody", true}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("orders", "order.created", R"({"id": 3})");
  Publish("orders", "invoice.created", "{}");  // another key: not routed here
  Publish("orders", "order.deleted", "gone");
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  const json& d = events[0].data;
  EXPECT_EQ(events[0].type, "amqp");
  EXPECT_EQ(d["body"], json({{"id", 3}}));
  EXPECT_EQ(d["contentType"], "application/json");
  EXPECT_EQ(d["messageId"], "m-1");
  EXPECT_EQ(d["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(d["deliveryMode"], 2);
  EXPECT_EQ(d["exchange"], "orders");
  EXPECT_EQ(d["routingKey"], "order.created");
  EXPECT_EQ(events[1].data["body"], "gone");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(collector_.events().size(), 2u);
}

TEST_F(AmqpTest, WithoutJsonBodyTheBytesAreBase64) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"raw", Config({{"exchangeName", "raw"}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("raw", "order.x", "{}");
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["body"], absl::Base64Escape("{}"));
}

TEST_F(AmqpTest, WithoutAutoAckAFailedPublishIsRequeued) {
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start({{"acked", Config({{"exchangeName", "acked"}, {"consume", {{"autoAck", false}}}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  collector_.SetFailure(absl::UnavailableError("bus down"));
  Publish("acked", "order.1", "keep me");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (runner->Status()["listeners"][0]["eventsFailed"] == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GT(runner->Status()["listeners"][0]["eventsFailed"].get<int>(), 0);
  collector_.SetFailure(absl::OkStatus());
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["body"], absl::Base64Escape("keep me"));
}

TEST_F(AmqpTest, BadConfigNamesTheField) {
  EXPECT_THAT(Start({{"x", Config({{"exchangeType", nullptr}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.amqp.x.exchangeType")));
  EXPECT_THAT(Start({{"x", Config({{"url", "amqps://u:p@127.0.0.1:1/"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.amqp.x.url")));
  EXPECT_THAT(Start({{"x", Config({{"url", "nonsense://secretpw@x"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("spec.amqp.x.url"),
                                        ::testing::Not(HasSubstr("secretpw")))));
  EXPECT_THAT(
      Start({{"x", Config({{"consume", {{"autoAck", "yes"}}}})}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.amqp.x.consume.autoAck")));
}

// Last: it restarts the suite's server.
TEST_F(AmqpTest, ZReconnectsWhenTheBrokerComesBack) {
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"r", Config({{"exchangeName", "restart"}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("restart", "order.1", "before");
  ASSERT_EQ(collector_.WaitFor(1).size(), 1u);
  DropClient();
  rabbit->server.Stop();
  ASSERT_TRUE(WaitForState(*runner, "error")) << runner->Status().dump();
  ASSERT_TRUE(rabbit->StartServer()) << rabbit->failure;
  ASSERT_TRUE(WaitForState(*runner, "listening", absl::Seconds(30))) << runner->Status().dump();
  Publish("restart", "order.2", "after");
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data["body"], absl::Base64Escape("after"));
}

}  // namespace
}  // namespace argonaut::events::sources
