#include "gateway/events_rest.h"

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/rest.h"
#include "gateway/rest_stream.h"
#include "httplib.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace ev = ::argonaut::events::v1;

constexpr char kName[] = "([a-z0-9.-]+)";

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(
      manifest::ToJsonText(
          json{
              {"error", message}, {"code", code}, {"message", message}, {"details", json::array()}},
          false),
      "application/json");
}

void SendObject(httplib::Response& res, const grpc::Status& s, const ev::EventsObjectReply& r) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  res.set_content(r.json(), "application/json");
}

json ParseOrNull(const std::string& text) { return json::parse(text, nullptr, false); }

// The request body's object: Argo's {"<wrapper>": {...}} request or the object itself.
bool BodyObject(const httplib::Request& req, httplib::Response& res, const char* wrapper,
                std::string* out) {
  absl::StatusOr<json> body = ParseObjectBody(req.body);
  if (!body.ok()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT, std::string(body.status().message()));
    return false;
  }
  if (body->contains(wrapper)) {
    if (!(*body)[wrapper].is_object()) {
      SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat(wrapper, ": expected an object"));
      return false;
    }
    *out = manifest::ToJsonText((*body)[wrapper], false);
  } else if (body->empty()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrCat("request body holds no object (expected the object or {\"", wrapper,
                           "\": {...}})"));
    return false;
  } else {
    *out = manifest::ToJsonText(*body, false);
  }
  return true;
}

// listOptions.fieldSelector's metadata.name=X (the only field selector Argo's UI sends).
std::string NameFromFieldSelector(const httplib::Request& req) {
  const std::string sel = req.get_param_value("listOptions.fieldSelector");
  absl::string_view rest = sel;
  if (absl::ConsumePrefix(&rest, "metadata.name==") ||
      absl::ConsumePrefix(&rest, "metadata.name=")) {
    return std::string(rest);
  }
  return "";
}

// The podLogOptions of a logs request.
bool LogOptions(const httplib::Request& req, httplib::Response& res, ev::EventsLogOptions* opts) {
  opts->set_follow(req.get_param_value("podLogOptions.follow") == "true");
  opts->set_grep(req.get_param_value("grep"));
  for (const auto& [param, setter] :
       std::vector<std::pair<const char*, void (ev::EventsLogOptions::*)(int64_t)>>{
           {"podLogOptions.tailLines", &ev::EventsLogOptions::set_tail_lines},
           {"podLogOptions.sinceSeconds", &ev::EventsLogOptions::set_since_seconds}}) {
    const std::string v = req.get_param_value(param);
    if (v.empty()) continue;
    int64_t n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < 0) {
      SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat(param, ": \"", v, "\" is not a non-negative integer"));
      return false;
    }
    (opts->*setter)(n);
  }
  return true;
}

// A LogEntry as grpc-gateway writes it: empty optional fields left out.
json Compact(json entry) {
  for (auto it = entry.begin(); it != entry.end();) {
    it = it->is_string() && it->get<std::string>().empty() ? entry.erase(it) : std::next(it);
  }
  return entry;
}

// The routes one object service shares with the other, over its stub's calls.
template <typename Stub>
struct ObjectRoutes {
  const char* segment;  // "event-sources"
  const char* kind;     // "EventSource"
  const char* wrapper;  // "eventSource"
  Stub* stub;
  grpc::Status (Stub::*create)(grpc::ClientContext*, const ev::CreateEventsObjectRequest&,
                               ev::EventsObjectReply*);
  grpc::Status (Stub::*get)(grpc::ClientContext*, const ev::EventsObjectNameRequest&,
                            ev::EventsObjectReply*);
  grpc::Status (Stub::*list)(grpc::ClientContext*, const ev::ListEventsObjectsRequest&,
                             ev::ListEventsObjectsReply*);
  grpc::Status (Stub::*update)(grpc::ClientContext*, const ev::UpdateEventsObjectRequest&,
                               ev::EventsObjectReply*);
  grpc::Status (Stub::*remove)(grpc::ClientContext*, const ev::EventsObjectNameRequest&,
                               ev::DeleteEventsObjectReply*);
  std::unique_ptr<grpc::ClientReaderInterface<ev::EventsObjectWatchEvent>> (Stub::*watch)(
      grpc::ClientContext*, const ev::ListEventsObjectsRequest&);

  void Register(httplib::Server& http) const {
    const ObjectRoutes r = *this;
    const std::string base = absl::StrCat("/api/v1/", segment, "/", kName);
    http.Get(base + "/?", [r](const httplib::Request& req, httplib::Response& res) {
      ev::ListEventsObjectsRequest lr;
      lr.set_namespace_(req.matches[1]);
      lr.set_label_selector(req.get_param_value("listOptions.labelSelector"));
      if (req.get_param_value("listOptions.watch") == "true") return r.Watch(lr, req, res);
      ev::ListEventsObjectsReply listed;
      grpc::ClientContext ctx;
      grpc::Status s = (r.stub->*r.list)(&ctx, lr, &listed);
      if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
      json items = json::array();
      for (const std::string& item : listed.items()) items.push_back(ParseOrNull(item));
      json out = {{"apiVersion", "argoproj.io/v1alpha1"},
                  {"kind", absl::StrCat(r.kind, "List")},
                  {"metadata", {{"resourceVersion", std::to_string(listed.resource_version())}}},
                  {"items", std::move(items)}};
      res.set_content(manifest::ToJsonText(out, false), "application/json");
    });
    http.Post(base + "/?", [r](const httplib::Request& req, httplib::Response& res) {
      std::string object;
      if (!BodyObject(req, res, r.wrapper, &object)) return;
      ev::CreateEventsObjectRequest cr;
      cr.set_namespace_(req.matches[1]);
      cr.set_json(object);
      ev::EventsObjectReply reply;
      grpc::ClientContext ctx;
      grpc::Status s = (r.stub->*r.create)(&ctx, cr, &reply);
      SendObject(res, s, reply);
    });
    const std::string one = absl::StrCat(base, "/", kName, "/?");
    http.Get(one, [r](const httplib::Request& req, httplib::Response& res) {
      ev::EventsObjectNameRequest nr;
      nr.set_namespace_(req.matches[1]);
      nr.set_name(req.matches[2]);
      ev::EventsObjectReply reply;
      grpc::ClientContext ctx;
      grpc::Status s = (r.stub->*r.get)(&ctx, nr, &reply);
      SendObject(res, s, reply);
    });
    http.Put(one, [r](const httplib::Request& req, httplib::Response& res) {
      std::string object;
      if (!BodyObject(req, res, r.wrapper, &object)) return;
      ev::UpdateEventsObjectRequest ur;
      ur.set_namespace_(req.matches[1]);
      ur.set_name(req.matches[2]);
      ur.set_json(object);
      ev::EventsObjectReply reply;
      grpc::ClientContext ctx;
      grpc::Status s = (r.stub->*r.update)(&ctx, ur, &reply);
      SendObject(res, s, reply);
    });
    http.Delete(one, [r](const httplib::Request& req, httplib::Response& res) {
      ev::EventsObjectNameRequest nr;
      nr.set_namespace_(req.matches[1]);
      nr.set_name(req.matches[2]);
      ev::DeleteEventsObjectReply reply;
      grpc::ClientContext ctx;
      grpc::Status s = (r.stub->*r.remove)(&ctx, nr, &reply);
      if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
      res.set_content("{}", "application/json");
    });
    http.Get(absl::StrCat("/api/v1/stream/", segment, "/", kName, "/?"),
             [r](const httplib::Request& req, httplib::Response& res) {
               ev::ListEventsObjectsRequest lr;
               lr.set_namespace_(req.matches[1]);
               lr.set_label_selector(req.get_param_value("listOptions.labelSelector"));
               r.Watch(lr, req, res);
             });
  }

  void Watch(ev::ListEventsObjectsRequest lr, const httplib::Request& req,
             httplib::Response& res) const {
    lr.set_name(NameFromFieldSelector(req));
    lr.set_resource_version(req.get_param_value("listOptions.resourceVersion"));
    auto pump = std::make_shared<StreamPump<ev::EventsObjectWatchEvent>>();
    pump->reader = (stub->*watch)(&pump->ctx, lr);
    ServeStream<ev::EventsObjectWatchEvent>(
        pump,
        [](const ev::EventsObjectWatchEvent& e) {
          return json{{"type", e.type()}, {"object", ParseOrNull(e.json())}};
        },
        res);
  }
};

}  // namespace

void RegisterEventsRestRoutes(httplib::Server& http, ev::EventSourceService::StubInterface* sources,
                              ev::SensorService::StubInterface* sensors) {
  using SourceStub = ev::EventSourceService::StubInterface;
  using SensorStub = ev::SensorService::StubInterface;
  // The logs paths first: the stream watch route would not take them, but keep the specific
  // before the general.
  http.Get(absl::StrCat("/api/v1/stream/event-sources/", kName, "/logs/?"),
           [sources](const httplib::Request& req, httplib::Response& res) {
             ev::EventSourcesLogsRequest lr;
             lr.set_namespace_(req.matches[1]);
             lr.set_name(req.get_param_value("name"));
             lr.set_event_source_type(req.get_param_value("eventSourceType"));
             lr.set_event_name(req.get_param_value("eventName"));
             if (!LogOptions(req, res, lr.mutable_options())) return;
             auto pump = std::make_shared<StreamPump<ev::EventSourceLogEntry>>();
             pump->reader = sources->EventSourcesLogs(&pump->ctx, lr);
             ServeStream<ev::EventSourceLogEntry>(
                 pump,
                 [](const ev::EventSourceLogEntry& e) {
                   return Compact({{"namespace", e.namespace_()},
                                   {"eventSourceName", e.event_source_name()},
                                   {"eventSourceType", e.event_source_type()},
                                   {"eventName", e.event_name()},
                                   {"level", e.level()},
                                   {"time", e.time()},
                                   {"msg", e.msg()}});
                 },
                 res);
           });
  http.Get(absl::StrCat("/api/v1/stream/sensors/", kName, "/logs/?"),
           [sensors](const httplib::Request& req, httplib::Response& res) {
             ev::SensorsLogsRequest lr;
             lr.set_namespace_(req.matches[1]);
             lr.set_name(req.get_param_value("name"));
             lr.set_trigger_name(req.get_param_value("triggerName"));
             if (!LogOptions(req, res, lr.mutable_options())) return;
             auto pump = std::make_shared<StreamPump<ev::SensorLogEntry>>();
             pump->reader = sensors->SensorsLogs(&pump->ctx, lr);
             ServeStream<ev::SensorLogEntry>(
                 pump,
                 [](const ev::SensorLogEntry& e) {
                   return Compact({{"namespace", e.namespace_()},
                                   {"sensorName", e.sensor_name()},
                                   {"triggerName", e.trigger_name()},
                                   {"dependencyName", e.dependency_name()},
                                   {"eventContext", e.event_context()},
                                   {"level", e.level()},
                                   {"time", e.time()},
                                   {"msg", e.msg()}});
                 },
                 res);
           });
  ObjectRoutes<SourceStub>{.segment = "event-sources",
                           .kind = "EventSource",
                           .wrapper = "eventSource",
                           .stub = sources,
                           .create = &SourceStub::CreateEventSource,
                           .get = &SourceStub::GetEventSource,
                           .list = &SourceStub::ListEventSources,
                           .update = &SourceStub::UpdateEventSource,
                           .remove = &SourceStub::DeleteEventSource,
                           .watch = &SourceStub::WatchEventSources}
      .Register(http);
  ObjectRoutes<SensorStub>{.segment = "sensors",
                           .kind = "Sensor",
                           .wrapper = "sensor",
                           .stub = sensors,
                           .create = &SensorStub::CreateSensor,
                           .get = &SensorStub::GetSensor,
                           .list = &SensorStub::ListSensors,
                           .update = &SensorStub::UpdateSensor,
                           .remove = &SensorStub::DeleteSensor,
                           .watch = &SensorStub::WatchSensors}
      .Register(http);
  http.Post(absl::StrCat("/api/v1/events/", kName, "/([^/]*)/?"), [](const httplib::Request&,
                                                                     httplib::Response& res) {
    SendError(res, grpc::StatusCode::UNIMPLEMENTED,
              "POST /api/v1/events/{namespace}/{discriminator} is Argo Workflows' event "
              "endpoint, which submits workflows through WorkflowEventBindings; Argonaut does "
              "not process WorkflowEventBindings yet. To send an event to Argo Events sensors "
              "use EventService.SendEvent (`argonaut events send SOURCE EVENT --data ...`) or "
              "the EventSource's own listener (e.g. its webhook)");
  });
}

}  // namespace argonaut::gateway
