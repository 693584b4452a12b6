// Kubernetes' securityContext (pod and container) as the sandbox's
// ContainerSecurity. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/cluster/sandbox/security.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster::sandbox {

// pod_spec: the pod's spec (its securityContext gives the defaults:
// seccompProfile, runAsUser, runAsGroup, runAsNonRoot; and supplementalGroups
// and fsGroup, both added to the process's groups); container: one
// container. Fields used: privileged, allowPrivilegeEscalation,
// capabilities.add/drop, seccompProfile.type (RuntimeDefault or unset: the
// default profile; Unconfined: none; Localhost is refused), runAsUser,
// runAsGroup (0..2147483647), runAsNonRoot, readOnlyRootFilesystem.
// Errors name the field under `path`
// ("spec.containers[0].securityContext.capabilities.add[1]: ..."). A
// container whose uid would be 0 under runAsNonRoot is refused with
// Kubernetes' message ("container has runAsNonRoot and image will run as
// root"), as the kubelet refuses to start it.
absl::StatusOr<ContainerSecurity> SecurityFromManifest(const nlohmann::json& pod_spec,
                                                       const nlohmann::json& container,
                                                       std::string_view path);

// Admission: every field SecurityFromManifest reads, of the pod and of each
// init, regular and ephemeral container of `pod_spec` at `pod_path` ("spec"
// or "spec.template.spec"), without the start-time runAsNonRoot rule.
// Errors name the field ("spec.containers[0].securityContext.capabilities.add[1]").
absl::Status ValidatePodSecurity(const nlohmann::json& pod_spec, std::string_view pod_path);

// spec.securityContext.fsGroup: the group that owns the pod's emptyDir
// volumes (group rwX, setgid directories). nullopt when unset.
absl::StatusOr<std::optional<uint32_t>> PodFsGroup(const nlohmann::json& pod_spec);

// Whether a pod keeps the host's user namespace (its root is host root):
// spec.hostUsers true, or a container (init and ephemeral ones included)
// with securityContext.privileged true. Otherwise it gets one of its own,
// hostUsers unset included (stricter than Kubernetes, whose default is the
// host's). A hostUsers that is not a boolean is an error naming the field.
absl::StatusOr<bool> UsesHostUserNamespace(const nlohmann::json& pod_spec);

}  // namespace argonaut::cluster::sandbox
