// Helpers shared by the trigger executors.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {

// Argo's Backoff {duration, factor, jitter, steps}: duration a Go duration
// string ("10s") or an integer of nanoseconds (Go's time.Duration).
struct Backoff {
  absl::Duration duration = absl::Seconds(1);
  double factor = 1;
  double jitter = 0;
  int steps = 1;
};
absl::StatusOr<Backoff> ParseBackoff(const nlohmann::json& backoff, const std::string& field);
// The wait before attempt `attempt` (1-based retry number), jitter applied
// from `rand01` in [0, 1).
absl::Duration BackoffDelay(const Backoff& b, int attempt, double rand01);

// Sleeps on the injected clock (the real one when null).
void SleepFor(controller::Clock* clock, absl::Duration d);

// source.resource with the type-level parameters applied.
absl::StatusOr<nlohmann::json> ResolveResource(const FireRequest& request,
                                               const nlohmann::json& spec, const char* type);

// policy.status.allow (http.cc).
absl::Status CheckStatusPolicy(const nlohmann::json& trigger, int status);

// policy.k8s: polls `get` until the object's labels contain policy.k8s.labels,
// with policy.k8s.backoff between polls; on exhaustion an error only when
// errorOnBackoffTimeout.
absl::Status WaitForK8sPolicy(const nlohmann::json& trigger, controller::Clock* clock,
                              const std::function<absl::StatusOr<nlohmann::json>()>& get);

}  // namespace argonaut::events::sensors
