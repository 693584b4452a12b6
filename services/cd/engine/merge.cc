#include "services/cd/engine/merge.h"

#include <string>
#include <string_view>
#include <vector>

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

const json& Null() {
  static const json kNull;
  return kNull;
}

const json& Get(const json& obj, const std::string& key) {
  if (!obj.is_object()) return Null();
  auto it = obj.find(key);
  return it == obj.end() ? Null() : *it;
}

// A config value as it lands on a field live does not have: JSON merge
// drops nulls.
json Stripped(const json& v) {
  if (!v.is_object()) return v;
  json out = json::object();
  for (const auto& [k, item] : v.items())
    if (!item.is_null()) out[k] = Stripped(item);
  return out;
}

// The merge key of a list field in Kubernetes' built-in types (patchMergeKey),
// chosen from the items for `ports`, which is keyed differently in pods and
// Services.
std::string MergeKey(std::string_view field, const json& config_items) {
  if (field == "containers" || field == "initContainers" || field == "ephemeralContainers" ||
      field == "env" || field == "volumes" || field == "imagePullSecrets")
    return "name";
  if (field == "volumeMounts") return "mountPath";
  if (field == "volumeDevices") return "devicePath";
  if (field == "hostAliases") return "ip";
  if (field == "conditions") return "type";
  if (field == "topologySpreadConstraints") return "topologyKey";
  if (field == "ports") {
    for (const json& item : config_items) {
      if (!item.is_object()) return "";
      if (item.contains("containerPort")) return "containerPort";
      if (item.contains("port")) return "port";
    }
  }
  return "";
}

bool AllKeyed(const json& items, const std::string& key) {
  if (!items.is_array()) return items.is_null();
  for (const json& item : items)
    if (!item.is_object() || !item.contains(key) || item[key].is_null()) return false;
  return true;
}

const json* FindByKey(const json& items, const std::string& key, const json& value) {
  if (!items.is_array()) return nullptr;
  for (const json& item : items)
    if (item.is_object() && item.contains(key) && item[key] == value) return &item;
  return nullptr;
}

json MergeKeyedList(const json& orig, const json& config, const json& live, const std::string& key,
                    bool strategic) {
  // Common items in the same relative order: keep live's order (a live-only
  // item stays where it is); otherwise apply would reorder to config's.
  std::vector<json> common_live, common_config;
  for (const json& item : live)
    if (FindByKey(config, key, item[key]) != nullptr) common_live.push_back(item[key]);
  for (const json& item : config)
    if (FindByKey(live, key, item[key]) != nullptr) common_config.push_back(item[key]);
  json out = json::array();
  auto merged = [&](const json& c) {
    const json* l = FindByKey(live, key, c[key]);
    const json* o = FindByKey(orig, key, c[key]);
    return l == nullptr ? Stripped(c) : ThreeWayMerge(o ? *o : Null(), c, *l, strategic);
  };
  auto deleted = [&](const json& l) {
    return FindByKey(config, key, l[key]) == nullptr && FindByKey(orig, key, l[key]) != nullptr;
  };
  if (common_live == common_config) {
    for (const json& l : live) {
      if (deleted(l)) continue;
      const json* c = FindByKey(config, key, l[key]);
      out.push_back(c == nullptr ? l : merged(*c));
    }
    for (const json& c : config)
      if (FindByKey(live, key, c[key]) == nullptr) out.push_back(Stripped(c));
  } else {
    for (const json& c : config) out.push_back(merged(c));
    for (const json& l : live)
      if (FindByKey(config, key, l[key]) == nullptr && !deleted(l)) out.push_back(l);
  }
  return out;
}

// metadata.finalizers: a set of strings merged, not replaced.
json MergePrimitiveSet(const json& orig, const json& config, const json& live) {
  auto has = [](const json& list, const json& v) {
    if (!list.is_array()) return false;
    for (const json& x : list)
      if (x == v) return true;
    return false;
  };
  json out = json::array();
  for (const json& l : live)
    if (has(config, l) || !has(orig, l)) out.push_back(l);
  for (const json& c : config)
    if (!has(out, c)) out.push_back(c);
  return out;
}

json MergeField(const std::string& field, const json& orig, const json& config, const json& live,
                bool strategic) {
  if (config.is_array() && live.is_array() && strategic) {
    if (field == "finalizers") return MergePrimitiveSet(orig, config, live);
    std::string key = MergeKey(field, config);
    if (!key.empty() && AllKeyed(config, key) && AllKeyed(live, key) &&
        (orig.is_null() || AllKeyed(orig, key)))
      return MergeKeyedList(orig, config, live, key, strategic);
  }
  return ThreeWayMerge(orig, config, live, strategic);
}

}  // namespace

json ThreeWayMerge(const json& orig, const json& config, const json& live, bool strategic) {
  if (!config.is_object() || !live.is_object()) return Stripped(config);
  json out = live;
  if (orig.is_object())
    for (const auto& [k, v] : orig.items())
      if (!config.contains(k)) out.erase(k);
  for (const auto& [k, v] : config.items()) {
    if (v.is_null()) {
      out.erase(k);
    } else if (!live.contains(k)) {
      out[k] = Stripped(v);
    } else {
      out[k] = MergeField(k, Get(orig, k), v, live[k], strategic);
    }
  }
  return out;
}

}  // namespace argonaut::cd::engine
