// The nats and amqp triggers against real brokers (nats-server,
// rabbitmq-server) started by the test on loopback ports.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <nats/nats.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sources/broker_test_util.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;
using sources::FreePort;
using sources::RabbitServer;
using sources::ServerProcess;
using sources::TestDir;
using ::testing::HasSubstr;

EventsByDependency Events(std::string message) {
  CloudEvent e;
  e.id = "id1";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.data = {{"body", {{"message", message}}}};
  return {{"dep", e}};
}

const json kPayload = json::array(
    {{{"src", {{"dependencyName", "dep"}, {"dataKey", "body.message"}}}, {"dest", "msg"}}});

TEST(NatsTrigger, PublishesThePayloadToTheSubject) {
  const int port = FreePort();
  const std::string dir = TestDir("nats-trigger");
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port), "--auth", "tok"},
                   {}, port, dir + "/server.log"));
  const std::string url = absl::StrCat("nats://127.0.0.1:", port);
  natsOptions* opts = nullptr;
  ASSERT_EQ(natsOptions_Create(&opts), NATS_OK);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetToken(opts, "tok");
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_Connect(&nc, opts), NATS_OK);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, nc, "results"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);

  TriggerContext ctx;
  ctx.secret = [](std::string_view ns, std::string_view name,
                  std::string_view key) -> absl::StatusOr<std::string> {
    if (ns == "default" && name == "nats" && key == "token") return std::string("tok");
    return absl::NotFoundError("no such secret");
  };
  json trigger = {{"template",
                   {{"name", "t"},
                    {"nats",
                     {{"url", url},
                      {"subject", "results"},
                      {"auth", {{"token", {{"name", "nats"}, {"key", "token"}}}}},
                      {"payload", kPayload}}}}}};
  auto r = ExecuteTrigger({"s", "default", trigger, Events("hello")}, ctx);
  ASSERT_OK(r);
  EXPECT_THAT(*r, HasSubstr("results"));
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 5000), NATS_OK);
  EXPECT_EQ(json::parse(std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg))),
            json({{"msg", "hello"}}));
  natsMsg_Destroy(msg);

  // A wrong token: the server refuses, the trigger fails with a reason.
  json no_auth = trigger;
  no_auth["template"]["nats"].erase("auth");
  r = ExecuteTrigger({"s", "default", no_auth, Events("x")}, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("nats connect"));

  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  server.Stop();
  // The broker down: unavailable, for the retry strategy.
  r = ExecuteTrigger({"s", "default", trigger, Events("x")}, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(AmqpTrigger, PublishesWithConfirmToTheExchange) {
  RabbitServer rabbit;
  if (!rabbit.Start()) GTEST_SKIP() << rabbit.failure;
  // A queue of the test's own, bound to the exchange the trigger declares.
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  ASSERT_EQ(amqp_socket_open(socket, "127.0.0.1", rabbit.port), AMQP_STATUS_OK);
  ASSERT_EQ(
      amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type,
      AMQP_RESPONSE_NORMAL);
  amqp_channel_open(conn, 1);
  ASSERT_EQ(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
  amqp_exchange_declare(conn, 1, amqp_cstring_bytes("results"), amqp_cstring_bytes("direct"), 0, 1,
                        0, 0, amqp_empty_table);
  ASSERT_EQ(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
  amqp_queue_declare(conn, 1, amqp_cstring_bytes("q"), 0, 0, 0, 1, amqp_empty_table);
  ASSERT_EQ(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
  amqp_queue_bind(conn, 1, amqp_cstring_bytes("q"), amqp_cstring_bytes("results"),
                  amqp_cstring_bytes("done"), amqp_empty_table);
  ASSERT_EQ(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);

  json trigger = {{"template",
                   {{"name", "t"},
                    {"amqp",
                     {{"url", absl::StrCat("amqp://guest:guest@127.0.0.1:", rabbit.port, "/")},
                      {"exchangeName", "results"},
                      {"exchangeType", "direct"},
                      {"exchangeDeclare", {{"durable", true}}},
                      {"routingKey", "done"},
                      {"payload", kPayload}}}}}};
  auto r = ExecuteTrigger({"s", "default", trigger, Events("hi")}, TriggerContext{});
  ASSERT_OK(r);
  amqp_rpc_reply_t got = amqp_basic_get(conn, 1, amqp_cstring_bytes("q"), 1);
  ASSERT_EQ(got.reply_type, AMQP_RESPONSE_NORMAL);
  ASSERT_EQ(got.reply.id, AMQP_BASIC_GET_OK_METHOD);
  amqp_message_t message;
  ASSERT_EQ(amqp_read_message(conn, 1, &message, 0).reply_type, AMQP_RESPONSE_NORMAL);
  EXPECT_EQ(
      json::parse(std::string(static_cast<const char*>(message.body.bytes), message.body.len)),
      json({{"msg", "hi"}}));
  amqp_destroy_message(&message);

  // An exchange that does not exist (no declare): the broker's reason.
  json missing = trigger;
  missing["template"]["amqp"]["exchangeName"] = "nowhere";
  missing["template"]["amqp"].erase("exchangeDeclare");
  r = ExecuteTrigger({"s", "default", missing, Events("x")}, TriggerContext{});
  EXPECT_FALSE(r.ok());
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);

  rabbit.server.Stop();
  r = ExecuteTrigger({"s", "default", trigger, Events("x")}, TriggerContext{});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  rabbit.epmd.Stop();
}

}  // namespace
}  // namespace argonaut::events::sensors
