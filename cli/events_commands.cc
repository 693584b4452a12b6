#include "cli/events_commands.h"

#include <chrono>
#include <ostream>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/printer.h"
#include "grpcpp/grpcpp.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace ev = ::argonaut::events::v1;

constexpr char kSourcesUsage[] = R"(usage:
  argonaut eventsources list [-A] [-n NS]
  argonaut eventsources get NAME [-o yaml|json]
  argonaut eventsources logs [NAME] [-f] [--event-name E] [--tail N] [--timeout D]
  argonaut eventsources delete NAME)";
constexpr char kSensorsUsage[] = R"(usage:
  argonaut sensors list [-A] [-n NS]
  argonaut sensors get NAME [-o yaml|json]
  argonaut sensors logs [NAME] [-f] [--trigger T] [--tail N] [--timeout D]
  argonaut sensors delete NAME)";
constexpr char kEventsUsage[] = R"(usage:
  argonaut events send SOURCE EVENT --data @FILE|JSON [--raw] [-n NS]
  argonaut events list SOURCE [--event E] [--limit N] [-o json] [-n NS]
  argonaut events replay SENSOR --offset N|--id ID [--source SOURCE] [-n NS])";

const json& Field(const json& o, const char* key) {
  static const json* const kNull = new json();
  if (!o.is_object()) return *kNull;
  auto it = o.find(key);
  return it != o.end() ? *it : *kNull;
}

std::string Str(const json& o, const char* key) {
  const json& v = Field(o, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

absl::Time Created(const json& o) {
  absl::Time t = absl::InfinitePast();
  const std::string s = Str(Field(o, "metadata"), "creationTimestamp");
  if (!s.empty()) absl::ParseTime(absl::RFC3339_full, s, &t, nullptr);
  return t;
}

std::string Age(const json& o, absl::Time now) {
  const absl::Time t = Created(o);
  return t == absl::InfinitePast() ? "<unknown>" : FormatAge(t, now);
}

// The Deployed condition as "True", "False: <message>", or "Unknown" before the controller
// reported.
std::string Deployed(const json& o) {
  const json& conds = Field(Field(o, "status"), "conditions");
  if (conds.is_array()) {
    for (const json& c : conds) {
      if (Str(c, "type") != "Deployed") continue;
      const std::string status = Str(c, "status");
      const std::string msg = Str(c, "message");
      return status == "True" || msg.empty() ? status : absl::StrCat(status, ": ", msg);
    }
  }
  return "Unknown";
}

// The source types of an EventSource and its event names, "type/name" each.
std::vector<std::pair<std::string, std::string>> SourceEvents(const json& source) {
  static const auto* const kNotTypes =
      new std::set<std::string>{"eventBusName", "template", "service", "replicas", "filter"};
  std::vector<std::pair<std::string, std::string>> out;
  const json& spec = Field(source, "spec");
  if (!spec.is_object()) return out;
  for (const auto& [type, events] : spec.items()) {
    if (kNotTypes->count(type) > 0 || !events.is_object()) continue;
    for (const auto& [name, cfg] : events.items()) out.emplace_back(type, name);
  }
  return out;
}

std::string CutTo(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

}  // namespace

std::string FormatEventSourceList(const std::vector<json>& items, bool all_namespaces,
                                  absl::Time now) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"NAME", "TYPES", "EVENTS", "DEPLOYED", "AGE"};
  if (all_namespaces) head.insert(head.begin(), "NAMESPACE");
  rows.push_back(head);
  for (const json& o : items) {
    std::set<std::string> types;
    std::vector<std::string> names;
    for (const auto& [type, name] : SourceEvents(o)) {
      types.insert(type);
      names.push_back(name);
    }
    std::vector<std::string> row = {Str(Field(o, "metadata"), "name"), absl::StrJoin(types, ","),
                                    absl::StrJoin(names, ","), Deployed(o), Age(o, now)};
    if (all_namespaces) row.insert(row.begin(), Str(Field(o, "metadata"), "namespace"));
    rows.push_back(std::move(row));
  }
  return Table(rows);
}

std::string FormatSensorList(const std::vector<json>& items, bool all_namespaces, absl::Time now) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"NAME", "DEPENDENCIES", "TRIGGERS", "DEPLOYED", "AGE"};
  if (all_namespaces) head.insert(head.begin(), "NAMESPACE");
  rows.push_back(head);
  for (const json& o : items) {
    std::vector<std::string> deps, triggers;
    const json& spec = Field(o, "spec");
    if (Field(spec, "dependencies").is_array()) {
      for (const json& d : spec["dependencies"]) deps.push_back(Str(d, "name"));
    }
    if (Field(spec, "triggers").is_array()) {
      for (const json& t : spec["triggers"]) triggers.push_back(Str(Field(t, "template"), "name"));
    }
    std::vector<std::string> row = {Str(Field(o, "metadata"), "name"), absl::StrJoin(deps, ","),
                                    absl::StrJoin(triggers, ","), Deployed(o), Age(o, now)};
    if (all_namespaces) row.insert(row.begin(), Str(Field(o, "metadata"), "namespace"));
    rows.push_back(std::move(row));
  }
  return Table(rows);
}

namespace {

std::string Header(const json& o) {
  const json& meta = Field(o, "metadata");
  std::string bus = Str(Field(o, "spec"), "eventBusName");
  std::string out =
      absl::StrCat("Name:       ", Str(meta, "name"), "\n", "Namespace:  ", Str(meta, "namespace"),
                   "\n", "EventBus:   ", bus.empty() ? "default" : bus, "\n");
  const json& conds = Field(Field(o, "status"), "conditions");
  if (!conds.is_array() || conds.empty()) {
    return out + "Conditions: none reported yet by the controller\n";
  }
  out += "Conditions:\n";
  for (const json& c : conds) {
    absl::StrAppend(&out, "  ", Str(c, "type"), "=", Str(c, "status"));
    if (const std::string r = Str(c, "reason"); !r.empty()) absl::StrAppend(&out, " ", r);
    if (const std::string m = Str(c, "message"); !m.empty()) absl::StrAppend(&out, ": ", m);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string FormatEventSource(const json& source) {
  std::string out = Header(source);
  const json& listeners = Field(Field(source, "status"), "listeners");
  std::vector<std::vector<std::string>> rows = {
      {"  TYPE", "NAME", "STATE", "SENT", "FAILED", "FILTERED", "LAST EVENT", "MESSAGE"}};
  if (listeners.is_array() && !listeners.empty()) {
    for (const json& l : listeners) {
      const std::string last = Str(l, "lastEventTime");
      rows.push_back({"  " + Str(l, "type"), Str(l, "name"), Str(l, "state"), Str(l, "eventsSent"),
                      Str(l, "eventsFailed"), Str(l, "eventsFiltered"), last.empty() ? "-" : last,
                      Str(l, "message")});
    }
    return out + "Listeners:\n" + Table(rows);
  }
  // Before the controller reported: the events the spec declares.
  out += "Listeners:  none reported yet by the controller; the spec declares";
  for (const auto& [type, name] : SourceEvents(source)) absl::StrAppend(&out, " ", type, "/", name);
  return out + "\n";
}

std::string FormatSensor(const json& sensor) {
  std::string out = Header(sensor);
  const json& status = Field(sensor, "status");
  const json& spec = Field(sensor, "spec");
  out += "Dependencies:\n";
  std::vector<std::vector<std::string>> deps = {
      {"  NAME", "SOURCE/EVENT", "LAST EVENT", "AT", "FILTERS"}};
  if (Field(spec, "dependencies").is_array()) {
    for (const json& d : spec["dependencies"]) {
      const std::string name = Str(d, "name");
      const json& st = Field(Field(status, "dependencies"), name.c_str());
      const json& ev = Field(st, "lastEvent");
      std::string filters = "-";
      if (Field(st, "passed").is_boolean()) {
        filters =
            st["passed"].get<bool>() ? "passed" : absl::StrCat("filtered out: ", Str(st, "reason"));
      }
      deps.push_back({"  " + name,
                      absl::StrCat(Str(d, "eventSourceName"), "/", Str(d, "eventName")),
                      ev.is_object() ? Str(ev, "id") : "no event yet",
                      ev.is_object() ? Str(st, "time") : "-", filters});
    }
  }
  out += Table(deps);
  out += "Triggers:\n";
  std::vector<std::vector<std::string>> trig = {
      {"  NAME", "FIRED", "FAILED", "LAST RESULT", "AT", "MESSAGE"}};
  if (Field(spec, "triggers").is_array()) {
    for (const json& t : spec["triggers"]) {
      const std::string name = Str(Field(t, "template"), "name");
      const json& st = Field(Field(status, "triggers"), name.c_str());
      const std::string result = Str(st, "lastResult");
      std::string msg = Str(st, "lastError");
      if (msg.empty()) msg = Str(st, "lastMessage");
      trig.push_back({"  " + name, st.is_object() ? Str(st, "fired") : "-",
                      st.is_object() ? Str(st, "failed") : "-",
                      result.empty() ? "not fired yet" : result,
                      result.empty() ? "-" : Str(st, "time"), msg});
    }
  }
  out += Table(trig);
  if (!Field(status, "dependencies").is_object() && !Field(status, "triggers").is_object()) {
    out += "(the sensor controller has not reported dependencies and triggers yet)\n";
  }
  return out;
}

std::string FormatEvents(const std::vector<std::pair<uint64_t, json>>& events) {
  std::vector<std::vector<std::string>> rows = {{"OFFSET", "ID", "EVENT", "TIME", "DATA"}};
  for (const auto& [offset, e] : events) {
    const json& data = Field(e, "data");
    rows.push_back({std::to_string(offset), Str(e, "id"), Str(e, "subject"), Str(e, "time"),
                    CutTo(data.is_string() ? data.get<std::string>() : data.dump(), 60)});
  }
  return Table(rows);
}

namespace {

// The events service's stubs on the gateway's address, with the CLI's error conversion.
struct Conn {
  explicit Conn(const std::string& address)
      : client(address),
        channel(ConnectChannel(address)),
        sources(ev::EventSourceService::NewStub(channel)),
        sensors(ev::SensorService::NewStub(channel)),
        events(ev::EventService::NewStub(channel)) {}
  Client client;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<ev::EventSourceService::Stub> sources;
  std::unique_ptr<ev::SensorService::Stub> sensors;
  std::unique_ptr<ev::EventService::Stub> events;
};

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

absl::StatusOr<json> ParseReply(const std::string& text) {
  absl::StatusOr<json> j = manifest::ParseJsonText(text);
  if (!j.ok()) return absl::InternalError("server returned invalid JSON");
  return j;
}

// What differs between the two object kinds' commands.
struct Kind {
  std::string name;      // "EventSource"
  std::string command;   // "eventsources"
  std::string singular;  // "eventsource"
  const char* usage;
  bool sensor;
};

absl::Status ListObjects(Conn& c, const Kind& k, const std::string& ns,
                         ev::ListEventsObjectsReply* reply) {
  ev::ListEventsObjectsRequest r;
  r.set_namespace_(ns);
  auto ctx = Ctx();
  return c.client.Convert(k.sensor ? c.sensors->ListSensors(ctx.get(), r, reply)
                                   : c.sources->ListEventSources(ctx.get(), r, reply));
}

int LogsCommand(Conn& c, const Kind& k, const Args& args, std::ostream& out, std::ostream& err) {
  ev::EventsLogOptions opts;
  opts.set_follow(args.Has("follow"));
  if (args.Has("tail")) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(args.Get("tail"), &n) || n < 0) {
      return Fail(err, absl::StrCat("--tail: \"", args.Get("tail"), "\" is not a line count"));
    }
    opts.set_tail_lines(n);
  }
  opts.set_grep(args.Get("grep"));
  absl::Duration timeout = absl::ZeroDuration();
  if (args.Has("timeout") && !absl::ParseDuration(args.Get("timeout"), &timeout)) {
    return Fail(err, absl::StrCat("--timeout: \"", args.Get("timeout"), "\" is not a duration"));
  }
  grpc::ClientContext ctx;
  if (timeout > absl::ZeroDuration()) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  } else if (!opts.follow()) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }
  const std::string ns = args.Get("namespace", "default");
  const std::string name = args.positional.size() > 1 ? args.positional[1] : "";
  grpc::Status s;
  if (k.sensor) {
    ev::SensorsLogsRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_trigger_name(args.Get("trigger"));
    *r.mutable_options() = opts;
    auto reader = c.sensors->SensorsLogs(&ctx, r);
    ev::SensorLogEntry e;
    while (reader->Read(&e)) {
      std::string where;
      if (name.empty()) absl::StrAppend(&where, e.sensor_name(), " ");
      if (!e.trigger_name().empty()) absl::StrAppend(&where, "trigger=", e.trigger_name(), " ");
      if (!e.dependency_name().empty()) {
        absl::StrAppend(&where, "dependency=", e.dependency_name(), " ");
      }
      out << e.time() << "  " << e.level() << "  " << where << e.msg() << "\n" << std::flush;
    }
    s = reader->Finish();
  } else {
    ev::EventSourcesLogsRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_event_name(args.Get("event-name"));
    *r.mutable_options() = opts;
    auto reader = c.sources->EventSourcesLogs(&ctx, r);
    ev::EventSourceLogEntry e;
    while (reader->Read(&e)) {
      std::string where;
      if (name.empty()) absl::StrAppend(&where, e.event_source_name(), " ");
      if (!e.event_name().empty()) {
        absl::StrAppend(&where, e.event_source_type(), "/", e.event_name(), " ");
      }
      out << e.time() << "  " << e.level() << "  " << where << e.msg() << "\n" << std::flush;
    }
    s = reader->Finish();
  }
  // A --timeout that ends a follow is the user's stop, not a failure.
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && timeout > absl::ZeroDuration()) {
    return 0;
  }
  if (!s.ok()) return Fail(err, c.client.Convert(s));
  return 0;
}

int RunObjects(const Kind& k, const std::vector<std::string>& argv, std::ostream& out,
               std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"all-namespaces", "A", false},
                               {"output", "o"},
                               {"follow", "f", false},
                               {"tail", ""},
                               {"grep", ""},
                               {"timeout", ""},
                               {"trigger", ""},
                               {"event-name", ""}});
  if (!args.ok()) return Fail(err, args.status());
  const std::vector<std::string>& p = args->positional;
  if (p.empty()) return Fail(err, k.usage);
  const std::string verb = p[0];
  Conn c(ServerAddress(args->Get("server")));
  const std::string ns = args->Get("namespace", "default");
  if (verb == "list" || verb == "ls") {
    if (p.size() != 1) return Fail(err, k.usage);
    const bool all = args->Has("all-namespaces");
    ev::ListEventsObjectsReply reply;
    if (absl::Status s = ListObjects(c, k, all ? "" : ns, &reply); !s.ok()) return Fail(err, s);
    std::vector<json> items;
    for (const std::string& item : reply.items()) {
      auto o = ParseReply(item);
      if (!o.ok()) return Fail(err, o.status());
      items.push_back(*std::move(o));
    }
    if (items.empty()) {
      err << "No resources found.\n";
      return 0;
    }
    out << (k.sensor ? FormatSensorList(items, all, absl::Now())
                     : FormatEventSourceList(items, all, absl::Now()));
    return 0;
  }
  if (verb == "logs" || verb == "log") {
    if (p.size() > 2) return Fail(err, k.usage);
    return LogsCommand(c, k, *args, out, err);
  }
  if (p.size() != 2 || (verb != "get" && verb != "delete")) return Fail(err, k.usage);
  ev::EventsObjectNameRequest r;
  r.set_namespace_(ns);
  r.set_name(p[1]);
  if (verb == "delete") {
    ev::DeleteEventsObjectReply reply;
    auto ctx = Ctx();
    absl::Status s =
        c.client.Convert(k.sensor ? c.sensors->DeleteSensor(ctx.get(), r, &reply)
                                  : c.sources->DeleteEventSource(ctx.get(), r, &reply));
    if (!s.ok()) return Fail(err, s);
    out << k.singular << ".argoproj.io \"" << p[1] << "\" deleted\n";
    return 0;
  }
  ev::EventsObjectReply reply;
  auto ctx = Ctx();
  absl::Status s = c.client.Convert(k.sensor ? c.sensors->GetSensor(ctx.get(), r, &reply)
                                             : c.sources->GetEventSource(ctx.get(), r, &reply));
  if (!s.ok()) return Fail(err, s);
  auto obj = ParseReply(reply.json());
  if (!obj.ok()) return Fail(err, obj.status());
  const std::string format = args->Get("output");
  if (format == "json") {
    out << manifest::ToJsonText(*obj, true) << "\n";
  } else if (format == "yaml") {
    out << manifest::ToYaml(*obj);
  } else if (format.empty() || format == "wide") {
    out << (k.sensor ? FormatSensor(*obj) : FormatEventSource(*obj));
  } else {
    return Fail(err, absl::StrCat("-o: \"", format, "\" is not one of yaml, json"));
  }
  return 0;
}

std::string EventLine(const ev::StoredEventJson& e) {
  absl::StatusOr<json> ev = manifest::ParseJsonText(e.json());
  const std::string id = ev.ok() ? Str(*ev, "id") : "";
  return absl::StrCat("event ", id, " (offset ", e.offset(), ")");
}

int Send(Conn& c, const Args& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& p = args.positional;
  if (p.size() != 3 || !args.Has("data")) return Fail(err, kEventsUsage);
  std::string data = args.Get("data");
  if (!data.empty() && data[0] == '@') {
    absl::StatusOr<std::string> text = ReadInput(data.substr(1));
    if (!text.ok()) return Fail(err, absl::StrCat("--data: ", text.status().message()));
    data = *std::move(text);
  }
  // JSON is sent as JSON; anything else the service keeps as a string, as a webhook keeps a
  // body that is not JSON. Say so rather than let a typo pass as a string.
  if (!args.Has("raw") && !manifest::ParseJsonText(data).ok()) {
    return Fail(err, "--data: not JSON (use --raw to send it as a string)");
  }
  ev::SendEventRequest r;
  r.set_namespace_(args.Get("namespace", "default"));
  r.set_event_source(p[1]);
  r.set_event_name(p[2]);
  r.set_data(data);
  r.set_raw(args.Has("raw"));
  ev::SendEventReply reply;
  auto ctx = Ctx();
  if (absl::Status s = c.client.Convert(c.events->SendEvent(ctx.get(), r, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  out << EventLine(reply.event()) << " sent to " << p[1] << "/" << p[2] << "\n";
  return 0;
}

int ListEvents(Conn& c, const Args& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& p = args.positional;
  if (p.size() != 2) return Fail(err, kEventsUsage);
  ev::ListEventsRequest r;
  r.set_namespace_(args.Get("namespace", "default"));
  r.set_event_source(p[1]);
  r.set_event_name(args.Get("event"));
  if (args.Has("limit")) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(args.Get("limit"), &n) || n == 0) {
      return Fail(err, absl::StrCat("--limit: \"", args.Get("limit"), "\" is not a count"));
    }
    r.set_limit(n);
  }
  ev::ListEventsReply reply;
  auto ctx = Ctx();
  if (absl::Status s = c.client.Convert(c.events->ListEvents(ctx.get(), r, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  std::vector<std::pair<uint64_t, json>> events;
  for (const ev::StoredEventJson& e : reply.events()) {
    auto j = ParseReply(e.json());
    if (!j.ok()) return Fail(err, j.status());
    events.emplace_back(e.offset(), *std::move(j));
  }
  const std::string format = args.Get("output");
  if (format == "json") {
    json list = json::array();
    for (const auto& [offset, e] : events) list.push_back({{"offset", offset}, {"event", e}});
    out << manifest::ToJsonText(list, true) << "\n";
    return 0;
  }
  if (!format.empty()) return Fail(err, absl::StrCat("-o: \"", format, "\" is not json"));
  if (events.empty()) {
    err << "No events found.\n";
    return 0;
  }
  out << FormatEvents(events);
  return 0;
}

int Replay(Conn& c, const Args& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& p = args.positional;
  if (p.size() != 2 || (args.Has("offset") == args.Has("id"))) return Fail(err, kEventsUsage);
  ev::ReplayEventRequest r;
  r.set_namespace_(args.Get("namespace", "default"));
  r.set_sensor(p[1]);
  r.set_event_source(args.Get("source"));
  r.set_event_id(args.Get("id"));
  if (args.Has("offset")) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(args.Get("offset"), &n) || n == 0) {
      return Fail(err, absl::StrCat("--offset: \"", args.Get("offset"), "\" is not an offset"));
    }
    r.set_offset(n);
  }
  ev::ReplayEventReply reply;
  auto ctx = Ctx();
  if (absl::Status s = c.client.Convert(c.events->ReplayEvent(ctx.get(), r, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  out << EventLine(reply.event()) << " replayed to sensor " << p[1] << "\n";
  return 0;
}

}  // namespace

int RunEventSources(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunObjects({"EventSource", "eventsources", "eventsource", kSourcesUsage, false}, args, out,
                    err);
}

int RunSensors(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunObjects({"Sensor", "sensors", "sensor", kSensorsUsage, true}, args, out, err);
}

int RunEvents(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"data", "d"},
                               {"raw", "", false},
                               {"event", ""},
                               {"limit", ""},
                               {"output", "o"},
                               {"offset", ""},
                               {"id", ""},
                               {"source", ""}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty()) return Fail(err, kEventsUsage);
  Conn c(ServerAddress(args->Get("server")));
  const std::string verb = args->positional[0];
  if (verb == "send") return Send(c, *args, out, err);
  if (verb == "list" || verb == "ls") return ListEvents(c, *args, out, err);
  if (verb == "replay") return Replay(c, *args, out, err);
  return Fail(err, kEventsUsage);
}

}  // namespace argonaut::cli
