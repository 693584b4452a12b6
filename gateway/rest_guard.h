// The REST API's front door, run before routing on every request: what a browser may not do
// (a cross-site request, a write whose body is not JSON: the two together are how any web page a
// user visits could otherwise submit a workflow) and who is calling (the bearer token, from the
// `Authorization` header or Argo's `authorization` cookie). Authorization itself happens in the
// gRPC auth proxy the REST handlers call through: the guard only hands it the token, in the
// thread-local auth::ScopedCallerToken held for the duration of the handler.
//
// Not guarded: paths outside /api/ (/healthz, /readyz, /metrics), /api/webhook (git hosts'
// webhooks, checked by their HMAC signature) and GET /api/v1/version.
//
//   InstallRestGuard(http, {.require_token = true, .authenticate = ...});
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// What the guard looks at, taken from the request before its body is read.
struct RestRequestView {
  std::string method;
  std::string path;
  std::optional<std::string> origin;
  std::string host;
  std::optional<std::string> content_type;
  // Content-Length > 0 or a chunked body.
  bool has_body = false;
  std::string authorization;  // the Authorization header, may be empty
  std::string cookie;         // the Cookie header, may be empty
};

struct RestGuardOptions {
  // false: Argo Server's --auth-mode=server (no token needed); the browser checks still apply.
  bool require_token = true;
  // Checks the token early (its value is "Bearer <token>"), so routes that make no gRPC call are
  // covered too; the proxy checks it again. Unset: only presence is checked here.
  std::function<absl::Status(std::string_view authorization)> authenticate;
};

struct RestGuardDecision {
  bool allowed = true;
  // When refused: the HTTP status, the grpc-gateway code of the body and its message.
  int http_status = 200;
  int grpc_code = 0;
  std::string message;
  // When allowed: "Bearer <token>" for the proxy, empty when the request carried none.
  std::string bearer;
};

// Whether the guard applies to this request at all.
bool IsGuardedRequest(std::string_view method, std::string_view path);

// Origin "scheme://host[:port]" against the Host header "host[:port]", case-insensitively, with
// the scheme's default port where one side leaves it out. "null" and unparseable origins are not
// the same origin.
bool SameOrigin(std::string_view origin, std::string_view host);

// "Bearer <token>" from the Authorization header (scheme case-insensitive) or, without one, from
// the `authorization` cookie (Argo Workflows' UI; its value is "Bearer <token>", URL-encoded or
// not). Empty when neither carries a bearer token.
std::string BearerFrom(std::string_view authorization, std::string_view cookie);

// The decision, without the authenticate callback's verdict (pure).
RestGuardDecision CheckRestRequest(const RestRequestView& request, bool require_token);

// The grpc-gateway error body {"code","message","error"}.
std::string GuardErrorBody(int grpc_code, std::string_view message);

// Installs the pre-routing handler (and a post-routing one that drops the caller's token).
// Replaces any pre/post-routing handler set before.
void InstallRestGuard(httplib::Server& http, RestGuardOptions options);

}  // namespace argonaut::gateway
