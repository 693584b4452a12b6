#include "gateway/rest_guard.h"

#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/auth/caller_token.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

struct Case {
  std::string name;
  RestRequestView request;
  bool require_token = true;
  int want_status;  // 200: allowed
  std::string want_bearer = "";
};

RestRequestView Req(std::string method, std::string path) {
  return {.method = std::move(method), .path = std::move(path), .host = "127.0.0.1:2746"};
}

RestRequestView With(RestRequestView r, std::function<void(RestRequestView&)> f) {
  f(r);
  return r;
}

const char kBearer[] = "Bearer argn_0123456789ab_secret";

TEST(RestGuardTest, Decisions) {
  auto authed = [](RestRequestView r) {
    r.authorization = kBearer;
    return r;
  };
  std::vector<Case> cases = {
      {"health paths are not guarded", Req("GET", "/metrics"), true, 200},
      {"version is open", Req("GET", "/api/v1/version"), true, 200},
      {"webhook is open (HMAC-checked)",
       With(Req("POST", "/api/webhook"), [](auto& r) { r.content_type = "text/plain"; }), true,
       200},
      {"POST version is guarded", Req("POST", "/api/v1/version"), true, 401},
      {"below the webhook is guarded", Req("GET", "/api/webhook/../v1/workflows/default"), true,
       401},
      {"below the version is guarded", Req("GET", "/api/v1/version/x"), true, 401},
      {"no token", Req("GET", "/api/v1/workflows/default"), true, 401},
      {"no token, auth-mode server", Req("GET", "/api/v1/workflows/default"), false, 200},
      {"basic auth is not a bearer",
       With(Req("GET", "/api/v1/workflows/default"),
            [](auto& r) { r.authorization = "Basic YWRtaW46eA=="; }),
       true, 401},
      {"empty bearer", With(Req("GET", "/api/v1/x"), [](auto& r) { r.authorization = "Bearer "; }),
       true, 401},
      {"bearer header", authed(Req("GET", "/api/v1/workflows/default")), true, 200, kBearer},
      {"lowercase scheme",
       With(Req("GET", "/api/v1/x"), [](auto& r) { r.authorization = "bearer abc"; }), true, 200,
       "Bearer abc"},
      {"cookie",
       With(Req("GET", "/api/v1/x"), [](auto& r) { r.cookie = "a=b; authorization=Bearer abc"; }),
       true, 200, "Bearer abc"},
      {"url-encoded cookie",
       With(Req("GET", "/api/v1/x"), [](auto& r) { r.cookie = "authorization=Bearer%20abc"; }),
       true, 200, "Bearer abc"},
      {"header wins over cookie",
       With(authed(Req("GET", "/api/v1/x")),
            [](auto& r) { r.cookie = "authorization=Bearer other"; }),
       true, 200, kBearer},
      {"same origin",
       With(authed(Req("GET", "/api/v1/x")), [](auto& r) { r.origin = "http://127.0.0.1:2746"; }),
       true, 200, kBearer},
      {"cross origin",
       With(authed(Req("GET", "/api/v1/x")), [](auto& r) { r.origin = "http://evil.example"; }),
       true, 403},
      {"cross origin before the token check",
       With(Req("POST", "/api/v1/workflows/default"),
            [](auto& r) {
              r.origin = "http://evil.example";
              r.content_type = "text/plain";
              r.has_body = true;
            }),
       true, 403},
      {"origin null", With(authed(Req("GET", "/api/v1/x")), [](auto& r) { r.origin = "null"; }),
       true, 403},
      {"other port",
       With(authed(Req("GET", "/api/v1/x")), [](auto& r) { r.origin = "http://127.0.0.1:8080"; }),
       true, 403},
      {"json POST",
       With(authed(Req("POST", "/api/v1/workflows/default")),
            [](auto& r) {
              r.content_type = "application/json; charset=utf-8";
              r.has_body = true;
            }),
       true, 200, kBearer},
      {"merge-patch+json",
       With(authed(Req("PATCH", "/api/v1/x")),
            [](auto& r) {
              r.content_type = "application/merge-patch+json";
              r.has_body = true;
            }),
       true, 200, kBearer},
      {"text/plain POST with a valid token",
       With(authed(Req("POST", "/api/v1/workflows/default")),
            [](auto& r) {
              r.content_type = "text/plain";
              r.has_body = true;
            }),
       true, 415},
      {"form POST",
       With(authed(Req("POST", "/api/v1/workflows/default")),
            [](auto& r) {
              r.content_type = "application/x-www-form-urlencoded";
              r.has_body = true;
            }),
       true, 415},
      {"form type, empty body",
       With(authed(Req("PUT", "/api/v1/workflows/default/w/suspend")),
            [](auto& r) { r.content_type = "multipart/form-data"; }),
       true, 415},
      {"body without a type",
       With(authed(Req("POST", "/api/v1/workflows/default")), [](auto& r) { r.has_body = true; }),
       true, 415},
      {"PUT without body or type", authed(Req("PUT", "/api/v1/workflows/default/w/suspend")), true,
       200, kBearer},
      {"form type on GET is not a write",
       With(authed(Req("GET", "/api/v1/x")), [](auto& r) { r.content_type = "text/plain"; }), true,
       200, kBearer},
      {"browser checks apply in auth-mode server",
       With(Req("POST", "/api/v1/workflows/default"),
            [](auto& r) {
              r.content_type = "text/plain";
              r.has_body = true;
            }),
       false, 415},
  };
  for (const Case& c : cases) {
    RestGuardDecision d = CheckRestRequest(c.request, c.require_token);
    if (c.want_status == 200) {
      EXPECT_TRUE(d.allowed) << c.name << ": " << d.message;
      EXPECT_EQ(d.bearer, c.want_bearer) << c.name;
    } else {
      EXPECT_FALSE(d.allowed) << c.name;
      EXPECT_EQ(d.http_status, c.want_status) << c.name;
      EXPECT_FALSE(d.message.empty()) << c.name;
      EXPECT_EQ(d.message.find("argn_"), std::string::npos) << c.name;
    }
  }
}

TEST(RestGuardTest, SameOrigin) {
  EXPECT_TRUE(SameOrigin("http://localhost:2746", "localhost:2746"));
  EXPECT_TRUE(SameOrigin("https://LocalHost:2746", "localhost:2746"));
  EXPECT_TRUE(SameOrigin("http://example.com", "example.com"));
  EXPECT_TRUE(SameOrigin("http://example.com", "example.com:80"));
  EXPECT_TRUE(SameOrigin("https://example.com", "example.com:443"));
  EXPECT_TRUE(SameOrigin("http://[::1]:2746", "[::1]:2746"));
  EXPECT_FALSE(SameOrigin("https://example.com", "example.com:80"));
  EXPECT_FALSE(SameOrigin("http://example.com.evil.example", "example.com"));
  EXPECT_FALSE(SameOrigin("http://localhost:2746@evil.example", "localhost:2746"));
  EXPECT_FALSE(SameOrigin("http://localhost:2747", "localhost:2746"));
  EXPECT_FALSE(SameOrigin("ftp://localhost:2746", "localhost:2746"));
  EXPECT_FALSE(SameOrigin("http://localhost:x", "localhost"));
  EXPECT_FALSE(SameOrigin("http://localhost:2746", ""));
  EXPECT_FALSE(SameOrigin("", "localhost:2746"));
}

TEST(RestGuardTest, BearerFrom) {
  EXPECT_EQ(BearerFrom("Bearer abc", ""), "Bearer abc");
  EXPECT_EQ(BearerFrom("BEARER  abc ", ""), "Bearer abc");
  EXPECT_EQ(BearerFrom("Bearer a b", ""), "");
  EXPECT_EQ(BearerFrom("Token abc", "authorization=Bearer x"), "");
  EXPECT_EQ(BearerFrom("", "authorization=\"Bearer x\""), "Bearer x");
  EXPECT_EQ(BearerFrom("", "xauthorization=Bearer x"), "");
  EXPECT_EQ(BearerFrom("", ""), "");
}

TEST(RestGuardTest, ErrorBodyIsGrpcGatewayShape) {
  auto body = nlohmann::json::parse(GuardErrorBody(16, "missing bearer token"));
  EXPECT_EQ(body["code"], 16);
  EXPECT_EQ(body["message"], "missing bearer token");
  EXPECT_EQ(body["error"], "missing bearer token");
}

// The installed handler on a real server: refusals never reach the route, the route sees the
// caller's token in auth::CurrentCallerToken(), and the next request on the same thread does not.
TEST(RestGuardTest, InstalledOnAServer) {
  httplib::Server http;
  InstallRestGuard(http, {.require_token = true, .authenticate = [](std::string_view bearer) {
                            return bearer == "Bearer good"
                                       ? absl::OkStatus()
                                       : absl::UnauthenticatedError("invalid token");
                          }});
  std::atomic<int> hits{0};
  auto route = [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    std::optional<std::string> token = auth::CurrentCallerToken();
    res.set_content(token.value_or("none"), "text/plain");
  };
  http.Get("/api/v1/who", route);
  http.Post("/api/v1/who", route);
  http.Get("/healthz", route);
  int port = http.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { http.listen_after_bind(); });

  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/api/v1/who", {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Bearer good");
  // Keep-alive: the same server thread answers; the token is gone.
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "none");
  r = c.Get("/api/v1/who", {{"Authorization", "Bearer bad"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], 16);
  r = c.Get("/api/v1/who");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Post("/api/v1/who", {{"Authorization", "Bearer good"}, {"Origin", "http://evil.example"}},
             "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], 7);
  r = c.Post("/api/v1/who", {{"Authorization", "Bearer good"}}, "a=b",
             "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  r = c.Post("/api/v1/who", {{"Authorization", "Bearer good"}}, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(hits.load(), 3);
  http.stop();
  t.join();
}

}  // namespace
}  // namespace argonaut::gateway
