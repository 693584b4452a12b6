// Lenient readers of manifest JSON: a missing key or a value of another type
// reads as null / "" / 0 / false, so callers never trip over nlohmann::json's
// throwing accessors. One set for every service that reads objects loosely.
#ifndef LIB_BASE_JSON_FIELDS_H_
#define LIB_BASE_JSON_FIELDS_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace argonaut::base::json_fields {

// o[key], or a null json when o is not an object or has no such key.
inline const nlohmann::json& Field(const nlohmann::json& o, const char* key) {
  static const nlohmann::json* const kNull = new nlohmann::json();
  if (!o.is_object()) return *kNull;
  auto it = o.find(key);
  return it == o.end() ? *kNull : *it;
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

// o[key] for writing, made an empty object first when it is missing or not an
// object (o itself becomes an object when it is null).
inline nlohmann::json& ObjectAt(nlohmann::json& o, const char* key) {
  if (!o.contains(key) || !o[key].is_object()) o[key] = nlohmann::json::object();
  return o[key];
}

}  // namespace argonaut::base::json_fields

#endif  // LIB_BASE_JSON_FIELDS_H_
