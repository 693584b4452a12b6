// AppStateSource: what the cd API asks of the running controller (manifests, a comparison made
// now, live objects, push webhooks, repositories). The controller implements it; the API holds a
// pointer that may be null (the API then answers UNAVAILABLE "cd controller not running").
//
// The repo-server and engine types are only declared here so that this interface does not pull
// their libraries into everything that names it; callers include services/cd/repo and
// services/cd/engine for the definitions.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd {

namespace repo {
struct ManifestResponse;
struct PushEvent;
class RepositoryStore;
class RepoServer;
}  // namespace repo

namespace engine {
struct CompareResult;
struct ResourceKey;
}  // namespace engine

class AppStateSource {
 public:
  virtual ~AppStateSource() = default;
  // Render the app's source(s) at `revision` ("" = spec's targetRevision) through the repo-server.
  virtual absl::StatusOr<repo::ManifestResponse> Manifests(const nlohmann::json& app,
                                                           std::string_view revision) = 0;
  // Render + read live + Compare now (no status write): for ManagedResources / app diff /
  // resource tree.
  virtual absl::StatusOr<engine::CompareResult> CompareNow(const nlohmann::json& app) = 0;
  // Live object of a managed resource (for GetResource / resource tree).
  virtual absl::StatusOr<nlohmann::json> LiveObject(const engine::ResourceKey& key) = 0;
  // Push webhook arrived: invalidate revisions of matching repos and requeue their apps at once.
  virtual absl::Status OnPush(const repo::PushEvent& event) = 0;
  virtual repo::RepositoryStore* repositories() = 0;
  virtual repo::RepoServer* repo_server() = 0;
};

}  // namespace argonaut::cd
