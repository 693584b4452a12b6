// EventSourceRunner: runs every listener of one EventSource object (webhook,
// calendar, file, resource, brokers) and publishes what they hear as
// CloudEvents through `Publish`, after the source's `filter.expression`.
//
//   ASSIGN_OR_RETURN(auto runner, EventSourceRunner::Start(es, [&](CloudEvent e) {
//     return bus->Publish(e).status();
//   }, {.cluster = cluster, .clock = clock, .metrics = metrics}));
//   ... runner->Status() ...   // conditions + per-listener state
//   runner->Stop();            // or destroy it
//
// A spec change is handled by the caller: Stop the runner and Start a new one.
// Webhook listeners on one port share one HTTP server (inside this library,
// across runners), routed by endpoint, so two EventSources may use one port.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"
#include "services/events/event.h"

namespace argonaut::events::sources {

// Hands one event to the bus; returns once it is durable (a webhook answers
// 200 only after that). An error answers 500 / counts a failed send.
using Publish = std::function<absl::Status(CloudEvent)>;

struct SourceContext {
  cluster::Cluster* cluster = nullptr;          // resource sources; null: refused
  controller::Clock* clock = nullptr;           // null: the real clock
  metrics::MetricsRegistry* metrics = nullptr;  // null: no metrics
  // Where webhook-style listeners bind.
  std::string webhook_host = "127.0.0.1";
  // Requests of one port waiting on Publish at once; beyond that a webhook
  // answers 503 with Retry-After (taken from the first listener of a port).
  int webhook_max_in_flight = 64;
};

class Listener;

class EventSourceRunner {
 public:
  // Starts every listener. Errors that concern the whole object (no name, no
  // source at all) fail Start with INVALID_ARGUMENT; so does a source type
  // this build does not support ("spec.<type>: source type not supported"),
  // or a listener whose config is wrong or that cannot start (a port in use),
  // naming the field: then nothing is left running. A broker that is down is
  // not a Start error: that listener reports `error` and keeps reconnecting.
  static absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(
      const nlohmann::json& event_source, Publish publish, SourceContext ctx);

  // The status to write to the EventSource:
  //   {"conditions": [{type: SourcesProvided|Deployed, status: "True"|"False",
  //                    reason, message, lastTransitionTime}],
  //    "listeners": [{type, name, state: listening|error|stopped, message,
  //                   eventsSent, eventsFailed, lastEventTime}]}
  nlohmann::json Status() const;

  // Stops every listener; in-flight requests finish first. Idempotent.
  void Stop();

  // The status an EventSource gets when Start fails, for the caller to write.
  static nlohmann::json FailedStatus(const nlohmann::json& event_source, const absl::Status& error,
                                     absl::Time now);

  ~EventSourceRunner();
  EventSourceRunner(const EventSourceRunner&) = delete;
  EventSourceRunner& operator=(const EventSourceRunner&) = delete;

 private:
  EventSourceRunner() = default;

  std::string name_;
  absl::Time started_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Listener>> listeners_;
};

}  // namespace argonaut::events::sources
