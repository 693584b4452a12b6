#include "lib/cluster/sandbox/security_context.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {
namespace {

using Json = nlohmann::json;

// Kubernetes' bound for user and group ids (validation.ValidateNonnegativeField
// and the int32 range its API promises).
constexpr int64_t kMaxId = 2147483647;

absl::Status Invalid(const std::string& field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", AbslView(what)));
}

absl::StatusOr<std::optional<bool>> OptionalBool(const Json& sc, const char* key,
                                                 const std::string& path) {
  if (!sc.contains(key) || sc[key].is_null()) return std::optional<bool>();
  if (!sc[key].is_boolean()) return Invalid(absl::StrCat(path, ".", key), "must be a boolean");
  return std::optional<bool>(sc[key].get<bool>());
}

absl::StatusOr<uint32_t> Id(const Json& v, const std::string& field) {
  if (!v.is_number_integer()) return Invalid(field, "must be an integer");
  const bool in_range = v.is_number_unsigned()
                            ? v.get<uint64_t>() <= uint64_t{kMaxId}
                            : v.get<int64_t>() >= 0 && v.get<int64_t>() <= kMaxId;
  if (!in_range) return Invalid(field, absl::StrCat("must be between 0 and ", kMaxId));
  return static_cast<uint32_t>(v.get<int64_t>());
}

absl::StatusOr<std::optional<uint32_t>> OptionalId(const Json& sc, const char* key,
                                                   const std::string& path) {
  if (!sc.contains(key) || sc[key].is_null()) return std::optional<uint32_t>();
  ASSIGN_OR_RETURN(uint32_t id, Id(sc[key], absl::StrCat(path, ".", key)));
  return std::optional<uint32_t>(id);
}

absl::StatusOr<std::vector<std::string>> Names(const Json& caps, const char* key,
                                               const std::string& path) {
  std::vector<std::string> out;
  if (!caps.contains(key) || caps[key].is_null()) return out;
  const std::string field = absl::StrCat(path, ".", key);
  if (!caps[key].is_array()) return Invalid(field, "must be a list");
  for (size_t i = 0; i < caps[key].size(); ++i) {
    if (!caps[key][i].is_string()) return Invalid(absl::StrCat(field, "[", i, "]"), "not a string");
    out.push_back(caps[key][i].get<std::string>());
  }
  return out;
}

// nullopt: not set here.
absl::StatusOr<std::optional<bool>> Unconfined(const Json& sc, const std::string& path) {
  if (!sc.is_object() || !sc.contains("seccompProfile") || sc["seccompProfile"].is_null()) {
    return std::optional<bool>();
  }
  const Json& p = sc["seccompProfile"];
  const std::string field = absl::StrCat(path, ".seccompProfile.type");
  if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
    return Invalid(field, "required");
  }
  const std::string type = p["type"].get<std::string>();
  if (type == "RuntimeDefault") return std::optional<bool>(false);
  if (type == "Unconfined") return std::optional<bool>(true);
  if (type == "Localhost") return Invalid(field, "Localhost profiles are not supported");
  return Invalid(field, absl::StrCat("\"", type, "\" is not RuntimeDefault or Unconfined"));
}

// What a pod's securityContext gives every container.
struct PodSecurity {
  bool seccomp_unconfined = false;
  std::optional<uint32_t> run_as_user;
  std::optional<uint32_t> run_as_group;
  std::optional<bool> run_as_non_root;
  std::vector<uint32_t> groups;  // supplementalGroups, then fsGroup
  std::optional<uint32_t> fs_group;
};

absl::StatusOr<PodSecurity> ParsePod(const Json& pod_spec, const std::string& pod_path) {
  PodSecurity out;
  if (!pod_spec.is_object() || !pod_spec.contains("securityContext") ||
      pod_spec["securityContext"].is_null()) {
    return out;
  }
  const Json& psc = pod_spec["securityContext"];
  const std::string p = absl::StrCat(pod_path, ".securityContext");
  if (!psc.is_object()) return Invalid(p, "must be an object");
  ASSIGN_OR_RETURN(std::optional<bool> u, Unconfined(psc, p));
  out.seccomp_unconfined = u.value_or(false);
  ASSIGN_OR_RETURN(out.run_as_user, OptionalId(psc, "runAsUser", p));
  ASSIGN_OR_RETURN(out.run_as_group, OptionalId(psc, "runAsGroup", p));
  ASSIGN_OR_RETURN(out.run_as_non_root, OptionalBool(psc, "runAsNonRoot", p));
  ASSIGN_OR_RETURN(out.fs_group, OptionalId(psc, "fsGroup", p));
  if (psc.contains("supplementalGroups") && !psc["supplementalGroups"].is_null()) {
    const Json& list = psc["supplementalGroups"];
    const std::string field = absl::StrCat(p, ".supplementalGroups");
    if (!list.is_array()) return Invalid(field, "must be a list");
    // setgroups' own limit is 65536; Kubernetes has none, but a pod needs few.
    if (list.size() > 64) return Invalid(field, "more than 64 groups");
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(uint32_t g, Id(list[i], absl::StrCat(field, "[", i, "]")));
      out.groups.push_back(g);
    }
  }
  if (out.fs_group.has_value()) out.groups.push_back(*out.fs_group);
  return out;
}

absl::StatusOr<ContainerSecurity> FromManifest(const Json& pod_spec, const Json& container,
                                               const std::string& pod_path, const std::string& path,
                                               bool check_non_root) {
  ContainerSecurity out;
  ASSIGN_OR_RETURN(PodSecurity pod, ParsePod(pod_spec, pod_path));
  out.seccomp_unconfined = pod.seccomp_unconfined;
  out.run_as_user = pod.run_as_user;
  out.run_as_group = pod.run_as_group;
  out.supplemental_groups = pod.groups;
  std::optional<bool> non_root = pod.run_as_non_root;
  std::optional<uint32_t> container_user;
  if (container.is_object() && container.contains("securityContext") &&
      !container["securityContext"].is_null()) {
    const Json& sc = container["securityContext"];
    const std::string scp = absl::StrCat(path, ".securityContext");
    if (!sc.is_object()) return Invalid(scp, "must be an object");
    ASSIGN_OR_RETURN(std::optional<bool> privileged, OptionalBool(sc, "privileged", scp));
    out.privileged = privileged.value_or(false);
    ASSIGN_OR_RETURN(out.allow_privilege_escalation,
                     OptionalBool(sc, "allowPrivilegeEscalation", scp));
    if (sc.contains("capabilities") && !sc["capabilities"].is_null()) {
      const Json& caps = sc["capabilities"];
      const std::string cp = absl::StrCat(scp, ".capabilities");
      if (!caps.is_object()) return Invalid(cp, "must be an object");
      ASSIGN_OR_RETURN(out.add_capabilities, Names(caps, "add", cp));
      ASSIGN_OR_RETURN(out.drop_capabilities, Names(caps, "drop", cp));
    }
    ASSIGN_OR_RETURN(std::optional<bool> u, Unconfined(sc, scp));
    if (u.has_value()) out.seccomp_unconfined = *u;
    // The container's ids win over the pod's.
    ASSIGN_OR_RETURN(container_user, OptionalId(sc, "runAsUser", scp));
    if (container_user.has_value()) out.run_as_user = container_user;
    ASSIGN_OR_RETURN(std::optional<uint32_t> group, OptionalId(sc, "runAsGroup", scp));
    if (group.has_value()) out.run_as_group = group;
    ASSIGN_OR_RETURN(std::optional<bool> nr, OptionalBool(sc, "runAsNonRoot", scp));
    if (nr.has_value()) non_root = nr;
    ASSIGN_OR_RETURN(std::optional<bool> ro, OptionalBool(sc, "readOnlyRootFilesystem", scp));
    out.read_only_root_filesystem = ro.value_or(false);
    // Unknown capability names are refused here, not at exec.
    RETURN_IF_ERROR(ContainerCapabilities(out, scp).status());
  }
  // A runAsGroup without a runAsUser still runs as root, with that group
  // (as runc does); a runAsUser alone keeps group 0.
  if (check_non_root && non_root.value_or(false) && out.run_as_user.value_or(0) == 0) {
    // The kubelet's words (verifyRunAsNonRoot), and which container.
    return absl::FailedPreconditionError(
        out.run_as_user.has_value()
            ? absl::StrCat("container's runAsUser breaks non-root policy (", path, ")")
            : absl::StrCat("container has runAsNonRoot and image will run as root (", path, ")"));
  }
  return out;
}

}  // namespace

absl::StatusOr<ContainerSecurity> SecurityFromManifest(const Json& pod_spec, const Json& container,
                                                       std::string_view path) {
  return FromManifest(pod_spec, container, "spec", std::string(AbslView(path)),
                      /*check_non_root=*/true);
}

absl::Status ValidatePodSecurity(const Json& pod_spec, std::string_view pod_path) {
  const std::string base(AbslView(pod_path));
  if (!pod_spec.is_object()) return absl::OkStatus();
  RETURN_IF_ERROR(ParsePod(pod_spec, base).status());
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    if (!pod_spec.contains(list) || !pod_spec[list].is_array()) continue;
    const Json& containers = pod_spec[list];
    for (size_t i = 0; i < containers.size(); ++i) {
      RETURN_IF_ERROR(FromManifest(pod_spec, containers[i], base,
                                   absl::StrCat(base, ".", list, "[", i, "]"),
                                   /*check_non_root=*/false)
                          .status());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint32_t>> PodFsGroup(const Json& pod_spec) {
  ASSIGN_OR_RETURN(PodSecurity pod, ParsePod(pod_spec, "spec"));
  return pod.fs_group;
}

absl::StatusOr<bool> UsesHostUserNamespace(const Json& pod_spec) {
  if (!pod_spec.is_object()) return false;
  ASSIGN_OR_RETURN(std::optional<bool> host_users, OptionalBool(pod_spec, "hostUsers", "spec"));
  if (host_users.value_or(false)) return true;
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    if (!pod_spec.contains(list) || !pod_spec[list].is_array()) continue;
    for (const Json& c : pod_spec[list]) {
      if (!c.is_object() || !c.contains("securityContext")) continue;
      const Json& sc = c["securityContext"];
      if (sc.is_object() && sc.contains("privileged") && sc["privileged"].is_boolean() &&
          sc["privileged"].get<bool>()) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace argonaut::cluster::sandbox
