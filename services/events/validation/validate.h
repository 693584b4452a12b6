// Admission checks for EventSource, Sensor and EventBus: the rules of Argo Events'
// pkg/reconciler/{eventsource,sensor,eventbus}/validate.go and of each source type's validate.go,
// plus what Argonaut adds (exactly one template type per trigger, conditions and parameters that
// name known dependencies, a parsable calendar schedule), over the typed messages of
// argonaut/events/v1/events.proto. Pure: no I/O, no clock.
//
//   argonaut::events::v1::Sensor sensor;
//   RETURN_IF_ERROR(manifest::FromJson(doc, &sensor));
//   RETURN_IF_ERROR(validation::ValidateSensor(sensor));
//
// Errors are InvalidArgument. Every problem found is reported (joined by "; "), each starting
// with the manifest path of the offending field, map keys written as lib/manifest writes them:
//   spec.triggers[0].template.http.url: required
//   spec.webhook.example.port: must be a port number 1..65535 (got "abc")
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "argonaut/events/v1/events.pb.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::events::validation {

absl::Status ValidateEventSource(const v1::EventSource& event_source);
absl::Status ValidateSensor(const v1::Sensor& sensor);
absl::Status ValidateEventBus(const v1::EventBus& event_bus);

bool IsEventsKind(absl::string_view kind);

// Decodes a manifest of one of the three kinds (by its `kind`) through lib/manifest and
// validates it. Decode errors (unknown field, wrong type) and rule violations are both
// InvalidArgument with the field path. Another kind is InvalidArgument too.
absl::Status ValidateManifest(const nlohmann::json& doc);

// The checks above as the store's resource::Validator, for the events service's ResourceApi.
// Kinds other than the three pass through unchanged.
resource::Validator EventsValidator();

// The source types an EventSource spec uses (its non-empty maps), by manifest key
// ("webhook", "redisStream", "pubSub" ...), in field order.
std::vector<std::string> SourceTypes(const v1::EventSourceSpec& spec);

// The trigger types a template sets, by manifest key ("argoWorkflow", "http", "rollout" ...).
// A valid template has exactly one.
std::vector<std::string> TriggerTypes(const v1::TriggerTemplate& tmpl);

// What the Argonaut events runtime implements. Other types are accepted by validation (they are
// Argo's API) but their listeners/triggers report "not supported" at runtime.
bool RuntimeSupportsSource(absl::string_view type);
bool RuntimeSupportsTrigger(absl::string_view type);
const std::vector<std::string>& RuntimeSourceTypes();
const std::vector<std::string>& RuntimeTriggerTypes();

// The dependency names a trigger condition refers to, in order of appearance (duplicates kept
// once). Grammar: names ([A-Za-z0-9_.-]+, Argo allows dashes) combined with `&&`, `||` and
// parentheses; `&&` binds tighter. InvalidArgument with the byte offset on anything else.
absl::StatusOr<std::vector<std::string>> ConditionNames(absl::string_view expression);

// Go's time.ParseDuration ("1h30m", "300ms", "-1.5s", "0"; units ns us µs ms s m h), which is
// how Argo reads calendar intervals and catch-up durations.
absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text);

}  // namespace argonaut::events::validation
