// The identity of a Kubernetes object as Argo CD matches targets with live
// objects: group, kind, namespace and name (no version: apps/v1 and
// apps/v1beta2 name the same object).
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace argonaut::cd::engine {

struct ResourceKey {
  std::string group, kind, ns, name;
  auto operator<=>(const ResourceKey&) const = default;
  // "group/kind/namespace/name" (empty parts stay empty: "/Service/default/web").
  std::string ToString() const;
};

// "apps/v1" -> "apps", "v1" -> "".
std::string GroupOf(std::string_view api_version);
// "apps/v1" -> "v1", "v1" -> "v1".
std::string VersionOf(std::string_view api_version);

// The key of a manifest or live object; missing fields give empty parts.
ResourceKey KeyOf(const nlohmann::json& obj);

// False for the cluster-scoped kinds Argo CD's users meet (Namespace, Node,
// PersistentVolume, StorageClass, ClusterRole(Binding), CRDs, webhooks,
// PriorityClass, ClusterWorkflowTemplate, ClusterAnalysisTemplate, ...);
// true for everything else, as an unknown CRD is most likely namespaced.
bool IsNamespacedKind(std::string_view group, std::string_view kind);

}  // namespace argonaut::cd::engine
