// Where an Application deploys: the destination check (only the cluster this
// service runs against is served) and reading the app's live objects there.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/cluster/cluster.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd {

// OK when spec.destination names the in-cluster destination
// (server https://kubernetes.default.svc or name in-cluster); otherwise
// INVALID_ARGUMENT saying which destination is not served, so nothing is
// ever written to a cluster the user did not mean.
absl::Status CheckDestination(const nlohmann::json& app);

// spec.destination.namespace ("" when absent).
std::string DestinationNamespace(const nlohmann::json& app);

// (group, kind) of the objects an app manages.
using KindSet = std::set<std::pair<std::string, std::string>>;

// The kinds of `objects` (manifests, or status.resources entries with
// group/kind fields) added to `kinds`.
void AddKinds(const std::vector<nlohmann::json>& manifests, KindSet& kinds);
void AddStatusKinds(const nlohmann::json& resources, KindSet& kinds);

// Every object of `kinds`, in any namespace, that belongs to the app (its
// instance label, then engine::BelongsTo). A kind the cluster does not serve
// has no objects. `served`, when given, receives the kinds that were listed.
absl::StatusOr<std::vector<nlohmann::json>> ListLive(cluster::Cluster& cluster,
                                                     std::string_view app_name,
                                                     const KindSet& kinds,
                                                     KindSet* served = nullptr);

}  // namespace argonaut::cd
