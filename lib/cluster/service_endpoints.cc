#include "lib/cluster/service_endpoints.h"

#include "absl/strings/str_cat.h"
#include "lib/manifest/json_text.h"

namespace argonaut::cluster {
namespace {

bool Ready(const Object& pod) {
  const Object& status = pod.value("status", Object::object());
  if (!status.is_object() || !status.contains("conditions")) return false;
  for (const Object& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool Selected(const Object& selector, const Object& pod) {
  // A Service without a selector has no automatic endpoints.
  if (!selector.is_object() || selector.empty()) return false;
  const Object& labels = pod.value("metadata", Object::object()).value("labels", Object::object());
  for (const auto& [k, v] : selector.items()) {
    if (!labels.is_object() || !labels.contains(k) || labels[k] != v) return false;
  }
  return true;
}

// A named targetPort resolves per pod, through its containers' ports.
int ResolvePort(const Object& target, const Object& pod) {
  if (target.is_number_integer()) return target.get<int>();
  if (!target.is_string()) return 0;
  const Object& spec = pod.value("spec", Object::object());
  if (!spec.is_object() || !spec.contains("containers")) return 0;
  for (const Object& c : spec["containers"]) {
    if (!c.is_object() || !c.contains("ports")) continue;
    for (const Object& p : c["ports"]) {
      if (p.is_object() && p.value("name", "") == target.get<std::string>()) {
        return p.value("containerPort", 0);
      }
    }
  }
  return 0;
}

}  // namespace

TrafficSplit TrafficSplitOf(const Object& service) {
  TrafficSplit split;
  const Object& ann =
      service.value("metadata", Object::object()).value("annotations", Object::object());
  if (!ann.is_object() || !ann.contains(kTrafficSplitAnnotation) ||
      !ann[kTrafficSplitAnnotation].is_string()) {
    return split;
  }
  absl::StatusOr<Object> parsed =
      manifest::ParseJsonText(ann[kTrafficSplitAnnotation].get<std::string>());
  if (!parsed.ok() || !parsed->is_object()) return split;
  split.group_label = parsed->value("groupLabel", "");
  const Object& weights = parsed->value("weights", Object::object());
  if (weights.is_object()) {
    for (const auto& [group, w] : weights.items()) {
      if (w.is_number_integer() && w.get<int64_t>() >= 0 && w.get<int64_t>() <= 1000000) {
        split.weights[group] = w.get<int>();
      }
    }
  }
  return split;
}

absl::StatusOr<std::vector<ServicePortEndpoints>> ComputeEndpoints(
    const Object& service, const std::vector<Object>& pods) {
  const Object& spec = service.value("spec", Object::object());
  if (!spec.is_object()) return absl::InvalidArgumentError("spec: must be an object");
  const Object& ports = spec.value("ports", Object::array());
  if (!ports.is_array()) return absl::InvalidArgumentError("spec.ports: must be a list");
  const Object& selector = spec.value("selector", Object::object());
  const TrafficSplit split = TrafficSplitOf(service);
  const std::string ns = NamespaceOf(service);
  std::vector<ServicePortEndpoints> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    const Object& p = ports[i];
    const std::string field = absl::StrCat("spec.ports[", i, "]");
    if (!p.is_object() || !p.contains("port") || !p["port"].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".port: required integer"));
    }
    const int port = p["port"].get<int>();
    if (port < 1 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".port: must be 1-65535"));
    }
    const std::string protocol = p.value("protocol", "TCP");
    if (protocol != "TCP") {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".protocol: only TCP is served locally"));
    }
    ServicePortEndpoints spe{p.value("name", ""), port, {}};
    const Object target = p.contains("targetPort") ? p["targetPort"] : Object(port);
    for (const Object& pod : pods) {
      if (NamespaceOf(pod) != ns || !Selected(selector, pod) || !Ready(pod)) continue;
      if (pod.value("metadata", Object::object()).contains("deletionTimestamp")) continue;
      const std::string ip = pod.value("status", Object::object()).value("podIP", "");
      const int target_port = ResolvePort(target, pod);
      if (ip.empty() || target_port <= 0 || target_port > 65535) continue;
      std::string group;
      if (!split.group_label.empty()) {
        const Object& labels =
            pod.value("metadata", Object::object()).value("labels", Object::object());
        group = labels.is_object() ? labels.value(split.group_label, "") : "";
      }
      spe.endpoints.push_back({group, ip, target_port});
    }
    out.push_back(std::move(spe));
  }
  return out;
}

}  // namespace argonaut::cluster
