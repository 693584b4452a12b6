#include "services/events/sensors/sensor_runner.h"

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/cron/schedule.h"
#include "services/events/sensors/conditions.h"
#include "services/events/sensors/filters.h"
#include "services/events/sensors/triggers/util.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;

struct Dependency {
  std::string name, source, event;
  json spec;
};

struct Trigger {
  std::string name;
  json spec;  // the whole Trigger
  std::optional<Conditions> conditions;
  absl::Status invalid;  // why it never fires (unsupported type, bad conditions)
  std::vector<cron::Schedule> resets;
  absl::Time last_reset_check;
  bool at_least_once = false;
  Backoff retry;
  absl::Duration rate_interval = absl::ZeroDuration();
  absl::Time next_slot = absl::InfinitePast();
  EventsByDependency stored;  // the AND-state: latest event per dependency
};

struct Metrics {
  metrics::CounterFamily* triggered = nullptr;
  metrics::CounterFamily* failed = nullptr;
  metrics::CounterFamily* retries_failed = nullptr;
  metrics::CounterFamily* processing_failed = nullptr;
  std::optional<metrics::HistogramFamily> action_ms, processing_ms;
};

class Runner final : public SensorRunner {
 public:
  Runner(bus::EventBus* bus, TriggerContext ctx) : bus_(bus), ctx_(std::move(ctx)) {}
  ~Runner() override { Stop(); }

  absl::Status Init(const json& sensor);
  absl::Status Register() { return bus_->Ack(consumer_, 0); }
  void Begin() {
    thread_ = std::thread([this] { Loop(); });
  }
  json Status() const override {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  absl::Status Replay(const bus::StoredEvent& event) override {
    absl::MutexLock lock(&mu_);
    if (replays_.size() >= 64) {
      return absl::ResourceExhaustedError("sensor has 64 replays queued already; retry later");
    }
    replays_.push_back(event);
    return absl::OkStatus();
  }
  void Stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  absl::Time Now() { return clock()->Now(); }
  controller::Clock* clock() { return ctx_.clock ? ctx_.clock : controller::RealClock::Get(); }
  void Loop();
  // false: the event must be read again later (a trigger's target is down).
  bool Process(const bus::StoredEvent& stored, bool replay = false);
  absl::Status Fire(Trigger& t, const EventsByDependency& events);
  absl::StatusOr<std::string> Attempts(Trigger& t, const json& trigger,
                                       const EventsByDependency& events);
  void Record(const std::string& trigger, const absl::StatusOr<std::string>& r);
  prometheus::Labels TriggerLabels(const std::string& t) const {
    return {{"namespace", ns_}, {"sensor_name", name_}, {"trigger_name", t}};
  }

  bus::EventBus* bus_;
  TriggerContext ctx_;
  std::string name_, ns_, consumer_;
  std::vector<Dependency> deps_;
  std::vector<Trigger> triggers_;
  Metrics metrics_;
  std::map<std::string, absl::Time> seen_ids_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  json status_ ABSL_GUARDED_BY(mu_) = {{"dependencies", json::object()},
                                       {"triggers", json::object()}};
  std::deque<bus::StoredEvent> replays_ ABSL_GUARDED_BY(mu_);
};

absl::Status Runner::Init(const json& sensor) {
  if (!sensor.is_object()) return absl::InvalidArgumentError("sensor must be an object");
  json meta = sensor.value("metadata", json::object());
  name_ = meta.value("name", "");
  ns_ = meta.value("namespace", "default");
  if (name_.empty()) return absl::InvalidArgumentError("metadata.name is required");
  std::string uid = meta.value("uid", "");
  consumer_ = uid.empty() ? absl::StrCat("sensor-", ns_, "-", name_) : uid;
  json spec = sensor.value("spec", json::object());
  if (!spec.contains("dependencies") || !spec["dependencies"].is_array() ||
      spec["dependencies"].empty())
    return absl::InvalidArgumentError("spec.dependencies must be a non-empty list");
  std::vector<std::string> names;
  for (size_t i = 0; i < spec["dependencies"].size(); ++i) {
    const json& d = spec["dependencies"][i];
    std::string where = absl::StrCat("spec.dependencies[", i, "]");
    if (!d.is_object())
      return absl::InvalidArgumentError(absl::StrCat(where, " must be an object"));
    Dependency dep{d.value("name", ""), d.value("eventSourceName", ""), d.value("eventName", ""),
                   d};
    if (dep.name.empty() || dep.source.empty() || dep.event.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": name, eventSourceName and eventName are required"));
    if (absl::Status s = CheckFilters(d); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat(where, ".", s.message()));
    names.push_back(dep.name);
    deps_.push_back(std::move(dep));
  }
  if (!spec.contains("triggers") || !spec["triggers"].is_array() || spec["triggers"].empty())
    return absl::InvalidArgumentError("spec.triggers must be a non-empty list");
  absl::Time now = Now();
  for (size_t i = 0; i < spec["triggers"].size(); ++i) {
    const json& tj = spec["triggers"][i];
    std::string where = absl::StrCat("spec.triggers[", i, "]");
    if (!tj.is_object() || !tj.contains("template") || !tj["template"].is_object())
      return absl::InvalidArgumentError(absl::StrCat(where, ".template is required"));
    Trigger t;
    t.spec = tj;
    t.name = tj["template"].value("name", "");
    if (t.name.empty())
      return absl::InvalidArgumentError(absl::StrCat(where, ".template.name is required"));
    auto cond = Conditions::Parse(tj["template"].value("conditions", ""), names);
    if (cond.ok()) {
      t.conditions = *std::move(cond);
    } else {
      t.invalid = cond.status();
    }
    if (auto type = TriggerType(tj["template"]); !type.ok() && t.invalid.ok())
      t.invalid = type.status();
    if (tj["template"].contains("conditionsReset") &&
        tj["template"]["conditionsReset"].is_array()) {
      for (const json& r : tj["template"]["conditionsReset"]) {
        json by = r.value("byTime", json::object());
        absl::TimeZone zone = absl::UTCTimeZone();
        std::string tz = by.value("timezone", "");
        if (!tz.empty() && !absl::LoadTimeZone(tz, &zone))
          return absl::InvalidArgumentError(
              absl::StrCat(where, ".template.conditionsReset: unknown timezone \"", tz, "\""));
        auto sched = cron::Schedule::Parse(by.value("cron", ""), zone);
        if (!sched.ok())
          return absl::InvalidArgumentError(absl::StrCat(
              where, ".template.conditionsReset.byTime.cron: ", sched.status().message()));
        t.resets.push_back(*std::move(sched));
      }
    }
    t.last_reset_check = now;
    t.at_least_once = tj.value("atLeastOnce", false);
    auto retry =
        ParseBackoff(tj.value("retryStrategy", json()), absl::StrCat(where, ".retryStrategy"));
    if (!retry.ok()) return retry.status();
    t.retry = *retry;
    if (tj.contains("rateLimit") && tj["rateLimit"].is_object()) {
      int rpu = tj["rateLimit"].value("requestsPerUnit", 0);
      std::string unit = tj["rateLimit"].value("unit", "Second");
      absl::Duration u = unit == "Minute" ? absl::Minutes(1)
                         : unit == "Hour" ? absl::Hours(1)
                                          : absl::Seconds(1);
      if (rpu > 0) t.rate_interval = u / rpu;
    }
    {
      absl::MutexLock lock(&mu_);
      json& st = status_["triggers"][t.name];
      st = {{"fired", 0}, {"failed", 0}};
      if (!t.invalid.ok()) st["lastError"] = std::string(t.invalid.message());
    }
    triggers_.push_back(std::move(t));
  }
  if (ctx_.metrics != nullptr) {
    auto& m = *ctx_.metrics;
    auto c1 = m.AddCounter("argo_events_action_triggered_total",
                           "How many actions have been triggered successfully.");
    auto c2 = m.AddCounter("argo_events_action_failed_total", "How many actions failed.");
    auto c3 = m.AddCounter("argo_events_action_retries_failed_total",
                           "How many actions failed after the retries have been exhausted.");
    auto c4 = m.AddCounter("argo_events_events_processing_failed_total",
                           "Number of events failed to process.");
    auto buckets = metrics::ExponentialBuckets(1, 2, 16);
    auto h1 = m.AddHistogram("argo_events_action_duration_milliseconds",
                             "Processing time of an action (ms).", buckets);
    auto h2 = m.AddHistogram("argo_events_event_processing_duration_milliseconds",
                             "Processing time of an event (ms).", buckets);
    for (const absl::Status& s :
         {c1.status(), c2.status(), c3.status(), c4.status(), h1.status(), h2.status()})
      if (!s.ok()) return s;
    metrics_ = {*c1, *c2, *c3, *c4, *h1, *h2};
  }
  return absl::OkStatus();
}

void Runner::Loop() {
  while (!stop_) {
    // Replays run on this thread, between bus reads: triggers keep one caller.
    std::deque<bus::StoredEvent> replays;
    {
      absl::MutexLock lock(&mu_);
      replays.swap(replays_);
    }
    for (const bus::StoredEvent& e : replays) {
      if (stop_) return;
      Process(e, /*replay=*/true);
    }
    auto batch = bus_->Read(consumer_, 64, absl::Now() + absl::Milliseconds(200));
    if (!batch.ok()) {
      LogWarn("sensor", "bus read failed",
              {{"sensor", name_}, {"error", batch.status().ToString()}});
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    for (const bus::StoredEvent& e : *batch) {
      if (stop_) return;
      if (!Process(e)) {
        absl::SleepFor(absl::Seconds(1));  // the target is down: read the event again
        break;
      }
    }
  }
}

bool Runner::Process(const bus::StoredEvent& stored, bool replay) {
  const CloudEvent& raw = stored.event;
  absl::Time start = absl::Now();
  absl::Time now = Now();
  // Argo's sensor drops an id seen within the last minute.
  for (auto it = seen_ids_.begin(); it != seen_ids_.end();)
    it = now - it->second > absl::Minutes(1) ? seen_ids_.erase(it) : std::next(it);
  std::vector<std::pair<Trigger*, EventsByDependency>> fires;
  if (!seen_ids_.emplace(raw.id, now).second && !replay) {
    (void)bus_->Ack(consumer_, stored.offset);
    return true;
  }
  for (Trigger& t : triggers_) {
    for (const cron::Schedule& s : t.resets) {
      auto tick = s.Next(t.last_reset_check);
      if (tick.ok() && *tick <= now) t.stored.clear();
    }
    t.last_reset_check = now;
  }
  for (const Dependency& dep : deps_) {
    if (dep.source != raw.source || dep.event != raw.subject) continue;
    auto event = ApplyTransform(dep.spec, raw);
    FilterResult filtered;
    if (!event.ok()) {
      filtered = {false, std::string(event.status().message())};
    } else {
      filtered = ApplyFilters(dep.spec, *event);
    }
    {
      absl::MutexLock lock(&mu_);
      json& st = status_["dependencies"][dep.name];
      st["lastEvent"] = raw.ToJson();
      st["time"] = FormatEventTime(now);
      st["passed"] = filtered.pass;
      if (filtered.pass)
        st.erase("reason");
      else
        st["reason"] = filtered.reason;
    }
    if (!event.ok() && metrics_.processing_failed)
      metrics_.processing_failed
          ->Add({{"namespace", ns_}, {"eventsource_name", raw.source}, {"event_name", raw.subject}})
          .Increment();
    if (!filtered.pass) continue;
    for (Trigger& t : triggers_) {
      if (!t.invalid.ok() || !t.conditions || !t.conditions->names().count(dep.name)) continue;
      if (t.conditions->or_only()) {
        fires.push_back({&t, {{dep.name, *event}}});
        continue;
      }
      t.stored[dep.name] = *event;
      std::set<std::string> present;
      for (const auto& [name, _] : t.stored) present.insert(name);
      if (t.conditions->Eval(present)) {
        fires.push_back({&t, std::move(t.stored)});
        t.stored.clear();
      }
    }
  }
  // atLeastOnce triggers run before the ack; the rest after it (at-most-once).
  for (auto& [t, events] : fires) {
    if (!t->at_least_once) continue;
    absl::Status s = Fire(*t, events);
    if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
      seen_ids_.erase(raw.id);  // read again, so not a duplicate then
      return false;
    }
  }
  // A replayed event may lie past the acknowledged offset: acking it would
  // skip the events between.
  if (absl::Status s = replay ? absl::OkStatus() : bus_->Ack(consumer_, stored.offset); !s.ok()) {
    LogWarn("sensor", "ack failed", {{"sensor", name_}, {"error", s.ToString()}});
    seen_ids_.erase(raw.id);
    return false;
  }
  for (auto& [t, events] : fires)
    if (!t->at_least_once) (void)Fire(*t, events);
  if (metrics_.processing_ms)
    metrics_.processing_ms
        ->WithLabels(
            {{"namespace", ns_}, {"eventsource_name", raw.source}, {"event_name", raw.subject}})
        .Observe(absl::ToDoubleMilliseconds(absl::Now() - start));
  return true;
}

absl::StatusOr<std::string> Runner::Attempts(Trigger& t, const json& trigger,
                                             const EventsByDependency& events) {
  json resolved = trigger;
  if (absl::Status s =
          ApplyParameters(trigger.value("parameters", json()), events, resolved["template"]);
      !s.ok())
    return absl::InvalidArgumentError(absl::StrCat("trigger ", s.message()));
  FireRequest req{name_, ns_, resolved, events};
  int steps = t.at_least_once ? t.retry.steps : 1;  // Argo: retries only with atLeastOnce
  absl::StatusOr<std::string> r = absl::UnknownError("not run");
  for (int attempt = 1; attempt <= steps && !stop_; ++attempt) {
    if (attempt > 1)
      SleepFor(clock(),
               BackoffDelay(t.retry, attempt - 1, std::uniform_real_distribution<>(0, 1)(rng_)));
    absl::Time begin = absl::Now();
    r = ExecuteTrigger(req, ctx_);
    if (metrics_.action_ms)
      metrics_.action_ms->WithLabels(TriggerLabels(t.name))
          .Observe(absl::ToDoubleMilliseconds(absl::Now() - begin));
    if (r.ok()) return r;
    if (metrics_.failed) metrics_.failed->Add(TriggerLabels(t.name)).Increment();
  }
  if (metrics_.retries_failed) metrics_.retries_failed->Add(TriggerLabels(t.name)).Increment();
  return r;
}

absl::Status Runner::Fire(Trigger& t, const EventsByDependency& events) {
  if (t.rate_interval > absl::ZeroDuration()) {
    absl::Time now = Now();
    if (t.next_slot > now) SleepFor(clock(), t.next_slot - now);
    t.next_slot = std::max(now, t.next_slot) + t.rate_interval;
  }
  absl::StatusOr<std::string> r = Attempts(t, t.spec, events);
  if (!r.ok() && t.spec.contains("dlqTrigger") && t.spec["dlqTrigger"].is_object()) {
    Trigger dlq;
    dlq.name =
        t.spec["dlqTrigger"].value("template", json::object()).value("name", t.name + "-dlq");
    dlq.spec = t.spec["dlqTrigger"];
    dlq.at_least_once = dlq.spec.value("atLeastOnce", false);
    if (auto b = ParseBackoff(dlq.spec.value("retryStrategy", json()), "dlqTrigger.retryStrategy");
        b.ok())
      dlq.retry = *b;
    auto d = Attempts(dlq, dlq.spec, events);
    Record(dlq.name, d);
    if (d.ok()) {
      Record(t.name, r);
      return absl::OkStatus();  // the DLQ took the events
    }
  }
  Record(t.name, r);
  if (r.ok() && metrics_.triggered) metrics_.triggered->Add(TriggerLabels(t.name)).Increment();
  return r.status();
}

void Runner::Record(const std::string& trigger, const absl::StatusOr<std::string>& r) {
  absl::MutexLock lock(&mu_);
  json& st = status_["triggers"][trigger];
  st["time"] = FormatEventTime(Now());
  if (r.ok()) {
    st["lastResult"] = "Succeeded";
    st["lastMessage"] = *r;
    st.erase("lastError");
    st["fired"] = st.value("fired", 0) + 1;
  } else {
    st["lastResult"] = "Failed";
    st["lastError"] = std::string(r.status().message());
    st["failed"] = st.value("failed", 0) + 1;
    LogWarn("sensor", "trigger failed",
            {{"sensor", name_}, {"trigger", trigger}, {"error", r.status().ToString()}});
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SensorRunner>> SensorRunner::Start(const nlohmann::json& sensor,
                                                                  bus::EventBus* bus,
                                                                  TriggerContext ctx) {
  if (bus == nullptr) return absl::InvalidArgumentError("no event bus");
  auto runner = std::make_unique<Runner>(bus, std::move(ctx));
  if (absl::Status s = runner->Init(sensor); !s.ok()) return s;
  // Registers the consumer now (at the head of the log on first use), so that
  // events published once Start returns are all delivered.
  if (absl::Status s = runner->Register(); !s.ok()) return s;
  runner->Begin();
  return runner;
}

}  // namespace argonaut::events::sensors
