// What every listener shares: its identity, the emit path (filter, CloudEvent,
// publish, metrics) and its state for Status(). Internal to sources/.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/expr/exprlang.h"
#include "nlohmann/json.hpp"
#include "services/events/sources/source.h"

namespace argonaut::events::sources {

// One entry of an EventSource's spec: spec.<type>.<name> = config.
struct EventSpec {
  std::string source_name;  // the EventSource's metadata.name
  std::string ns;           // its metadata.namespace
  std::string type;         // the spec key: webhook, calendar, redisStream ...
  std::string name;         // the event name (the map key)
  nlohmann::json config;
  // "spec.<type>.<name>", the prefix of every error about this entry.
  std::string path() const { return "spec." + type + "." + name; }
};

// Builds, filters and publishes one listener's events. Thread-safe.
class Emitter {
 public:
  // Compiles `filter.expression` (INVALID_ARGUMENT naming it when invalid).
  static absl::StatusOr<std::unique_ptr<Emitter>> Create(EventSpec spec, Publish publish,
                                                         SourceContext ctx);

  // Adds `metadata` from the config, drops the event when the filter says so
  // (OK: a dropped event is not an error to the sender), else publishes it as
  // a CloudEvent of this listener and returns once durable.
  absl::Status Emit(nlohmann::json data);

  const EventSpec& spec() const { return spec_; }
  const SourceContext& ctx() const { return ctx_; }
  absl::Time Now() const { return ctx_.clock->Now(); }

  // Counters for Status().
  int64_t sent() const { return sent_.load(); }
  int64_t failed() const { return failed_.load(); }
  int64_t filtered() const { return filtered_.load(); }
  std::optional<absl::Time> last_event_time() const;

 private:
  Emitter(EventSpec spec, Publish publish, SourceContext ctx)
      : spec_(std::move(spec)), publish_(std::move(publish)), ctx_(std::move(ctx)) {}
  // Whether the filter passes; a false result or an evaluation error drops.
  bool Passes(const nlohmann::json& data) const;

  const EventSpec spec_;
  const Publish publish_;
  const SourceContext ctx_;
  std::optional<expr::ExprProgram> filter_;
  std::atomic<int64_t> sent_{0}, failed_{0}, filtered_{0};
  prometheus::Counter* m_sent_ = nullptr;
  prometheus::Counter* m_sent_failed_ = nullptr;
  prometheus::Counter* m_processing_failed_ = nullptr;
  prometheus::Histogram* m_duration_ = nullptr;
  mutable absl::Mutex mu_;
  std::optional<absl::Time> last_event_ ABSL_GUARDED_BY(mu_);
};

// One running listener. Subclasses start their I/O in a factory and stop it
// in Stop(), which must be idempotent and return only when no more Emit()
// calls can happen.
class Listener {
 public:
  explicit Listener(std::unique_ptr<Emitter> emitter) : emitter_(std::move(emitter)) {}
  virtual ~Listener() = default;
  virtual void Stop() = 0;

  const EventSpec& spec() const { return emitter_->spec(); }
  Emitter& emitter() { return *emitter_; }

  void SetListening(std::string message = "") ABSL_LOCKS_EXCLUDED(mu_);
  void SetError(std::string message) ABSL_LOCKS_EXCLUDED(mu_);
  void SetStopped() ABSL_LOCKS_EXCLUDED(mu_);
  // {type, name, state, message, eventsSent, eventsFailed, eventsFiltered, lastEventTime}
  nlohmann::json Status() const ABSL_LOCKS_EXCLUDED(mu_);
  bool healthy() const ABSL_LOCKS_EXCLUDED(mu_);

 protected:
  std::unique_ptr<Emitter> emitter_;

 private:
  mutable absl::Mutex mu_;
  std::string state_ ABSL_GUARDED_BY(mu_) = "starting";
  std::string message_ ABSL_GUARDED_BY(mu_);
};

using ListenerFactory =
    absl::StatusOr<std::unique_ptr<Listener>> (*)(std::unique_ptr<Emitter> emitter);

// The value of a Kubernetes SecretKeySelector ({name, key}) in the
// EventSource's namespace, read through ctx.cluster. `field` names the
// selector in errors.
absl::StatusOr<std::string> ReadSecret(const SourceContext& ctx, const std::string& ns,
                                       const nlohmann::json& selector, const std::string& field);

// Small typed accessors over the config that fail with the field's path.
absl::StatusOr<std::string> StringField(const EventSpec& spec, const char* key, bool required);
absl::StatusOr<bool> BoolField(const EventSpec& spec, const char* key);

}  // namespace argonaut::events::sources
