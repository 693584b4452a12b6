// Rendering one Application source from a checked-out tree, as Argo CD's repo-server does.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::repo {

struct RenderRequest {
  std::filesystem::path repo_root;  // the checkout (read-only: shared by concurrent requests)
  std::string path;                 // app path inside it
  nlohmann::json source;            // the Application source block (may be null)
  std::string app_name, dest_namespace;
  std::string revision, repo_url, target_revision;  // for the tools' ARGOCD_APP_* environment
  std::filesystem::path scratch_dir;  // private temporary space (kustomize copies the tree here)
  absl::Duration exec_timeout = absl::Seconds(90);
};

struct Rendered {
  std::string source_type;  // Directory | Kustomize | Helm
  std::vector<nlohmann::json> manifests;
};

// Argo CD's tool detection: an explicit helm/kustomize/directory block (or `chart`) wins; else
// kustomization.yaml|kustomization.yml|Kustomization means Kustomize, Chart.yaml Helm, anything
// else Directory.
absl::StatusOr<std::string> DetectSourceType(const nlohmann::json& source,
                                             const std::filesystem::path& app_dir);

absl::StatusOr<Rendered> Render(const RenderRequest& request);

// Appends `obj`, or its items when it is a List kind (`items` array); errors name `where`.
absl::Status AppendFlattened(const nlohmann::json& obj, std::vector<nlohmann::json>& out,
                             const std::string& where);

// Evaluates a .jsonnet file with Argo CD's jsonnet options ({tlas, extVars, libs}); imports are
// searched beside the importing file, then in `libs` (repository-relative) and the app dir, and
// must stay inside `repo_root`.
// TLA and extVar values get `env` substituted first (Envsubst).
absl::StatusOr<nlohmann::json> EvaluateJsonnet(const std::filesystem::path& file,
                                               const std::filesystem::path& app_dir,
                                               const std::filesystem::path& repo_root,
                                               const nlohmann::json& options,
                                               const std::map<std::string, std::string>& env = {});

// Argo CD's build environment for the tools: ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE,
// ARGOCD_APP_REVISION(_SHORT, _SHORT_8), ARGOCD_APP_SOURCE_PATH, _REPO_URL, _TARGET_REVISION.
std::map<std::string, std::string> BuildEnv(const RenderRequest& request);

// Argo CD's Env.Envsubst (Go's os.Expand): $NAME and ${NAME} become the value from `env`, or ""
// when unset; "$$" is a literal "$".
std::string Envsubst(const std::string& text, const std::map<std::string, std::string>& env);

// The kustomization document with Argo CD's kustomize overrides (namePrefix, nameSuffix, images,
// replicas, commonLabels, commonAnnotations, namespace, components, patches) applied as
// `kustomize edit` would.
absl::StatusOr<nlohmann::json> ApplyKustomizeOverrides(nlohmann::json kustomization,
                                                       const nlohmann::json& overrides);

}  // namespace argonaut::cd::repo
