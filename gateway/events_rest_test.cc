// Argo Server's Argo Events paths end to end, shaped as `argonaut up` serves them: HTTP -> the
// gateway's REST routes -> EventsRouter (gRPC) -> the events API over a real events service
// (store, controllers, runners, the embedded bus). Every event-source, sensor and events path of
// argo-workflows.swagger.json is called and its body checked against the document's definitions.
#include "gateway/events_rest.h"

#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "gateway/events_router.h"
#include "gateway/swagger_schema.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/server/server.h"
#include "nlohmann/json.hpp"
#include "services/events/api/test_util.h"

namespace argonaut::gateway {
namespace {

using events::api::testing::EventsFixture;
using events::api::testing::FreePort;
using events::api::testing::LogSensor;
using events::api::testing::WebhookSource;
using ::nlohmann::json;

constexpr char kDefs[] = "github.com.argoproj.argo_events.pkg.apis.events.v1alpha1.";

// Kubernetes objects carry their type; grpc-gateway's definitions of them do not list it.
// listeners, dependencies and triggers are Argonaut's additions to the status (events.proto
// says so).
const std::set<std::string> kExtra = {"apiVersion", "kind", "listeners", "dependencies",
                                      "triggers"};

// Argo's Go types inline two structs (`json:",inline"`) that the proto-generated document nests
// under a field of their own: Status in EventSourceStatus/SensorStatus (the server writes
// status.conditions, the document says status.status.conditions) and WebhookContext in
// WebhookEventSource (spec.webhook.<name>.endpoint, the document .webhookContext.endpoint).
// Objects are moved into the document's nesting before they are checked, so that every field is
// still checked against its definition.
json ToDocumentShape(json v) {
  if (v.is_array()) {
    for (json& item : v) item = ToDocumentShape(std::move(item));
    return v;
  }
  if (!v.is_object()) return v;
  if (v.contains("metadata") && v.contains("spec")) {
    if (v.contains("status") && v["status"].is_object() && v["status"].contains("conditions")) {
      v["status"]["status"] = {{"conditions", v["status"]["conditions"]}};
      v["status"].erase("conditions");
    }
    if (v["spec"].is_object() && v["spec"].contains("webhook") &&
        v["spec"]["webhook"].is_object()) {
      for (auto& [name, hook] : v["spec"]["webhook"].items()) {
        if (!hook.is_object()) continue;
        json context = json::object();
        json nested = json::object();
        for (auto& [key, value] : hook.items()) (key == "filter" ? nested : context)[key] = value;
        nested["webhookContext"] = std::move(context);
        hook = std::move(nested);
      }
    }
    return v;
  }
  for (auto& [key, value] : v.items()) value = ToDocumentShape(std::move(value));
  return v;
}

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

class EventsRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing::TestCorpusDir("gateway/testdata/corpus_anchor.txt");
    ASSERT_OK(dir.status());
    auto text = testing::ReadTestFile(dir->parent_path() / "api" / "argo-workflows.swagger.json");
    ASSERT_OK(text.status());
    auto schema = SwaggerSchema::Parse(*text);
    ASSERT_OK(schema.status());
    schema_ = std::make_unique<SwaggerSchema>(*std::move(schema));

    ASSERT_OK(events_.Start(/*grpc_port=*/-1, /*http_port=*/-1));
    // The gateway: the router over the events service's channel, REST over the router.
    router_ = std::make_unique<EventsRouter>(events_.server().InProcessChannel());
    gateway_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "events-gateway", .grpc_port = -1, .http_port = 0});
    router_->AddTo(*gateway_);
    server::Server* raw = gateway_.get();
    gateway_->ConfigureHttp([this, raw](httplib::Server& http) {
      sources_ = events::v1::EventSourceService::NewStub(raw->InProcessChannel());
      sensors_ = events::v1::SensorService::NewStub(raw->InProcessChannel());
      RegisterEventsRestRoutes(http, sources_.get(), sensors_.get());
    });
    ASSERT_OK(gateway_->Start());
    event_stub_ = events::v1::EventService::NewStub(gateway_->InProcessChannel());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", gateway_->BoundHttpPort());
    http_->set_read_timeout(20, 0);
  }
  void TearDown() override {
    if (gateway_) gateway_->Shutdown(absl::Seconds(5));
    events_.Stop();
  }

  // The seed's webhook source and a sensor with a log trigger, created over REST in Argo's
  // request shape, and one event through them, so that both have a status and log lines.
  void Seed() {
    auto res =
        http_->Post("/api/v1/event-sources/default",
                    json{{"eventSource", WebhookSource(FreePort())}}.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    res = http_->Post("/api/v1/sensors/default", json{{"sensor", LogSensor()}}.dump(),
                      "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EventsFixture::WaitFor([&] { return json(events_.events().sensors()->running()); },
                           [](const json& n) { return n.get<size_t>() >= 1; });
    events::v1::SendEventRequest send;
    send.set_namespace_("default");
    send.set_event_source("webhook");
    send.set_event_name("example");
    send.set_data(R"({"message":"hello"})");
    events::v1::SendEventReply sent;
    grpc::ClientContext ctx;
    ASSERT_TRUE(event_stub_->SendEvent(&ctx, send, &sent).ok());
    json st =
        EventsFixture::WaitFor([&] { return events_.Object("Sensor", "log-sensor")["status"]; },
                               [](const json& s) {
                                 return s.is_object() && s.contains("triggers") &&
                                        s["triggers"]["log-trigger"].value("fired", 0) >= 1;
                               });
    ASSERT_EQ(st["triggers"]["log-trigger"].value("fired", 0), 1) << st.dump();
    json es = EventsFixture::WaitFor(
        [&] { return events_.Object("EventSource", "webhook")["status"]; },
        [](const json& s) { return s.is_object() && s.contains("listeners"); });
    ASSERT_TRUE(es.contains("listeners")) << es.dump();
  }

  // The first line of a streamed response.
  std::string FirstLine(const std::string& url) {
    std::string received;
    httplib::Client c("127.0.0.1", gateway_->BoundHttpPort());
    c.set_read_timeout(20, 0);
    c.Get(url, [&](const char* data, size_t n) {
      received.append(data, n);
      return received.find('\n') == std::string::npos;
    });
    return received.substr(0, received.find('\n'));
  }

  // Problems of an EventSource or Sensor body.
  std::string ObjectProblems(const json& body, const std::string& kind) {
    return Joined(schema_->Check(ToDocumentShape(body), kDefs + kind, kExtra));
  }

  std::unique_ptr<SwaggerSchema> schema_;
  EventsFixture events_;
  std::unique_ptr<EventsRouter> router_;
  std::unique_ptr<server::Server> gateway_;
  std::unique_ptr<events::v1::EventSourceService::Stub> sources_;
  std::unique_ptr<events::v1::SensorService::Stub> sensors_;
  std::unique_ptr<events::v1::EventService::Stub> event_stub_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(EventsRestTest, EveryEventsPathAnswersInTheDocumentsShape) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  std::set<std::string> visited;
  for (const SwaggerSchema::Operation& op : schema_->Operations()) {
    const bool sources = absl::StrContains(op.path, "/event-sources/");
    const bool sensors = absl::StrContains(op.path, "/sensors/");
    const bool events = absl::StartsWith(op.path, "/api/v1/events/");
    if (!sources && !sensors && !events) continue;
    SCOPED_TRACE(op.method + " " + op.path);
    visited.insert(op.method + " " + op.path);
    const std::string kind = sources ? "EventSource" : "Sensor";
    const std::string segment = sources ? "event-sources" : "sensors";
    const std::string name = sources ? "webhook" : "log-sensor";
    std::string url = absl::StrReplaceAll(
        op.path, {{"{namespace}", "default"}, {"{name}", name}, {"{discriminator}", "x"}});
    ASSERT_EQ(url.find('{'), std::string::npos) << "a path parameter the test does not fill";
    json body;
    if (absl::StartsWith(op.path, "/api/v1/stream/")) {
      if (absl::EndsWith(url, "/logs")) url += "?name=" + name;
      const std::string line = FirstLine(url);
      body = json::parse(line, nullptr, false);
      ASSERT_TRUE(body.is_object()) << line;
      ASSERT_TRUE(body.contains("result")) << line;
      if (absl::EndsWith(url.substr(0, url.find('?')), "/logs")) {
        EXPECT_EQ(body["result"]["namespace"], "default");
        EXPECT_FALSE(body["result"].value("msg", "").empty()) << line;
      } else {
        EXPECT_EQ(body["result"]["type"], "ADDED");
        EXPECT_EQ(ObjectProblems(body["result"]["object"], kind), "");
      }
    } else if (events) {
      auto res = http_->Post(url, R"({"message":"hi"})", "application/json");
      ASSERT_TRUE(res);
      // Argo Workflows' WorkflowEventBinding endpoint: refused with the reason.
      EXPECT_EQ(res->status, 501) << res->body;
      body = json::parse(res->body, nullptr, false);
      EXPECT_EQ(Joined(schema_->Check(body, "grpc.gateway.runtime.Error")), "");
      EXPECT_TRUE(absl::StrContains(body.value("message", ""), "WorkflowEventBinding"));
      EXPECT_TRUE(absl::StrContains(body.value("message", ""), "argonaut events send"));
      continue;
    } else {
      auto call = [&]() -> httplib::Result {
        if (op.method == "POST") {
          json obj = sources ? WebhookSource(FreePort()) : LogSensor();
          obj["metadata"]["name"] = "created";
          return http_->Post(url, json{{sources ? "eventSource" : "sensor", obj}}.dump(),
                             "application/json");
        }
        if (op.method == "PUT") {
          json obj = events_.Object(kind, name);
          obj["metadata"]["labels"] = {{"changed", "yes"}};
          return http_->Put(url, json{{sources ? "eventSource" : "sensor", obj}}.dump(),
                            "application/json");
        }
        if (op.method == "DELETE") {
          json obj = sources ? WebhookSource(FreePort()) : LogSensor();
          obj["metadata"]["name"] = "doomed";
          EXPECT_OK(events_.store().CreateObject(kind, obj, false).status());
          url = absl::StrCat("/api/v1/", segment, "/default/doomed");
          return http_->Delete(url);
        }
        return http_->Get(url);
      };
      httplib::Result res = call();
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      body = json::parse(res->body, nullptr, false);
      ASSERT_FALSE(body.is_discarded()) << res->body;
      if (op.method == "PUT") {
        EXPECT_EQ(body["metadata"]["labels"]["changed"], "yes");
      }
      if (op.method == "DELETE") {
        EXPECT_TRUE(events_.Object(kind, "doomed").is_null());
      }
      if (op.method == "GET" && body.contains("items")) {
        ASSERT_FALSE(body["items"].empty());
        for (const json& item : body["items"]) EXPECT_EQ(ObjectProblems(item, kind), "");
      } else if (body.contains("spec")) {
        EXPECT_EQ(ObjectProblems(body, kind), "") << body.dump(1);
      }
    }
    EXPECT_EQ(Joined(schema_->CheckSchema(ToDocumentShape(body), op.response, kExtra)), "")
        << body.dump(1);
  }
  // Every path of the document for Argo Events' objects, and Argo Workflows' event endpoint.
  EXPECT_EQ(visited, (std::set<std::string>{
                         "GET /api/v1/event-sources/{namespace}",
                         "POST /api/v1/event-sources/{namespace}",
                         "GET /api/v1/event-sources/{namespace}/{name}",
                         "PUT /api/v1/event-sources/{namespace}/{name}",
                         "DELETE /api/v1/event-sources/{namespace}/{name}",
                         "GET /api/v1/sensors/{namespace}",
                         "POST /api/v1/sensors/{namespace}",
                         "GET /api/v1/sensors/{namespace}/{name}",
                         "PUT /api/v1/sensors/{namespace}/{name}",
                         "DELETE /api/v1/sensors/{namespace}/{name}",
                         "GET /api/v1/stream/event-sources/{namespace}",
                         "GET /api/v1/stream/event-sources/{namespace}/logs",
                         "GET /api/v1/stream/sensors/{namespace}",
                         "GET /api/v1/stream/sensors/{namespace}/logs",
                         "POST /api/v1/events/{namespace}/{discriminator}",
                     }));
}

TEST_F(EventsRestTest, LogLinesAndErrorsInArgosShape) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  // The sensor's trigger line, filtered by trigger name, in sensor.LogEntry's shape.
  const std::string line =
      FirstLine("/api/v1/stream/sensors/default/logs?name=log-sensor&triggerName=log-trigger");
  json entry = json::parse(line, nullptr, false);
  ASSERT_TRUE(entry.is_object()) << line;
  EXPECT_EQ(entry["result"]["sensorName"], "log-sensor");
  EXPECT_EQ(entry["result"]["triggerName"], "log-trigger");
  EXPECT_EQ(Joined(schema_->Check(entry["result"], "sensor.LogEntry")), "");
  // The event source's lines of one event name.
  json es = json::parse(
      FirstLine("/api/v1/stream/event-sources/default/logs?eventName=example&podLogOptions."
                "tailLines=1"),
      nullptr, false);
  EXPECT_EQ(es["result"]["eventSourceType"], "webhook");
  EXPECT_EQ(Joined(schema_->Check(es["result"], "eventsource.LogEntry")), "");

  for (const auto& [method, url, body, code, says] :
       std::vector<std::tuple<std::string, std::string, std::string, int, std::string>>{
           {"GET", "/api/v1/event-sources/default/nosuch", "", 404, "not found"},
           {"DELETE", "/api/v1/sensors/default/nosuch", "", 404, "not found"},
           {"POST", "/api/v1/sensors/default", "[1]", 400, "request body must be a JSON object"},
           {"POST", "/api/v1/sensors/default", "{}", 400, "{\"sensor\": {...}}"},
           {"POST", "/api/v1/sensors/default",
            json{{"sensor",
                  {{"metadata", {{"name", "s"}}}, {"spec", {{"triggers", json::array()}}}}}}
                .dump(),
            400, "dependencies"},
           {"PUT", "/api/v1/event-sources/default/other",
            json{{"eventSource", WebhookSource(1)}}.dump(), 400, "does not match"},
           {"GET", "/api/v1/stream/sensors/default/logs?podLogOptions.tailLines=x", "", 400,
            "podLogOptions.tailLines"},
       }) {
    SCOPED_TRACE(method + " " + url);
    httplib::Result r = method == "GET"      ? http_->Get(url)
                        : method == "DELETE" ? http_->Delete(url)
                        : method == "PUT"    ? http_->Put(url, body, "application/json")
                                             : http_->Post(url, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, code) << r->body;
    json err = json::parse(r->body, nullptr, false);
    EXPECT_EQ(Joined(schema_->Check(err, "grpc.gateway.runtime.Error")), "") << r->body;
    EXPECT_TRUE(absl::StrContains(err.value("message", ""), says)) << r->body;
  }

  // A watch of one object by field selector starts with it.
  json watched = json::parse(
      FirstLine("/api/v1/stream/sensors/default?listOptions.fieldSelector=metadata.name%3Dlog-"
                "sensor"),
      nullptr, false);
  EXPECT_EQ(watched["result"]["object"]["metadata"]["name"], "log-sensor");
}

}  // namespace
}  // namespace argonaut::gateway
