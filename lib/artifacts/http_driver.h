// HTTP(S) artifacts (Argo's `http` location) on libcurl: Load / OpenStream are a streaming GET,
// Save a streaming PUT (Argo's HTTP output artifacts), Delete a DELETE.
//
//   {"name": "a", "http": {"url": "https://h/x.tgz",
//                          "headers": [{"name": "Authorization", "value": "Bearer ..."}],
//                          "auth": {"basicAuth": {"usernameSecret": {"name": "s", "key": "u"},
//                                                 "passwordSecret": {"name": "s", "key": "p"}}}}}
//
// TLS peers are always verified (the system's CAs, or the file named by $SSL_CERT_FILE).
// Redirects are followed (at most 10, http/https only; credentials are not sent to another
// host). A connection gets 30 s to open and a transfer fails after 60 s without a byte.
// Errors name the URL without user info or query, and the HTTP status.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// `artifact` is the artifact (with its `http` field) or the `http` location itself; its fields
// are checked here (InvalidArgument naming the field). `auth.oauth2` and `auth.clientCert` are
// Unimplemented.
absl::StatusOr<std::unique_ptr<Driver>> MakeHttpDriver(const nlohmann::json& artifact,
                                                       const DriverOptions& options);

}  // namespace argonaut::artifacts
