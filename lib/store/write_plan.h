// Write validation shared by every Store implementation (internal to lib/store),
// so that preconditions and error codes are identical in memory and on disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/store/store.h"

namespace argonaut::store::internal {

// A Write that borrows its strings, so that Put and Delete need not copy values.
struct WriteRef {
  std::string_view kind;
  std::string_view key;
  std::optional<std::string_view> value;
  std::optional<uint64_t> expected_version;
};

// A write whose precondition held, with the version it is assigned.
struct PlannedWrite {
  std::string_view kind;
  std::string_view key;
  // nullopt deletes the key.
  std::optional<std::string_view> value;
  uint64_t version = 0;
  // For a put: whether the key was absent before this write.
  bool created = false;
  // For a delete: the value being deleted, which the delete event carries.
  std::string previous_value;
};

// The current record of a key (nullopt if absent); INVALID_ARGUMENT for an unknown kind.
using RecordLookup = absl::FunctionRef<absl::StatusOr<std::optional<Record>>(std::string_view kind,
                                                                             std::string_view key)>;

// Checks the preconditions as if the writes were applied one at a time, so a
// later write in a batch sees the effect of an earlier one, and assigns
// consecutive versions after `last_version`. The result borrows from `writes`.
// The caller must hold its writer lock across planning and applying.
absl::StatusOr<std::vector<PlannedWrite>> PlanWrites(absl::Span<const WriteRef> writes,
                                                     uint64_t last_version, RecordLookup lookup);

// The change-log event a planned write becomes (a delete carries the value
// it removed). Consumes `p.previous_value`.
Event EventOf(PlannedWrite& p);

absl::Status UnknownKindError(std::string_view kind);

// The write half of Store shared by every implementation: Put, Delete and
// Commit all become one call of Apply over borrowed writes, so that the
// implementations differ only in how they apply a planned batch.
class WriteRefStore : public Store {
 public:
  absl::StatusOr<uint64_t> Put(std::string_view kind, std::string_view key, std::string_view value,
                               std::optional<uint64_t> expected_version) final;
  absl::StatusOr<uint64_t> Delete(std::string_view kind, std::string_view key,
                                  std::optional<uint64_t> expected_version) final;
  absl::StatusOr<uint64_t> Commit(const std::vector<Write>& writes) final;

 protected:
  // Checks and applies `writes` atomically; returns the last version.
  virtual absl::StatusOr<uint64_t> Apply(absl::Span<const WriteRef> writes) = 0;
};

// Rejects empty, duplicate and `reserved` kind names.
absl::Status ValidateKinds(const std::vector<std::string>& kinds,
                           absl::Span<const std::string_view> reserved);

// How many of the oldest log entries must go so that at most `retention`
// remain, given the log holds (trimmed_through, last_version].
inline uint64_t TrimTarget(uint64_t last_version, uint64_t trimmed_through, uint64_t retention) {
  const uint64_t target = last_version > retention ? last_version - retention : 0;
  return target > trimmed_through ? target : trimmed_through;
}

}  // namespace argonaut::store::internal
