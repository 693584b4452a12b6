// Which pods back a Service, per Service port: Kubernetes' endpoints logic
// as a pure function. A pod is an endpoint when it is in the Service's
// namespace, matches spec.selector, has an IP, is Ready and is not being
// deleted. targetPort may be a number or a container port's name; it
// defaults to the port.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/proxy/endpoint_picker.h"

namespace argonaut::cluster {

struct ServicePortEndpoints {
  std::string name;  // the Service port's name ("" if unnamed)
  int port = 0;      // the Service port
  std::vector<Endpoint> endpoints;
};

// The traffic split stored on the Service (kTrafficSplitAnnotation); empty
// weights when none or unparsable.
TrafficSplit TrafficSplitOf(const Object& service);

// Errors name the field (spec.ports[0].port). Endpoint groups are the value
// of the split's group label on each pod ("" without a split).
absl::StatusOr<std::vector<ServicePortEndpoints>> ComputeEndpoints(const Object& service,
                                                                   const std::vector<Object>& pods);

}  // namespace argonaut::cluster
