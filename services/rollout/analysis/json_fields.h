// Lenient readers of manifest JSON shared by the analysis sources: a missing
// key or a value of another type reads as empty, so callers never trip over
// nlohmann::json's throwing accessors. Internal to this package.
#ifndef SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_
#define SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace argonaut::rollout::analysis::json_fields {

// o[key], or a null json when o is not an object or has no such key.
inline const nlohmann::json& Field(const nlohmann::json& o, const char* key) {
  static const nlohmann::json* const kNull = new nlohmann::json();
  if (o.is_object()) {
    auto it = o.find(key);
    if (it != o.end()) return *it;
  }
  return *kNull;
}

// o[key] when it is a string, else "".
inline std::string Str(const nlohmann::json& o, const char* key) {
  const nlohmann::json& v = Field(o, key);
  return v.is_string() ? v.get<std::string>() : "";
}

// o[key] when it is a number, else 0.
inline int64_t Int(const nlohmann::json& o, const char* key) {
  const nlohmann::json& v = Field(o, key);
  return v.is_number() ? v.get<int64_t>() : 0;
}

// o[key] when it is true, else false.
inline bool Bool(const nlohmann::json& o, const char* key) {
  const nlohmann::json& v = Field(o, key);
  return v.is_boolean() && v.get<bool>();
}

}  // namespace argonaut::rollout::analysis::json_fields

#endif  // SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_
