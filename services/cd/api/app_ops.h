// The Application changes the cd API makes, as pure functions over Argo CD JSON: a sync or
// rollback operation (with Argo CD's refusals), terminating one, a refresh request, and the
// filters of List. The gRPC services (application_service.h) read the app, call one of these and
// write the result with the read resourceVersion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::api {

// Where applications and projects live when a request names no namespace (Argo CD's own).
inline constexpr char kDefaultNamespace[] = "argocd";
inline constexpr char kRefreshAnnotation[] = "argocd.argoproj.io/refresh";
// Argo CD's cascading-delete finalizer: the controller deletes the app's resources, then the app.
inline constexpr char kResourcesFinalizer[] = "resources-finalizer.argocd.argoproj.io";

struct SyncParams {
  std::string revision;  // "" = the source's targetRevision
  bool prune = false;
  bool dry_run = false;
  bool force = false;
  std::vector<nlohmann::json> resources;  // {group, kind, name, namespace}
  std::vector<std::string> sync_options;
  std::string strategy;  // "", "apply" or "hook"
  nlohmann::json retry;  // RetryStrategy; null = the app's syncPolicy.retry
  std::string username;  // initiatedBy.username
};

// The app with `operation` set to the sync; FAILED_PRECONDITION "another operation is already in
// progress" when one is set, or when auto-sync is on and another revision than the target is
// asked for (not in a dry run).
absl::StatusOr<nlohmann::json> WithSyncOperation(nlohmann::json app, const SyncParams& params);

// The app with `operation` re-syncing history entry `id`'s revision and source. Refused while
// automated sync is on (unless a dry run), NOT_FOUND for an id not in status.history.
absl::StatusOr<nlohmann::json> WithRollbackOperation(nlohmann::json app, int64_t id, bool prune,
                                                     bool dry_run, const std::string& username);

// A running operation gets phase Terminating (the controller stops it); an operation the
// controller has not started yet is withdrawn. FAILED_PRECONDITION when there is none.
absl::StatusOr<nlohmann::json> WithOperationTerminated(nlohmann::json app);

// Whether the app has an operation requested or running.
bool OperationInProgress(const nlohmann::json& app);

// The app with the refresh annotation set to `mode` ("normal" or "hard"); INVALID_ARGUMENT for
// another mode.
absl::StatusOr<nlohmann::json> WithRefresh(nlohmann::json app, std::string_view mode);
bool RefreshPending(const nlohmann::json& app);

bool AutoSyncEnabled(const nlohmann::json& app);

// The repoURLs of spec.source or spec.sources.
std::vector<std::string> SourceRepos(const nlohmann::json& app);

// List's filters: the project is one of `projects` (empty: any) and a source is `repo` (empty:
// any; compared without a trailing ".git" or "/").
bool AppMatches(const nlohmann::json& app, const std::vector<std::string>& projects,
                std::string_view repo);

// The object's metadata.name/namespace (empty when absent).
std::string NameOf(const nlohmann::json& obj);
std::string NamespaceOf(const nlohmann::json& obj);

}  // namespace argonaut::cd::api
