// The runner over a real local bus (RocksDB in a temp dir) firing an http
// trigger at a server on 127.0.0.1: the seed's webhook sensor and filter.
#include "services/events/sensors/sensor_runner.h"

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      bodies_.push_back(json::parse(req.body, nullptr, false));
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(5));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void set_status(int s) {
    absl::MutexLock lock(&mu_);
    status_ = s;
  }
  // Waits up to 10 s for n bodies.
  std::vector<json> Await(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return bodies_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return bodies_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  int status_ = 200;
  std::vector<json> bodies_ ABSL_GUARDED_BY(mu_);
};

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sensor_runner_XXXXXX").string();
  return mkdtemp(tmpl.data());
}

CloudEvent Webhook(const std::string& message, const std::string& source = "webhook") {
  CloudEvent e;
  e.id = NewEventId();
  e.source = source;
  e.subject = "example";
  e.type = "webhook";
  e.time = absl::Now();
  e.data = {{"header", {{"Content-Type", {"application/json"}}}}, {"body", {{"message", message}}}};
  return e;
}

json Sensor(const std::string& url, json filters) {
  json dep = {{"name", "test-dep"}, {"eventSourceName", "webhook"}, {"eventName", "example"}};
  if (!filters.is_null()) dep["filters"] = filters;
  return {
      {"metadata", {{"name", "webhook"}, {"namespace", "argo-events"}, {"uid", "uid-1"}}},
      {"spec",
       {{"dependencies", json::array({dep})},
        {"triggers",
         json::array(
             {{{"template",
                {{"name", "http-trigger"},
                 {"http",
                  {{"url", url}, {"payload", json::parse(R"([{"src":{"dependencyName":"test-dep",
                                 "dataKey":"body.message"},"dest":"message"}])")}}}}},
               {"policy", {{"status", {{"allow", {200, 201}}}}}}}})}}}};
}

TEST(SensorRunner, SeedFilterFiresForHelloAndHeyOnly) {
  Receiver receiver;
  std::string dir = TempDir();
  auto bus = bus::OpenLocalBus(dir);
  ASSERT_OK(bus);
  metrics::MetricsRegistry metrics;
  TriggerContext ctx;
  ctx.metrics = &metrics;
  json filters =
      json::parse(R"({"data":[{"path":"body.message","type":"string","value":["hello","hey"]}]})");
  auto runner = SensorRunner::Start(Sensor(receiver.url(), filters), bus->get(), ctx);
  ASSERT_OK(runner);
  for (const char* m : {"hello", "HelloWorld!", "bye", "hey"})
    ASSERT_OK((*bus)->Publish(Webhook(m)));
  ASSERT_OK((*bus)->Publish(Webhook("hello", "other-source")));  // not a dependency
  std::vector<json> got = receiver.Await(2);
  absl::SleepFor(absl::Milliseconds(500));  // nothing else may arrive
  got = receiver.Await(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], json({{"message", "hello"}}));
  EXPECT_EQ(got[1], json({{"message", "hey"}}));

  json status = (*runner)->Status();
  EXPECT_EQ(status["triggers"]["http-trigger"]["fired"], 2);
  EXPECT_EQ(status["triggers"]["http-trigger"]["lastResult"], "Succeeded");
  EXPECT_EQ(status["dependencies"]["test-dep"]["lastEvent"]["data"]["body"]["message"], "hey");
  std::string text = metrics.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(argo_events_action_triggered_total{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"} 2)"));
  EXPECT_THAT(text, HasSubstr("argo_events_action_duration_milliseconds_count"));
  (*runner)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(SensorRunner, FailedTriggerInStatusAndMetrics) {
  Receiver receiver;
  receiver.set_status(500);
  std::string dir = TempDir();
  auto bus = bus::OpenLocalBus(dir);
  ASSERT_OK(bus);
  metrics::MetricsRegistry metrics;
  TriggerContext ctx;
  ctx.metrics = &metrics;
  auto runner = SensorRunner::Start(Sensor(receiver.url(), nullptr), bus->get(), ctx);
  ASSERT_OK(runner);
  ASSERT_OK((*bus)->Publish(Webhook("x")));
  receiver.Await(1);
  json status;
  for (int i = 0; i < 100; ++i) {
    status = (*runner)->Status();
    if (status["triggers"]["http-trigger"].value("failed", 0) == 1) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status["triggers"]["http-trigger"]["lastResult"], "Failed");
  EXPECT_THAT(status["triggers"]["http-trigger"]["lastError"].get<std::string>(),
              HasSubstr("status 500 is not in policy.status.allow"));
  EXPECT_THAT(
      metrics.Serialize(),
      HasSubstr(
          R"(argo_events_action_failed_total{namespace="argo-events",sensor_name="webhook",trigger_name="http-trigger"} 1)"));
  (*runner)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(SensorRunner, AndConditionsFireWithTheLatestEventOfEach) {
  Receiver receiver;
  std::string dir = TempDir();
  auto bus = bus::OpenLocalBus(dir);
  ASSERT_OK(bus);
  json s = Sensor(receiver.url(), nullptr);
  s["spec"]["dependencies"].push_back(
      {{"name", "dep-b"}, {"eventSourceName", "webhook"}, {"eventName", "other"}});
  s["spec"]["triggers"][0]["template"]["conditions"] = "test-dep && dep-b";
  s["spec"]["triggers"][0]["template"]["http"]["payload"] = json::parse(R"([
      {"src":{"dependencyName":"test-dep","dataKey":"body.message"},"dest":"a"},
      {"src":{"dependencyName":"dep-b","dataKey":"body.message"},"dest":"b"}])");
  auto runner = SensorRunner::Start(s, bus->get(), TriggerContext{});
  ASSERT_OK(runner);
  ASSERT_OK((*bus)->Publish(Webhook("a1")));
  ASSERT_OK((*bus)->Publish(Webhook("a2")));
  CloudEvent b = Webhook("b1");
  b.subject = "other";
  ASSERT_OK((*bus)->Publish(b));
  std::vector<json> got = receiver.Await(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], json({{"a", "a2"}, {"b", "b1"}}));
  // The state was cleared: b alone does not fire again.
  b.id = NewEventId();
  ASSERT_OK((*bus)->Publish(b));
  EXPECT_EQ(receiver.Await(2, absl::Milliseconds(800)).size(), 1u);
  (*runner)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(SensorRunner, AtLeastOnceKeepsEventsWhileTheTargetIsDown) {
  Receiver receiver;
  receiver.set_status(503);
  std::string dir = TempDir();
  auto bus = bus::OpenLocalBus(dir);
  ASSERT_OK(bus);
  json s = Sensor(receiver.url(), nullptr);
  s["spec"]["triggers"][0]["atLeastOnce"] = true;
  s["spec"]["triggers"][0]["retryStrategy"] = {{"steps", 2}, {"duration", "10ms"}};
  auto runner = SensorRunner::Start(s, bus->get(), TriggerContext{});
  ASSERT_OK(runner);
  for (const char* m : {"one", "two", "three"}) ASSERT_OK((*bus)->Publish(Webhook(m)));
  receiver.Await(2);  // the two attempts of the first event, both refused
  receiver.set_status(200);
  // Every event arrives once the target is back, in order, after the refused attempts.
  std::vector<json> got;
  for (int i = 0; i < 100; ++i) {
    got = receiver.Await(0);
    if (!got.empty() && got.back() == json({{"message", "three"}})) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::vector<std::string> ok;
  for (const json& b : got) ok.push_back(b.value("message", ""));
  ASSERT_GE(ok.size(), 4u);  // at least one refused attempt first
  EXPECT_EQ(ok[0], "one");
  EXPECT_EQ(std::vector<std::string>(ok.end() - 3, ok.end()),
            (std::vector<std::string>{"one", "two", "three"}));
  (*runner)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(SensorRunner, DlqTriggerTakesTheFinalFailure) {
  Receiver main_target, dlq_target;
  main_target.set_status(500);
  std::string dir = TempDir();
  auto bus = bus::OpenLocalBus(dir);
  ASSERT_OK(bus);
  json s = Sensor(main_target.url(), nullptr);
  s["spec"]["triggers"][0]["atLeastOnce"] = true;
  json dlq = Sensor(dlq_target.url(), nullptr)["spec"]["triggers"][0];
  dlq["template"]["name"] = "dlq";
  dlq["atLeastOnce"] = true;
  s["spec"]["triggers"][0]["dlqTrigger"] = dlq;
  auto runner = SensorRunner::Start(s, bus->get(), TriggerContext{});
  ASSERT_OK(runner);
  ASSERT_OK((*bus)->Publish(Webhook("lost?")));
  std::vector<json> got = dlq_target.Await(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], json({{"message", "lost?"}}));
  json status;
  for (int i = 0; i < 50; ++i) {
    status = (*runner)->Status();
    if (status["triggers"].contains("dlq") &&
        status["triggers"]["http-trigger"].contains("lastResult"))
      break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status["triggers"]["http-trigger"]["lastResult"], "Failed");
  EXPECT_EQ(status["triggers"]["dlq"]["lastResult"], "Succeeded");
  (*runner)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(SensorRunner, BadSensorsAreRefusedByField) {
  auto bus = bus::OpenLocalBus(TempDir());
  ASSERT_OK(bus);
  json s = Sensor("http://127.0.0.1:1/x", nullptr);
  s["spec"]["dependencies"][0]["filters"] = json::array({{{"name", "f"}}});
  auto r = SensorRunner::Start(s, bus->get(), TriggerContext{});
  EXPECT_THAT(r.status().message(),
              HasSubstr("spec.dependencies[0].dependency \"test-dep\": filters must be an object"));
  s = Sensor("http://127.0.0.1:1/x", nullptr);
  s["spec"].erase("triggers");
  EXPECT_THAT(SensorRunner::Start(s, bus->get(), TriggerContext{}).status().message(),
              HasSubstr("spec.triggers"));
}

}  // namespace
}  // namespace argonaut::events::sensors
