// Argo CD's ApplicationTree (GET .../resource-tree) built from what the app manages
// (status.resources), their live objects and the objects those own (ReplicaSets of a Deployment,
// Pods of a ReplicaSet), linked by ownerReferences. Pure.
#pragma once

#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::cd::api {

// `live`: live objects of the managed resources (any order; absent ones are simply missing);
// `owned`: candidate children (kept when an ownerReference points at a node already in the tree,
// transitively). Nodes are sorted by group, kind, namespace, name.
nlohmann::json BuildResourceTree(const nlohmann::json& app, const std::vector<nlohmann::json>& live,
                                 const std::vector<nlohmann::json>& owned);

}  // namespace argonaut::cd::api
