#include "lib/cluster/garbage_collector.h"

#include <set>
#include <string>

#include "lib/base/log.h"

namespace argonaut::cluster {
namespace {

// Which kinds can be owned by which: the chains the local controllers create.
const std::vector<std::string>& DependentKinds(const std::string& owner_kind) {
  static const auto* kNone = new std::vector<std::string>{};
  static const auto* kOfDeployment = new std::vector<std::string>{"ReplicaSet"};
  static const auto* kOfPodOwner = new std::vector<std::string>{"Pod"};
  if (owner_kind == "Deployment") return *kOfDeployment;
  if (owner_kind == "ReplicaSet" || owner_kind == "Job") return *kOfPodOwner;
  return *kNone;
}

bool OwnedBy(const Object& o, const std::string& uid) {
  const Object& meta = o.value("metadata", Object::object());
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return false;
  for (const Object& ref : meta["ownerReferences"]) {
    if (ref.is_object() && ref.value("uid", "") == uid) return true;
  }
  return false;
}

}  // namespace

void GarbageCollector::Start() {
  Sweep();
  for (const char* kind : {"Deployment", "ReplicaSet", "Job"}) {
    auto informer =
        std::make_unique<Informer>(cluster_->api(), kind, [this](const WatchEvent& event) {
          if (event.type == "DELETED") DeleteDependents(event.object);
        });
    informer->Start();
    informers_.push_back(std::move(informer));
  }
}

void GarbageCollector::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
}

void GarbageCollector::DeleteDependents(const Object& owner) {
  const std::string uid = UidOf(owner);
  if (uid.empty()) return;
  for (const std::string& kind : DependentKinds(KindOf(owner))) {
    absl::StatusOr<std::vector<Object>> items = cluster_->List(kind, NamespaceOf(owner), "");
    if (!items.ok()) continue;
    for (const Object& item : *items) {
      if (!OwnedBy(item, uid)) continue;
      absl::Status s = cluster_->Delete(kind, NamespaceOf(item), NameOf(item));
      if (!s.ok() && !absl::IsNotFound(s)) {
        LogWarn("gc", "delete failed", {{"object", KeyOf(item)}, {"error", s.ToString()}});
      }
    }
  }
}

void GarbageCollector::Sweep() {
  // Owners that exist now, by uid; a dependent whose controller owner is not
  // among them was orphaned while the runtime was down.
  std::set<std::string> owners;
  for (const char* kind : {"Deployment", "ReplicaSet", "Job"}) {
    absl::StatusOr<std::vector<Object>> items = cluster_->List(kind, "", "");
    if (!items.ok()) return;  // never sweep on a partial view
    for (const Object& o : *items) owners.insert(UidOf(o));
  }
  for (const char* kind : {"ReplicaSet", "Pod"}) {
    absl::StatusOr<std::vector<Object>> items = cluster_->List(kind, "", "");
    if (!items.ok()) return;
    for (const Object& o : *items) {
      const Object& refs = o.value("metadata", Object::object()).value("ownerReferences", Object());
      if (!refs.is_array()) continue;
      for (const Object& ref : refs) {
        const std::string owner_kind = ref.is_object() ? ref.value("kind", "") : "";
        if (owner_kind != "Deployment" && owner_kind != "ReplicaSet" && owner_kind != "Job") {
          continue;
        }
        if (owners.count(ref.value("uid", "")) == 0) {
          (void)cluster_->Delete(kind, NamespaceOf(o), NameOf(o));
          break;
        }
      }
    }
  }
}

}  // namespace argonaut::cluster
