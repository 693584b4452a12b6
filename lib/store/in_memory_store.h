// InMemoryStore: a Store with the same semantics as RocksDbStore and no disk,
// for fast tests of components built on Store. Nothing survives destruction.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<InMemoryStore> store,
//                    InMemoryStore::Create({.kinds = {"workflows"}}));
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "lib/store/store.h"
#include "lib/store/write_plan.h"

namespace argonaut::store {

namespace internal {
class WatchHub;
}  // namespace internal

struct InMemoryStoreOptions {
  std::vector<std::string> kinds;
  // As RocksDbStoreOptions::log_retention.
  uint64_t log_retention = 100000;
};

class InMemoryStore : public internal::WriteRefStore {
 public:
  // INVALID_ARGUMENT for empty or duplicate kinds or a zero log_retention.
  static absl::StatusOr<std::unique_ptr<InMemoryStore>> Create(const InMemoryStoreOptions& options);

  InMemoryStore(const InMemoryStore&) = delete;
  InMemoryStore& operator=(const InMemoryStore&) = delete;
  // Cancels watchers: they return CANCELLED from then on.
  ~InMemoryStore() override;

  absl::StatusOr<Record> Get(std::string_view kind, std::string_view key) override;
  absl::StatusOr<std::vector<Record>> List(std::string_view kind, std::string_view prefix) override;
  uint64_t CurrentVersion() override;
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view kind, std::string_view prefix,
                                                 uint64_t from_version) override;
  // Nothing to flush.
  absl::Status Flush() override;

 private:
  // Records of one kind, in key order for List.
  using Table = std::map<std::string, Record, std::less<>>;

  explicit InMemoryStore(const InMemoryStoreOptions& options);

  absl::StatusOr<Table*> FindTable(std::string_view kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> Apply(absl::Span<const internal::WriteRef> writes) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<Event>> ReadLog(uint64_t after, size_t limit) ABSL_LOCKS_EXCLUDED(mu_);

  const uint64_t log_retention_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Table> tables_ ABSL_GUARDED_BY(mu_);
  // Events (trimmed_through_, last_version_], oldest first.
  std::deque<Event> log_ ABSL_GUARDED_BY(mu_);
  uint64_t last_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t trimmed_through_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<internal::WatchHub> hub_;
};

}  // namespace argonaut::store
