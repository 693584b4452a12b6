// Argo's awsLambda trigger: one Lambda Invoke call, SigV4-signed by libcurl.
#include <curl/curl.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sensors/triggers/util.h"

namespace argonaut::events::sensors {
namespace {

absl::StatusOr<std::string> LambdaSecret(const nlohmann::json& spec, const char* field,
                                         const std::string& ns, const TriggerContext& ctx) {
  const std::string at = absl::StrCat("awsLambda.", field);
  if (!spec.contains(field))
    return absl::InvalidArgumentError(
        absl::StrCat(at, ": required (the default AWS credential chain is not supported)"));
  const nlohmann::json& ref = spec[field];
  if (!ref.is_object() || !ref.contains("name") || !ref.contains("key") ||
      !ref["name"].is_string() || !ref["key"].is_string())
    return absl::InvalidArgumentError(absl::StrCat(at, ": needs a Secret name and key"));
  if (!ctx.secret)
    return absl::FailedPreconditionError(absl::StrCat(at, ": no Secret reader configured"));
  auto v = ctx.secret(ns, ref["name"].get<std::string>(), ref["key"].get<std::string>());
  if (!v.ok()) return absl::Status(v.status().code(), absl::StrCat(at, ": ", v.status().message()));
  return v;
}

// curl_global_init is not thread-safe; run it once before any easy handle.
void GlobalInitOnce() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// Function names are [A-Za-z0-9-_:] (a name, an ARN, or name:qualifier);
// anything else would change the request path, so it is refused.
bool ValidFunctionName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == ':')) return false;
  return true;
}

}  // namespace

absl::StatusOr<std::string> ExecuteLambda(const FireRequest& request, const nlohmann::json& spec,
                                          const TriggerContext& ctx) {
  const std::string function = spec.value("functionName", "");
  if (!ValidFunctionName(function))
    return absl::InvalidArgumentError(absl::StrCat("awsLambda.functionName \"", function,
                                                   "\": required, letters, digits, - _ : only"));
  const std::string region = spec.value("region", "");
  if (region.empty() || !ValidFunctionName(region) || absl::StrContains(region, ":"))
    return absl::InvalidArgumentError(absl::StrCat("awsLambda.region \"", region, "\": required"));
  if (!spec.value("roleARN", "").empty())
    return absl::UnimplementedError("awsLambda.roleARN: assuming a role is not supported");
  const std::string invocation = spec.value("invocationType", "RequestResponse");
  if (invocation != "RequestResponse" && invocation != "Event" && invocation != "DryRun")
    return absl::InvalidArgumentError(absl::StrCat("awsLambda.invocationType \"", invocation,
                                                   "\": must be RequestResponse, Event or DryRun"));
  std::string endpoint = spec.value("endpoint", "");
  if (endpoint.empty()) endpoint = absl::StrCat("https://lambda.", region, ".amazonaws.com");
  if (!absl::StartsWith(endpoint, "http://") && !absl::StartsWith(endpoint, "https://"))
    return absl::InvalidArgumentError(
        absl::StrCat("awsLambda.endpoint \"", endpoint, "\": must start with http:// or https://"));
  while (absl::EndsWith(endpoint, "/")) endpoint.pop_back();

  auto access = LambdaSecret(spec, "accessKey", request.ns, ctx);
  if (!access.ok()) return access.status();
  auto secret = LambdaSecret(spec, "secretKey", request.ns, ctx);
  if (!secret.ok()) return secret.status();
  // USERPWD splits at the first ':'; AWS access key ids never contain one.
  if (absl::StrContains(*access, ":"))
    return absl::InvalidArgumentError("awsLambda.accessKey: must not contain ':'");

  auto payload = BuildPayload(spec.value("payload", nlohmann::json()), request.events);
  if (!payload.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("awsLambda.payload: ", payload.status().message()));
  const std::string body = payload->dump();
  const std::string url =
      absl::StrCat(endpoint, "/2015-03-31/functions/", function, "/invocations");

  GlobalInitOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return absl::InternalError("awsLambda: curl_easy_init failed");
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, absl::StrCat("X-Amz-Invocation-Type: ", invocation).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  const std::string sigv4 = absl::StrCat("aws:amz:", region, ":lambda");
  const std::string userpwd = absl::StrCat(*access, ":", *secret);
  const long timeout = spec.value("timeout", 60);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Discard);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  const std::string what = absl::StrCat("awsLambda ", function, " (", invocation, ") ", url);
  if (CURLcode rc = curl_easy_perform(h); rc != CURLE_OK)
    return absl::UnavailableError(
        absl::StrCat(what, ": ", error[0] != '\0' ? error : curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (absl::Status s = CheckStatusPolicy(request.trigger, static_cast<int>(status)); !s.ok())
    return absl::UnavailableError(absl::StrCat(what, ": ", s.message()));
  // Argo treats any answer as success unless policy.status.allow says otherwise;
  // an auth failure (403) without a policy is still not a successful Invoke.
  if (status >= 400 &&
      !(request.trigger.contains("policy") && request.trigger["policy"].is_object() &&
        request.trigger["policy"].contains("status")))
    return absl::UnavailableError(absl::StrCat(what, ": status ", status));
  return absl::StrCat(what, " ", status);
}

}  // namespace argonaut::events::sensors
