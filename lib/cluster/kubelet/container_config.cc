#include "lib/cluster/kubelet/container_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/container_env.h"

namespace argonaut::cluster::kubelet {

namespace wl = ::argonaut::cluster::workloads;

std::string PodHostname(std::string_view pod_name) {
  std::string name(pod_name.substr(0, 63));
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) name.pop_back();
  return name;
}

absl::StatusOr<ContainerConfig> BuildContainerConfig(const Object& pod, bool init, size_t index,
                                                     const ImageTable& images,
                                                     const ObjectLookup& lookup,
                                                     const std::string& pod_ip) {
  const char* list = init ? "initContainers" : "containers";
  const std::string path = absl::StrCat("spec.", list, "[", index, "]");
  const Object& container = pod["spec"][list][index];
  // Field references read the pod as the kubelet sees it once it has an IP.
  Object view = pod;
  view["status"]["podIP"] = pod_ip;
  view["status"]["hostIP"] = "127.0.0.1";
  view["spec"]["nodeName"] = "localhost";
  wl::ObjectLookup env_lookup = [&lookup](std::string_view kind, std::string_view name) {
    return lookup(std::string(kind), std::string(name));
  };
  ASSIGN_OR_RETURN(std::vector<wl::EnvVar> env,
                   wl::ResolveContainerEnv(view, list, index, env_lookup));
  ASSIGN_OR_RETURN(wl::CommandLine cmd, wl::ExpandCommandAndArgs(container, env, path));
  absl::StatusOr<std::vector<std::string>> argv =
      images.Resolve(container.value("image", ""), cmd.command, cmd.args);
  if (!argv.ok()) {
    return absl::Status(argv.status().code(),
                        absl::StrCat(path, ".image: ", argv.status().message()));
  }
  ContainerConfig out;
  out.argv = std::move(*argv);
  // Kubernetes' defaults first so that the container's own env wins.
  out.env.push_back(absl::StrCat("PATH=", images.PathFor(container.value("image", ""))));
  out.env.push_back(absl::StrCat("HOSTNAME=", PodHostname(NameOf(pod))));
  // For the workflow executor, which resolves images itself.
  out.env.push_back(absl::StrCat("ARGONAUT_BUILTIN_BINARY=", images.builtin_binary()));
  out.env.push_back(
      absl::StrCat("ARGONAUT_BUILTIN_PREFIX=", absl::StrJoin(images.builtin_prefix(), " ")));
  for (const wl::EnvVar& e : env) out.env.push_back(absl::StrCat(e.name, "=", e.value));
  out.working_dir = container.value("workingDir", "");
  return out;
}

}  // namespace argonaut::cluster::kubelet
