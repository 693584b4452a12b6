#include "services/events/event.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace argonaut::events {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("CloudEvent.", field, ": ", problem));
}

// Reads an optional string attribute; a present non-string is an error.
absl::Status ReadString(const nlohmann::json& json, const char* field, bool required,
                        std::string* out) {
  auto it = json.find(field);
  if (it == json.end() || it->is_null()) {
    if (required) return FieldError(field, "required");
    return absl::OkStatus();
  }
  if (!it->is_string()) return FieldError(field, "must be a string");
  *out = it->get<std::string>();
  if (required && out->empty()) return FieldError(field, "must not be empty");
  return absl::OkStatus();
}

}  // namespace

std::string NewEventId() {
  // absl::BitGen is seeded from the OS entropy source per instance, so ids
  // from different processes and threads do not collide.
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

std::string FormatEventTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseEventTime(const std::string& text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an RFC 3339 time: \"", text, "\": ", error));
  }
  return time;
}

nlohmann::json CloudEvent::ToJson() const {
  nlohmann::json json = {
      {"id", id},
      {"source", source},
      {"specversion", specversion},
      {"type", type},
      {"subject", subject},
      {"datacontenttype", datacontenttype},
      {"time", FormatEventTime(time)},
  };
  json["data"] = data;
  return json;
}

absl::StatusOr<CloudEvent> CloudEvent::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError("CloudEvent: must be a JSON object");
  }
  CloudEvent event;
  event.specversion.clear();
  event.datacontenttype.clear();
  if (auto s = ReadString(json, "id", true, &event.id); !s.ok()) return s;
  if (auto s = ReadString(json, "source", true, &event.source); !s.ok()) {
    return s;
  }
  if (auto s = ReadString(json, "specversion", false, &event.specversion); !s.ok()) {
    return s;
  }
  if (event.specversion.empty()) event.specversion = "1.0";
  if (event.specversion != "1.0") {
    return FieldError("specversion",
                      absl::StrCat("unsupported \"", event.specversion, "\" (only \"1.0\")"));
  }
  if (auto s = ReadString(json, "type", true, &event.type); !s.ok()) return s;
  if (auto s = ReadString(json, "subject", false, &event.subject); !s.ok()) {
    return s;
  }
  if (auto s = ReadString(json, "datacontenttype", false, &event.datacontenttype); !s.ok()) {
    return s;
  }
  if (event.datacontenttype.empty()) {
    event.datacontenttype = "application/json";
  }
  std::string time_text;
  if (auto s = ReadString(json, "time", false, &time_text); !s.ok()) return s;
  if (!time_text.empty()) {
    auto time = ParseEventTime(time_text);
    if (!time.ok()) return FieldError("time", time.status().message());
    event.time = *time;
  }
  if (auto it = json.find("data"); it != json.end()) {
    event.data = *it;
  } else if (auto b64 = json.find("data_base64"); b64 != json.end()) {
    if (!b64->is_string()) return FieldError("data_base64", "must be a string");
    std::string decoded;
    if (!absl::Base64Unescape(b64->get<std::string>(), &decoded)) {
      return FieldError("data_base64", "not valid base64");
    }
    event.data = decoded;
  }
  return event;
}

bool CloudEvent::operator==(const CloudEvent& other) const {
  return id == other.id && source == other.source && specversion == other.specversion &&
         type == other.type && subject == other.subject &&
         datacontenttype == other.datacontenttype && time == other.time && data == other.data;
}

}  // namespace argonaut::events
