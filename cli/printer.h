// How `argonaut get` prints objects: kubectl-style tables, or the objects as
// YAML, JSON or kind/name. Pure functions of the objects and the time.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/resource/kinds.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

// kubectl's short ages: 45s, 12m, 5h, 3d.
std::string FormatAge(absl::Time created, absl::Time now);

// kubectl's kind with API group: "workflow.argoproj.io", "deployment.apps", "pod".
std::string KindWithGroup(const resource::KindInfo& kind);

// "workflow.argoproj.io/hello", "pod/web-1"
std::string QualifiedName(const resource::KindInfo& kind, const std::string& name);

std::string FormatTable(const resource::KindInfo& kind, const std::vector<nlohmann::json>& items,
                        bool all_namespaces, bool wide, absl::Time now);

// `format` is yaml, json, name, wide or empty (table). A list in json/yaml is
// a Kubernetes List of the items.
absl::StatusOr<std::string> FormatObjects(const resource::KindInfo& kind,
                                          const std::vector<nlohmann::json>& items, bool is_list,
                                          const std::string& format, bool all_namespaces,
                                          absl::Time now);

}  // namespace argonaut::cli
