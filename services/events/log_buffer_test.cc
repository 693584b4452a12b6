#include "services/events/log_buffer.h"

#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace argonaut::events {
namespace {

using nlohmann::json;

std::vector<std::string> Msgs(const std::vector<LogLine>& lines) {
  std::vector<std::string> out;
  for (const LogLine& l : lines) out.push_back(l.level + " " + l.msg);
  return out;
}

TEST(LogBufferTest, KeepsTheLastLinesPerObjectInOrder) {
  LogBuffer buf(2);
  for (const char* m : {"a1", "a2", "a3"}) buf.Add({.key = "ns/a", .msg = m});
  buf.Add({.key = "ns/b", .msg = "b1"});
  buf.Add({.key = "other/a", .msg = "o1"});
  auto all = buf.Since(0, [](const LogLine&) { return true; });
  EXPECT_EQ(Msgs(all), (std::vector<std::string>{"info a2", "info a3", "info b1", "info o1"}));
  EXPECT_EQ(all.back().seq, 5u);
  auto ns = buf.Since(3, [](const LogLine& l) { return l.key.rfind("ns/", 0) == 0; });
  EXPECT_EQ(Msgs(ns), (std::vector<std::string>{"info b1"}));
  buf.Forget("ns/a");
  EXPECT_EQ(buf.Since(0, [](const LogLine&) { return true; }).size(), 2u);
}

TEST(LogBufferTest, WaitReturnsOnANewLineOrAtTheDeadline) {
  LogBuffer buf;
  const absl::Time start = absl::Now();
  EXPECT_EQ(buf.Wait(0, start + absl::Milliseconds(50)), 0u);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    buf.Add({.key = "ns/a", .msg = "x"});
  });
  EXPECT_EQ(buf.Wait(0, absl::Now() + absl::Seconds(10)), 1u);
  writer.join();
}

TEST(StatusLinesTest, EventSourceListenersCountAndState) {
  json before = {
      {"listeners",
       {{{"type", "webhook"}, {"name", "example"}, {"state", "listening"}, {"eventsSent", 1}}}}};
  json after = {{"listeners",
                 {{{"type", "webhook"},
                   {"name", "example"},
                   {"state", "listening"},
                   {"eventsSent", 4},
                   {"eventsFailed", 1},
                   {"message", "bus full"}}}}};
  auto lines = StatusLines("EventSource", before, after);
  EXPECT_EQ(Msgs(lines), (std::vector<std::string>{"info 3 events published",
                                                   "error 1 event failed to publish: bus full"}));
  EXPECT_EQ(lines[0].fields.at("eventSourceType"), "webhook");
  EXPECT_EQ(lines[0].fields.at("eventName"), "example");
  EXPECT_EQ(Msgs(StatusLines("EventSource", json(), before)),
            (std::vector<std::string>{"info listener listening", "info 1 event published"}));
  EXPECT_TRUE(StatusLines("EventSource", after, after).empty());
}

TEST(StatusLinesTest, SensorDependenciesAndTriggers) {
  json ev = {{"id", "e1"}, {"source", "webhook"}, {"data", {{"body", 1}}}};
  json before = {{"triggers", {{"t", {{"fired", 1}, {"failed", 0}}}}}};
  json after = {
      {"dependencies", {{"d", {{"lastEvent", ev}, {"passed", false}, {"reason", "no match"}}}}},
      {"triggers",
       {{"t", {{"fired", 2}, {"failed", 1}, {"lastMessage", "ok"}, {"lastError", "500"}}}}}};
  auto lines = StatusLines("Sensor", before, after);
  EXPECT_EQ(Msgs(lines),
            (std::vector<std::string>{"info dependency d: event e1 filtered out: no match",
                                      "info trigger fired (1 time): ok",
                                      "error trigger failed (1 time): 500"}));
  EXPECT_EQ(lines[0].fields.at("dependencyName"), "d");
  // The context without the data.
  EXPECT_EQ(json::parse(lines[0].fields.at("eventContext")),
            (json{{"id", "e1"}, {"source", "webhook"}}));
  EXPECT_EQ(lines[2].fields.at("triggerName"), "t");
  EXPECT_TRUE(StatusLines("Sensor", after, after).empty());
  // A trigger that cannot fire says so once, on the first status.
  EXPECT_EQ(Msgs(StatusLines("Sensor", json(),
                             {{"triggers", {{"t", {{"fired", 0}, {"lastError", "bad"}}}}}})),
            (std::vector<std::string>{"error trigger not usable: bad"}));
}

}  // namespace
}  // namespace argonaut::events
