// Trigger parameters (Argo Events' triggers/params.go): resolve a value from
// the events of the firing round and write it into a JSON document.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/events/event.h"

namespace argonaut::events::sensors {

// The latest event of each dependency in a firing round.
using EventsByDependency = std::map<std::string, CloudEvent>;

// A string (inserted as a JSON string) or, with useRawData, raw JSON.
// nullopt: the dependency's event is absent and no default `value` is given
// (the parameter is skipped). Templates use the Go-template subset of
// go_template.h with .Input = the data (or the context) as JSON.
absl::StatusOr<std::optional<nlohmann::json>> ResolveParameter(const nlohmann::json& param,
                                                               const EventsByDependency& events);

// Applies every parameter of `params` (a list) to `doc`, with `dest` an
// sjson-like path and `operation` overwrite/append/prepend.
absl::Status ApplyParameters(const nlohmann::json& params, const EventsByDependency& events,
                             nlohmann::json& doc);

// A trigger's `payload` list: applied to {}; an empty dest makes the value
// the whole payload.
absl::StatusOr<nlohmann::json> BuildPayload(const nlohmann::json& payload,
                                            const EventsByDependency& events);

// The context of an event as Argo exposes it to parameters and logs.
nlohmann::json EventContext(const CloudEvent& event);

}  // namespace argonaut::events::sensors
