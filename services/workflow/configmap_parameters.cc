#include "services/workflow/configmap_parameters.h"

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::workflow {

absl::StatusOr<std::string> ConfigMapParameterValue(cluster::Cluster& cluster, std::string_view ns,
                                                    std::string_view name, std::string_view key) {
  const std::string n(name);
  absl::StatusOr<nlohmann::json> cm = cluster.Get("ConfigMap", std::string(ns), n);
  if (absl::IsNotFound(cm.status())) {
    return absl::NotFoundError(
        absl::StrCat("ConfigMap \"", n, "\" not found in namespace \"", AbslView(ns), "\""));
  }
  if (!cm.ok()) {
    return absl::Status(cm.status().code(),
                        absl::StrCat("ConfigMap \"", n, "\": ", cm.status().message()));
  }
  const nlohmann::json& meta = cm->contains("metadata") ? (*cm)["metadata"] : nlohmann::json();
  const nlohmann::json labels =
      meta.is_object() ? meta.value("labels", nlohmann::json::object()) : nlohmann::json();
  if (!labels.is_object() || labels.value(kConfigMapTypeLabel, "") != kConfigMapTypeParameter) {
    return absl::FailedPreconditionError(
        absl::StrCat("ConfigMap \"", n, "\" needs the label ", kConfigMapTypeLabel, ": ",
                     kConfigMapTypeParameter, " to provide parameters"));
  }
  auto data = cm->find("data");
  if (data != cm->end() && data->is_object()) {
    auto v = data->find(std::string(key));
    if (v != data->end() && v->is_string()) return v->get<std::string>();
  }
  return absl::NotFoundError(
      absl::StrCat("ConfigMap \"", n, "\" has no key \"", AbslView(key), "\""));
}

}  // namespace argonaut::workflow
