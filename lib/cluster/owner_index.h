// OwnerIndex: the keys ("namespace/name") of one kind's objects, by the uid of
// their controller owner (the ownerReference with controller: true), fed by an
// informer. The workload controllers read their dependents through it instead
// of listing the whole namespace on every reconcile: a ReplicaSet's reconcile
// then costs its own pods, not every pod of the namespace (which made the cost
// of a rollout grow with the number of pods, i.e. quadratic in total).
//
// It only says which keys to read: callers Get each key from the store, so a
// key that is stale (deleted, or re-owned since) costs one NOT_FOUND or one
// ownership check, never a wrong decision. A key it lacks is a dependent the
// informer has not delivered yet; controllers Add what they create themselves,
// so their own writes are visible to their next reconcile at once.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"

namespace argonaut::cluster {

class OwnerIndex {
 public:
  // ADDED/MODIFIED record the object's current controller owner (moving the
  // key if it changed); DELETED forgets the key.
  void Observe(const WatchEvent& event);
  // Records an object this process has just written (the store's answer).
  void Add(const Object& object);

  // Keys in namespace `ns` whose controller owner has `owner_uid`, sorted
  // (the store's own key order).
  std::vector<std::string> KeysOwnedBy(std::string_view ns, std::string_view owner_uid) const;
  // Every key in `ns` whose name starts with `name_prefix`, sorted.
  std::vector<std::string> KeysWithNamePrefix(std::string_view ns,
                                              std::string_view name_prefix) const;

 private:
  void RemoveLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Every known key, sorted: prefix ranges.
  std::set<std::string> keys_ ABSL_GUARDED_BY(mu_);
  // key -> controller owner uid (absent: no controller owner).
  absl::flat_hash_map<std::string, std::string> owner_of_ ABSL_GUARDED_BY(mu_);
  // owner uid -> its keys.
  absl::flat_hash_map<std::string, std::set<std::string>> owned_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::cluster
