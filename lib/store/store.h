// Store: durable, versioned key/value storage for one service's objects.
//
// Values are opaque bytes (callers store serialized protobuf); every record
// lives in the column family of its kind and is keyed "namespace/name"
// (cluster-scoped objects use "/name"). Every write gets the next value of a
// per-store, strictly increasing resource version; the store keeps a change
// log so that watchers see every change in order, with no gaps, and can resume
// from any version still in the log after a reconnect.
//
//   auto store = RocksDbStore::Open({.path = dir, .kinds = {"workflows"}});
//   ASSIGN_OR_RETURN(uint64_t rv, (*store)->Put("workflows", "default/a", bytes, kMustNotExist));
//   ASSIGN_OR_RETURN(Record r, (*store)->Get("workflows", "default/a"));
//
// Thread safety: every method may be called from any thread.
// Durability: a write that returned OK survives a SIGKILL of the process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::store {

// Passed as expected_version: the write succeeds only if the key is absent.
inline constexpr uint64_t kMustNotExist = 0;

struct Record {
  std::string key;
  std::string value;
  // Version of the write that produced this value.
  uint64_t resource_version = 0;
};

enum class EventType { kPut, kDelete };

struct Event {
  EventType type = EventType::kPut;
  // For kPut: true when the write created the key (Kubernetes' ADDED),
  // false when it replaced a value (MODIFIED).
  bool created = false;
  std::string kind;
  // For kDelete, value holds the last value before deletion and
  // resource_version is the version of the delete itself.
  Record record;
};

// One write of an atomic batch.
struct Write {
  std::string kind;
  std::string key;
  // nullopt deletes the key.
  std::optional<std::string> value;
  // nullopt: unconditional. kMustNotExist: the key must be absent.
  // N: the key's current version must be N, else the batch fails with ABORTED.
  std::optional<uint64_t> expected_version;
};

// A cursor over the change log, created by Store::Watch.
class Watcher {
 public:
  virtual ~Watcher() = default;
  // Returns the next events in version order, blocking until at least one is
  // available or `deadline` passes (then an empty vector). OUT_OF_RANGE when
  // the log no longer holds the watcher's position (the caller must re-list,
  // as with Kubernetes' 410 Gone); CANCELLED after Cancel() or store close.
  virtual absl::StatusOr<std::vector<Event>> Next(absl::Time deadline) = 0;
  // Wakes a blocked Next() and makes every later call return CANCELLED.
  virtual void Cancel() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // NOT_FOUND if absent; INVALID_ARGUMENT for a kind the store was not opened with.
  virtual absl::StatusOr<Record> Get(std::string_view kind, std::string_view key) = 0;

  // Returns the new resource version. ALREADY_EXISTS when expected_version is
  // kMustNotExist and the key exists; ABORTED when it names another version;
  // NOT_FOUND when it names a version and the key is absent.
  virtual absl::StatusOr<uint64_t> Put(std::string_view kind, std::string_view key,
                                       std::string_view value,
                                       std::optional<uint64_t> expected_version) = 0;

  // Returns the resource version of the deletion. NOT_FOUND if absent.
  virtual absl::StatusOr<uint64_t> Delete(std::string_view kind, std::string_view key,
                                          std::optional<uint64_t> expected_version) = 0;

  // Applies every write or none. Each write gets its own consecutive version;
  // returns the last one.
  virtual absl::StatusOr<uint64_t> Commit(const std::vector<Write>& writes) = 0;

  // Records of `kind` whose key starts with `prefix`, in key order. Use
  // "namespace/" to list one namespace.
  virtual absl::StatusOr<std::vector<Record>> List(std::string_view kind,
                                                   std::string_view prefix) = 0;

  // The version of the latest write (0 for an empty store).
  virtual uint64_t CurrentVersion() = 0;

  // Events of `kind` (empty: every kind) with version > from_version whose key
  // starts with `prefix`. OUT_OF_RANGE if from_version is older than the log.
  virtual absl::StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view kind,
                                                         std::string_view prefix,
                                                         uint64_t from_version) = 0;

  // Flushes memtables to disk (called on graceful shutdown).
  virtual absl::Status Flush() = 0;
};

}  // namespace argonaut::store
