// What a container process may do inside its pod, as runc/Docker restrict
// it by default: Docker's default capability set (bounding, permitted,
// effective and inheritable; ambient cleared), no_new_privs and a seccomp
// filter refusing (EPERM) the syscalls Docker's default profile refuses.
// `privileged` lifts all three; Kubernetes' securityContext fields map onto
// ContainerSecurity (SecurityFromManifest in security_context.h).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox {

struct ContainerSecurity {
  bool privileged = false;
  // Kubernetes' capability names, with or without "CAP_", any case; "ALL".
  // Drop is applied before add: drop ALL + add NET_ADMIN leaves NET_ADMIN.
  std::vector<std::string> add_capabilities;
  std::vector<std::string> drop_capabilities;
  // Unset or false: no_new_privs (setuid binaries and file capabilities
  // grant nothing). True: left off, as are the others when privileged.
  std::optional<bool> allow_privilege_escalation;
  bool seccomp_unconfined = false;  // seccompProfile.type: Unconfined
  // runAsUser / runAsGroup / supplementalGroups (fsGroup included), in the
  // pod's user namespace when it has one. Unset: root (0), the runtime's
  // default. Set after the mounts, before exec; a uid other than 0 keeps the
  // bounding set but no permitted or effective capability, as Docker does.
  std::optional<uint32_t> run_as_user;
  std::optional<uint32_t> run_as_group;
  std::vector<uint32_t> supplemental_groups;
  // readOnlyRootFilesystem: the process gets a mount namespace of its own
  // (a copy of the pod's) whose root mount is read-only; volumes, /tmp,
  // /dev and /proc below it keep their own flags.
  bool read_only_root_filesystem = false;
};

// Bit n = capability n (CAP_CHOWN = 0 ...).
uint64_t DockerDefaultCapabilities();

// "NET_ADMIN", "cap_net_admin" -> CAP_NET_ADMIN. NotFound otherwise.
absl::StatusOr<int> CapabilityFromName(std::string_view name);

// The capability mask a container gets. Errors name the field:
// "<field>.capabilities.add[1]: unknown capability \"FOO\"".
absl::StatusOr<uint64_t> ContainerCapabilities(const ContainerSecurity& security,
                                               std::string_view field = "securityContext");

// Syscalls the default profile refuses with EPERM (those this architecture
// has); clone and clone3 are handled apart (namespace flags: EPERM; clone3:
// ENOSYS, so that libc falls back to clone, whose flags a filter can see).
const std::vector<std::string>& DefaultSeccompDenied();

// The default profile compiled once to classic BPF for
// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): installable without allocating.
absl::StatusOr<const sock_fprog*> DefaultSeccompProgram();

}  // namespace argonaut::cluster::sandbox
