#include "services/cd/engine/health_scripts.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cd::engine {
namespace {

constexpr absl::string_view kSplitPrefix = "resource.customizations.health.";
constexpr char kLegacyKey[] = "resource.customizations";

// "<group>_<kind>" or "<kind>" -> (group, kind), as Argo CD's settings do.
bool SplitGroupKind(std::string_view s, char sep, std::string* group, std::string* kind) {
  size_t at = s.rfind(sep);
  if (at == std::string_view::npos) {
    *group = "";
    *kind = std::string(s);
  } else {
    if (s.find(sep) != at) return false;
    *group = std::string(s.substr(0, at));
    *kind = std::string(s.substr(at + 1));
  }
  return !kind->empty();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void HealthScripts::Add(std::string_view key, std::string script) {
  std::string group, kind;
  if (!SplitGroupKind(key, '/', &group, &kind)) {
    errors_.push_back(absl::StrCat("resource customization key \"", std::string(key),
                                   "\" is not <group>/<kind> or <kind>"));
    return;
  }
  bool wild = absl::StrContains(group, "*") || absl::StrContains(kind, "*");
  auto& list = wild ? wildcard_ : exact_;
  for (auto& [gk, s] : list) {
    if (gk.first == group && gk.second == kind) {
      s = std::move(script);
      return;
    }
  }
  list.push_back({{std::move(group), std::move(kind)}, std::move(script)});
}

const std::string* HealthScripts::Find(std::string_view group, std::string_view kind) const {
  for (const auto& [gk, s] : exact_)
    if (gk.first == group && gk.second == kind) return &s;
  for (const auto& [gk, s] : wildcard_)
    if (GlobMatch(gk.first, group) && GlobMatch(gk.second, kind)) return &s;
  return nullptr;
}

HealthScripts HealthScripts::FromConfigMap(const nlohmann::json& data) {
  HealthScripts out;
  if (!data.is_object()) return out;
  // The legacy map first: split keys override it, as in Argo CD.
  if (auto it = data.find(kLegacyKey); it != data.end() && it->is_string()) {
    auto docs = manifest::ParseDocuments(it->get<std::string>());
    if (!docs.ok()) {
      out.errors_.push_back(absl::StrCat("resource.customizations: ", docs.status().message()));
    } else if (!docs->empty() && (*docs)[0].is_object()) {
      for (const auto& [key, value] : (*docs)[0].items()) {
        if (!value.is_object()) continue;
        auto lua = value.find("health.lua");
        if (lua != value.end() && lua->is_string()) out.Add(key, lua->get<std::string>());
      }
    }
  }
  for (const auto& [key, value] : data.items()) {
    if (!absl::StartsWith(key, kSplitPrefix) || !value.is_string()) continue;
    std::string group, kind;
    if (!SplitGroupKind(std::string_view(key).substr(kSplitPrefix.size()), '_', &group, &kind)) {
      out.errors_.push_back(absl::StrCat(key, ": expected ", kSplitPrefix, "<group>_<kind>"));
      continue;
    }
    out.Add(group.empty() ? kind : absl::StrCat(group, "/", kind), value.get<std::string>());
  }
  return out;
}

}  // namespace argonaut::cd::engine
