// The events commands: the printers on fixed objects, then every verb against a real events
// service (store, controllers, runners, bus) on a loopback port.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/events_commands.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/events/api/test_util.h"

namespace argonaut::cli {
namespace {

using events::api::testing::EventsFixture;
using ::nlohmann::json;

absl::Time At(const std::string& s) {
  absl::Time t;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, nullptr));
  return t;
}

json Sensor() {
  return json::parse(R"({"metadata":{"name":"webhook","namespace":"default",
    "creationTimestamp":"2024-05-14T10:00:00Z"},
    "spec":{"dependencies":[{"name":"test-dep","eventSourceName":"webhook","eventName":"example"},
                            {"name":"other","eventSourceName":"cal","eventName":"tick"}],
            "triggers":[{"template":{"name":"webhook-workflow-trigger","argoWorkflow":{}}},
                        {"template":{"name":"never","log":{}}}]},
    "status":{"conditions":[{"type":"Deployed","status":"True","reason":"Running"}],
      "dependencies":{"test-dep":{"lastEvent":{"id":"e-1","source":"webhook"},
                                  "time":"2024-05-14T10:00:30Z","passed":false,
                                  "reason":"data filter: body.message"}},
      "triggers":{"webhook-workflow-trigger":{"fired":2,"failed":1,"lastResult":"Failed",
                  "lastError":"workflow service unavailable","time":"2024-05-14T10:00:31Z"}}}})");
}

TEST(EventsPrinterTest, SensorShowsLastEventPerDependencyAndLastResultPerTrigger) {
  EXPECT_EQ(FormatSensor(Sensor()),
            "Name:       webhook\n"
            "Namespace:  default\n"
            "EventBus:   default\n"
            "Conditions:\n"
            "  Deployed=True Running\n"
            "Dependencies:\n"
            "  NAME      SOURCE/EVENT     LAST EVENT    AT                    FILTERS\n"
            "  test-dep  webhook/example  e-1           2024-05-14T10:00:30Z  filtered out: data "
            "filter: body.message\n"
            "  other     cal/tick         no event yet  -                     -\n"
            "Triggers:\n"
            "  NAME                      FIRED  FAILED  LAST RESULT    AT                    "
            "MESSAGE\n"
            "  webhook-workflow-trigger  2      1       Failed         2024-05-14T10:00:31Z  "
            "workflow service unavailable\n"
            "  never                     -      -       not fired yet  -\n");
  json bare = Sensor();
  bare.erase("status");
  const std::string text = FormatSensor(bare);
  EXPECT_TRUE(absl::StrContains(text, "Conditions: none reported yet by the controller\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "(the sensor controller has not reported dependencies and triggers yet)\n"))
      << text;
  EXPECT_EQ(FormatSensorList({Sensor()}, true, At("2024-05-14T10:05:00Z")),
            "NAMESPACE  NAME     DEPENDENCIES    TRIGGERS                        DEPLOYED  AGE\n"
            "default    webhook  test-dep,other  webhook-workflow-trigger,never  True      5m\n");
}

TEST(EventsPrinterTest, EventSourceAndEvents) {
  json es = json::parse(R"({"metadata":{"name":"webhook","namespace":"default",
    "creationTimestamp":"2024-05-14T10:00:00Z"},
    "spec":{"webhook":{"example":{"port":"12000","endpoint":"/example","method":"POST"}}},
    "status":{"conditions":[{"type":"Deployed","status":"False","reason":"ListenerFailed",
                             "message":"port in use"}],
      "listeners":[{"type":"webhook","name":"example","state":"error","message":"port in use",
                    "eventsSent":0,"eventsFailed":0,"eventsFiltered":0}]}})");
  EXPECT_EQ(FormatEventSourceList({es}, false, At("2024-05-14T10:00:45Z")),
            "NAME     TYPES    EVENTS   DEPLOYED            AGE\n"
            "webhook  webhook  example  False: port in use  45s\n");
  EXPECT_TRUE(absl::StrContains(FormatEventSource(es),
                                "  TYPE     NAME     STATE  SENT  FAILED  FILTERED  LAST EVENT  "
                                "MESSAGE\n"
                                "  webhook  example  error  0     0       0         -           "
                                "port in use\n"))
      << FormatEventSource(es);
  es.erase("status");
  EXPECT_TRUE(absl::StrContains(FormatEventSource(es),
                                "Listeners:  none reported yet by the controller; the spec "
                                "declares webhook/example\n"));
  EXPECT_EQ(FormatEvents({{7, json::parse(R"({"id":"a","subject":"example",
      "time":"2024-05-14T10:00:00Z","data":{"body":{"message":"a very long message that goes on and on and on"}}})")}}),
            "OFFSET  ID  EVENT    TIME                  DATA\n"
            "7       a   example  2024-05-14T10:00:00Z  "
            "{\"body\":{\"message\":\"a very long message that goes on and ...\n");
}

class EventsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(fx_.Start(/*grpc_port=*/0, /*http_port=*/-1));
    server_flag_ = absl::StrCat("--server=127.0.0.1:", fx_.server().BoundGrpcPort());
    ASSERT_OK(fx_.store()
                  .CreateObject(
                      "EventSource",
                      events::api::testing::WebhookSource(events::api::testing::FreePort()), false)
                  .status());
    ASSERT_OK(
        fx_.store().CreateObject("Sensor", events::api::testing::LogSensor(), false).status());
    EventsFixture::WaitFor([&] { return json(fx_.events().sensors()->running()); },
                           [](const json& n) { return n.get<size_t>() >= 1; });
  }

  int Run(int (*run)(const std::vector<std::string>&, std::ostream&, std::ostream&),
          std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.push_back(server_flag_);
    return run(args, out_, err_);
  }
  json WaitFired(int n) {
    return EventsFixture::WaitFor([&] { return fx_.Object("Sensor", "log-sensor")["status"]; },
                                  [n](const json& s) {
                                    return s.is_object() && s.contains("triggers") &&
                                           s["triggers"]["log-trigger"].value("fired", 0) >= n;
                                  });
  }

  EventsFixture fx_;
  std::string server_flag_;
  std::ostringstream out_, err_;
};

TEST_F(EventsCliTest, SendListGetLogsReplayDelete) {
  EXPECT_EQ(Run(RunEventSources, {"list"}), 0) << err_.str();
  EXPECT_EQ(out_.str().substr(0, out_.str().find('\n')),
            "NAME     TYPES    EVENTS   DEPLOYED  AGE");
  EXPECT_TRUE(absl::StrContains(out_.str(), "\nwebhook  webhook  example  ")) << out_.str();

  // --data from a file, as the issue's `--data @file.json`.
  const std::string file = absl::StrCat(std::getenv("TEST_TMPDIR"), "/event.json");
  {
    std::ofstream f(file);
    f << R"({"message": "HelloWorld!"})";
  }
  EXPECT_EQ(Run(RunEvents, {"send", "webhook", "example", "--data", "@" + file}), 0) << err_.str();
  EXPECT_TRUE(absl::StartsWith(out_.str(), "event ")) << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), " sent to webhook/example\n")) << out_.str();
  EXPECT_EQ(Run(RunEvents, {"send", "webhook", "example", "-d", R"({"message":"hey"})"}), 0)
      << err_.str();
  // Not JSON without --raw; an unknown event by name.
  EXPECT_EQ(Run(RunEvents, {"send", "webhook", "example", "--data", "{oops"}), 1);
  EXPECT_EQ(err_.str(), "error: --data: not JSON (use --raw to send it as a string)\n");
  EXPECT_EQ(Run(RunEvents, {"send", "webhook", "nosuch", "--data", "{}"}), 1);
  EXPECT_EQ(err_.str(), "error: EventSource webhook has no event named \"nosuch\"\n");
  EXPECT_EQ(Run(RunEvents, {"send", "webhook", "example"}), 1);

  EXPECT_EQ(Run(RunEvents, {"list", "webhook"}), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "{\"body\":{\"message\":\"HelloWorld!\"},\"header\""))
      << out_.str();
  EXPECT_EQ(Run(RunEvents, {"list", "webhook", "--limit", "1", "-o", "json"}), 0) << err_.str();
  json listed = json::parse(out_.str());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["event"]["data"]["body"]["message"], "hey");
  const uint64_t first_offset = listed[0]["offset"].get<uint64_t>() - 1;

  json st = WaitFired(2);
  ASSERT_EQ(st["triggers"]["log-trigger"].value("fired", 0), 2) << st.dump();
  EXPECT_EQ(Run(RunSensors, {"get", "log-sensor"}), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "  payload  webhook/example  ")) << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "passed\n")) << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "  log-trigger  2      0       Succeeded  "))
      << out_.str();
  EXPECT_EQ(Run(RunSensors, {"get", "log-sensor", "-o", "json"}), 0) << err_.str();
  EXPECT_EQ(json::parse(out_.str())["metadata"]["name"], "log-sensor");
  EXPECT_EQ(Run(RunEventSources, {"get", "webhook", "-o", "yaml"}), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "endpoint: /example")) << out_.str();
  EXPECT_EQ(Run(RunEventSources, {"get", "webhook"}), 0) << err_.str();
  // Sent events go to the bus directly: the listener counts only what it heard itself.
  EXPECT_TRUE(absl::StrContains(out_.str(), "  webhook  example  listening  0")) << out_.str();

  EXPECT_EQ(Run(RunEvents, {"replay", "log-sensor", "--offset", std::to_string(first_offset)}), 0)
      << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), " replayed to sensor log-sensor\n")) << out_.str();
  st = WaitFired(3);
  EXPECT_EQ(st["triggers"]["log-trigger"].value("fired", 0), 3) << st.dump();

  EXPECT_EQ(Run(RunSensors, {"logs", "log-sensor"}), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "  info  trigger=log-trigger trigger fired"))
      << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "  info  started on bus default\n")) << out_.str();
  EXPECT_EQ(Run(RunEventSources, {"logs", "webhook"}), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "  info  webhook/example listener listening: POST"))
      << out_.str();

  EXPECT_EQ(Run(RunSensors, {"delete", "log-sensor"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "sensor.argoproj.io \"log-sensor\" deleted\n");
  EXPECT_EQ(Run(RunSensors, {"get", "log-sensor"}), 1);
  EXPECT_TRUE(absl::StrContains(err_.str(), "not found")) << err_.str();
  EXPECT_EQ(Run(RunEventSources, {"delete", "webhook"}), 0) << err_.str();
  EXPECT_EQ(Run(RunEventSources, {"list"}), 0);
  EXPECT_EQ(err_.str(), "No resources found.\n");
  EXPECT_EQ(Run(RunEventSources, {"frobnicate"}), 1);
}

TEST_F(EventsCliTest, LogsFollowPrintsNewLinesUntilTheTimeout) {
  std::thread sender([&] {
    absl::SleepFor(absl::Milliseconds(500));
    std::ostringstream o, e;
    EXPECT_EQ(RunEvents({"send", "webhook", "example", "--data", "{}", server_flag_}, o, e), 0)
        << e.str();
  });
  const absl::Time start = absl::Now();
  EXPECT_EQ(
      Run(RunSensors, {"logs", "log-sensor", "-f", "--trigger", "log-trigger", "--timeout", "3s"}),
      0)
      << err_.str();
  sender.join();
  EXPECT_GE(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(absl::StrContains(out_.str(), "trigger=log-trigger trigger fired (1 time)"))
      << out_.str();
}

}  // namespace
}  // namespace argonaut::cli
