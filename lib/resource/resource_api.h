// ResourceApi: the create/get/list/update/delete/watch semantics every
// service offers for the kinds it owns, independent of gRPC.
//
// Objects come in and go out as manifest JSON. On the way in they are decoded
// into the kind's protobuf message through lib/manifest (so unknown fields and
// wrong types are rejected with their path), defaulted the way Kubernetes
// does (namespace, name from generateName, uid, creationTimestamp) and stored
// as serialized protobuf in the kind's column family. metadata.resourceVersion
// is never stored inside the value: it is the store's version of the record
// and is filled in on every read.
//
//   ResourceApi api(store.get(), KindsOfService("workflow"));
//   ASSIGN_OR_RETURN(std::string json, api.Create("wf", manifest_json, /*upsert=*/false));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "lib/resource/kinds.h"
#include "lib/store/store.h"
#include "nlohmann/json.hpp"

namespace argonaut::resource {

struct WatchEventOut {
  std::string type;  // ADDED, MODIFIED, DELETED
  // The object as manifest JSON; in-process consumers use it as is, without
  // a round trip through text.
  nlohmann::json object;
  std::string Json() const;
  uint64_t resource_version = 0;
  std::string key;  // namespace/name in the store
};

class ObjectWatcher {
 public:
  virtual ~ObjectWatcher() = default;
  // Blocks until events arrive or the deadline passes (empty result).
  virtual absl::StatusOr<std::vector<WatchEventOut>> Next(absl::Time deadline) = 0;
  virtual void Cancel() = 0;
};

// Extra per-kind validation run on create and update after decoding, e.g.
// the workflow service's spec checks. May also fill defaults.
using Validator =
    std::function<absl::Status(const KindInfo& kind, google::protobuf::Message& object)>;

// What a kind's objects look like in the store, when that differs from what
// callers see (Secret values sealed at rest): applied to the message just
// before it is serialized for the store, and just after a stored value is
// parsed, so every read (Get, List, Watch, in-process callers) sees the
// object as written.
class AtRestTransform {
 public:
  virtual ~AtRestTransform() = default;
  // `object` is a copy that is serialized and stored; callers keep the
  // original. Its metadata (namespace, name) is final.
  virtual absl::Status Seal(const KindInfo& kind, google::protobuf::Message& object) const = 0;
  // Must accept what was stored before the transform existed (as is).
  virtual absl::Status Open(const KindInfo& kind, google::protobuf::Message& object) const = 0;
};

class ResourceApi {
 public:
  ResourceApi(store::Store* store, std::vector<const KindInfo*> kinds, Validator validator = {});

  // Installs `transform` for `kind` (one of this API's kinds). Call before
  // any other method: the transforms are read without a lock.
  absl::Status SetAtRestTransform(std::string_view kind,
                                  std::shared_ptr<const AtRestTransform> transform);

  // Store column families needed for `kinds`.
  static std::vector<std::string> ColumnFamilies(const std::vector<const KindInfo*>& kinds);

  // With upsert, an existing object is replaced (kubectl apply).
  absl::StatusOr<std::string> Create(std::string_view kind, std::string_view json, bool upsert);
  absl::StatusOr<std::string> Get(std::string_view kind, std::string_view ns,
                                  std::string_view name);
  // Get and List as JSON values, for in-process callers.
  absl::StatusOr<nlohmann::json> GetObject(std::string_view kind, std::string_view ns,
                                           std::string_view name);
  absl::StatusOr<std::vector<nlohmann::json>> ListObjects(std::string_view kind,
                                                          std::string_view ns,
                                                          std::string_view label_selector);
  // Items in key order plus the store version the list reflects.
  absl::StatusOr<std::pair<std::vector<std::string>, uint64_t>> List(
      std::string_view kind, std::string_view ns, std::string_view label_selector);
  // The object must exist. A non-empty metadata.resourceVersion must match.
  absl::StatusOr<std::string> Update(std::string_view kind, std::string_view json);
  // Create, Update and UpdateStatus over JSON values, for in-process callers
  // (controllers, the local kubelet): no round trip through text. Each
  // returns the object as stored.
  absl::StatusOr<nlohmann::json> CreateObject(std::string_view kind, nlohmann::json object,
                                              bool upsert);
  absl::StatusOr<nlohmann::json> UpdateObject(std::string_view kind, nlohmann::json object);
  absl::StatusOr<nlohmann::json> UpdateStatusObject(std::string_view kind, nlohmann::json object);
  // Writes only the status of a kind with a status subresource; the stored
  // spec and metadata stay. A non-empty metadata.resourceVersion must match.
  absl::StatusOr<std::string> UpdateStatus(std::string_view kind, std::string_view json);
  absl::Status Delete(std::string_view kind, std::string_view ns, std::string_view name,
                      std::string_view resource_version);
  // Starting from version 0 first replays the current objects as ADDED.
  absl::StatusOr<std::unique_ptr<ObjectWatcher>> Watch(std::string_view kind, std::string_view ns,
                                                       std::string_view label_selector,
                                                       std::string_view resource_version);

  // Typed access for controllers in the same service.
  absl::StatusOr<const KindInfo*> Resolve(std::string_view kind) const;
  // Decodes a stored value and fills metadata.resourceVersion.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Decode(const KindInfo& kind,
                                                                    const store::Record& record);
  // A stored version of an object as JSON, with its labels for selectors.
  struct Decoded {
    nlohmann::json object;
    std::map<std::string, std::string> labels;
  };
  // The JSON of a stored record, decoded once per version: every watcher of
  // a kind and every List reads the same records, and the writer has usually
  // left the JSON behind already.
  absl::StatusOr<std::shared_ptr<const Decoded>> DecodeJson(const KindInfo& kind,
                                                            const store::Record& record);

 private:
  struct CacheEntry {
    uint64_t resource_version = 0;
    size_t bytes = 0;
    std::shared_ptr<const Decoded> decoded;
  };

  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Parse(const KindInfo& kind,
                                                                   std::string_view json);
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseDoc(const KindInfo& kind,
                                                                      nlohmann::json doc);
  absl::StatusOr<nlohmann::json> CreateParsed(const KindInfo& kind,
                                              const google::protobuf::Message& object, bool upsert);
  // Replaces the stored object (update semantics).
  absl::StatusOr<nlohmann::json> Replace(const KindInfo& kind,
                                         const google::protobuf::Message& object);
  absl::Status DeleteIfFinalized(const KindInfo& kind, const nlohmann::json& written);
  // Replaces only the status of the stored object with that of `object`.
  absl::StatusOr<nlohmann::json> WriteStatusOf(const KindInfo& kind,
                                               const google::protobuf::Message& object);
  // Checks a create or replace of `object` against the stored one, fills the
  // fields that survive replacement, and returns the write's precondition.
  absl::StatusOr<std::optional<uint64_t>> PrepareWrite(const KindInfo& kind,
                                                       google::protobuf::Message& object,
                                                       bool upsert, bool must_exist,
                                                       uint64_t given_rv, const std::string& key);
  // Writes `object` and returns it as stored, as JSON (also remembered for
  // readers of that version).
  absl::StatusOr<nlohmann::json> Write(const KindInfo& kind, google::protobuf::Message& object,
                                       bool upsert, bool must_exist, bool status_write = false);
  std::shared_ptr<const Decoded> Remember(const KindInfo& kind, const std::string& key,
                                          uint64_t resource_version, size_t bytes,
                                          nlohmann::json object);

  // The stored bytes of `object` (sealed when its kind has a transform).
  absl::Status Serialize(const KindInfo& kind, const google::protobuf::Message& object,
                         std::string* bytes) const;

  store::Store* store_;
  std::vector<const KindInfo*> kinds_;
  Validator validator_;
  // By KindInfo::plural; set before use, then only read.
  absl::flat_hash_map<std::string, std::shared_ptr<const AtRestTransform>> at_rest_;

  // The latest decoded version of each object, bounded by the stored bytes
  // it stands for; cleared as a whole when over the bound.
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, CacheEntry> cache_ ABSL_GUARDED_BY(cache_mu_);
  size_t cache_bytes_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

// Key of an object in the store: "namespace/name", or "/name" when cluster-scoped.
std::string ObjectKey(std::string_view ns, std::string_view name);

}  // namespace argonaut::resource
