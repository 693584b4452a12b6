// Parameters' valueFrom.configMapKeyRef for the engine (EngineInput::configmaps), read from the
// cluster the way Argo's controller reads them.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/cluster/cluster.h"

namespace argonaut::workflow {

// Argo only takes parameters from ConfigMaps labelled for it.
inline constexpr char kConfigMapTypeLabel[] = "workflows.argoproj.io/configmap-type";
inline constexpr char kConfigMapTypeParameter[] = "Parameter";

// The value of `key` in ConfigMap `name` of namespace `ns`. NotFound when the ConfigMap or the
// key is missing (the engine then applies a default or `optional`); FailedPrecondition when the
// ConfigMap lacks the label workflows.argoproj.io/configmap-type: Parameter, as Argo requires.
absl::StatusOr<std::string> ConfigMapParameterValue(cluster::Cluster& cluster, std::string_view ns,
                                                    std::string_view name, std::string_view key);

}  // namespace argonaut::workflow
