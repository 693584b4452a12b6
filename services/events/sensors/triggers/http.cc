#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {
namespace {

absl::StatusOr<std::string> SecretRef(const nlohmann::json& ref, const std::string& ns,
                                      const TriggerContext& ctx, const std::string& field) {
  if (!ref.is_object() || !ref.contains("name") || !ref.contains("key"))
    return absl::InvalidArgumentError(absl::StrCat(field, ": secretKeyRef needs name and key"));
  if (!ctx.secret)
    return absl::FailedPreconditionError(absl::StrCat(field, ": no Secret reader configured"));
  auto v = ctx.secret(ns, ref.value("name", ""), ref.value("key", ""));
  if (!v.ok())
    return absl::Status(v.status().code(), absl::StrCat(field, ": ", v.status().message()));
  return v;
}

}  // namespace

// Argo's policy.status.allow: with no list any answer is a success.
absl::Status CheckStatusPolicy(const nlohmann::json& trigger, int status) {
  const nlohmann::json* allow = nullptr;
  if (trigger.contains("policy") && trigger["policy"].is_object() &&
      trigger["policy"].contains("status") && trigger["policy"]["status"].is_object() &&
      trigger["policy"]["status"].contains("allow"))
    allow = &trigger["policy"]["status"]["allow"];
  if (allow == nullptr || !allow->is_array() || allow->empty()) return absl::OkStatus();
  for (const auto& code : *allow)
    if (code.is_number_integer() && code.get<int>() == status) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("status ", status, " is not in policy.status.allow ", allow->dump()));
}

absl::StatusOr<std::string> ExecuteHttp(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx) {
  std::string url = spec.value("url", "");
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://"))
    return absl::InvalidArgumentError(
        absl::StrCat("http.url \"", url, "\" must start with http:// or https://"));
  size_t path_at = url.find('/', url.find("://") + 3);
  std::string base = path_at == std::string::npos ? url : url.substr(0, path_at);
  std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  std::string method = spec.value("method", "POST");
  static const std::set<std::string> kMethods = {"GET", "DELETE", "PATCH", "POST", "PUT"};
  if (!kMethods.count(method))
    return absl::InvalidArgumentError(
        absl::StrCat("http.method \"", method, "\" must be GET, DELETE, PATCH, POST or PUT"));

  httplib::Headers headers;
  if (spec.contains("headers") && spec["headers"].is_object())
    for (auto it = spec["headers"].begin(); it != spec["headers"].end(); ++it)
      if (it->is_string()) headers.emplace(it.key(), it->get<std::string>());
  if (spec.contains("secureHeaders") && spec["secureHeaders"].is_array()) {
    for (const auto& h : spec["secureHeaders"]) {
      std::string name = h.value("name", "");
      const nlohmann::json from = h.value("valueFrom", nlohmann::json::object());
      if (!from.contains("secretKeyRef"))
        return absl::InvalidArgumentError(absl::StrCat(
            "http.secureHeaders \"", name, "\": only valueFrom.secretKeyRef is supported"));
      auto v = SecretRef(from["secretKeyRef"], request.ns, ctx,
                         absl::StrCat("http.secureHeaders \"", name, "\""));
      if (!v.ok()) return v.status();
      headers.emplace(name, *v);
    }
  }
  auto payload = BuildPayload(spec.value("payload", nlohmann::json()), request.events);
  if (!payload.ok())
    return absl::InvalidArgumentError(absl::StrCat("http.payload: ", payload.status().message()));
  std::string body = payload->dump();

  httplib::Client client(base);
  int timeout = spec.value("timeout", 60);
  client.set_connection_timeout(timeout, 0);
  client.set_read_timeout(timeout, 0);
  client.set_write_timeout(timeout, 0);
  httplib::Result res(nullptr, httplib::Error::Unknown);
  const char* type = "application/json";
  if (method == "GET") {
    res = client.Get(path, headers);
  } else if (method == "DELETE") {
    res = client.Delete(path, headers, body, type);
  } else if (method == "PATCH") {
    res = client.Patch(path, headers, body, type);
  } else if (method == "PUT") {
    res = client.Put(path, headers, body, type);
  } else {
    res = client.Post(path, headers, body, type);
  }
  if (!res)
    return absl::UnavailableError(
        absl::StrCat("http ", method, " ", url, ": ", httplib::to_string(res.error())));
  if (absl::Status s = CheckStatusPolicy(request.trigger, res->status); !s.ok())
    return absl::UnavailableError(absl::StrCat("http ", method, " ", url, ": ", s.message()));
  return absl::StrCat("http ", method, " ", url, " ", res->status);
}

}  // namespace argonaut::events::sensors
