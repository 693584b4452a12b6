#include "services/events/api/events_service.h"

#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/json_fields.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/events/event.h"

namespace argonaut::events::api {

using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

namespace {

std::string NamespaceOr(const std::string& ns) { return ns.empty() ? "default" : ns; }

grpc::Status Reply(const absl::StatusOr<json>& obj, v1::EventsObjectReply* reply) {
  if (!obj.ok()) return ToGrpcStatus(obj.status());
  reply->set_json(manifest::ToJsonText(*obj, false));
  return grpc::Status::OK;
}

// The object of a create or update request, with kind, apiVersion and namespace filled in and
// checked against the request.
absl::StatusOr<json> RequestObject(const std::string& kind, const std::string& ns,
                                   const std::string& text) {
  ASSIGN_OR_RETURN(json obj, manifest::ParseJsonText(text));
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, ": expected a JSON object"));
  }
  if (!obj.contains("kind")) obj["kind"] = kind;
  if (!obj.contains("apiVersion")) obj["apiVersion"] = "argoproj.io/v1alpha1";
  if (obj["kind"] != kind) return absl::InvalidArgumentError(absl::StrCat("kind: expected ", kind));
  json& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object();
  const std::string obj_ns = meta.value("namespace", "");
  if (!ns.empty() && !obj_ns.empty() && obj_ns != ns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metadata.namespace \"", obj_ns, "\" does not match the request namespace \"", ns, "\""));
  }
  if (obj_ns.empty()) meta["namespace"] = NamespaceOr(ns);
  return obj;
}

// The CRUD and watch calls both object services share.
class ObjectCalls {
 public:
  ObjectCalls(resource::ResourceApi* store, std::string kind)
      : store_(store), kind_(std::move(kind)) {}

  grpc::Status Create(const v1::CreateEventsObjectRequest* req, v1::EventsObjectReply* reply) {
    absl::StatusOr<json> obj = RequestObject(kind_, req->namespace_(), req->json());
    if (!obj.ok()) return ToGrpcStatus(obj.status());
    return Reply(store_->CreateObject(kind_, *std::move(obj), req->upsert()), reply);
  }
  grpc::Status Get(const v1::EventsObjectNameRequest* req, v1::EventsObjectReply* reply) {
    return Reply(store_->GetObject(kind_, NamespaceOr(req->namespace_()), req->name()), reply);
  }
  grpc::Status List(const v1::ListEventsObjectsRequest* req, v1::ListEventsObjectsReply* reply) {
    auto listed = store_->List(kind_, req->namespace_(), req->label_selector());
    if (!listed.ok()) return ToGrpcStatus(listed.status());
    for (std::string& item : listed->first) reply->add_items(std::move(item));
    reply->set_resource_version(listed->second);
    return grpc::Status::OK;
  }
  grpc::Status Update(const v1::UpdateEventsObjectRequest* req, v1::EventsObjectReply* reply) {
    absl::StatusOr<json> obj = RequestObject(kind_, req->namespace_(), req->json());
    if (!obj.ok()) return ToGrpcStatus(obj.status());
    json& meta = (*obj)["metadata"];
    const std::string name = meta.value("name", "");
    if (!req->name().empty() && !name.empty() && name != req->name()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "metadata.name \"", name, "\" does not match the request name \"", req->name(), "\"")));
    }
    if (name.empty()) meta["name"] = req->name();
    return Reply(store_->UpdateObject(kind_, *std::move(obj)), reply);
  }
  grpc::Status Delete(const v1::EventsObjectNameRequest* req) {
    return ToGrpcStatus(store_->Delete(kind_, NamespaceOr(req->namespace_()), req->name(), ""));
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::ListEventsObjectsRequest* req,
                     grpc::ServerWriter<v1::EventsObjectWatchEvent>* writer) {
    auto watch =
        store_->Watch(kind_, req->namespace_(), req->label_selector(), req->resource_version());
    if (!watch.ok()) return ToGrpcStatus(watch.status());
    while (!ctx->IsCancelled()) {
      auto events = (*watch)->Next(absl::Now() + absl::Seconds(1));
      if (!events.ok()) return ToGrpcStatus(events.status());
      for (const resource::WatchEventOut& e : *events) {
        if (!req->name().empty() && Str(Field(e.object, "metadata"), "name") != req->name()) {
          continue;
        }
        v1::EventsObjectWatchEvent out;
        out.set_type(e.type);
        out.set_json(e.Json());
        if (!writer->Write(out)) return grpc::Status::OK;
      }
    }
    return grpc::Status::OK;
  }

 private:
  resource::ResourceApi* const store_;
  const std::string kind_;
};

absl::StatusOr<RunnerController*> Controller(EventsServer* server, const std::string& kind) {
  RunnerController* c = kind == "Sensor" ? server->sensors() : server->event_sources();
  if (c == nullptr) return absl::UnavailableError("the events controllers have not started yet");
  return c;
}

// Streams the lines of `controller` that `match` accepts: the buffered ones (the last
// `tail_lines`, none older than `since_seconds`), then with `follow` each new one until the call
// is cancelled or its deadline passes.
template <typename Entry>
grpc::Status StreamLogs(grpc::ServerContext* ctx, const LogBuffer& logs,
                        const v1::EventsLogOptions& opts,
                        const std::function<bool(const LogLine&)>& match,
                        const std::function<Entry(const LogLine&)>& to_entry,
                        grpc::ServerWriter<Entry>* writer) {
  std::optional<std::regex> grep;
  if (!opts.grep().empty()) {
    try {
      grep.emplace(opts.grep());
    } catch (const std::regex_error& e) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("grep: \"", opts.grep(), "\" is not a regular expression: ", e.what())));
    }
  }
  if (opts.tail_lines() < 0 || opts.since_seconds() < 0) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("tailLines and sinceSeconds must not be negative"));
  }
  const absl::Time since = opts.since_seconds() > 0
                               ? absl::Now() - absl::Seconds(opts.since_seconds())
                               : absl::InfinitePast();
  auto accept = [&](const LogLine& l) {
    return match(l) && l.time >= since && (!grep || std::regex_search(l.msg, *grep));
  };
  uint64_t head = logs.last_seq();
  std::vector<LogLine> lines = logs.Since(0, accept);
  while (!lines.empty() && lines.back().seq > head) lines.pop_back();
  size_t first = 0;
  if (opts.tail_lines() > 0 && lines.size() > static_cast<size_t>(opts.tail_lines())) {
    first = lines.size() - opts.tail_lines();
  }
  for (size_t i = first; i < lines.size(); ++i) {
    if (!writer->Write(to_entry(lines[i]))) return grpc::Status::OK;
  }
  if (!opts.follow()) return grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    const uint64_t newest = logs.Wait(head, absl::Now() + absl::Milliseconds(500));
    if (newest == head) continue;
    for (const LogLine& l : logs.Since(head, accept)) {
      if (l.seq > newest) break;
      if (!writer->Write(to_entry(l))) return grpc::Status::OK;
    }
    head = newest;
  }
  return grpc::Status::OK;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

bool KeyMatches(const LogLine& l, const std::string& ns, const std::string& name) {
  auto [line_ns, line_name] = SplitKey(l.key);
  return (ns.empty() || line_ns == ns) && (name.empty() || line_name == name);
}

std::string LineField(const LogLine& l, const char* key) {
  auto it = l.fields.find(key);
  return it == l.fields.end() ? "" : it->second;
}

}  // namespace

class EventSourceGrpcService final : public v1::EventSourceService::Service {
 public:
  EventSourceGrpcService(resource::ResourceApi* store, EventsServer* server)
      : calls_(store, "EventSource"), server_(server) {}

  grpc::Status CreateEventSource(grpc::ServerContext*, const v1::CreateEventsObjectRequest* req,
                                 v1::EventsObjectReply* reply) override {
    return calls_.Create(req, reply);
  }
  grpc::Status GetEventSource(grpc::ServerContext*, const v1::EventsObjectNameRequest* req,
                              v1::EventsObjectReply* reply) override {
    return calls_.Get(req, reply);
  }
  grpc::Status ListEventSources(grpc::ServerContext*, const v1::ListEventsObjectsRequest* req,
                                v1::ListEventsObjectsReply* reply) override {
    return calls_.List(req, reply);
  }
  grpc::Status UpdateEventSource(grpc::ServerContext*, const v1::UpdateEventsObjectRequest* req,
                                 v1::EventsObjectReply* reply) override {
    return calls_.Update(req, reply);
  }
  grpc::Status DeleteEventSource(grpc::ServerContext*, const v1::EventsObjectNameRequest* req,
                                 v1::DeleteEventsObjectReply*) override {
    return calls_.Delete(req);
  }
  grpc::Status WatchEventSources(grpc::ServerContext* ctx, const v1::ListEventsObjectsRequest* req,
                                 grpc::ServerWriter<v1::EventsObjectWatchEvent>* w) override {
    return calls_.Watch(ctx, req, w);
  }
  grpc::Status EventSourcesLogs(grpc::ServerContext* ctx, const v1::EventSourcesLogsRequest* req,
                                grpc::ServerWriter<v1::EventSourceLogEntry>* w) override {
    absl::StatusOr<RunnerController*> c = Controller(server_, "EventSource");
    if (!c.ok()) return ToGrpcStatus(c.status());
    auto match = [req](const LogLine& l) {
      return KeyMatches(l, req->namespace_(), req->name()) &&
             (req->event_source_type().empty() ||
              LineField(l, "eventSourceType") == req->event_source_type()) &&
             (req->event_name().empty() || LineField(l, "eventName") == req->event_name());
    };
    auto entry = [](const LogLine& l) {
      v1::EventSourceLogEntry e;
      auto [ns, name] = SplitKey(l.key);
      e.set_namespace_(ns);
      e.set_event_source_name(name);
      e.set_event_source_type(LineField(l, "eventSourceType"));
      e.set_event_name(LineField(l, "eventName"));
      e.set_level(l.level);
      e.set_time(Rfc3339(l.time));
      e.set_msg(l.msg);
      return e;
    };
    return StreamLogs<v1::EventSourceLogEntry>(ctx, (*c)->logs(), req->options(), match, entry, w);
  }

 private:
  ObjectCalls calls_;
  EventsServer* const server_;
};

class SensorGrpcService final : public v1::SensorService::Service {
 public:
  SensorGrpcService(resource::ResourceApi* store, EventsServer* server)
      : calls_(store, "Sensor"), server_(server) {}

  grpc::Status CreateSensor(grpc::ServerContext*, const v1::CreateEventsObjectRequest* req,
                            v1::EventsObjectReply* reply) override {
    return calls_.Create(req, reply);
  }
  grpc::Status GetSensor(grpc::ServerContext*, const v1::EventsObjectNameRequest* req,
                         v1::EventsObjectReply* reply) override {
    return calls_.Get(req, reply);
  }
  grpc::Status ListSensors(grpc::ServerContext*, const v1::ListEventsObjectsRequest* req,
                           v1::ListEventsObjectsReply* reply) override {
    return calls_.List(req, reply);
  }
  grpc::Status UpdateSensor(grpc::ServerContext*, const v1::UpdateEventsObjectRequest* req,
                            v1::EventsObjectReply* reply) override {
    return calls_.Update(req, reply);
  }
  grpc::Status DeleteSensor(grpc::ServerContext*, const v1::EventsObjectNameRequest* req,
                            v1::DeleteEventsObjectReply*) override {
    return calls_.Delete(req);
  }
  grpc::Status WatchSensors(grpc::ServerContext* ctx, const v1::ListEventsObjectsRequest* req,
                            grpc::ServerWriter<v1::EventsObjectWatchEvent>* w) override {
    return calls_.Watch(ctx, req, w);
  }
  grpc::Status SensorsLogs(grpc::ServerContext* ctx, const v1::SensorsLogsRequest* req,
                           grpc::ServerWriter<v1::SensorLogEntry>* w) override {
    absl::StatusOr<RunnerController*> c = Controller(server_, "Sensor");
    if (!c.ok()) return ToGrpcStatus(c.status());
    auto match = [req](const LogLine& l) {
      return KeyMatches(l, req->namespace_(), req->name()) &&
             (req->trigger_name().empty() || LineField(l, "triggerName") == req->trigger_name());
    };
    auto entry = [](const LogLine& l) {
      v1::SensorLogEntry e;
      auto [ns, name] = SplitKey(l.key);
      e.set_namespace_(ns);
      e.set_sensor_name(name);
      e.set_trigger_name(LineField(l, "triggerName"));
      e.set_dependency_name(LineField(l, "dependencyName"));
      e.set_event_context(LineField(l, "eventContext"));
      e.set_level(l.level);
      e.set_time(Rfc3339(l.time));
      e.set_msg(l.msg);
      return e;
    };
    return StreamLogs<v1::SensorLogEntry>(ctx, (*c)->logs(), req->options(), match, entry, w);
  }

 private:
  ObjectCalls calls_;
  EventsServer* const server_;
};

namespace {

// Keys of an EventSource spec that are not source types.
const std::set<std::string>& NotSourceTypes() {
  static const auto* const kKeys =
      new std::set<std::string>{"eventBusName", "template", "service", "replicas", "filter"};
  return *kKeys;
}

// Source types whose listener publishes {header, body} (an HTTP request).
bool HttpSourceType(const std::string& type) {
  static const auto* const kTypes = new std::set<std::string>{
      "webhook", "github",  "gitlab", "bitbucket", "bitbucketserver", "slack", "storageGrid",
      "stripe",  "generic", "gerrit", "sns",       "azureEventsHub"};
  return kTypes->count(type) > 0;
}

// The source type under which `spec` declares the event `name`.
absl::StatusOr<std::string> SourceTypeOf(const json& source, const std::string& name) {
  const json& spec = Field(source, "spec");
  if (spec.is_object()) {
    for (const auto& [type, events] : spec.items()) {
      if (NotSourceTypes().count(type) > 0 || !events.is_object()) continue;
      if (events.contains(name)) return type;
    }
  }
  return absl::NotFoundError(absl::StrCat("EventSource ", Str(Field(source, "metadata"), "name"),
                                          " has no event named \"", name, "\""));
}

v1::StoredEventJson ToProto(const bus::StoredEvent& e) {
  v1::StoredEventJson out;
  out.set_offset(e.offset);
  out.set_json(manifest::ToJsonText(e.event.ToJson(), false));
  return out;
}

}  // namespace

class EventGrpcService final : public v1::EventService::Service {
 public:
  EventGrpcService(resource::ResourceApi* store, EventsServer* server)
      : store_(store), server_(server) {}

  grpc::Status ListEvents(grpc::ServerContext*, const v1::ListEventsRequest* req,
                          v1::ListEventsReply* reply) override {
    const size_t limit = req->limit() > 0 ? req->limit() : kRecentEventsDefault;
    // Filtering by event name reads more, so that the limit is met when it can be.
    auto events = Recent(NamespaceOr(req->namespace_()), "EventSource", req->event_source(),
                         req->event_source(), req->event_name().empty() ? limit : 1000);
    if (!events.ok()) return ToGrpcStatus(events.status());
    std::vector<bus::StoredEvent> kept;
    for (bus::StoredEvent& e : *events) {
      if (req->event_name().empty() || e.event.subject == req->event_name()) {
        kept.push_back(std::move(e));
      }
    }
    const size_t first = kept.size() > limit ? kept.size() - limit : 0;
    for (size_t i = first; i < kept.size(); ++i) *reply->add_events() = ToProto(kept[i]);
    return grpc::Status::OK;
  }

  grpc::Status ReplayEvent(grpc::ServerContext*, const v1::ReplayEventRequest* req,
                           v1::ReplayEventReply* reply) override {
    if (req->sensor().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError("sensor: required"));
    }
    if (req->offset() == 0 && req->event_id().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError("one of offset and eventId is required"));
    }
    const std::string ns = NamespaceOr(req->namespace_());
    absl::StatusOr<json> sensor = store_->GetObject("Sensor", ns, req->sensor());
    if (!sensor.ok()) return ToGrpcStatus(sensor.status());
    // The sources to look in: the one named, else every source the sensor depends on.
    std::set<std::string> sources;
    if (!req->event_source().empty()) {
      sources.insert(req->event_source());
    } else if (const json& deps = Field(Field(*sensor, "spec"), "dependencies"); deps.is_array()) {
      for (const json& d : deps) sources.insert(Str(d, "eventSourceName"));
    }
    std::optional<bus::StoredEvent> found;
    for (const std::string& source : sources) {
      auto events = Recent(ns, "Sensor", req->sensor(), source, 1000);
      if (!events.ok()) return ToGrpcStatus(events.status());
      for (bus::StoredEvent& e : *events) {
        if ((req->offset() != 0 && e.offset == req->offset()) ||
            (!req->event_id().empty() && e.event.id == req->event_id())) {
          found = std::move(e);
        }
      }
      if (found) break;
    }
    if (!found) {
      return ToGrpcStatus(absl::NotFoundError(
          absl::StrCat("no event ",
                       req->offset() != 0 ? absl::StrCat("at offset ", req->offset())
                                          : absl::StrCat("with id ", req->event_id()),
                       " among the recent events of the sensor's sources on its bus")));
    }
    absl::StatusOr<RunnerController*> c = Controller(server_, "Sensor");
    if (!c.ok()) return ToGrpcStatus(c.status());
    if (absl::Status s = (*c)->Replay(absl::StrCat(ns, "/", req->sensor()), *found); !s.ok()) {
      return ToGrpcStatus(s);
    }
    *reply->mutable_event() = ToProto(*found);
    return grpc::Status::OK;
  }

  grpc::Status SendEvent(grpc::ServerContext*, const v1::SendEventRequest* req,
                         v1::SendEventReply* reply) override {
    if (req->event_source().empty() || req->event_name().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError("eventSource and eventName are required"));
    }
    const std::string ns = NamespaceOr(req->namespace_());
    absl::StatusOr<json> source = store_->GetObject("EventSource", ns, req->event_source());
    if (!source.ok()) return ToGrpcStatus(source.status());
    absl::StatusOr<std::string> type = SourceTypeOf(*source, req->event_name());
    if (!type.ok()) return ToGrpcStatus(type.status());
    // As a webhook keeps a body that is not JSON: a string.
    absl::StatusOr<json> parsed = manifest::ParseJsonText(req->data());
    json data = parsed.ok() ? *std::move(parsed) : json(req->data());
    if (!req->raw() && HttpSourceType(*type)) {
      data = json{{"header", json::object()}, {"body", std::move(data)}};
    }
    CloudEvent event;
    event.id = NewEventId();
    event.source = req->event_source();
    event.type = *type;
    event.subject = req->event_name();
    event.time = absl::Now();
    event.data = std::move(data);
    absl::StatusOr<bus::EventBus*> bus = BusOf(ns, *source);
    if (!bus.ok()) return ToGrpcStatus(bus.status());
    absl::StatusOr<uint64_t> offset = (*bus)->Publish(event);
    if (!offset.ok()) return ToGrpcStatus(offset.status());
    *reply->mutable_event() = ToProto(bus::StoredEvent{.offset = *offset, .event = event});
    return grpc::Status::OK;
  }

 private:
  absl::StatusOr<bus::EventBus*> BusOf(const std::string& ns, const json& object) {
    if (server_->event_sources() == nullptr) {
      return absl::UnavailableError("the events controllers have not started yet");
    }
    return server_->buses()->Get(ns, Str(Field(object, "spec"), "eventBusName"));
  }

  // The recent events of `source` on the bus the object `kind`/`name` uses.
  absl::StatusOr<std::vector<bus::StoredEvent>> Recent(const std::string& ns,
                                                       const std::string& kind,
                                                       const std::string& name,
                                                       const std::string& source, size_t max) {
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " name: required"));
    ASSIGN_OR_RETURN(json object, store_->GetObject(kind, ns, name));
    ASSIGN_OR_RETURN(bus::EventBus * bus, BusOf(ns, object));
    return bus->Recent(source, max);
  }

  resource::ResourceApi* const store_;
  EventsServer* const server_;
};

EventsApi::EventsApi(resource::ResourceApi* store, EventsServer* server)
    : sources_(std::make_unique<EventSourceGrpcService>(store, server)),
      sensors_(std::make_unique<SensorGrpcService>(store, server)),
      events_(std::make_unique<EventGrpcService>(store, server)) {}

EventsApi::~EventsApi() = default;

grpc::Service* EventsApi::event_sources() { return sources_.get(); }
grpc::Service* EventsApi::sensors() { return sensors_.get(); }
grpc::Service* EventsApi::events() { return events_.get(); }

}  // namespace argonaut::events::api
