#include "lib/cluster/owner_index.h"

#include "lib/cluster/api_cluster.h"

namespace argonaut::cluster {
namespace {

// The uid of the first ownerReference with controller: true, as
// workloads::ControllerRef picks it; "" if there is none.
std::string ControllerUid(const Object& o) {
  if (!o.is_object()) return "";
  auto meta = o.find("metadata");
  if (meta == o.end() || !meta->is_object()) return "";
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return "";
  for (const Object& r : *refs) {
    if (!r.is_object()) continue;
    auto c = r.find("controller");
    if (c == r.end() || !c->is_boolean() || !c->get<bool>()) continue;
    auto uid = r.find("uid");
    return uid != r.end() && uid->is_string() ? uid->get<std::string>() : "";
  }
  return "";
}

}  // namespace

void OwnerIndex::Observe(const WatchEvent& event) {
  if (event.type == "DELETED") {
    absl::MutexLock lock(&mu_);
    RemoveLocked(KeyOf(event.object));
    return;
  }
  Add(event.object);
}

void OwnerIndex::Add(const Object& object) {
  const std::string key = KeyOf(object);
  const std::string uid = ControllerUid(object);
  absl::MutexLock lock(&mu_);
  auto it = owner_of_.find(key);
  if (it != owner_of_.end() && it->second == uid) return;
  RemoveLocked(key);
  keys_.insert(key);
  if (uid.empty()) return;
  owner_of_[key] = uid;
  owned_[uid].insert(key);
}

void OwnerIndex::RemoveLocked(const std::string& key) {
  keys_.erase(key);
  auto it = owner_of_.find(key);
  if (it == owner_of_.end()) return;
  auto owned = owned_.find(it->second);
  if (owned != owned_.end()) {
    owned->second.erase(key);
    if (owned->second.empty()) owned_.erase(owned);
  }
  owner_of_.erase(it);
}

std::vector<std::string> OwnerIndex::KeysOwnedBy(std::string_view ns,
                                                 std::string_view owner_uid) const {
  std::vector<std::string> out;
  if (owner_uid.empty()) return out;
  const std::string prefix = std::string(ns) + "/";
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(std::string(owner_uid));
  if (it == owned_.end()) return out;
  for (const std::string& key : it->second) {
    if (key.starts_with(prefix)) out.push_back(key);
  }
  return out;
}

std::vector<std::string> OwnerIndex::KeysWithNamePrefix(std::string_view ns,
                                                        std::string_view name_prefix) const {
  const std::string prefix = std::string(ns) + "/" + std::string(name_prefix);
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  for (auto it = keys_.lower_bound(prefix); it != keys_.end() && it->starts_with(prefix); ++it) {
    out.push_back(*it);
  }
  return out;
}

}  // namespace argonaut::cluster
