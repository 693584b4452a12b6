// The last lines the events controllers wrote about each EventSource and
// Sensor, for the API's log streams (Argo's eventsource/sensor LogEntry):
// Argonaut runs no pod per object whose log could be read, so each object
// keeps a bounded ring of its own lines here, numbered across all objects so
// that a follower can ask "what came after line N" and wait for it.
//
// Lines come from two places: the controller's own (runner started, start
// failed, stopped) and StatusLines(), which turns what changed between two
// statuses of a runner (events published, a dependency's new event, a
// trigger fired or failed) into lines.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::events {

struct LogLine {
  uint64_t seq = 0;  // set by LogBuffer::Add; grows by one per line, across objects
  absl::Time time;
  std::string level = "info";  // info, warn, error
  std::string key;             // "<namespace>/<name>" of the object
  std::string msg;
  // LogEntry's optional fields: eventSourceType, eventName, triggerName,
  // dependencyName, eventContext.
  std::map<std::string, std::string> fields;
};

class LogBuffer {  // thread-safe
 public:
  explicit LogBuffer(size_t lines_per_object = 500) : per_object_(lines_per_object) {}

  void Add(LogLine line);
  // Drops the lines of a deleted object.
  void Forget(const std::string& key);

  // The lines after `after` (a seq; 0 = all) of the objects `match` accepts,
  // oldest first.
  std::vector<LogLine> Since(uint64_t after,
                             const std::function<bool(const LogLine&)>& match) const;
  // Waits until a line after `after` exists or `deadline` passes; returns
  // the newest seq.
  uint64_t Wait(uint64_t after, absl::Time deadline) const;
  // The newest seq (0 before the first line).
  uint64_t last_seq() const;

 private:
  const size_t per_object_;
  mutable absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::deque<LogLine>> lines_ ABSL_GUARDED_BY(mu_);
};

// What changed between two statuses of one object's runner, as lines
// (without seq, time and key). `kind` is "EventSource" or "Sensor"; a null
// `before` is the first status seen. Pure.
//   EventSource: per listener, eventsSent/eventsFailed growth and a state change.
//   Sensor: per dependency a new lastEvent (passed or filtered out, with the
//   event's context), per trigger growth of fired/failed (with lastError).
std::vector<LogLine> StatusLines(const std::string& kind, const nlohmann::json& before,
                                 const nlohmann::json& after);

}  // namespace argonaut::events
