// The external tools and the jsonnet VM behind the Kustomize and Helm source types.
#pragma once

#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/cd/repo/generate.h"

namespace argonaut::cd::repo {

// `kustomize build` (or `kubectl kustomize`) of the app dir, after Argo CD's overrides from
// source.kustomize are written into a private copy of the tree.
absl::StatusOr<std::vector<nlohmann::json>> RenderKustomize(const RenderRequest& request,
                                                            const std::filesystem::path& app_dir);

// `helm template` of a chart in the repository; FAILED_PRECONDITION without a helm binary.
absl::StatusOr<std::vector<nlohmann::json>> RenderHelm(const RenderRequest& request,
                                                       const std::filesystem::path& app_dir);

}  // namespace argonaut::cd::repo
