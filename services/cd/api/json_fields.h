// Lenient readers of Argo CD JSON for the cd API: a missing key or a value of another type reads
// as null / "" instead of throwing.
#pragma once

#include <string>

#include "nlohmann/json.hpp"

namespace argonaut::cd::api::internal {

inline const nlohmann::json& Field(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json* const kNull = new nlohmann::json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it != obj.end() ? *it : *kNull;
}

inline std::string Str(const nlohmann::json& obj, const char* key) {
  const nlohmann::json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace argonaut::cd::api::internal
