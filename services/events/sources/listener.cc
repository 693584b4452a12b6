#include "services/events/sources/listener.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "services/events/event.h"

namespace argonaut::events::sources {

using json = nlohmann::json;

absl::StatusOr<std::unique_ptr<Emitter>> Emitter::Create(EventSpec spec, Publish publish,
                                                         SourceContext ctx) {
  if (ctx.clock == nullptr) ctx.clock = controller::RealClock::Get();
  std::unique_ptr<Emitter> e(new Emitter(std::move(spec), std::move(publish), std::move(ctx)));
  const json& config = e->spec_.config;
  if (config.contains("filter") && !config["filter"].is_null()) {
    const json& filter = config["filter"];
    if (!filter.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(e->spec_.path(), ".filter: must be an object"));
    }
    if (filter.contains("expression")) {
      if (!filter["expression"].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(e->spec_.path(), ".filter.expression: must be a string"));
      }
      const std::string text = filter["expression"].get<std::string>();
      if (!text.empty()) {
        absl::StatusOr<expr::ExprProgram> p =
            expr::ExprProgram::Compile(text, {.extra_functions = &expr::RolloutsFunctions()});
        if (!p.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(e->spec_.path(), ".filter.expression: ", p.status().message()));
        }
        e->filter_ = std::move(*p);
      }
    }
  }
  if (e->ctx_.metrics != nullptr) {
    const prometheus::Labels labels = {{"namespace", e->spec_.ns},
                                       {"eventsource_name", e->spec_.source_name},
                                       {"event_name", e->spec_.name}};
    metrics::MetricsRegistry& m = *e->ctx_.metrics;
    if (auto f = m.AddCounter("argo_events_events_sent_total",
                              "How many events have been sent successfully");
        f.ok()) {
      e->m_sent_ = &(*f)->Add(labels);
    }
    if (auto f =
            m.AddCounter("argo_events_events_sent_failed_total", "How many events failed to send");
        f.ok()) {
      e->m_sent_failed_ = &(*f)->Add(labels);
    }
    if (auto f = m.AddCounter("argo_events_events_processing_failed_total",
                              "How many events failed to process");
        f.ok()) {
      e->m_processing_failed_ = &(*f)->Add(labels);
    }
    if (auto f = m.AddHistogram("argo_events_event_processing_duration_milliseconds",
                                "Event processing duration in milliseconds",
                                metrics::ExponentialBuckets(0.25, 2, 16));
        f.ok()) {
      e->m_duration_ = &f->WithLabels(labels);
    }
  }
  return e;
}

bool Emitter::Passes(const json& data) const {
  if (!filter_.has_value()) return true;
  // As Argo: top-level keys have '-' replaced by '_' so that they are
  // identifiers; nested keys keep theirs (index syntax reaches them).
  json env = json::object();
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) env[absl::StrReplaceAll(k, {{"-", "_"}})] = v;
  }
  absl::StatusOr<bool> ok = filter_->EvalBool(env);
  if (!ok.ok()) {
    LogInfo("events-source", "filter.expression failed; event dropped",
            {{"event", spec_.path()}, {"error", std::string(ok.status().message())}});
    return false;
  }
  return *ok;
}

absl::Status Emitter::Emit(json data) {
  const absl::Time start = absl::Now();
  if (data.is_object() && spec_.config.contains("metadata") &&
      spec_.config["metadata"].is_object()) {
    data["metadata"] = spec_.config["metadata"];
  }
  if (!Passes(data)) {
    ++filtered_;
    return absl::OkStatus();
  }
  CloudEvent event;
  // Argo sends a UUID as 32 hex digits, without dashes.
  event.id = absl::StrReplaceAll(NewEventId(), {{"-", ""}});
  event.source = spec_.source_name;
  event.type = spec_.type;
  event.subject = spec_.name;
  event.time = ctx_.clock->Now();
  event.data = std::move(data);
  const absl::Time at = event.time;
  absl::Status status = publish_(std::move(event));
  if (m_duration_ != nullptr) {
    m_duration_->Observe(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  if (!status.ok()) {
    ++failed_;
    if (m_sent_failed_ != nullptr) m_sent_failed_->Increment();
    if (m_processing_failed_ != nullptr) m_processing_failed_->Increment();
    return status;
  }
  ++sent_;
  if (m_sent_ != nullptr) m_sent_->Increment();
  absl::MutexLock lock(&mu_);
  last_event_ = at;
  return absl::OkStatus();
}

std::optional<absl::Time> Emitter::last_event_time() const {
  absl::MutexLock lock(&mu_);
  return last_event_;
}

void Listener::SetListening(std::string message) {
  absl::MutexLock lock(&mu_);
  state_ = "listening";
  message_ = std::move(message);
}

void Listener::SetError(std::string message) {
  absl::MutexLock lock(&mu_);
  state_ = "error";
  message_ = std::move(message);
}

void Listener::SetStopped() {
  absl::MutexLock lock(&mu_);
  state_ = "stopped";
}

bool Listener::healthy() const {
  absl::MutexLock lock(&mu_);
  return state_ == "listening";
}

json Listener::Status() const {
  json out = {{"type", spec().type},
              {"name", spec().name},
              {"eventsSent", emitter_->sent()},
              {"eventsFailed", emitter_->failed()},
              {"eventsFiltered", emitter_->filtered()}};
  {
    absl::MutexLock lock(&mu_);
    out["state"] = state_;
    if (!message_.empty()) out["message"] = message_;
  }
  if (std::optional<absl::Time> t = emitter_->last_event_time()) {
    out["lastEventTime"] = FormatEventTime(*t);
  }
  return out;
}

absl::StatusOr<std::string> ReadSecret(const SourceContext& ctx, const std::string& ns,
                                       const json& selector, const std::string& field) {
  if (!selector.is_object() || !selector.contains("name") || !selector["name"].is_string() ||
      !selector.contains("key") || !selector["key"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be a Secret key selector {name, key}"));
  }
  if (ctx.cluster == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": no cluster to read Secrets from"));
  }
  const std::string name = selector["name"].get<std::string>();
  const std::string key = selector["key"].get<std::string>();
  absl::StatusOr<cluster::Object> secret =
      ctx.cluster->Get("Secret", ns.empty() ? "default" : ns, name);
  if (!secret.ok()) {
    return absl::Status(secret.status().code(),
                        absl::StrCat(field, ": Secret ", name, ": ", secret.status().message()));
  }
  const json data = secret->value("data", json::object());
  if (data.contains(key) && data[key].is_string()) {
    std::string decoded;
    if (!absl::Base64Unescape(data[key].get<std::string>(), &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": Secret ", name, " key ", key, " is not base64"));
    }
    return decoded;
  }
  const json string_data = secret->value("stringData", json::object());
  if (string_data.contains(key) && string_data[key].is_string()) {
    return string_data[key].get<std::string>();
  }
  return absl::NotFoundError(absl::StrCat(field, ": Secret ", name, " has no key ", key));
}

absl::StatusOr<std::string> StringField(const EventSpec& spec, const char* key, bool required) {
  if (!spec.config.contains(key) || spec.config[key].is_null()) {
    if (required) {
      return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", key, ": required"));
    }
    return std::string();
  }
  const json& v = spec.config[key];
  // Argo types ports as strings, but manifests often write numbers.
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (!v.is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", key, ": must be a string"));
  }
  std::string s = v.get<std::string>();
  if (required && s.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", key, ": required"));
  }
  return s;
}

absl::StatusOr<bool> BoolField(const EventSpec& spec, const char* key) {
  if (!spec.config.contains(key) || spec.config[key].is_null()) return false;
  if (!spec.config[key].is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", key, ": must be a boolean"));
  }
  return spec.config[key].get<bool>();
}

}  // namespace argonaut::events::sources
