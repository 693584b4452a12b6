// The cluster service's admission check: Kubernetes' validation of Pods,
// ReplicaSets, Deployments, Jobs and Services (//lib/cluster/workloads)
// as a ResourceApi validator, so a bad spec is refused with its field path
// before anything is stored. Pod and pod-template securityContexts are
// checked as the kubelet reads them (capability names, ids, seccomp
// profiles; sandbox::ValidatePodSecurity). With an allow list, hostPath
// volumes of pods and pod templates must lie under one of its paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster {

struct KubernetesValidatorOptions {
  // hostPath volumes must lie under one of these (`argonaut up
  // --host-path-allow`); nullopt: any host path.
  std::optional<std::vector<std::string>> host_path_allow;
};

resource::Validator KubernetesValidator(KubernetesValidatorOptions options = {});

// The hostPath rule for one pod spec at `path` ("spec" or
// "spec.template.spec"): each volumes[i].hostPath.path must be absolute,
// without "." or ".." components, and equal to or below an allowed path.
// Error: `spec.volumes[0].hostPath.path: "/" is not under an allowed host
// path (--host-path-allow)`.
absl::Status CheckHostPaths(const nlohmann::json& pod_spec, std::string_view path,
                            const std::vector<std::string>& allow);

}  // namespace argonaut::cluster
