// The NATS JetStream event bus, for users who outgrow one machine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/events/bus/bus.h"

namespace argonaut::events::bus {

struct JetStreamOptions {
  std::string url = "nats://127.0.0.1:4222";
  // One stream per bus, subjects "<stream>.<source>.<event>" (Argo: the
  // stream "default" with "default.*.*").
  std::string stream = "default";
  // Stream limits, Argo's defaults (controller ConfigMap); retention is
  // JetStream's Limits policy: old events go regardless of acks.
  int64_t max_msgs = 50000;
  int64_t max_bytes = -1;
  absl::Duration max_age = absl::Hours(168);
  absl::Duration duplicates = absl::Seconds(300);  // Nats-Msg-Id = event id
  int replicas = 1;
  size_t max_event_bytes = kDefaultMaxEventBytes;
  // Unacknowledged messages are redelivered by the server after this; a
  // bus closed cleanly hands its unacknowledged messages back at once.
  absl::Duration ack_wait = absl::Seconds(60);
  absl::Duration timeout = absl::Seconds(5);  // connect / publish / ack
  // Recent() walks the stream backwards this many messages at most.
  uint64_t recent_scan_limit = 2000;
};

// Connects, creates or updates the stream, and returns the bus.
absl::StatusOr<std::unique_ptr<EventBus>> ConnectJetStream(const JetStreamOptions& options);

}  // namespace argonaut::events::bus
