// Helpers shared by the remote artifact drivers (http, git): Secret references in a location and
// URLs fit for an error message.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// The value behind a `{name, key}` Secret reference at `field` (e.g. "http.auth.basicAuth.
// passwordSecret"). InvalidArgument naming `field` when the reference is malformed,
// FailedPrecondition when the caller gave no SecretResolver; the resolver's error otherwise.
absl::StatusOr<std::string> ResolveSecretRef(const nlohmann::json& ref, std::string_view field,
                                             const DriverOptions& options);

// `url` without user info, query and fragment ("https://u:p@h/x?sig=1" -> "https://h/x?..."):
// signed URLs carry their credentials in the query.
std::string UrlForMessages(std::string_view url);

}  // namespace argonaut::artifacts
