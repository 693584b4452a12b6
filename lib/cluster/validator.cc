#include "lib/cluster/validator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/sandbox/security_context.h"
#include "lib/cluster/workloads/validation.h"
#include "lib/manifest/codec.h"

namespace argonaut::cluster {
namespace {

bool IsUnder(std::string_view path, std::string_view dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (dir == "/") return true;
  return path == dir || (absl::StartsWith(AbslView(path), AbslView(dir)) &&
                         path.size() > dir.size() && path[dir.size()] == '/');
}

}  // namespace

absl::Status CheckHostPaths(const nlohmann::json& pod_spec, std::string_view path,
                            const std::vector<std::string>& allow) {
  if (!pod_spec.is_object() || !pod_spec.contains("volumes") || !pod_spec["volumes"].is_array()) {
    return absl::OkStatus();
  }
  const nlohmann::json& volumes = pod_spec["volumes"];
  for (size_t i = 0; i < volumes.size(); ++i) {
    const nlohmann::json& v = volumes[i];
    if (!v.is_object() || !v.contains("hostPath")) continue;
    const std::string field = absl::StrCat(AbslView(path), ".volumes[", i, "].hostPath.path");
    const nlohmann::json& hp = v["hostPath"];
    if (!hp.is_object() || !hp.contains("path") || !hp["path"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
    }
    const std::string host = hp["path"].get<std::string>();
    if (host.empty() || host[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(field, ": must be an absolute path"));
    }
    for (absl::string_view part : absl::StrSplit(host, '/')) {
      if (part == "." || part == "..") {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": \"", host, "\" has a \".\" or \"..\" component"));
      }
    }
    bool allowed = false;
    for (const std::string& a : allow) allowed = allowed || (!a.empty() && IsUnder(host, a));
    if (!allowed) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": \"", host, "\" is not under an allowed host path (--host-path-allow)"));
    }
  }
  return absl::OkStatus();
}

resource::Validator KubernetesValidator(KubernetesValidatorOptions options) {
  return [options = std::move(options)](const resource::KindInfo& kind,
                                        google::protobuf::Message& object) -> absl::Status {
    namespace wl = ::argonaut::cluster::workloads;
    absl::Status (*validate)(const nlohmann::json&) = nullptr;
    if (kind.kind == "Pod") validate = &wl::ValidatePod;
    if (kind.kind == "ReplicaSet") validate = &wl::ValidateReplicaSet;
    if (kind.kind == "Deployment") validate = &wl::ValidateDeployment;
    if (kind.kind == "Job") validate = &wl::ValidateJob;
    if (kind.kind == "Service") validate = &wl::ValidateService;
    if (validate == nullptr) return absl::OkStatus();
    const nlohmann::json json = manifest::ToJson(object);
    RETURN_IF_ERROR(validate(json));
    if (kind.kind == "Service" || !json.contains("spec") || !json["spec"].is_object()) {
      return absl::OkStatus();
    }
    const nlohmann::json& spec = json["spec"];
    const nlohmann::json* pod_spec = &spec;
    std::string path = "spec";
    if (kind.kind != "Pod") {
      if (!spec.contains("template") || !spec["template"].is_object() ||
          !spec["template"].contains("spec")) {
        return absl::OkStatus();
      }
      pod_spec = &spec["template"]["spec"];
      path = "spec.template.spec";
    }
    // Capability names, ids, seccomp profiles: refused here, not when the
    // kubelet starts the container.
    RETURN_IF_ERROR(sandbox::ValidatePodSecurity(*pod_spec, path));
    if (!options.host_path_allow) return absl::OkStatus();
    return CheckHostPaths(*pod_spec, path, *options.host_path_allow);
  };
}

}  // namespace argonaut::cluster
