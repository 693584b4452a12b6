// Runs one Sensor: reads the event bus as its own consumer, matches events to
// dependencies, filters and transforms them, evaluates trigger conditions and
// fires triggers with their parameters applied (Argo Events' sensor loop).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/events/bus/bus.h"
#include "services/events/sensors/triggers/trigger.h"  // TriggerContext

namespace argonaut::events::sensors {

class SensorRunner {
 public:
  // Reads the bus as consumer "<sensor uid>" (the name when there is no uid),
  // evaluates dependencies/filters/conditions and fires triggers. Refuses a
  // sensor whose dependencies, filters or triggers do not parse, naming the
  // field.
  static absl::StatusOr<std::unique_ptr<SensorRunner>> Start(const nlohmann::json& sensor,
                                                             bus::EventBus* bus,
                                                             TriggerContext ctx);
  virtual ~SensorRunner() = default;

  // {"dependencies": {<name>: {"lastEvent": <CloudEvent JSON>, "time": ...}},
  //  "triggers": {<name>: {"lastResult": "Succeeded"|"Failed", "lastError": ..,
  //  "time": .., "fired": N, "failed": N}}}
  virtual nlohmann::json Status() const = 0;
  // Queues `event` to be processed again by this sensor alone, as if read
  // from the bus but without the duplicate-id check and without moving the
  // sensor's acknowledged offset. Returns once queued.
  virtual absl::Status Replay(const bus::StoredEvent& event) = 0;
  // Stops the reader; returns once no trigger runs any more. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace argonaut::events::sensors
