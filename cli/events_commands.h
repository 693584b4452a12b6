// `argonaut eventsources ...`, `argonaut sensors ...` and `argonaut events ...`: Argo Events'
// objects and events over the gateway's EventSourceService, SensorService and EventService.
//
//   eventsources list [-A] | get NAME [-o yaml|json] | logs [NAME] [-f] | delete NAME
//   sensors      list [-A] | get NAME [-o yaml|json] | logs [NAME] [-f] [--trigger T] | delete NAME
//   events send SOURCE EVENT --data @FILE|JSON [--raw]   as if the source had heard it
//   events list SOURCE [--event E] [--limit N] [-o json]   the recent events on its bus
//   events replay SENSOR --offset N|--id ID [--source S]    one stored event to one sensor again
//
// Each Run* returns the exit code and prints errors as one `error: ...` line.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

int RunEventSources(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunSensors(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunEvents(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The printers, pure functions of the objects and the time.
// NAME TYPES EVENTS STATUS AGE (NAMESPACE first with all_namespaces).
std::string FormatEventSourceList(const std::vector<nlohmann::json>& items, bool all_namespaces,
                                  absl::Time now);
// NAME DEPENDENCIES TRIGGERS STATUS AGE.
std::string FormatSensorList(const std::vector<nlohmann::json>& items, bool all_namespaces,
                             absl::Time now);
// One EventSource: its conditions and per listener its state and counts.
std::string FormatEventSource(const nlohmann::json& source);
// One Sensor: its conditions, per dependency its last event, per trigger its last result (from
// the status the sensor controller writes; what it has not reported yet is said so).
std::string FormatSensor(const nlohmann::json& sensor);
// The events of EventService.ListEvents: OFFSET ID EVENT TIME DATA (data cut to 60 characters).
std::string FormatEvents(const std::vector<std::pair<uint64_t, nlohmann::json>>& events);

}  // namespace argonaut::cli
