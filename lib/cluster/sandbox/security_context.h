// Kubernetes' securityContext (pod and container) as the sandbox's
// ContainerSecurity. Pure: no I/O.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "lib/cluster/sandbox/security.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster::sandbox {

// pod_spec: the pod's spec (its securityContext.seccompProfile is the
// default); container: one container. Fields used: privileged,
// allowPrivilegeEscalation, capabilities.add/drop, seccompProfile.type
// (RuntimeDefault or unset: the default profile; Unconfined: none;
// Localhost is refused). Errors name the field under `path`
// ("spec.containers[0].securityContext.capabilities.add[1]: ...").
absl::StatusOr<ContainerSecurity> SecurityFromManifest(const nlohmann::json& pod_spec,
                                                       const nlohmann::json& container,
                                                       std::string_view path);

// Whether a pod keeps the host's user namespace (its root is host root):
// spec.hostUsers true, or a container (init and ephemeral ones included)
// with securityContext.privileged true. Otherwise it gets one of its own,
// hostUsers unset included (stricter than Kubernetes, whose default is the
// host's). A hostUsers that is not a boolean is an error naming the field.
absl::StatusOr<bool> UsesHostUserNamespace(const nlohmann::json& pod_spec);

}  // namespace argonaut::cluster::sandbox
