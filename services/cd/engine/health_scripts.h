// Custom health checks in Lua, as Argo CD reads them from the argocd-cm
// ConfigMap: keys `resource.customizations.health.<group>_<kind>` (core kinds:
// `resource.customizations.health.<kind>`) and the older single key
// `resource.customizations`, a YAML map "<group>/<kind>": {health.lua: ...}.
// Group and kind may hold `*` wildcards; an exact entry wins over a wildcard.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::cd::engine {

class HealthScripts {
 public:
  // `argocd_cm_data` is the ConfigMap's `data` object (non-objects give no
  // scripts). Entries that cannot be read are skipped and listed in errors().
  static HealthScripts FromConfigMap(const nlohmann::json& argocd_cm_data);

  // `key` is "<group>/<kind>" or, for core kinds, "<kind>".
  void Add(std::string_view key, std::string script);

  // The script for a group/kind, or nullptr.
  const std::string* Find(std::string_view group, std::string_view kind) const;

  bool empty() const { return exact_.empty() && wildcard_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  // (group, kind) -> script; wildcard entries kept in the order added.
  std::vector<std::pair<std::pair<std::string, std::string>, std::string>> exact_, wildcard_;
  std::vector<std::string> errors_;
};

// Whether `text` matches `pattern`, where `*` matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace argonaut::cd::engine
