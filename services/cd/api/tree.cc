#include "services/cd/api/tree.h"

#include <map>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/cd/api/json_fields.h"
#include "services/cd/engine/health.h"
#include "services/cd/engine/health_scripts.h"

namespace argonaut::cd::api {
namespace {

using nlohmann::json;

using internal::Field;
using internal::Str;

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // g, k, ns, name

std::pair<std::string, std::string> GroupVersion(const std::string& api_version) {
  const size_t slash = api_version.find('/');
  if (slash == std::string::npos) return {"", api_version};
  return {api_version.substr(0, slash), api_version.substr(slash + 1)};
}

Key KeyOfLive(const json& obj) {
  const json& meta = Field(obj, "metadata");
  return {GroupVersion(Str(obj, "apiVersion")).first, Str(obj, "kind"), Str(meta, "namespace"),
          Str(meta, "name")};
}

std::vector<std::string> ImagesOf(const json& obj) {
  std::vector<std::string> images;
  const json* pod_spec = &Field(obj, "spec");
  if (Str(obj, "kind") != "Pod") pod_spec = &Field(Field(Field(obj, "spec"), "template"), "spec");
  for (const char* list : {"initContainers", "containers"}) {
    const json& containers = Field(*pod_spec, list);
    if (!containers.is_array()) continue;
    for (const json& c : containers) {
      if (!Str(c, "image").empty()) images.push_back(Str(c, "image"));
    }
  }
  return images;
}

// What Argo CD's UI shows beside a pod: its phase and ready containers.
json PodInfo(const json& pod) {
  const json& status = Field(pod, "status");
  int ready = 0, total = 0;
  const json& statuses = Field(status, "containerStatuses");
  const json& containers = Field(Field(pod, "spec"), "containers");
  if (containers.is_array()) total = static_cast<int>(containers.size());
  if (statuses.is_array()) {
    for (const json& s : statuses) {
      if (Field(s, "ready").is_boolean() && s["ready"].get<bool>()) ++ready;
    }
  }
  // Argo CD shows the pod's reason (Evicted, ImageNotRunnableLocally, ...)
  // when it has one, else its phase.
  std::string reason = Str(status, "reason");
  if (reason.empty()) reason = Str(status, "phase");
  if (reason.empty()) reason = "Pending";
  return json::array({{{"name", "Status Reason"}, {"value", reason}},
                      {{"name", "Containers"}, {"value", absl::StrCat(ready, "/", total)}}});
}

// A child's health when the engine has not assessed it (it is not a managed
// resource): the engine's built-in rules, so a pod's message (the image
// reason, an exit code) reaches the tree.
json ChildHealth(const json& obj) {
  static const cd::engine::HealthScripts* const kNoScripts = new cd::engine::HealthScripts();
  std::optional<cd::engine::Health> health = cd::engine::AssessHealth(obj, *kNoScripts);
  if (!health.has_value()) return json();
  json out = {{"status", health->status}};
  if (!health->message.empty()) out["message"] = health->message;
  return out;
}

// Fills the node's fields that come from the live object.
void AddLive(json& node, const json& live) {
  const json& meta = Field(live, "metadata");
  if (!Str(meta, "uid").empty()) node["uid"] = Str(meta, "uid");
  if (!Str(meta, "resourceVersion").empty()) node["resourceVersion"] = Str(meta, "resourceVersion");
  if (!Str(meta, "creationTimestamp").empty()) node["createdAt"] = Str(meta, "creationTimestamp");
  std::vector<std::string> images = ImagesOf(live);
  if (!images.empty()) node["images"] = images;
  if (Str(live, "kind") == "Pod") node["info"] = PodInfo(live);
}

}  // namespace

json BuildResourceTree(const json& app, const std::vector<json>& live,
                       const std::vector<json>& owned) {
  std::map<Key, json> nodes;
  std::map<std::string, json> by_uid;  // uid -> ResourceRef of the node
  std::map<Key, const json*> live_by_key;
  for (const json& obj : live) live_by_key[KeyOfLive(obj)] = &obj;

  const json& resources = Field(Field(app, "status"), "resources");
  if (resources.is_array()) {
    for (const json& r : resources) {
      const Key key{Str(r, "group"), Str(r, "kind"), Str(r, "namespace"), Str(r, "name")};
      json node = {{"group", std::get<0>(key)},
                   {"kind", std::get<1>(key)},
                   {"namespace", std::get<2>(key)},
                   {"name", std::get<3>(key)},
                   {"version", Str(r, "version")}};
      if (Field(r, "health").is_object()) node["health"] = r["health"];
      auto it = live_by_key.find(key);
      if (it != live_by_key.end()) AddLive(node, *it->second);
      nodes[key] = std::move(node);
    }
  }
  for (const auto& [key, node] : nodes) {
    if (node.contains("uid")) by_uid[node["uid"].get<std::string>()] = node;
  }
  // Children in rounds, so Pods of a ReplicaSet of a Deployment join after their parent.
  std::set<size_t> placed;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < owned.size(); ++i) {
      if (placed.count(i) != 0) continue;
      const json& obj = owned[i];
      const json& refs = Field(Field(obj, "metadata"), "ownerReferences");
      if (!refs.is_array()) continue;
      json parents = json::array();
      for (const json& ref : refs) {
        auto it = by_uid.find(Str(ref, "uid"));
        if (it == by_uid.end()) continue;
        const json& p = it->second;
        parents.push_back({{"group", p.value("group", "")},
                           {"kind", p.value("kind", "")},
                           {"namespace", p.value("namespace", "")},
                           {"name", p.value("name", "")},
                           {"uid", p.value("uid", "")}});
      }
      if (parents.empty()) continue;
      const Key key = KeyOfLive(obj);
      json node = {{"group", std::get<0>(key)},
                   {"kind", std::get<1>(key)},
                   {"namespace", std::get<2>(key)},
                   {"name", std::get<3>(key)},
                   {"version", GroupVersion(Str(obj, "apiVersion")).second},
                   {"parentRefs", std::move(parents)}};
      AddLive(node, obj);
      if (json health = ChildHealth(obj); !health.is_null()) node["health"] = std::move(health);
      if (node.contains("uid")) by_uid[node["uid"].get<std::string>()] = node;
      nodes[key] = std::move(node);
      placed.insert(i);
      grew = true;
    }
  }
  json out = {{"nodes", json::array()}};
  for (auto& [key, node] : nodes) out["nodes"].push_back(std::move(node));
  return out;
}

}  // namespace argonaut::cd::api
