#include "gateway/rest_guard.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "lib/auth/caller_token.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

constexpr int kUnauthenticated = 16;
constexpr int kPermissionDenied = 7;
constexpr int kInvalidArgument = 3;

bool IsWriteMethod(absl::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// "application/json", "application/merge-patch+json", "application/json; charset=utf-8".
bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(media));
  return lower == "application/json" ||
         (absl::StartsWith(lower, "application/") && absl::EndsWith(lower, "+json"));
}

struct HostPort {
  std::string host;
  int port = 0;  // 0: not given
};

// "host", "host:port", "[v6]", "[v6]:port". nullopt when the port is not a number.
std::optional<HostPort> ParseHostPort(absl::string_view s) {
  HostPort hp;
  absl::string_view rest;
  if (absl::StartsWith(s, "[")) {
    size_t close = s.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    hp.host = std::string(s.substr(0, close + 1));
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.rfind(':');
    hp.host = std::string(s.substr(0, colon));
    rest = colon == absl::string_view::npos ? "" : s.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || !absl::SimpleAtoi(rest.substr(1), &hp.port) || hp.port <= 0 ||
        hp.port > 65535) {
      return std::nullopt;
    }
  }
  if (hp.host.empty()) return std::nullopt;
  hp.host = absl::AsciiStrToLower(hp.host);
  return hp;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// "Bearer <token>" when `value` is one (scheme case-insensitive, the token non-empty).
std::string NormalizedBearer(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return "";
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t\r\n") != absl::string_view::npos) return "";
  return "Bearer " + std::string(token);
}

RestGuardDecision Refuse(int http_status, int grpc_code, std::string message) {
  return {.allowed = false,
          .http_status = http_status,
          .grpc_code = grpc_code,
          .message = std::move(message)};
}

// The token of the request being handled on this thread, from pre-routing to post-routing.
thread_local std::optional<auth::ScopedCallerToken> current_scope;

}  // namespace

namespace {
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace

bool IsGuardedRequest(std::string_view method_in, std::string_view path_in) {
  absl::string_view method = A(method_in), path = A(path_in);
  // Argo Server's artifact downloads live outside /api/ but read workflows.
  bool artifacts = false;
  for (absl::string_view p : {"/artifact-files/", "/artifacts/", "/artifacts-by-uid/",
                              "/input-artifacts/", "/input-artifacts-by-uid/"}) {
    artifacts = artifacts || absl::StartsWith(path, p);
  }
  if (!artifacts && path != "/api" && !absl::StartsWith(path, "/api/")) return false;
  // Exact paths only: an exempt prefix could otherwise carry a request past the guard to a route
  // with a looser pattern.
  if (path == "/api/webhook" || path == "/api/webhook/") return false;
  if ((method == "GET" || method == "HEAD") &&
      (path == "/api/v1/version" || path == "/api/v1/version/")) {
    return false;
  }
  return true;
}

bool SameOrigin(std::string_view origin_in, std::string_view host_in) {
  absl::string_view origin = A(origin_in), host = A(host_in);
  origin = absl::StripAsciiWhitespace(origin);
  int default_port = 0;
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(origin, "http://")) {
    default_port = 80;
    rest = origin.substr(7);
  } else if (absl::StartsWithIgnoreCase(origin, "https://")) {
    default_port = 443;
    rest = origin.substr(8);
  } else {
    return false;  // "null", file:, anything else
  }
  // An Origin carries no path; tolerate a trailing slash only.
  rest = absl::StripSuffix(rest, "/");
  if (rest.find_first_of("/?#@") != absl::string_view::npos) return false;
  std::optional<HostPort> o = ParseHostPort(rest);
  std::optional<HostPort> h = ParseHostPort(absl::StripAsciiWhitespace(host));
  if (!o || !h) return false;
  int op = o->port == 0 ? default_port : o->port;
  int hp = h->port == 0 ? default_port : h->port;
  return o->host == h->host && op == hp;
}

std::string BearerFrom(std::string_view authorization_in, std::string_view cookie_in) {
  absl::string_view authorization = A(authorization_in), cookie = A(cookie_in);
  if (!absl::StripAsciiWhitespace(authorization).empty()) return NormalizedBearer(authorization);
  for (absl::string_view part : absl::StrSplit(cookie, ';')) {
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    if (absl::StripAsciiWhitespace(part.substr(0, eq)) != "authorization") continue;
    std::string value = PercentDecode(absl::StripAsciiWhitespace(part.substr(eq + 1)));
    absl::string_view v = value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return NormalizedBearer(v);
  }
  return "";
}

RestGuardDecision CheckRestRequest(const RestRequestView& r, bool require_token) {
  if (!IsGuardedRequest(r.method, r.path)) return {};
  if (r.origin.has_value() && !SameOrigin(*r.origin, r.host)) {
    return Refuse(403, kPermissionDenied,
                  "cross-origin request refused: Origin is not this server's own");
  }
  if (IsWriteMethod(r.method)) {
    // A browser sends form and text/plain bodies across sites without asking first (CORS simple
    // requests), so any declared type but JSON is refused, body or not; a write without a body
    // and without a type (PUT .../suspend) passes.
    if (r.content_type.has_value() && !absl::StripAsciiWhitespace(*r.content_type).empty()) {
      if (!IsJsonContentType(*r.content_type)) {
        return Refuse(415, kInvalidArgument,
                      "unsupported Content-Type: write requests take application/json");
      }
    } else if (r.has_body) {
      return Refuse(415, kInvalidArgument,
                    "missing Content-Type: write requests take application/json");
    }
  }
  RestGuardDecision allowed;
  allowed.bearer = BearerFrom(r.authorization, r.cookie);
  if (allowed.bearer.empty() && require_token) {
    bool malformed = !absl::StripAsciiWhitespace(r.authorization).empty();
    return Refuse(401, kUnauthenticated,
                  malformed ? "malformed Authorization header: expected \"Bearer <token>\""
                            : "missing bearer token: send \"Authorization: Bearer <token>\"");
  }
  return allowed;
}

std::string GuardErrorBody(int grpc_code, std::string_view message) {
  return manifest::ToJsonText(nlohmann::json{{"code", grpc_code},
                                             {"message", std::string(message)},
                                             {"error", std::string(message)},
                                             {"details", nlohmann::json::array()}},
                              false);
}

void InstallRestGuard(httplib::Server& http, RestGuardOptions options) {
  http.set_pre_routing_handler(
      [options = std::move(options)](const httplib::Request& req, httplib::Response& res) {
        current_scope.reset();
        RestRequestView view{.method = req.method, .path = req.path};
        if (req.has_header("Origin")) view.origin = req.get_header_value("Origin");
        view.host = req.get_header_value("Host");
        if (req.has_header("Content-Type"))
          view.content_type = req.get_header_value("Content-Type");
        uint64_t length = 0;
        view.has_body =
            (absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) && length > 0) ||
            absl::StrContains(absl::AsciiStrToLower(req.get_header_value("Transfer-Encoding")),
                              "chunked");
        view.authorization = req.get_header_value("Authorization");
        view.cookie = req.get_header_value("Cookie");
        RestGuardDecision d = CheckRestRequest(view, options.require_token);
        if (d.allowed && !d.bearer.empty() && options.authenticate) {
          if (absl::Status s = options.authenticate(std::string_view(d.bearer)); !s.ok()) {
            // The proxy answers UNAUTHENTICATED with a message naming no secret; keep it.
            d = Refuse(401, kUnauthenticated, std::string(s.message()));
          }
        }
        if (!d.allowed) {
          res.status = d.http_status;
          if (d.http_status == 401) res.set_header("WWW-Authenticate", "Bearer");
          res.set_content(GuardErrorBody(d.grpc_code, d.message), "application/json");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (!d.bearer.empty()) current_scope.emplace(std::move(d.bearer));
        return httplib::Server::HandlerResponse::Unhandled;
      });
  http.set_post_routing_handler(
      [](const httplib::Request&, httplib::Response&) { current_scope.reset(); });
}

}  // namespace argonaut::gateway
