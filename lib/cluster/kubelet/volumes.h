// Pod volumes on the local runtime: each volume becomes a host directory
// that is bind-mounted at the container's mountPath (or, without namespaces,
// reached through a symlink-free path the container is told about).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster::kubelet {

struct VolumeMount {
  std::string host_path;   // directory (or file) on the host
  std::string mount_path;  // where the container sees it
  bool read_only = false;
};

// Looks up a ConfigMap or Secret in the pod's namespace; nullopt when absent.
using ObjectLookup =
    std::function<std::optional<nlohmann::json>(const std::string& kind, const std::string& name)>;

// Materialises spec.volumes under `pod_dir`/volumes: emptyDir as an empty
// directory, configMap/secret as one file per key (Secret data decoded from
// base64), hostPath as the host path itself. Returns the host directory of
// each volume by name. Errors name the field (spec.volumes[1].configMap.name).
absl::StatusOr<std::map<std::string, std::string>> PrepareVolumes(const nlohmann::json& pod,
                                                                  const std::string& pod_dir,
                                                                  const ObjectLookup& lookup);

// The mounts of one container (its volumeMounts, with subPath), given the
// prepared volumes. `path` names the container in errors.
absl::StatusOr<std::vector<VolumeMount>> ContainerMounts(
    const nlohmann::json& container, const std::map<std::string, std::string>& volumes,
    const std::string& path);

}  // namespace argonaut::cluster::kubelet
