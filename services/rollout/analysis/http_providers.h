// Internal: constructors of the HTTP providers (see provider.h).
#pragma once

#include <memory>

#include "services/rollout/analysis/provider.h"

namespace argonaut::rollout::analysis {

std::unique_ptr<MetricProvider> NewWebProvider(controller::Clock* clock);
std::unique_ptr<MetricProvider> NewPrometheusProvider(controller::Clock* clock);
std::unique_ptr<MetricProvider> NewJobProvider(cluster::Cluster* cluster, controller::Clock* clock);

}  // namespace argonaut::rollout::analysis
