#include "services/events/sources/source.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/events/sources/amqp.h"
#include "services/events/sources/calendar.h"
#include "services/events/sources/file.h"
#include "services/events/sources/listener.h"
#include "services/events/sources/mqtt.h"
#include "services/events/sources/nats.h"
#include "services/events/sources/redis.h"
#include "services/events/sources/resource.h"
#include "services/events/sources/webhook.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

// EventSource spec keys that are not source types.
const std::set<std::string>& NonSourceKeys() {
  static const auto* keys =
      new std::set<std::string>{"eventBusName", "template", "service", "replicas"};
  return *keys;
}

const std::map<std::string, ListenerFactory>& Factories() {
  static const auto* factories = new std::map<std::string, ListenerFactory>{
      {"webhook", &StartWebhook},
      {"github", &StartGithub},
      {"gitlab", &StartGitlab},
      {"bitbucket", &StartBitbucket},
      {"bitbucketserver", &StartBitbucketServer},
      {"calendar", &StartCalendar},
      {"file", &StartFile},
      {"resource", &StartResource},
      {"nats", &StartNats},
      {"redis", &StartRedis},
      {"redisStream", &StartRedisStream},
      {"mqtt", &StartMqtt},
      {"amqp", &StartAmqp},
  };
  return *factories;
}

// Why a known Argo source type cannot run here, when "not supported" alone
// would leave the user guessing. Always starts with "source type not
// supported", which callers and the corpus count match on.
std::string UnsupportedReason(const std::string& type) {
  if (type == "kafka") {
    return "source type not supported: kafka event sources are not supported here (no Kafka "
           "broker in Debian)";
  }
  return "source type not supported";
}

json Condition(const std::string& type, bool ok, const std::string& reason,
               const std::string& message, absl::Time at) {
  json c = {
      {"type", type},
      {"status", ok ? "True" : "False"},
      {"lastTransitionTime", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone())}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// The entries of spec, in spec order of types then names (nlohmann sorts keys).
absl::StatusOr<std::vector<EventSpec>> Entries(const json& es) {
  if (!es.is_object()) return absl::InvalidArgumentError("EventSource: must be an object");
  const json metadata = es.value("metadata", json::object());
  if (!metadata.is_object() || !metadata.contains("name") || !metadata["name"].is_string() ||
      metadata["name"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("metadata.name: required");
  }
  const std::string name = metadata["name"].get<std::string>();
  const std::string ns = metadata.contains("namespace") && metadata["namespace"].is_string()
                             ? metadata["namespace"].get<std::string>()
                             : "default";
  if (!es.contains("spec") || !es["spec"].is_object()) {
    return absl::InvalidArgumentError("spec: required");
  }
  std::vector<EventSpec> out;
  for (const auto& [type, events] : es["spec"].items()) {
    if (NonSourceKeys().count(type) != 0 || events.is_null()) continue;
    if (!events.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.", type, ": must be a map of event name to its config"));
    }
    for (const auto& [event, config] : events.items()) {
      if (!config.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("spec.", type, ".", event, ": must be an object"));
      }
      out.push_back({name, ns, type, event, config});
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("spec: no event sources");
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventSourceRunner>> EventSourceRunner::Start(
    const json& event_source, Publish publish, SourceContext ctx) {
  if (ctx.clock == nullptr) ctx.clock = controller::RealClock::Get();
  absl::StatusOr<std::vector<EventSpec>> entries = Entries(event_source);
  if (!entries.ok()) return entries.status();
  // Refuse unsupported types before anything starts listening.
  for (const EventSpec& spec : *entries) {
    if (Factories().count(spec.type) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.", spec.type, ": ", UnsupportedReason(spec.type)));
    }
  }
  std::unique_ptr<EventSourceRunner> runner(new EventSourceRunner());
  runner->name_ = (*entries)[0].source_name;
  runner->started_ = ctx.clock->Now();
  for (EventSpec& spec : *entries) {
    const ListenerFactory factory = Factories().at(spec.type);
    absl::StatusOr<std::unique_ptr<Emitter>> emitter =
        Emitter::Create(std::move(spec), publish, ctx);
    if (!emitter.ok()) return emitter.status();  // the destructor stops the others
    absl::StatusOr<std::unique_ptr<Listener>> listener = factory(std::move(*emitter));
    if (!listener.ok()) return listener.status();
    runner->listeners_.push_back(std::move(*listener));
  }
  return runner;
}

json EventSourceRunner::Status() const {
  json listeners = json::array();
  std::vector<std::string> problems;
  for (const auto& l : listeners_) {
    json s = l->Status();
    if (!l->healthy()) {
      problems.push_back(absl::StrCat(l->spec().path(), ": ", s.value("state", ""),
                                      s.contains("message") ? " " : "", s.value("message", "")));
    }
    listeners.push_back(std::move(s));
  }
  bool stopped;
  {
    absl::MutexLock lock(&mu_);
    stopped = stopped_;
  }
  json conditions = json::array();
  conditions.push_back(Condition("SourcesProvided", true, "", "", started_));
  if (stopped) {
    conditions.push_back(Condition("Deployed", false, "Stopped", "listeners stopped", started_));
  } else if (problems.empty()) {
    conditions.push_back(Condition("Deployed", true, "", "", started_));
  } else {
    conditions.push_back(
        Condition("Deployed", false, "ListenerFailed", absl::StrJoin(problems, "; "), started_));
  }
  return {{"conditions", conditions}, {"listeners", listeners}};
}

json EventSourceRunner::FailedStatus(const json& event_source, const absl::Status& error,
                                     absl::Time now) {
  (void)event_source;
  json conditions = json::array();
  const std::string message(error.message());
  if (message.rfind("spec: no event sources", 0) == 0 || message.rfind("spec: required", 0) == 0) {
    conditions.push_back(Condition("SourcesProvided", false, "NoSources", message, now));
  } else {
    conditions.push_back(Condition("SourcesProvided", true, "", "", now));
    conditions.push_back(Condition("Deployed", false, "StartFailed", message, now));
  }
  return {{"conditions", conditions}, {"listeners", json::array()}};
}

void EventSourceRunner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  for (auto& l : listeners_) {
    l->Stop();
    l->SetStopped();
  }
}

EventSourceRunner::~EventSourceRunner() { Stop(); }

}  // namespace argonaut::events::sources
