// The cluster service's admission check: Kubernetes' validation of Pods,
// ReplicaSets, Deployments, Jobs and Services (//lib/cluster/workloads)
// as a ResourceApi validator, so a bad spec is refused with its field path
// before anything is stored.
#pragma once

#include "lib/resource/resource_api.h"

namespace argonaut::cluster {

resource::Validator KubernetesValidator();

}  // namespace argonaut::cluster
