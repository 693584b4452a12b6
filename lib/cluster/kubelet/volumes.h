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
  // sandbox::VolumeMount::open_path: the path the descriptor HostPathFds
  // holds for a hostPath volume (or its subPath) was resolved to, which the
  // sandbox opens without following any symlink; empty: none.
  std::string open_path;
};

struct VolumeOptions {
  // hostPath volumes resolve below one of these (the longest that holds the
  // path), with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from it: a
  // symlink inside an allowed directory that points out of it (or a ".."
  // through one) is refused, whenever it was planted. Admission checked the
  // path lexically only. Empty: any host path (opened as it resolves).
  std::vector<std::string> host_path_allow;
};

// O_PATH descriptors of the hostPath volumes (and their subPaths) as
// resolved by PrepareVolumes / ContainerMounts. The sandbox's holder lives in
// a mount namespace of its own, where a mount of the runtime's cannot be
// cloned from a descriptor (open_tree: EINVAL), so it opens the path each
// one resolved to, without following any symlink: a symlink swapped in
// since fails the pod, and a path without symlinks below the allowed
// directory's own stays below it.
class HostPathFds {
 public:
  HostPathFds() = default;
  HostPathFds(const HostPathFds&) = delete;
  HostPathFds& operator=(const HostPathFds&) = delete;
  ~HostPathFds();

  // The descriptor of a volume by name; -1 when none.
  int Find(const std::string& volume) const;
  // Takes `fd`; returns the path it resolved to.
  std::string Hold(int fd);
  static std::string ResolvedPath(int fd);
  void Add(const std::string& volume, int fd);

 private:
  std::map<std::string, int> by_volume_;
  std::vector<int> fds_;
};

// Looks up a ConfigMap or Secret in the pod's namespace; nullopt when absent.
using ObjectLookup =
    std::function<std::optional<nlohmann::json>(const std::string& kind, const std::string& name)>;

// Materialises spec.volumes under `pod_dir`/volumes: emptyDir as an empty
// directory (with the pod's securityContext.fsGroup: owned by that group,
// g+rwx and setgid, as Kubernetes does), configMap/secret as one file per
// key (Secret data decoded from base64), hostPath as the host path itself
// (made if missing; resolved below options.host_path_allow, its descriptor
// kept in `held` when given). Returns the host directory of each volume by
// name. Errors name the field (spec.volumes[1].configMap.name,
// `spec.volumes[0].hostPath.path: "/shared/etc" leads out of the allowed
// host path "/shared" (a symlink or "..")`).
absl::StatusOr<std::map<std::string, std::string>> PrepareVolumes(const nlohmann::json& pod,
                                                                  const std::string& pod_dir,
                                                                  const ObjectLookup& lookup,
                                                                  const VolumeOptions& options = {},
                                                                  HostPathFds* held = nullptr);

// The mounts of one container (its volumeMounts, with subPath), given the
// prepared volumes. `path` names the container in errors. With `held`, a
// hostPath volume's mounts carry its descriptor's resolved open_path, and a subPath
// of one is opened below that descriptor (RESOLVE_BENEATH: a symlink in the
// volume cannot lead a subPath out of it).
absl::StatusOr<std::vector<VolumeMount>> ContainerMounts(
    const nlohmann::json& container, const std::map<std::string, std::string>& volumes,
    const std::string& path, HostPathFds* held = nullptr);

}  // namespace argonaut::cluster::kubelet
