// The events API against a real events service (store, controllers, real
// runners, the embedded bus): CRUD and watch, send → the sensor's log
// trigger fires, the recent events, replay to one sensor, and the log
// streams (buffered and followed).
#include "services/events/api/events_service.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/events/api/test_util.h"

namespace argonaut::events::api {
namespace {

using ::nlohmann::json;
using testing::EventsFixture;

class EventsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(fx_.Start(/*grpc_port=*/-1, /*http_port=*/-1));
    auto channel = fx_.server().InProcessChannel();
    sources_ = v1::EventSourceService::NewStub(channel);
    sensors_ = v1::SensorService::NewStub(channel);
    events_ = v1::EventService::NewStub(channel);
  }

  grpc::Status CreateSource(const json& obj) {
    v1::CreateEventsObjectRequest req;
    req.set_namespace_("default");
    req.set_json(obj.dump());
    v1::EventsObjectReply reply;
    grpc::ClientContext ctx;
    return sources_->CreateEventSource(&ctx, req, &reply);
  }
  grpc::Status CreateSensor(const json& obj) {
    v1::CreateEventsObjectRequest req;
    req.set_namespace_("default");
    req.set_json(obj.dump());
    v1::EventsObjectReply reply;
    grpc::ClientContext ctx;
    return sensors_->CreateSensor(&ctx, req, &reply);
  }
  grpc::Status Send(const std::string& source, const std::string& event, const std::string& data,
                    v1::SendEventReply* reply, bool raw = false) {
    v1::SendEventRequest req;
    req.set_event_source(source);
    req.set_event_name(event);
    req.set_data(data);
    req.set_raw(raw);
    grpc::ClientContext ctx;
    return events_->SendEvent(&ctx, req, reply);
  }
  // The sensor's trigger status once `fired` reached n (or the last one seen).
  json WaitFired(int n) {
    json st = EventsFixture::WaitFor([&] { return fx_.Object("Sensor", "log-sensor")["status"]; },
                                     [n](const json& s) {
                                       return s.is_object() && s.contains("triggers") &&
                                              s["triggers"]["log-trigger"].value("fired", 0) >= n;
                                     });
    return st;
  }
  std::vector<v1::SensorLogEntry> SensorLogs(const std::string& name) {
    v1::SensorsLogsRequest req;
    req.set_namespace_("default");
    req.set_name(name);
    grpc::ClientContext ctx;
    auto reader = sensors_->SensorsLogs(&ctx, req);
    std::vector<v1::SensorLogEntry> out;
    v1::SensorLogEntry e;
    while (reader->Read(&e)) out.push_back(e);
    EXPECT_TRUE(reader->Finish().ok());
    return out;
  }

  EventsFixture fx_;
  std::unique_ptr<v1::EventSourceService::Stub> sources_;
  std::unique_ptr<v1::SensorService::Stub> sensors_;
  std::unique_ptr<v1::EventService::Stub> events_;
};

TEST_F(EventsServiceTest, ObjectsCreateGetListUpdateWatchDelete) {
  const int port = testing::FreePort();
  ASSERT_TRUE(CreateSource(testing::WebhookSource(port)).ok());
  // A second create of the same name is refused; upsert replaces.
  EXPECT_EQ(CreateSource(testing::WebhookSource(port)).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // The namespace of the object must be the request's.
  EXPECT_EQ(CreateSource(testing::WebhookSource(port, "other")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The validator runs: a sensor without triggers is refused, naming the field.
  json bad = testing::LogSensor();
  bad["spec"].erase("triggers");
  grpc::Status refused = CreateSensor(bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("triggers"), std::string::npos) << refused.error_message();

  v1::EventsObjectNameRequest name;
  name.set_namespace_("default");
  name.set_name("webhook");
  v1::EventsObjectReply got;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sources_->GetEventSource(&ctx, name, &got).ok());
  }
  json obj = json::parse(got.json());
  EXPECT_EQ(obj["spec"]["webhook"]["example"]["endpoint"], "/example");

  v1::ListEventsObjectsRequest list;
  list.set_namespace_("default");
  v1::ListEventsObjectsReply listed;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sources_->ListEventSources(&ctx, list, &listed).ok());
  }
  ASSERT_EQ(listed.items_size(), 1);

  // The watch replays what exists, then sees the update.
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto watch = sources_->WatchEventSources(&watch_ctx, list);
  v1::EventsObjectWatchEvent ev;
  ASSERT_TRUE(watch->Read(&ev));
  EXPECT_EQ(ev.type(), "ADDED");

  obj["spec"]["webhook"]["example"]["endpoint"] = "/changed";
  obj["metadata"].erase("resourceVersion");
  v1::UpdateEventsObjectRequest update;
  update.set_namespace_("default");
  update.set_name("webhook");
  update.set_json(obj.dump());
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sources_->UpdateEventSource(&ctx, update, &got).ok());
  }
  EXPECT_EQ(json::parse(got.json())["spec"]["webhook"]["example"]["endpoint"], "/changed");
  bool modified = false;
  while (!modified && watch->Read(&ev)) {
    modified = ev.type() == "MODIFIED" &&
               json::parse(ev.json())["spec"]["webhook"]["example"]["endpoint"] == "/changed";
  }
  EXPECT_TRUE(modified);
  watch_ctx.TryCancel();
  watch->Finish();

  // Update's name must be the object's.
  update.set_name("another");
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(sources_->UpdateEventSource(&ctx, update, &got).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::DeleteEventsObjectReply deleted;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sources_->DeleteEventSource(&ctx, name, &deleted).ok());
  }
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(sources_->GetEventSource(&ctx, name, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(EventsServiceTest, SendListReplayAndLogs) {
  ASSERT_TRUE(CreateSource(testing::WebhookSource(testing::FreePort())).ok());
  ASSERT_TRUE(CreateSensor(testing::LogSensor()).ok());
  // The sensor reads the bus from where it registered: wait until it runs.
  EventsFixture::WaitFor([&] { return json(fx_.events().sensors()->running()); },
                         [](const json& n) { return n.get<size_t>() >= 1; });

  v1::SendEventReply sent;
  ASSERT_TRUE(Send("webhook", "example", R"({"message":"hello"})", &sent).ok());
  json event = json::parse(sent.event().json());
  // As the webhook listener publishes a request: {header, body}.
  EXPECT_EQ(event["data"], (json{{"header", json::object()}, {"body", {{"message", "hello"}}}}));
  EXPECT_EQ(event["type"], "webhook");
  EXPECT_EQ(event["source"], "webhook");
  EXPECT_EQ(event["subject"], "example");
  v1::SendEventReply raw;
  ASSERT_TRUE(Send("webhook", "example", "not json", &raw, /*raw=*/true).ok());
  EXPECT_EQ(json::parse(raw.event().json())["data"], "not json");
  EXPECT_EQ(raw.event().offset(), sent.event().offset() + 1);

  // Unknown event names and sources are refused by name.
  v1::SendEventReply none;
  grpc::Status s = Send("webhook", "nosuch", "{}", &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "EventSource webhook has no event named \"nosuch\"");
  EXPECT_EQ(Send("nosuch", "example", "{}", &none).error_code(), grpc::StatusCode::NOT_FOUND);

  json st = WaitFired(2);
  ASSERT_EQ(st["triggers"]["log-trigger"].value("fired", 0), 2) << st.dump();
  EXPECT_EQ(st["dependencies"]["payload"]["lastEvent"]["id"],
            json::parse(raw.event().json())["id"]);

  v1::ListEventsRequest list;
  list.set_event_source("webhook");
  v1::ListEventsReply recent;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(events_->ListEvents(&ctx, list, &recent).ok());
  }
  ASSERT_EQ(recent.events_size(), 2);
  EXPECT_EQ(recent.events(0).offset(), sent.event().offset());
  list.set_limit(1);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(events_->ListEvents(&ctx, list, &recent).ok());
  }
  EXPECT_EQ(recent.events(recent.events_size() - 1).offset(), raw.event().offset());

  // Replaying the first event fires the trigger once more, without moving the sensor's offset.
  v1::ReplayEventRequest replay;
  replay.set_sensor("log-sensor");
  replay.set_offset(sent.event().offset());
  v1::ReplayEventReply replayed;
  {
    grpc::ClientContext ctx;
    grpc::Status r = events_->ReplayEvent(&ctx, replay, &replayed);
    ASSERT_TRUE(r.ok()) << r.error_message();
  }
  EXPECT_EQ(json::parse(replayed.event().json())["id"], event["id"]);
  st = WaitFired(3);
  EXPECT_EQ(st["triggers"]["log-trigger"].value("fired", 0), 3) << st.dump();
  EXPECT_EQ(st["dependencies"]["payload"]["lastEvent"]["id"], event["id"]);
  replay.set_offset(9999);
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(events_->ReplayEvent(&ctx, replay, &replayed).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // The sensor's lines: started, the dependency's events, the trigger's firings.
  bool fired_line = false, dep_line = false, started = false;
  for (const v1::SensorLogEntry& e : SensorLogs("log-sensor")) {
    EXPECT_EQ(e.namespace_(), "default");
    EXPECT_EQ(e.sensor_name(), "log-sensor");
    EXPECT_FALSE(e.time().empty());
    started |= e.msg() == "started on bus default";
    if (e.trigger_name() == "log-trigger" && e.msg().rfind("trigger fired", 0) == 0) {
      fired_line = true;
    }
    if (e.dependency_name() == "payload") {
      dep_line = true;
      EXPECT_EQ(json::parse(e.event_context())["source"], "webhook");
    }
  }
  EXPECT_TRUE(started && fired_line && dep_line);
  EXPECT_TRUE(SensorLogs("nosuch").empty());

  v1::EventSourcesLogsRequest es_req;
  es_req.set_namespace_("default");
  es_req.set_event_name("example");
  grpc::ClientContext es_ctx;
  auto es_reader = sources_->EventSourcesLogs(&es_ctx, es_req);
  v1::EventSourceLogEntry es_line;
  bool listening = false;
  while (es_reader->Read(&es_line)) {
    EXPECT_EQ(es_line.event_source_type(), "webhook");
    listening |= es_line.msg().rfind("listener listening: POST http://127.0.0.1:", 0) == 0;
  }
  EXPECT_TRUE(es_reader->Finish().ok());
  EXPECT_TRUE(listening);
}

TEST_F(EventsServiceTest, FollowedLogsSeeNewLinesAndBadGrepIsRefused) {
  ASSERT_TRUE(CreateSource(testing::WebhookSource(testing::FreePort())).ok());
  ASSERT_TRUE(CreateSensor(testing::LogSensor()).ok());
  EventsFixture::WaitFor([&] { return json(fx_.events().sensors()->running()); },
                         [](const json& n) { return n.get<size_t>() >= 1; });

  v1::SensorsLogsRequest req;
  req.set_namespace_("default");
  req.set_trigger_name("log-trigger");
  req.mutable_options()->set_follow(true);
  req.mutable_options()->set_grep("fired");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = sensors_->SensorsLogs(&ctx, req);
  std::thread sender([&] {
    absl::SleepFor(absl::Milliseconds(300));
    v1::SendEventReply r;
    EXPECT_TRUE(Send("webhook", "example", "{}", &r).ok());
  });
  v1::SensorLogEntry line;
  ASSERT_TRUE(reader->Read(&line));
  EXPECT_EQ(line.trigger_name(), "log-trigger");
  EXPECT_EQ(line.msg().rfind("trigger fired (1 time)", 0), 0u) << line.msg();
  ctx.TryCancel();
  reader->Finish();
  sender.join();

  req.mutable_options()->set_follow(false);
  req.mutable_options()->set_grep("([");
  grpc::ClientContext bad_ctx;
  auto bad = sensors_->SensorsLogs(&bad_ctx, req);
  while (bad->Read(&line)) {
  }
  grpc::Status s = bad->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("grep: ", 0), 0u) << s.error_message();
}

}  // namespace
}  // namespace argonaut::events::api
