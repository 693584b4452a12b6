// The embedded event bus: a RocksDB log inside the events service.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/events/bus/bus.h"

namespace argonaut::events::bus {

// Retention: the oldest events are deleted while the log is over
// max_events, max_bytes or max_age, but only those every registered
// consumer has acknowledged. Past hard_max_events / hard_max_bytes the
// oldest go even when unacknowledged (a consumer that stopped reading must
// not fill the disk); each such event is counted in
// LocalBusStats::dropped_unacked and logged.
struct LocalBusOptions {
  uint64_t max_events = 50000;  // Argo's JetStream default maxMsgs
  uint64_t max_bytes = 256ull << 20;
  absl::Duration max_age = absl::Hours(168);  // Argo's maxAge
  uint64_t hard_max_events = 1000000;
  uint64_t hard_max_bytes = 2ull << 30;
  size_t max_event_bytes = kDefaultMaxEventBytes;
  // Bounds one Read's memory whatever `max` asks (at least one event).
  size_t max_read_bytes = 16 << 20;
  // fsync the write-ahead log before Publish/Ack return. Off only in
  // benchmarks that measure the cost.
  bool fsync = true;
};

struct LocalBusStats {
  uint64_t first_offset = 0;   // oldest retained (0: empty)
  uint64_t last_offset = 0;    // newest published
  uint64_t bytes = 0;          // retained serialized bytes
  uint64_t group_commits = 0;  // synced writes: < publishes when grouped
  uint64_t publishes = 0;
  uint64_t retained_deleted = 0;  // dropped by the soft limits (all acked)
  uint64_t dropped_unacked = 0;   // dropped past a hard cap
};

// Opens (creating if missing) the log in `dir`. One process at a time
// (RocksDB's LOCK file).
absl::StatusOr<std::unique_ptr<EventBus>> OpenLocalBus(const std::string& dir,
                                                       LocalBusOptions options = {});

// Counters of a bus returned by OpenLocalBus (zeros for another bus).
LocalBusStats GetLocalBusStats(const EventBus& bus);

}  // namespace argonaut::events::bus
