#include "lib/cluster/sandbox/security_context.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(const std::string& field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", AbslView(what)));
}

absl::StatusOr<std::optional<bool>> OptionalBool(const Json& sc, const char* key,
                                                 const std::string& path) {
  if (!sc.contains(key) || sc[key].is_null()) return std::optional<bool>();
  if (!sc[key].is_boolean()) return Invalid(absl::StrCat(path, ".", key), "must be a boolean");
  return std::optional<bool>(sc[key].get<bool>());
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

}  // namespace

absl::StatusOr<ContainerSecurity> SecurityFromManifest(const Json& pod_spec, const Json& container,
                                                       std::string_view path) {
  ContainerSecurity out;
  const std::string base(AbslView(path));
  if (pod_spec.is_object() && pod_spec.contains("securityContext")) {
    const Json& psc = pod_spec["securityContext"];
    ASSIGN_OR_RETURN(std::optional<bool> u, Unconfined(psc, "spec.securityContext"));
    out.seccomp_unconfined = u.value_or(false);
  }
  if (!container.is_object() || !container.contains("securityContext") ||
      container["securityContext"].is_null()) {
    return out;
  }
  const Json& sc = container["securityContext"];
  const std::string scp = absl::StrCat(base, ".securityContext");
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
  // Unknown capability names are refused here, not at exec.
  RETURN_IF_ERROR(ContainerCapabilities(out, scp).status());
  return out;
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
