// The event bus between event sources and sensors: a durable, ordered log
// with one acknowledged offset per consumer. Two backends share this
// interface and one contract suite (bus_contract_test.h): an embedded
// RocksDB log (local.h) and NATS JetStream (jetstream.h).
//
// Delivery semantics, identical on both backends:
//  - Offsets start at 1 and grow by one per published event (the JetStream
//    stream sequence). 0 means "nothing acknowledged".
//  - A consumer is registered by its first Read or Ack, at the head of the
//    log: events published before that are not delivered to it (Argo
//    Events' DeliverNew). Its offset then survives restarts.
//  - Read returns the events after the consumer's acknowledged offset, so a
//    Read without an Ack returns the same events again: ack what has been
//    handled. At-least-once: an unacknowledged event is delivered again,
//    also after a restart; an acknowledged one never is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/events/event.h"

namespace argonaut::events::bus {

// The largest serialized event either backend accepts (Publish answers
// INVALID_ARGUMENT naming it).
inline constexpr size_t kDefaultMaxEventBytes = 1 << 20;

struct StoredEvent {
  uint64_t offset = 0;
  CloudEvent event;
};

class EventBus {  // one per EventBus object; thread-safe
 public:
  virtual ~EventBus() = default;
  // Durable when it returns OK (fsync'd / JetStream-acked): a webhook
  // answers 200 only after this. Returns the event's offset.
  virtual absl::StatusOr<uint64_t> Publish(const CloudEvent& event) = 0;
  // Events after the consumer's acknowledged offset (at-least-once), oldest
  // first, up to max, waiting until deadline for at least one (an empty
  // vector when none came).
  virtual absl::StatusOr<std::vector<StoredEvent>> Read(std::string_view consumer, size_t max,
                                                        absl::Time deadline) = 0;
  // Everything up to and including offset is done for this consumer;
  // survives restarts. An offset at or below the current one is a no-op.
  virtual absl::Status Ack(std::string_view consumer, uint64_t offset) = 0;
  // Recent events of one source (for the API's "recent events"), newest
  // last.
  virtual absl::StatusOr<std::vector<StoredEvent>> Recent(std::string_view source, size_t max) = 0;
  // Forgets a consumer (a deleted sensor), so that it no longer holds back
  // retention. NOT_FOUND is not an error here: OK either way.
  virtual absl::Status RemoveConsumer(std::string_view consumer) = 0;
};

}  // namespace argonaut::events::bus

// The backends' factories (OpenLocalBus, ConnectJetStream), so that
// including bus.h alone is enough, as the service contract has it.
#include "services/events/bus/jetstream.h"  // IWYU pragma: export
#include "services/events/bus/local.h"      // IWYU pragma: export
