#include "services/cd/destination.h"

#include "absl/strings/str_cat.h"
#include "lib/base/json_fields.h"
#include "services/cd/engine/tracking.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd {
namespace {

using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

std::string GroupOfApiVersion(const std::string& api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

}  // namespace

absl::Status CheckDestination(const json& app) {
  const json& dest = Field(Field(app, "spec"), "destination");
  const std::string server = Str(dest, "server");
  const std::string name = Str(dest, "name");
  if (!server.empty()) {
    if (server == validation::kInClusterServer) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.destination.server: cluster '", server,
        "' is not configured: this service deploys only to the in-cluster destination ",
        validation::kInClusterServer, " (name ", validation::kInClusterName, ")"));
  }
  if (name == validation::kInClusterName) return absl::OkStatus();
  if (name.empty()) {
    return absl::InvalidArgumentError("spec.destination: server or name is required");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("spec.destination.name: there are no clusters with this name: ", name,
                   " (this service deploys only to the in-cluster destination ",
                   validation::kInClusterServer, ", name ", validation::kInClusterName, ")"));
}

std::string DestinationNamespace(const json& app) {
  return Str(Field(Field(app, "spec"), "destination"), "namespace");
}

void AddKinds(const std::vector<json>& manifests, KindSet& kinds) {
  for (const json& m : manifests) {
    const std::string kind = Str(m, "kind");
    if (!kind.empty()) kinds.emplace(GroupOfApiVersion(Str(m, "apiVersion")), kind);
  }
}

void AddStatusKinds(const json& resources, KindSet& kinds) {
  if (!resources.is_array()) return;
  for (const json& r : resources) {
    const std::string kind = Str(r, "kind");
    if (!kind.empty()) kinds.emplace(Str(r, "group"), kind);
  }
}

absl::StatusOr<std::vector<json>> ListLive(cluster::Cluster& cluster, std::string_view app_name,
                                           const KindSet& kinds, KindSet* served) {
  std::vector<json> out;
  const std::string selector = absl::StrCat(engine::kInstanceLabel, "=", std::string(app_name));
  for (const auto& [group, kind] : kinds) {
    absl::StatusOr<std::vector<json>> listed = cluster.List(kind, "", selector);
    if (absl::IsNotFound(listed.status())) continue;  // a kind the cluster does not serve
    if (!listed.ok()) {
      return absl::Status(listed.status().code(),
                          absl::StrCat("listing ", kind, ": ", listed.status().message()));
    }
    if (served != nullptr) served->emplace(group, kind);
    for (json& o : *listed) {
      const std::string api_version = Str(o, "apiVersion");
      if (!api_version.empty() && GroupOfApiVersion(api_version) != group) continue;
      if (engine::BelongsTo(o, app_name)) out.push_back(std::move(o));
    }
  }
  return out;
}

}  // namespace argonaut::cd
