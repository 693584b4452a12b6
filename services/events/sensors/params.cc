#include "services/events/sensors/params.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/events/sensors/go_template.h"
#include "services/events/sensors/json_path.h"

namespace argonaut::events::sensors {
namespace {

std::string Str(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

nlohmann::json EventContext(const CloudEvent& event) {
  return {{"id", event.id},
          {"source", event.source},
          {"specversion", event.specversion},
          {"type", event.type},
          {"datacontenttype", event.datacontenttype},
          {"subject", event.subject},
          {"time", FormatEventTime(event.time)}};
}

absl::StatusOr<std::optional<nlohmann::json>> ResolveParameter(const nlohmann::json& param,
                                                               const EventsByDependency& events) {
  if (!param.is_object() || !param.contains("src") || !param["src"].is_object())
    return absl::InvalidArgumentError("parameter: src is required");
  const nlohmann::json& src = param["src"];
  std::string dep = Str(src, "dependencyName");
  std::optional<nlohmann::json> fallback;
  if (src.contains("value") && src["value"].is_string()) fallback = src["value"];
  auto it = events.find(dep);
  if (it == events.end()) return fallback;
  const CloudEvent& event = it->second;
  bool raw = src.value("useRawData", false);

  std::string data_key = Str(src, "dataKey"), data_tmpl = Str(src, "dataTemplate");
  std::string ctx_key = Str(src, "contextKey"), ctx_tmpl = Str(src, "contextTemplate");
  const bool use_data = !data_key.empty() || !data_tmpl.empty();
  std::string key = use_data ? data_key : ctx_key;
  std::string tmpl = use_data ? data_tmpl : ctx_tmpl;
  if (key.empty() && tmpl.empty()) {
    if (fallback) return fallback;
    // The whole event, data as bytes (base64), as Argo marshals it.
    nlohmann::json whole = {
        {"context", EventContext(event)},
        {"data", absl::Base64Escape(event.data.is_string() ? event.data.get<std::string>()
                                                           : event.data.dump())}};
    return nlohmann::json(whole.dump());
  }
  nlohmann::json input = use_data ? event.data : EventContext(event);
  if (!tmpl.empty()) {
    auto out = RenderGoTemplate(tmpl, input);
    if (out.ok() && *out != "<no value>" && !out->empty()) return nlohmann::json(*out);
  }
  if (!key.empty()) {
    if (auto v = GetPath(input, key)) {
      if (raw && !v->is_string()) return *v;
      return nlohmann::json(JsonString(*v));
    }
  }
  if (fallback) return fallback;
  return absl::InvalidArgumentError(absl::StrCat(
      "unable to resolve parameter of dependency \"", dep, "\" (",
      tmpl.empty() ? absl::StrCat("key \"", key, "\"") : absl::StrCat("template \"", tmpl, "\""),
      ")"));
}

absl::Status ApplyParameters(const nlohmann::json& params, const EventsByDependency& events,
                             nlohmann::json& doc) {
  if (params.is_null()) return absl::OkStatus();
  if (!params.is_array()) return absl::InvalidArgumentError("parameters must be a list");
  for (size_t i = 0; i < params.size(); ++i) {
    const nlohmann::json& param = params[i];
    auto v = ResolveParameter(param, events);
    if (!v.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("parameters[", i, "]: ", v.status().message()));
    if (!v->has_value()) continue;
    nlohmann::json value = **v;
    std::string dest = Str(param, "dest");
    std::string op = Str(param, "operation");
    if (dest.empty()) {
      doc = value;
      continue;
    }
    if (op == "append" || op == "prepend") {
      std::string current;
      if (auto cur = GetPath(doc, dest)) current = JsonString(*cur);
      std::string add = JsonString(value);
      value = op == "append" ? current + add : add + current;
    } else if (!op.empty() && op != "overwrite") {
      return absl::InvalidArgumentError(absl::StrCat("parameters[", i, "].operation \"", op,
                                                     "\" must be overwrite, append or prepend"));
    }
    if (absl::Status s = SetPath(doc, dest, std::move(value)); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat("parameters[", i, "].dest: ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> BuildPayload(const nlohmann::json& payload,
                                            const EventsByDependency& events) {
  nlohmann::json doc = nlohmann::json::object();
  if (payload.is_array()) {
    for (size_t i = 0; i < payload.size(); ++i) {
      if (Str(payload[i], "dest").empty()) {
        auto v = ResolveParameter(payload[i], events);
        if (!v.ok()) return v.status();
        if (!v->has_value()) continue;
        // The value becomes the whole body: parsed when it is JSON.
        const nlohmann::json& value = **v;
        if (value.is_string()) {
          doc = nlohmann::json::parse(value.get<std::string>(), nullptr, false);
          if (doc.is_discarded()) doc = value;
        } else {
          doc = value;
        }
        continue;
      }
      if (absl::Status s = ApplyParameters(nlohmann::json::array({payload[i]}), events, doc);
          !s.ok())
        return s;
    }
  }
  return doc;
}

}  // namespace argonaut::events::sensors
