#include "gateway/swagger_schema.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace argonaut::gateway {
namespace {

using nlohmann::json;

constexpr char kRefPrefix[] = "#/definitions/";
// Deeper than any Kubernetes object nests; guards against a self-referencing definition.
constexpr int kMaxDepth = 64;

bool IsIntegral(const json& v) {
  if (v.is_number_integer()) return true;
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return d == static_cast<double>(static_cast<int64_t>(d));
  }
  return false;
}

bool IsDecimalString(const json& v) {
  if (!v.is_string()) return false;
  int64_t i = 0;
  uint64_t u = 0;
  const std::string s = v.get<std::string>();
  return absl::SimpleAtoi(s, &i) || absl::SimpleAtoi(s, &u);
}

std::string TypeName(const json& v) { return v.type_name(); }

}  // namespace

absl::StatusOr<SwaggerSchema> SwaggerSchema::Parse(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("swagger document: not a JSON object");
  }
  if (!doc.contains("definitions") || !doc["definitions"].is_object()) {
    return absl::InvalidArgumentError("swagger document: no definitions");
  }
  SwaggerSchema s;
  s.doc_ = std::move(doc);
  return s;
}

std::vector<SwaggerSchema::Operation> SwaggerSchema::Operations() const {
  std::vector<Operation> out;
  if (!doc_.contains("paths") || !doc_["paths"].is_object()) return out;
  for (const auto& [path, methods] : doc_["paths"].items()) {
    if (!methods.is_object()) continue;
    for (const auto& [method, op] : methods.items()) {
      json response = json::object();
      if (op.is_object() && op.contains("responses") && op["responses"].contains("200")) {
        response = op["responses"]["200"].value("schema", json::object());
      }
      out.push_back({absl::AsciiStrToUpper(method), path, response});
    }
  }
  return out;
}

std::vector<std::string> SwaggerSchema::Check(const json& value, std::string_view definition,
                                              const std::set<std::string>& allowed_extra) const {
  return CheckSchema(value, json{{"$ref", absl::StrCat(kRefPrefix, std::string(definition))}},
                     allowed_extra);
}

std::vector<std::string> SwaggerSchema::CheckSchema(
    const json& value, const json& schema, const std::set<std::string>& allowed_extra) const {
  std::vector<std::string> problems;
  Walk(value, schema, "$", allowed_extra, problems, 0);
  return problems;
}

void SwaggerSchema::Walk(const json& value, const json& schema, const std::string& path,
                         const std::set<std::string>& allowed_extra,
                         std::vector<std::string>& problems, int depth) const {
  if (depth > kMaxDepth) return;
  if (!schema.is_object()) return;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"].get<std::string>();
    if (!absl::StartsWith(ref, kRefPrefix)) {
      problems.push_back(absl::StrCat(path, ": unsupported $ref ", ref));
      return;
    }
    const std::string name = ref.substr(sizeof(kRefPrefix) - 1);
    // The Kubernetes types the document describes by their protobuf form (see the header).
    if (name == "k8s.io.apimachinery.pkg.apis.meta.v1.Time") {
      absl::Time t;
      std::string err;
      if (!value.is_string() ||
          !absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &t, &err)) {
        problems.push_back(absl::StrCat(path, ": expected an RFC 3339 time, got ", value.dump()));
      }
      return;
    }
    if (name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString") {
      if (!IsIntegral(value) && !value.is_string()) {
        problems.push_back(absl::StrCat(path, ": expected an integer or a string"));
      }
      return;
    }
    if (name == "k8s.io.apimachinery.pkg.api.resource.Quantity") {
      if (!value.is_number() && !value.is_string()) {
        problems.push_back(absl::StrCat(path, ": expected a quantity"));
      }
      return;
    }
    if (name == "google.protobuf.Any" || name == "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1") {
      return;
    }
    const json& defs = doc_["definitions"];
    auto it = defs.find(name);
    if (it == defs.end()) {
      problems.push_back(absl::StrCat(path, ": unknown definition ", name));
      return;
    }
    return Walk(value, *it, path, allowed_extra, problems, depth + 1);
  }
  if (value.is_null()) return;  // an absent value, as grpc-gateway omits or nulls it
  const std::string type = schema.value("type", "");
  const std::string format = schema.value("format", "");
  if (type == "string") {
    if (format == "int64" || format == "uint64") {
      if (!IsDecimalString(value) && !IsIntegral(value)) {
        problems.push_back(
            absl::StrCat(path, ": expected an ", format, " (decimal string), got ", value.dump()));
      }
    } else if (!value.is_string()) {
      problems.push_back(absl::StrCat(path, ": expected a string, got ", TypeName(value)));
    }
    return;
  }
  if (type == "integer") {
    if (!IsIntegral(value)) {
      problems.push_back(absl::StrCat(path, ": expected an integer, got ", value.dump()));
    }
    return;
  }
  if (type == "number") {
    if (!value.is_number()) {
      problems.push_back(absl::StrCat(path, ": expected a number, got ", TypeName(value)));
    }
    return;
  }
  if (type == "boolean") {
    if (!value.is_boolean()) {
      problems.push_back(absl::StrCat(path, ": expected a boolean, got ", TypeName(value)));
    }
    return;
  }
  if (type == "array") {
    if (!value.is_array()) {
      problems.push_back(absl::StrCat(path, ": expected an array, got ", TypeName(value)));
      return;
    }
    const json items = schema.value("items", json::object());
    for (size_t i = 0; i < value.size(); ++i) {
      Walk(value[i], items, absl::StrCat(path, "[", i, "]"), allowed_extra, problems, depth + 1);
    }
    return;
  }
  if (type == "object" || schema.contains("properties")) {
    if (!value.is_object()) {
      problems.push_back(absl::StrCat(path, ": expected an object, got ", TypeName(value)));
      return;
    }
    json props = schema.value("properties", json::object());
    // allOf (Argo CD's ResourceNode embeds ResourceRef): the parts' properties are the object's.
    for (const json& part : schema.value("allOf", json::array())) {
      json resolved = part;
      const std::string ref = part.value("$ref", "");
      if (absl::StartsWith(ref, kRefPrefix)) {
        resolved = doc_["definitions"].value(ref.substr(sizeof(kRefPrefix) - 1), json::object());
      }
      const json part_props = resolved.value("properties", json::object());
      for (const auto& [k, v] : part_props.items()) props[k] = v;
    }
    const json extra = schema.value("additionalProperties", json());
    for (const std::string& req : schema.value("required", std::vector<std::string>{})) {
      if (!value.contains(req)) problems.push_back(absl::StrCat(path, ": missing ", req));
    }
    for (const auto& [key, v] : value.items()) {
      const std::string sub = absl::StrCat(path, ".", key);
      if (props.contains(key)) {
        Walk(v, props[key], sub, allowed_extra, problems, depth + 1);
      } else if (extra.is_object()) {
        Walk(v, extra, sub, allowed_extra, problems, depth + 1);
      } else if (!props.empty() && allowed_extra.count(key) == 0) {
        // An object without properties (a free-form map) takes any key.
        problems.push_back(absl::StrCat(sub, ": not in the definition"));
      }
    }
    return;
  }
}

}  // namespace argonaut::gateway
