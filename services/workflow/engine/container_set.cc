// containerSet templates (Argo workflow/controller/container_set_template.go): several containers
// in one pod, each wrapped by `argoexec emissary`, which starts its command once the containers
// it depends on exited 0. The pod node gets one child node of type Container per container,
// linked as the dependency graph says; their phases follow the observed container states.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

// A pod of more containers than this is no longer what a container set is for (Argo: "10s
// rather than 100s"), and bounds the graph work on hostile input.
constexpr size_t kMaxContainers = 128;
// Argo's emissary exits 64 when it failed itself (a dependency failed, the command was not found)
// rather than the command.
constexpr int kEmissaryErrorExitCode = 64;

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i > 0 && i + 1 < s.size())) return false;
  }
  return true;
}

std::vector<std::string> Dependencies(const json& c) {
  std::vector<std::string> out;
  const json deps = c.value("dependencies", json::array());
  if (!deps.is_array()) return out;
  for (const json& d : deps) {
    if (d.is_string()) out.push_back(d.get<std::string>());
  }
  return out;
}

const json& Containers(const json& t) {
  static const json kEmpty = json::array();
  auto cs = t.find("containerSet");
  if (cs == t.end() || !cs->is_object()) return kEmpty;
  auto cs_containers = cs->find("containers");
  return cs_containers == cs->end() || !cs_containers->is_array() ? kEmpty : *cs_containers;
}

}  // namespace

absl::Status ValidateContainerSet(const json& cs) {
  if (!cs.is_object()) return absl::InvalidArgumentError("containerSet: not an object");
  const json& containers = cs.contains("containers") ? cs["containers"] : json();
  if (!containers.is_array() || containers.empty()) {
    return absl::InvalidArgumentError("containerSet.containers: at least one container required");
  }
  if (containers.size() > kMaxContainers) {
    return absl::InvalidArgumentError(absl::StrCat("containerSet.containers: ", containers.size(),
                                                   " containers, at most ", kMaxContainers));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < containers.size(); ++i) {
    const std::string field = absl::StrCat("containerSet.containers[", i, "]");
    const json& c = containers[i];
    if (!c.is_object()) return absl::InvalidArgumentError(field + ": not an object");
    const std::string name = Str(c, "name");
    if (!IsDnsLabel(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: \"", name, "\" is not a valid container name"));
    }
    if (!index.emplace(name, i).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".name: \"", name, "\" is not unique"));
    }
  }
  // Dependencies name other containers of the set, and form no cycle (Kahn's algorithm).
  std::vector<std::vector<size_t>> dependents(containers.size());
  std::vector<size_t> indeg(containers.size(), 0);
  for (size_t i = 0; i < containers.size(); ++i) {
    const json& deps = containers[i].value("dependencies", json::array());
    if (!deps.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("containerSet.containers[", i, "].dependencies: not a list"));
    }
    for (size_t k = 0; k < deps.size(); ++k) {
      const std::string field =
          absl::StrCat("containerSet.containers[", i, "].dependencies[", k, "]");
      if (!deps[k].is_string()) return absl::InvalidArgumentError(field + ": not a string");
      auto it = index.find(deps[k].get<std::string>());
      if (it == index.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": no container named \"", deps[k].get<std::string>(), "\""));
      }
      dependents[it->second].push_back(i);
      ++indeg[i];
    }
  }
  std::deque<size_t> ready;
  for (size_t i = 0; i < containers.size(); ++i) {
    if (indeg[i] == 0) ready.push_back(i);
  }
  size_t seen = 0;
  while (!ready.empty()) {
    const size_t i = ready.front();
    ready.pop_front();
    ++seen;
    for (size_t j : dependents[i]) {
      if (--indeg[j] == 0) ready.push_back(j);
    }
  }
  if (seen != containers.size()) {
    return absl::InvalidArgumentError("containerSet.containers: dependency cycle");
  }
  return absl::OkStatus();
}

std::optional<std::string> ContainerSetFailure(const PodState& pod, const json& cs) {
  if (!cs.is_object() || !cs.contains("containers") || !cs["containers"].is_array()) {
    return std::nullopt;
  }
  for (const json& c : cs["containers"]) {
    auto it = pod.containers.find(Str(c, "name"));
    if (it == pod.containers.end() || !it->second.exit_code.has_value() ||
        *it->second.exit_code == 0) {
      continue;
    }
    return absl::StrCat("Error (exit code ", *it->second.exit_code, ")");
  }
  return std::nullopt;
}

json Operator::ContainerSetContainers(const std::string& node_name, const json& t) {
  const json& cs = t["containerSet"];
  const json shared_mounts = cs.value("volumeMounts", json::array());
  json out = json::array();
  for (const json& spec : Containers(t)) {
    json c = json::object();
    c["name"] = Str(spec, "name");
    c["image"] = spec.value("image", json(""));
    c["command"] = json::array({"argoexec", "emissary"});
    json env = spec.value("env", json::array());
    if (!env.is_array()) env = json::array();
    env.push_back({{"name", "ARGO_TEMPLATE"}, {"value", t.dump()}});
    env.push_back({{"name", "ARGO_NODE_ID"}, {"value", Id(node_name)}});
    env.push_back({{"name", "ARGO_WORKFLOW_NAME"}, {"value", wf_name_}});
    env.push_back({{"name", "ARGO_CONTAINER_NAME"}, {"value", Str(spec, "name")}});
    c["env"] = std::move(env);
    // The set's volumeMounts apply to every container, before the container's own.
    json mounts = shared_mounts.is_array() ? shared_mounts : json::array();
    if (spec.contains("volumeMounts") && spec["volumeMounts"].is_array()) {
      for (const json& m : spec["volumeMounts"]) mounts.push_back(m);
    }
    if (!mounts.empty()) c["volumeMounts"] = std::move(mounts);
    for (const char* k : {"workingDir", "ports", "readinessProbe", "resources", "securityContext",
                          "envFrom", "livenessProbe"}) {
      if (spec.contains(k)) c[k] = spec[k];
    }
    out.push_back(std::move(c));
  }
  return out;
}

void Operator::InitContainerNodes(const std::string& pod_node_name, const Resolved& r,
                                  const json& t) {
  const std::string pod_id = Id(pod_node_name);
  has_container_sets_ = true;
  for (const json& c : Containers(t)) {
    const std::string name = absl::StrCat(pod_node_name, ".", Str(c, "name"));
    if (NodeByName(name) == nullptr) InitNode(name, "Container", "", pod_id, "Pending", "", &r);
  }
  for (const json& c : Containers(t)) {
    const std::string name = absl::StrCat(pod_node_name, ".", Str(c, "name"));
    const std::vector<std::string> deps = Dependencies(c);
    if (deps.empty()) AddChild(pod_node_name, name);
    for (const std::string& d : deps) AddChild(absl::StrCat(pod_node_name, ".", d), name);
  }
}

void Operator::ReconcileContainerNodes(const json& pod_node, const PodState* pod) {
  if (pod == nullptr) return;
  const std::string prefix = Str(pod_node, "name") + ".";
  for (const auto& [cname, st] : pod->containers) {
    json* node = NodeByName(prefix + cname);
    if (node == nullptr || Str(*node, "type") != "Container" || PhaseCompleted(Str(*node, "phase")))
      continue;
    if (st.state == "running") {
      if (Str(*node, "phase") == "Pending") MarkPhase(*node, "Running");
    } else if (st.state == "terminated" && st.exit_code.has_value()) {
      const int code = *st.exit_code;
      if (code == 0) {
        MarkPhase(*node, "Succeeded");
      } else if (code == kEmissaryErrorExitCode) {
        MarkPhase(*node, "Error",
                  st.error.empty() ? absl::StrCat("Error (exit code ", code, ")") : st.error);
      } else {
        MarkPhase(*node, "Failed", absl::StrCat("Error (exit code ", code, ")"));
      }
    }
  }
}

void Operator::FinishContainerNodes() {
  if (!has_container_sets_) return;
  for (auto it = nodes_->begin(); it != nodes_->end(); ++it) {
    json& node = *it;
    if (Str(node, "type") != "Container" || PhaseCompleted(Str(node, "phase"))) continue;
    const json* pod = NodeById(Str(node, "boundaryID"));
    if (pod == nullptr || !PhaseCompleted(Str(*pod, "phase"))) continue;
    // The pod ended without this container reporting an end of its own (deleted, deadline,
    // shutdown): it ends the way the pod did.
    const std::string phase = Str(*pod, "phase") == "Succeeded" ? "Succeeded"
                              : Str(*pod, "phase") == "Error"   ? "Error"
                                                                : "Failed";
    MarkPhase(node, phase, phase == "Succeeded" ? "" : Str(*pod, "message"));
  }
}

}  // namespace argonaut::workflow::engine::internal
