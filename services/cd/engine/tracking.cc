#include "services/cd/engine/tracking.h"

#include "absl/strings/str_cat.h"

namespace argonaut::cd::engine {
namespace {

const nlohmann::json* Meta(const nlohmann::json& obj, const char* field) {
  if (!obj.is_object()) return nullptr;
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return nullptr;
  auto it = md->find(field);
  return it != md->end() && it->is_object() ? &*it : nullptr;
}

std::string StrIn(const nlohmann::json* map, const char* key) {
  if (map == nullptr) return "";
  auto it = map->find(key);
  return it != map->end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string TrackingId(std::string_view app_name, const ResourceKey& key) {
  return absl::StrCat(std::string(app_name), ":", key.group, "/", key.kind, ":", key.ns, "/",
                      key.name);
}

nlohmann::json PrepareTarget(const nlohmann::json& manifest, std::string_view app_name,
                             std::string_view dest_ns) {
  nlohmann::json out = manifest;
  if (!out.is_object()) return out;
  if (!out.contains("metadata") || !out["metadata"].is_object())
    out["metadata"] = nlohmann::json::object();
  nlohmann::json& md = out["metadata"];
  ResourceKey key = KeyOf(out);
  if (IsNamespacedKind(key.group, key.kind)) {
    if (key.ns.empty() && !dest_ns.empty()) md["namespace"] = std::string(dest_ns);
  } else {
    md.erase("namespace");
  }
  key = KeyOf(out);
  if (!md.contains("labels") || !md["labels"].is_object()) md["labels"] = nlohmann::json::object();
  md["labels"][kInstanceLabel] = std::string(app_name);
  if (!md.contains("annotations") || !md["annotations"].is_object())
    md["annotations"] = nlohmann::json::object();
  md["annotations"][kTrackingAnnotation] = TrackingId(app_name, key);
  return out;
}

bool BelongsTo(const nlohmann::json& live, std::string_view app_name) {
  std::string id = StrIn(Meta(live, "annotations"), kTrackingAnnotation);
  if (!id.empty()) return id == TrackingId(app_name, KeyOf(live));
  std::string label = StrIn(Meta(live, "labels"), kInstanceLabel);
  return !label.empty() && label == app_name;
}

}  // namespace argonaut::cd::engine
