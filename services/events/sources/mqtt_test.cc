// The mqtt source against a real mosquitto broker on a loopback port.
#include "services/events/sources/mqtt.h"

#include <mosquitto.h>

#include <fstream>

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

class MqttTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mosquitto_lib_init();
    port_ = FreePort();
    dir_ = TestDir("mqtt");
    std::ofstream(dir_ + "/mosquitto.conf")
        << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence false\n";
  }
  bool StartServer() {
    return server_.Start({"mosquitto", "-c", dir_ + "/mosquitto.conf"}, {}, port_,
                         dir_ + "/server.log");
  }
  json Config(json extra = json::object()) {
    json c = {{"url", absl::StrCat("tcp://127.0.0.1:", port_)},
              {"topic", "sensors/#"},
              {"clientId", "argonaut-test"},
              {"connectionBackoff", {{"duration", "100ms"}, {"factor", 1.5}}}};
    c.update(extra);
    return c;
  }
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& events) {
    return EventSourceRunner::Start(MakeEventSource("broker", "mqtt", events), collector_.publish(),
                                    {});
  }
  // One QoS 1 publish on a fresh client connection, waited for.
  void Publish(const std::string& topic, const std::string& body) {
    struct mosquitto* m = mosquitto_new(nullptr, true, nullptr);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(mosquitto_connect(m, "127.0.0.1", port_, 10), MOSQ_ERR_SUCCESS);
    int mid = 0;
    ASSERT_EQ(mosquitto_publish(m, &mid, topic.c_str(), static_cast<int>(body.size()), body.data(),
                                1, false),
              MOSQ_ERR_SUCCESS);
    // Enough loop turns for the PUBLISH/PUBACK exchange on loopback.
    for (int i = 0; i < 10; ++i) mosquitto_loop(m, 20, 1);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
  }

  int port_ = 0;
  std::string dir_;
  ServerProcess server_;
  Collector collector_;
};

TEST_F(MqttTest, TopicWildcardJsonBody) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"temps", Config({{"jsonBody", true}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("sensors/kitchen", R"({"celsius": 21.5})");
  Publish("sensors/hall", "warm");
  Publish("elsewhere", "{}");
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "mqtt");
  EXPECT_EQ(events[0].subject, "temps");
  EXPECT_EQ(events[0].data["topic"], "sensors/kitchen");
  EXPECT_EQ(events[0].data["body"], json({{"celsius", 21.5}}));
  EXPECT_TRUE(events[0].data["messageId"].is_number_integer());
  EXPECT_EQ(events[1].data["body"], "warm");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(collector_.events().size(), 2u);
}

TEST_F(MqttTest, WithoutJsonBodyTheBytesAreBase64) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"raw", Config()}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("sensors/x", "{}");
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["body"], absl::Base64Escape("{}"));
}

TEST_F(MqttTest, ReconnectsWhenTheBrokerComesBack) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"t", Config()}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  Publish("sensors/1", "before");
  ASSERT_EQ(collector_.WaitFor(1).size(), 1u);
  server_.Stop();
  ASSERT_TRUE(WaitForState(*runner, "error")) << runner->Status().dump();
  ASSERT_TRUE(StartServer());
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Publish("sensors/2", "after");
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data["topic"], "sensors/2");
}

TEST_F(MqttTest, BadConfigNamesTheField) {
  EXPECT_THAT(Start({{"x", Config({{"clientId", ""}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.mqtt.x.clientId")));
  EXPECT_THAT(Start({{"x", Config({{"url", "ssl://127.0.0.1:8883"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.mqtt.x.url")));
  EXPECT_THAT(Start({{"x", Config({{"topic", nullptr}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.mqtt.x.topic")));
}

}  // namespace
}  // namespace argonaut::events::sources
