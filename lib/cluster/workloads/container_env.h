// Container environment as the kubelet builds it: env/envFrom resolution against ConfigMaps,
// Secrets, pod fields and resources, and $(VAR) expansion in env values, command and args.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

// The waiting reason the kubelet reports when ResolveContainerEnv fails.
inline constexpr char kCreateContainerConfigError[] = "CreateContainerConfigError";

// Kubernetes' $(VAR) expansion: `$(NAME)` becomes lookup(NAME) when it has a value and is
// left as written otherwise; `$$` is an escaped `$` (so `$$(X)` yields the literal `$(X)`);
// any other `$` is kept.
std::string ExpandVars(std::string_view input,
                       const std::function<std::optional<std::string>(std::string_view)>& lookup);

struct EnvVar {
  std::string name;
  std::string value;
  bool operator==(const EnvVar&) const = default;
};

// Fetches a ConfigMap or Secret ("ConfigMap"/"Secret") from the pod's namespace; nullopt when
// it does not exist.
using ObjectLookup =
    std::function<std::optional<Json>(std::string_view kind, std::string_view name)>;

// Resolves spec.<list>[index] (list is "containers" or "initContainers") of `pod`: envFrom
// sources first (prefix applied, keys that are not valid variable names skipped), then env
// entries in order, each able to reference earlier ones with $(VAR). Missing non-optional
// ConfigMaps/Secrets/keys are FailedPrecondition errors naming the field path, e.g.
// "spec.containers[0].env[2].valueFrom.configMapKeyRef: configmap \"cfg\" not found".
// `node_allocatable` ({"cpu": "4", "memory": "8Gi"}) stands in for unset limits in
// resourceFieldRef, as on a node.
absl::StatusOr<std::vector<EnvVar>> ResolveContainerEnv(const Json& pod, std::string_view list,
                                                        size_t index, const ObjectLookup& lookup,
                                                        const Json& node_allocatable = Json());

// Expands $(VAR) in the container's command and args with `env`.
struct CommandLine {
  std::vector<std::string> command;
  std::vector<std::string> args;
};
absl::StatusOr<CommandLine> ExpandCommandAndArgs(const Json& container,
                                                 const std::vector<EnvVar>& env,
                                                 std::string_view path);

// Kubernetes resource quantity ("500m", "128Mi", "1.5", "2e3") as a number of base units.
absl::StatusOr<long double> ParseQuantity(std::string_view text, std::string_view path);

}  // namespace argonaut::cluster::workloads
