#include "lib/manifest/codec.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "argonaut/common/v1/meta.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/scalar.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::ListValue;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Struct;
using google::protobuf::Value;
using nlohmann::json;

// Largest magnitude up to which every integer is exactly representable as a double.
constexpr int64_t kMaxExactDouble = int64_t{1} << 53;

enum class WellKnown { kNone, kStruct, kValue, kListValue };

WellKnown WellKnownKind(const Descriptor* d) {
  if (d->file()->name() != "google/protobuf/struct.proto") return WellKnown::kNone;
  if (d->name() == "Struct") return WellKnown::kStruct;
  if (d->name() == "Value") return WellKnown::kValue;
  if (d->name() == "ListValue") return WellKnown::kListValue;
  return WellKnown::kNone;
}

// Either option: the codec accepts a string, number or boolean and keeps the text.
bool IsIntOrString(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_STRING &&
         (f->options().GetExtension(argonaut::common::v1::int_or_string) ||
          f->options().GetExtension(argonaut::common::v1::any_string));
}

// Only int_or_string prints a canonical integer back as a number; any_string stays a string.
bool PrintsAsNumber(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_STRING &&
         f->options().GetExtension(argonaut::common::v1::int_or_string);
}

// A message manifests write as a bare list of its single repeated field (Argo's ParallelSteps).
const FieldDescriptor* InlineListField(const Descriptor* d) {
  if (!d->options().GetExtension(argonaut::common::v1::inline_list)) return nullptr;
  if (d->field_count() != 1 || !d->field(0)->is_repeated() || d->field(0)->is_map()) {
    return nullptr;
  }
  return d->field(0);
}

// json_name lookup. Descriptor has no index by json_name in protobuf 3.21; camelCase names equal
// json_name unless the option overrides it, so try that index first and scan otherwise.
const FieldDescriptor* FindFieldByJsonName(const Descriptor* d, const std::string& key) {
  const FieldDescriptor* f = d->FindFieldByCamelcaseName(key);
  if (f != nullptr && !f->is_extension() && f->json_name() == key) return f;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) return d->field(i);
  }
  return nullptr;
}

// What a value is, for error messages: containers by kind, scalars with their value.
std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return absl::StrCat("integer ", v.dump());
    case json::value_t::number_float:
      return absl::StrCat("number ", internal::FormatDouble(v.get<double>()));
    case json::value_t::string: {
      constexpr size_t kMax = 60;
      const auto& s = v.get_ref<const std::string&>();
      json shown = s.size() <= kMax ? s : s.substr(0, kMax) + "...";
      return absl::StrCat("string ", shown.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

// Path segment for a key: `.app` when that reads unambiguously, else `["a.b/c"]`.
void AppendKeySegment(std::string* path, const std::string& key) {
  bool simple = !key.empty();
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      simple = false;
      break;
    }
  }
  if (simple) {
    if (!path->empty()) path->push_back('.');
    path->append(key);
  } else {
    absl::StrAppend(path, "[", json(key).dump(-1, ' ', false, json::error_handler_t::replace), "]");
  }
}

// Protobuf's parsers refuse messages nested deeper than this by default (CodedInputStream's
// recursion limit). Refusing such input here keeps every accepted object readable after it has
// been stored in binary form.
constexpr int kMaxMessageDepth = 100;

// How deep a value sits, in JSON collections (for kMaxDepth) and in protobuf messages below the
// root (for kMaxMessageDepth).
struct Depth {
  int json;
  int message;
};

class Decoder {
 public:
  absl::Status DecodeMessage(const json& j, Message* msg, Depth depth) {
    const Descriptor* d = msg->GetDescriptor();
    switch (WellKnownKind(d)) {
      case WellKnown::kStruct:
        return DecodeGenerated<Struct>(j, msg, depth, &Decoder::DecodeStruct);
      case WellKnown::kValue:
        return DecodeGenerated<Value>(j, msg, depth, &Decoder::DecodeValue);
      case WellKnown::kListValue:
        return DecodeGenerated<ListValue>(j, msg, depth, &Decoder::DecodeListValue);
      case WellKnown::kNone:
        break;
    }
    if (const FieldDescriptor* list = InlineListField(d); list != nullptr) {
      if (!j.is_array()) return TypeError("array", j);
      RETURN_IF_ERROR(CheckDepth(depth));
      // The elements sit at this message's path: `steps[0][1]`, not `steps[0].steps[1]`.
      return DecodeField(j, msg, list, depth);
    }
    if (!j.is_object()) return TypeError("object", j);
    RETURN_IF_ERROR(CheckDepth(depth));
    const Reflection* r = msg->GetReflection();
    for (const auto& [key, value] : j.items()) {
      const size_t mark = path_.size();
      AppendKeySegment(&path_, key);
      const FieldDescriptor* f = FindFieldByJsonName(d, key);
      if (f == nullptr) return Error("unknown field");
      const bool null_is_value = !f->is_repeated() &&
                                 f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                                 WellKnownKind(f->message_type()) == WellKnown::kValue;
      if (value.is_null() && !null_is_value) {
        path_.resize(mark);
        continue;
      }
      if (const auto* oneof = f->real_containing_oneof();
          oneof != nullptr && r->HasOneof(*msg, oneof)) {
        return Error(absl::StrCat("conflicts with ",
                                  r->GetOneofFieldDescriptor(*msg, oneof)->json_name(),
                                  " (only one of them may be set)"));
      }
      RETURN_IF_ERROR(DecodeField(value, msg, f, depth));
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view what) const {
    if (path_.empty()) return absl::InvalidArgumentError(what);
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", what));
  }

  absl::Status TypeError(absl::string_view expected, const json& got) const {
    return Error(absl::StrCat("expected ", expected, ", got ", Describe(got)));
  }

  // proto3 string fields must hold UTF-8 (peers refuse to parse anything else). ParseDocuments
  // guarantees it; trees built in code might not.
  absl::Status CheckUtf8(const std::string& s) const {
    if (!internal::IsValidUtf8(s)) return Error("invalid UTF-8");
    return absl::OkStatus();
  }

  absl::Status CheckJsonDepth(Depth depth) const {
    if (depth.json > kMaxDepth) {
      return Error(absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckMessageDepth(Depth depth) const {
    if (depth.message > kMaxMessageDepth) {
      return Error(absl::StrCat("nested too deeply for protobuf (more than ", kMaxMessageDepth,
                                " message levels; Struct content takes up to 3 per level)"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckDepth(Depth depth) const {
    RETURN_IF_ERROR(CheckJsonDepth(depth));
    return CheckMessageDepth(depth);
  }

  // Struct/Value/ListValue are filled through their generated API. A message from a dynamic pool
  // has the same wire format, so it is filled by way of a generated copy.
  template <typename T>
  absl::Status DecodeGenerated(const json& j, Message* msg, Depth depth,
                               absl::Status (Decoder::*decode)(const json&, T*, Depth)) {
    if (T* typed = google::protobuf::DynamicCastToGenerated<T>(msg)) {
      return (this->*decode)(j, typed, depth);
    }
    T generated;
    RETURN_IF_ERROR((this->*decode)(j, &generated, depth));
    if (!msg->ParseFromString(generated.SerializeAsString())) {
      return Error(absl::StrCat("cannot copy into ", msg->GetDescriptor()->full_name()));
    }
    return absl::OkStatus();
  }

  absl::Status DecodeStruct(const json& j, Struct* out, Depth depth) {
    if (!j.is_object()) return TypeError("object", j);
    RETURN_IF_ERROR(CheckDepth(depth));
    auto& fields = *out->mutable_fields();
    for (const auto& [key, value] : j.items()) {
      const size_t mark = path_.size();
      AppendKeySegment(&path_, key);
      RETURN_IF_ERROR(CheckUtf8(key));
      // Each entry is a map-entry message holding a Value message.
      RETURN_IF_ERROR(DecodeValue(value, &fields[key], {depth.json + 1, depth.message + 2}));
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  absl::Status DecodeListValue(const json& j, ListValue* out, Depth depth) {
    if (!j.is_array()) return TypeError("array", j);
    RETURN_IF_ERROR(CheckDepth(depth));
    out->mutable_values()->Reserve(static_cast<int>(j.size()));
    for (size_t i = 0; i < j.size(); ++i) {
      const size_t mark = path_.size();
      absl::StrAppend(&path_, "[", i, "]");
      RETURN_IF_ERROR(DecodeValue(j[i], out->add_values(), {depth.json + 1, depth.message + 1}));
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  // `depth.json` is the level `j` would occupy if it is a collection.
  absl::Status DecodeValue(const json& j, Value* out, Depth depth) {
    RETURN_IF_ERROR(CheckMessageDepth(depth));
    switch (j.type()) {
      case json::value_t::null:
        out->set_null_value(google::protobuf::NULL_VALUE);
        return absl::OkStatus();
      case json::value_t::boolean:
        out->set_bool_value(j.get<bool>());
        return absl::OkStatus();
      case json::value_t::number_integer: {
        const int64_t v = j.get<int64_t>();
        if (v > kMaxExactDouble || v < -kMaxExactDouble) return InexactInteger(j);
        out->set_number_value(static_cast<double>(v));
        return absl::OkStatus();
      }
      case json::value_t::number_unsigned: {
        const uint64_t v = j.get<uint64_t>();
        if (v > static_cast<uint64_t>(kMaxExactDouble)) return InexactInteger(j);
        out->set_number_value(static_cast<double>(v));
        return absl::OkStatus();
      }
      case json::value_t::number_float:
        out->set_number_value(j.get<double>());
        return absl::OkStatus();
      case json::value_t::string:
        RETURN_IF_ERROR(CheckUtf8(j.get_ref<const std::string&>()));
        out->set_string_value(j.get<std::string>());
        return absl::OkStatus();
      case json::value_t::array:
        return DecodeListValue(j, out->mutable_list_value(), {depth.json, depth.message + 1});
      case json::value_t::object:
        return DecodeStruct(j, out->mutable_struct_value(), {depth.json, depth.message + 1});
      default:
        return TypeError("JSON value", j);
    }
  }

  absl::Status InexactInteger(const json& j) const {
    return Error(
        absl::StrCat("integer ", j.dump(), " is too large to keep exactly (limit is +-2^53)"));
  }

  // `depth` is msg's. A message-typed value of f sits one message level below it.
  absl::Status DecodeField(const json& j, Message* msg, const FieldDescriptor* f, Depth depth) {
    const Depth child = {depth.json + 1, depth.message + 1};
    if (f->is_map()) return DecodeMap(j, msg, f, child);
    if (!f->is_repeated()) return DecodeSingle(j, msg, f, child);
    if (!j.is_array()) return TypeError("array", j);
    RETURN_IF_ERROR(CheckJsonDepth(child));
    for (size_t i = 0; i < j.size(); ++i) {
      const size_t mark = path_.size();
      absl::StrAppend(&path_, "[", i, "]");
      RETURN_IF_ERROR(DecodeSingle(j[i], msg, f, {child.json + 1, child.message}));
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  // `depth.message` is the level of the map-entry messages.
  absl::Status DecodeMap(const json& j, Message* msg, const FieldDescriptor* f, Depth depth) {
    if (!j.is_object()) return TypeError("object", j);
    RETURN_IF_ERROR(CheckDepth(depth));
    const FieldDescriptor* key_field = f->message_type()->map_key();
    const FieldDescriptor* value_field = f->message_type()->map_value();
    for (const auto& [key, value] : j.items()) {
      const size_t mark = path_.size();
      AppendKeySegment(&path_, key);
      Message* entry = msg->GetReflection()->AddMessage(msg, f);
      RETURN_IF_ERROR(SetMapKey(key, entry, key_field));
      RETURN_IF_ERROR(DecodeSingle(value, entry, value_field, {depth.json + 1, depth.message + 1}));
      path_.resize(mark);
    }
    return absl::OkStatus();
  }

  // JSON object keys are strings; integer and bool map keys must be spelled canonically so that
  // two different keys cannot land on the same entry.
  absl::Status SetMapKey(const std::string& key, Message* entry, const FieldDescriptor* f) {
    const Reflection* r = entry->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        RETURN_IF_ERROR(CheckUtf8(key));
        r->SetString(entry, f, key);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL:
        if (key != "true" && key != "false") return Error("map key must be true or false");
        r->SetBool(entry, f, key == "true");
        return absl::OkStatus();
      default:
        break;
    }
    std::optional<int64_t> v = internal::ParseCanonicalInt64(key);
    uint64_t u = 0;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 && !v.has_value() &&
        std::from_chars(key.data(), key.data() + key.size(), u).ptr == key.data() + key.size() &&
        absl::StrCat(u) == key) {
      r->SetUInt64(entry, f, u);
      return absl::OkStatus();
    }
    if (!v.has_value()) return Error("map key must be a canonical integer");
    return SetInteger(entry, f, *v, json(*v));
  }

  // Range-checks an integer and stores it into a field of any integer type.
  absl::Status SetInteger(Message* msg, const FieldDescriptor* f, int64_t v, const json& j) {
    const Reflection* r = msg->GetReflection();
    const bool rep = f->is_repeated();
    const auto out_of_range = [&] {
      return Error(absl::StrCat("value ", j.dump(), " out of range for ", f->type_name()));
    };
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
          return out_of_range();
        }
        rep ? r->AddInt32(msg, f, static_cast<int32_t>(v))
            : r->SetInt32(msg, f, static_cast<int32_t>(v));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT64:
        rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT32:
        if (v < 0 || v > std::numeric_limits<uint32_t>::max()) return out_of_range();
        rep ? r->AddUInt32(msg, f, static_cast<uint32_t>(v))
            : r->SetUInt32(msg, f, static_cast<uint32_t>(v));
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_UINT64:
        if (v < 0) return out_of_range();
        rep ? r->AddUInt64(msg, f, static_cast<uint64_t>(v))
            : r->SetUInt64(msg, f, static_cast<uint64_t>(v));
        return absl::OkStatus();
      default:
        return Error("internal: not an integer field");
    }
  }

  absl::Status DecodeInteger(const json& j, Message* msg, const FieldDescriptor* f) {
    const bool is64 = f->cpp_type() == FieldDescriptor::CPPTYPE_INT64 ||
                      f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
    switch (j.type()) {
      case json::value_t::number_integer:
        return SetInteger(msg, f, j.get<int64_t>(), j);
      case json::value_t::number_unsigned: {
        const uint64_t u = j.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT64) {
            return Error(absl::StrCat("value ", j.dump(), " out of range for ", f->type_name()));
          }
          f->is_repeated() ? msg->GetReflection()->AddUInt64(msg, f, u)
                           : msg->GetReflection()->SetUInt64(msg, f, u);
          return absl::OkStatus();
        }
        return SetInteger(msg, f, static_cast<int64_t>(u), j);
      }
      case json::value_t::number_float: {
        // YAML and JSON writers sometimes print integral values as 3.0; a fraction is an error.
        const double d = j.get<double>();
        if (!std::isfinite(d) || std::trunc(d) != d) return TypeError("integer", j);
        if (d >= 0x1p63 || d < -0x1p63) {
          if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 && d < 0x1p64) {
            return DecodeInteger(json(static_cast<uint64_t>(d)), msg, f);
          }
          return Error(absl::StrCat("value ", j.dump(), " out of range for ", f->type_name()));
        }
        return SetInteger(msg, f, static_cast<int64_t>(d), j);
      }
      case json::value_t::string: {
        // proto3 JSON writes 64-bit integers as strings; accept that spelling for them only.
        const auto& s = j.get_ref<const std::string&>();
        if (is64 && !s.empty()) {
          int64_t v = 0;
          auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
          if (ec == std::errc() && ptr == s.data() + s.size()) return SetInteger(msg, f, v, j);
          uint64_t u = 0;
          auto [uptr, uec] = std::from_chars(s.data(), s.data() + s.size(), u);
          if (uec == std::errc() && uptr == s.data() + s.size()) {
            return DecodeInteger(json(u), msg, f);
          }
        }
        return TypeError("integer", j);
      }
      default:
        return TypeError("integer", j);
    }
  }

  // `depth` is what a message-typed value would have.
  absl::Status DecodeSingle(const json& j, Message* msg, const FieldDescriptor* f, Depth depth) {
    const Reflection* r = msg->GetReflection();
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return DecodeInteger(j, msg, f);
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        if (!j.is_number()) return TypeError("number", j);
        const double d = j.get<double>();
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          rep ? r->AddDouble(msg, f, d) : r->SetDouble(msg, f, d);
          return absl::OkStatus();
        }
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
          return Error(absl::StrCat("value ", j.dump(), " out of range for float"));
        }
        rep ? r->AddFloat(msg, f, static_cast<float>(d))
            : r->SetFloat(msg, f, static_cast<float>(d));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!j.is_boolean()) return TypeError("boolean", j);
        rep ? r->AddBool(msg, f, j.get<bool>()) : r->SetBool(msg, f, j.get<bool>());
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_STRING: {
        ASSIGN_OR_RETURN(std::string s, StringFieldText(j, f));
        rep ? r->AddString(msg, f, std::move(s)) : r->SetString(msg, f, std::move(s));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* e = nullptr;
        if (j.is_string()) {
          e = f->enum_type()->FindValueByName(j.get<std::string>());
          if (e == nullptr)
            return Error(absl::StrCat("unknown value for ", f->enum_type()->name()));
          rep ? r->AddEnum(msg, f, e) : r->SetEnum(msg, f, e);
          return absl::OkStatus();
        }
        return TypeError(absl::StrCat(f->enum_type()->name(), " name"), j);
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* sub = rep ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
        return DecodeMessage(j, sub, depth);
      }
    }
    return Error("internal: unhandled field type");
  }

  absl::StatusOr<std::string> StringFieldText(const json& j, const FieldDescriptor* f) {
    if (f->type() == FieldDescriptor::TYPE_BYTES) {
      if (!j.is_string()) return TypeError("base64 string", j);
      std::string bytes;
      const auto& s = j.get_ref<const std::string&>();
      if (!absl::Base64Unescape(s, &bytes) && !absl::WebSafeBase64Unescape(s, &bytes)) {
        return Error("invalid base64");
      }
      return bytes;
    }
    if (j.is_string()) {
      RETURN_IF_ERROR(CheckUtf8(j.get_ref<const std::string&>()));
      return j.get<std::string>();
    }
    if (IsIntOrString(f)) {
      // The text a YAML reader would have seen, so `timeout: 30` and `timeout: "30"` agree.
      switch (j.type()) {
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
          return j.dump();
        case json::value_t::number_float:
          return internal::FormatDouble(j.get<double>());
        case json::value_t::boolean:
          return std::string(j.get<bool>() ? "true" : "false");
        default:
          return TypeError("string or number", j);
      }
    }
    return TypeError("string", j);
  }

  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Encoding

json EncodeMessage(const Message& msg);

// Integral numbers come back as integers: Struct stores every number as a double, and manifests
// say `replicas: 3`, not 3.0.
json EncodeNumber(double d) {
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= kMaxExactDouble) {
    return static_cast<int64_t>(d);
  }
  return d;
}

json EncodeValue(const Value& v);

json EncodeStruct(const Struct& s) {
  json out = json::object();
  for (const auto& [key, value] : s.fields()) out.emplace(key, EncodeValue(value));
  return out;
}

json EncodeListValue(const ListValue& l) {
  json out = json::array();
  for (const Value& v : l.values()) out.push_back(EncodeValue(v));
  return out;
}

json EncodeValue(const Value& v) {
  switch (v.kind_case()) {
    case Value::kBoolValue:
      return v.bool_value();
    case Value::kNumberValue:
      return EncodeNumber(v.number_value());
    case Value::kStringValue:
      return v.string_value();
    case Value::kStructValue:
      return EncodeStruct(v.struct_value());
    case Value::kListValue:
      return EncodeListValue(v.list_value());
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

template <typename T>
json EncodeGenerated(const Message& msg, json (*encode)(const T&)) {
  if (const T* typed = google::protobuf::DynamicCastToGenerated<T>(&msg)) return encode(*typed);
  T generated;
  // Same wire format (see DecodeGenerated); a failure leaves `generated` empty, which is the
  // best answer for a message that does not serialize.
  if (!generated.ParseFromString(msg.SerializeAsString())) generated.Clear();
  return encode(generated);
}

// A float widened directly to double prints as 0.10000000149011612; go through the shortest
// decimal that identifies the float so that 0.1 stays 0.1.
double FloatToDouble(float f) {
  if (!std::isfinite(f)) return f;
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), f);
  double d = f;
  std::from_chars(buf, ptr, d);
  return d;
}

json EncodeSingle(const Message& msg, const FieldDescriptor* f, int index) {
  const Reflection* r = msg.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return FloatToDouble(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(msg, f, index) : r->GetString(msg, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES) return absl::Base64Escape(s);
      if (PrintsAsNumber(f)) {
        if (std::optional<int64_t> v = internal::ParseCanonicalInt64(s)) return *v;
      }
      return s;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* e = rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f);
      return e->name();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return EncodeMessage(rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f));
  }
  return nullptr;
}

json EncodeField(const Message& msg, const FieldDescriptor* f) {
  const Reflection* r = msg.GetReflection();
  if (f->is_map()) {
    json out = json::object();
    const FieldDescriptor* key_field = f->message_type()->map_key();
    const FieldDescriptor* value_field = f->message_type()->map_value();
    for (int i = 0; i < r->FieldSize(msg, f); ++i) {
      const Message& entry = r->GetRepeatedMessage(msg, f, i);
      json key = EncodeSingle(entry, key_field, -1);
      std::string key_text = key.is_string() ? key.get<std::string>() : key.dump();
      out[key_text] = EncodeSingle(entry, value_field, -1);
    }
    return out;
  }
  if (f->is_repeated()) {
    json out = json::array();
    for (int i = 0; i < r->FieldSize(msg, f); ++i) out.push_back(EncodeSingle(msg, f, i));
    return out;
  }
  return EncodeSingle(msg, f, -1);
}

json EncodeMessage(const Message& msg) {
  switch (WellKnownKind(msg.GetDescriptor())) {
    case WellKnown::kStruct:
      return EncodeGenerated<Struct>(msg, &EncodeStruct);
    case WellKnown::kValue:
      return EncodeGenerated<Value>(msg, &EncodeValue);
    case WellKnown::kListValue:
      return EncodeGenerated<ListValue>(msg, &EncodeListValue);
    case WellKnown::kNone:
      break;
  }
  if (const FieldDescriptor* list = InlineListField(msg.GetDescriptor()); list != nullptr) {
    if (msg.GetReflection()->FieldSize(msg, list) == 0) return json::array();
    return EncodeField(msg, list);
  }
  json out = json::object();
  std::vector<const FieldDescriptor*> fields;
  // ListFields is exactly "present": has-bit for fields with presence, non-default otherwise,
  // non-empty for repeated and maps.
  msg.GetReflection()->ListFields(msg, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->is_extension()) continue;  // no manifest spelling
    out.emplace(f->json_name(), EncodeField(msg, f));
  }
  return out;
}

}  // namespace

absl::Status FromJson(const json& obj, Message* msg) {
  msg->Clear();
  Decoder decoder;
  try {
    return decoder.DecodeMessage(obj, msg, {.json = 1, .message = 0});
  } catch (const std::exception& e) {
    // nlohmann throws only on misuse (type_error); keep the "never throws" promise regardless.
    return absl::InternalError(absl::StrCat("manifest decode: ", e.what()));
  }
}

json ToJson(const Message& msg) { return EncodeMessage(msg); }

}  // namespace argonaut::manifest
