// Hand-written byte formats of the RocksDB store (internal to lib/store).
//
// There is no protoc wiring inside lib/store, so the formats are small,
// length-prefixed and versioned by a leading format byte so that they can
// evolve without a migration of old data.
//
//   log key:      8-byte big-endian resource version
//   record value: [format=1][8-byte big-endian version][value bytes]
//   log value:    [format=1][event type][u32 kind length][kind][u32 key length][key][value bytes]
//
// u32 lengths are little-endian. For a delete, the log value carries the last
// value before deletion, as Event documents.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/store/store.h"

namespace argonaut::store::internal {

// Big-endian so that RocksDB's bytewise order is numeric order.
std::string EncodeVersion(uint64_t version);
// DATA_LOSS unless `bytes` is exactly 8 bytes.
absl::StatusOr<uint64_t> DecodeVersion(std::string_view bytes);

std::string EncodeRecordValue(uint64_t version, std::string_view value);

struct RecordValue {
  uint64_t version = 0;
  // Points into the decoded buffer.
  std::string_view value;
};
absl::StatusOr<RecordValue> DecodeRecordValue(std::string_view bytes);

// `created` is recorded for puts (a distinct type byte), ignored for deletes.
std::string EncodeLogEntry(EventType type, bool created, std::string_view kind,
                           std::string_view key, std::string_view value);
// `version` is the log key; it becomes the event's resource_version.
absl::StatusOr<Event> DecodeLogEntry(uint64_t version, std::string_view bytes);

}  // namespace argonaut::store::internal
