// The event every source publishes and every sensor consumes: a CloudEvents
// 1.0 context plus a JSON payload, the shape Argo Events puts on its bus.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::events {

struct CloudEvent {
  std::string id;
  std::string source;  // the EventSource object's name
  std::string specversion = "1.0";
  std::string type;     // the source type, e.g. "webhook", "calendar"
  std::string subject;  // the event name inside the EventSource
  std::string datacontenttype = "application/json";
  absl::Time time = absl::UnixEpoch();
  // webhook: {header: {...}, body: <parsed JSON or the raw string>};
  // resource: {type, body, group, version, resource}.
  nlohmann::json data;

  // CloudEvents JSON format (structured mode): the context attributes at the
  // top level, `time` as RFC 3339 UTC with nanoseconds, `data` inline.
  nlohmann::json ToJson() const;
  // The inverse; refuses a missing/mistyped required attribute by name.
  // `specversion` and `datacontenttype` default when absent; `data_base64`
  // is decoded into a string `data`.
  static absl::StatusOr<CloudEvent> FromJson(const nlohmann::json& json);

  bool operator==(const CloudEvent& other) const;
};

// A fresh, globally unique id (a random version-4 UUID, lowercase hex).
std::string NewEventId();

// RFC 3339 in UTC with nine fractional digits: "2026-12-07T10:52:52.123456789Z".
std::string FormatEventTime(absl::Time time);
// Any RFC 3339 timestamp (fraction optional, `Z` or a numeric offset).
absl::StatusOr<absl::Time> ParseEventTime(const std::string& text);

}  // namespace argonaut::events
