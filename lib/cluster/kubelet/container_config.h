// How a container of a pod spec becomes a process: argv from the image table
// (command/args with $(VAR) expanded as Kubernetes does), environment
// (values, ConfigMap/Secret references, pod fields), working directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/images/image_table.h"
#include "lib/cluster/kubelet/volumes.h"

namespace argonaut::cluster::kubelet {

struct ContainerConfig {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string working_dir;
};

// A pod's hostname: its name cut to 63 characters without a trailing '-'
// or '.', as the kubelet does for long pod names.
std::string PodHostname(std::string_view pod_name);

// Container `index` of spec.initContainers (init) or spec.containers. An
// image the table cannot run fails with a message containing
// ImageNotRunnableLocally; a missing ConfigMap/Secret key names the field
// path. `pod_ip` fills status.podIP references.
absl::StatusOr<ContainerConfig> BuildContainerConfig(const Object& pod, bool init, size_t index,
                                                     const ImageTable& images,
                                                     const ObjectLookup& lookup,
                                                     const std::string& pod_ip);

}  // namespace argonaut::cluster::kubelet
