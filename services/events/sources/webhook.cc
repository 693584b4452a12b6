#include "services/events/sources/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "httplib.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

constexpr size_t kDefaultMaxPayload = 1 << 20;
// httplib refuses (413) anything larger before a route sees it.
constexpr size_t kHardMaxPayload = 64 << 20;

struct Reply {
  int status = 200;
  std::string body = "success";
};

// One endpoint of a port. Shared with in-flight requests, so a listener that
// stops waits for them (Close) and later requests see it gone.
struct Route {
  std::string owner;  // spec path, for conflict messages
  std::string method;
  size_t max_payload = kDefaultMaxPayload;
  std::function<Reply(const httplib::Request&)> handle;

  absl::Mutex mu;
  int active ABSL_GUARDED_BY(mu) = 0;
  bool closed ABSL_GUARDED_BY(mu) = false;

  bool Enter() {
    absl::MutexLock lock(&mu);
    if (closed) return false;
    ++active;
    return true;
  }
  void Leave() {
    absl::MutexLock lock(&mu);
    --active;
  }
  void Close() {
    absl::MutexLock lock(&mu);
    closed = true;
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &active));
  }
};

class PortServer {
 public:
  PortServer(int max_in_flight) : max_in_flight_(std::max(1, max_in_flight)) {}

  absl::Status Listen(const std::string& host, int port) {
    server_.new_task_queue = [n = max_in_flight_ + 8] { return new httplib::ThreadPool(n); };
    server_.set_payload_max_length(kHardMaxPayload);
    server_.set_keep_alive_timeout(5);
    // httplib writes a response's headers and body separately: with Nagle a
    // keep-alive client's delayed ACK holds the body back ~40 ms.
    server_.set_tcp_nodelay(true);
    auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
      Dispatch(req, res);
    };
    server_.Get(".*", dispatch);
    server_.Post(".*", dispatch);
    server_.Put(".*", dispatch);
    server_.Patch(".*", dispatch);
    server_.Delete(".*", dispatch);
    server_.Options(".*", dispatch);
    if (!server_.bind_to_port(host, port)) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!server_.is_running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    return absl::OkStatus();
  }

  void Shutdown() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Add(const std::string& endpoint, std::shared_ptr<Route> route) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = routes_.emplace(endpoint, route);
    if (!inserted) {
      return absl::AlreadyExistsError(absl::StrCat(
          "endpoint ", endpoint, " is already served on this port by ", it->second->owner));
    }
    return absl::OkStatus();
  }

  // Returns whether the port has no route left.
  bool Remove(const std::string& endpoint) {
    absl::MutexLock lock(&mu_);
    routes_.erase(endpoint);
    return routes_.empty();
  }

 private:
  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<Route> route;
    {
      absl::MutexLock lock(&mu_);
      auto it = routes_.find(req.path);
      if (it != routes_.end()) route = it->second;
    }
    if (route == nullptr) {
      if (req.path == "/health" && req.method == "GET") {
        res.set_content("OK", "text/plain");
        return;
      }
      res.status = 404;
      res.set_content("not found", "text/plain");
      return;
    }
    if (req.method != route->method) {
      res.status = 405;
      res.set_header("Allow", route->method);
      res.set_content("http method does not match", "text/plain");
      return;
    }
    if (req.body.size() > route->max_payload) {
      res.status = 413;
      res.set_content("request payload too large", "text/plain");
      return;
    }
    if (in_flight_.fetch_add(1) >= max_in_flight_) {
      in_flight_.fetch_sub(1);
      res.status = 503;
      res.set_header("Retry-After", "1");
      res.set_content("too many requests in flight, retry later", "text/plain");
      return;
    }
    Reply reply{404, "not found"};
    if (route->Enter()) {
      reply = route->handle(req);
      route->Leave();
    }
    in_flight_.fetch_sub(1);
    res.status = reply.status;
    res.set_content(reply.body, "text/plain");
  }

  const int max_in_flight_;
  std::atomic<int> in_flight_{0};
  httplib::Server server_;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Route>> routes_ ABSL_GUARDED_BY(mu_);
};

// The process-wide port table: one server per host:port.
absl::Mutex registry_mu(absl::kConstInit);
std::map<std::string, std::shared_ptr<PortServer>>& Registry() {
  static auto* r = new std::map<std::string, std::shared_ptr<PortServer>>();
  return *r;
}

class HttpListener : public Listener {
 public:
  HttpListener(std::unique_ptr<Emitter> emitter, std::string key, std::string endpoint,
               std::shared_ptr<PortServer> server, std::shared_ptr<Route> route)
      : Listener(std::move(emitter)),
        key_(std::move(key)),
        endpoint_(std::move(endpoint)),
        server_(std::move(server)),
        route_(std::move(route)) {}
  ~HttpListener() override { Stop(); }

  void Stop() override {
    if (route_ == nullptr) return;
    std::shared_ptr<PortServer> last;
    {
      absl::MutexLock lock(&registry_mu);
      if (server_->Remove(endpoint_)) {
        Registry().erase(key_);
        last = server_;
      }
    }
    route_->Close();
    if (last != nullptr) last->Shutdown();
    route_.reset();
    server_.reset();
  }

 private:
  std::string key_, endpoint_;
  std::shared_ptr<PortServer> server_;
  std::shared_ptr<Route> route_;
};

// Reads the WebhookContext at `ctx_json` (path `where`), registers the route
// and returns the listener; `handle` gets the listener's emitter.
absl::StatusOr<std::unique_ptr<Listener>> StartHttp(
    std::unique_ptr<Emitter> emitter, const json& ctx_json, const std::string& where,
    std::function<Reply(Emitter&, const httplib::Request&)> handle) {
  if (!ctx_json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": required"));
  }
  EventSpec view = emitter->spec();
  view.config = ctx_json;
  const std::string path = where;
  auto field = [&](const char* key, bool required) -> absl::StatusOr<std::string> {
    EventSpec v = view;
    absl::StatusOr<std::string> s = StringField(v, key, required);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".", key, ": ", s.status().message().substr(s.status().message().rfind(": ") + 2)));
    }
    return s;
  };
  absl::StatusOr<std::string> endpoint = field("endpoint", true);
  if (!endpoint.ok()) return endpoint.status();
  absl::StatusOr<std::string> port_text = field("port", true);
  if (!port_text.ok()) return port_text.status();
  absl::StatusOr<std::string> method = field("method", false);
  if (!method.ok()) return method.status();
  int port = 0;
  if (!absl::SimpleAtoi(*port_text, &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".port: \"", *port_text, "\" is not a port number"));
  }
  auto route = std::make_shared<Route>();
  route->owner = emitter->spec().source_name + "/" + emitter->spec().name;
  route->method = method->empty() ? "POST" : absl::AsciiStrToUpper(*method);
  if (ctx_json.contains("maxPayloadSize") && !ctx_json["maxPayloadSize"].is_null()) {
    const json& m = ctx_json["maxPayloadSize"];
    int64_t n = 0;
    if (m.is_number_integer()) {
      n = m.get<int64_t>();
    } else if (!m.is_string() || !absl::SimpleAtoi(m.get<std::string>(), &n)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".maxPayloadSize: must be an integer"));
    }
    if (n <= 0 || static_cast<size_t>(n) > kHardMaxPayload) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".maxPayloadSize: must be in 1..", kHardMaxPayload));
    }
    route->max_payload = static_cast<size_t>(n);
  }
  if (ctx_json.contains("serverCertSecret") || ctx_json.contains("serverKeySecret")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".serverCertSecret: TLS webhooks are not supported"));
  }
  std::string token;
  if (ctx_json.contains("authSecret") && !ctx_json["authSecret"].is_null()) {
    absl::StatusOr<std::string> t = ReadSecret(emitter->ctx(), emitter->spec().ns,
                                               ctx_json["authSecret"], path + ".authSecret");
    if (!t.ok()) return t.status();
    token = std::string(absl::StripAsciiWhitespace(*t));
  }
  std::string ep = *endpoint;
  if (ep.empty() || ep[0] != '/') ep = "/" + ep;

  Emitter* raw = emitter.get();
  route->handle = [raw, token, handle](const httplib::Request& req) -> Reply {
    if (!token.empty()) {
      const std::string auth = req.get_header_value("Authorization");
      if (!absl::StartsWith(auth, "Bearer ")) return {401, "Invalid Authorization Header"};
      const std::string given = auth.substr(7);
      if (given.size() != token.size() ||
          CRYPTO_memcmp(given.data(), token.data(), token.size()) != 0) {
        return {401, "Invalid Auth token"};
      }
    }
    return handle(*raw, req);
  };

  const std::string host = emitter->ctx().webhook_host;
  const std::string key = absl::StrCat(host, ":", port);
  std::shared_ptr<PortServer> server;
  {
    absl::MutexLock lock(&registry_mu);
    auto it = Registry().find(key);
    if (it != Registry().end()) {
      server = it->second;
    } else {
      server = std::make_shared<PortServer>(emitter->ctx().webhook_max_in_flight);
      if (absl::Status s = server->Listen(host, port); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat(path, ".port: ", s.message()));
      }
      Registry()[key] = server;
    }
    if (absl::Status s = server->Add(ep, route); !s.ok()) {
      const bool empty = server->Remove("\x01");  // no-op; tells if the port is unused
      if (empty) {
        Registry().erase(key);
        server->Shutdown();
      }
      return absl::Status(s.code(), absl::StrCat(path, ".endpoint: ", s.message()));
    }
  }
  auto listener = std::make_unique<HttpListener>(std::move(emitter), key, ep, server, route);
  listener->SetListening(absl::StrCat(route->method, " http://", key, ep));
  return listener;
}

json Headers(const httplib::Request& req) {
  json h = json::object();
  for (const auto& [name, value] : req.headers) {
    // httplib adds these for its own bookkeeping; they were not sent.
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    h[name].push_back(value);
  }
  return h;
}

json Values(const httplib::Params& params) {
  json out = json::object();
  for (const auto& [k, v] : params) out[k].push_back(v);
  return out;
}

json ParseOrString(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return body;
  return parsed;
}

Reply EmitReply(Emitter& emitter, json data) {
  absl::Status s = emitter.Emit(std::move(data));
  if (!s.ok()) return {500, "failed to record event"};
  return {};
}

bool SignatureMatches(const std::string& header, const std::string& expected_hex) {
  return header.size() == expected_hex.size() &&
         CRYPTO_memcmp(header.data(), expected_hex.data(), header.size()) == 0;
}

// Whether `event` passes an `events` list ("*" or empty: everything).
bool EventAllowed(const json& config, const std::string& event) {
  if (!config.contains("events") || !config["events"].is_array() || config["events"].empty()) {
    return true;
  }
  for (const json& e : config["events"]) {
    if (e.is_string() && (e.get<std::string>() == "*" || e.get<std::string>() == event)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> OptionalSecret(const Emitter& e, const char* key) {
  const json& config = e.spec().config;
  if (!config.contains(key) || config[key].is_null()) return std::string();
  return ReadSecret(e.ctx(), e.spec().ns, config[key], e.spec().path() + "." + key);
}

// X-Hub-Signature(-256) as GitHub and Bitbucket Server send it.
bool HubSignatureOk(const std::string& secret, const httplib::Request& req) {
  const std::string sha256 = req.get_header_value("X-Hub-Signature-256");
  const std::string generic = req.get_header_value("X-Hub-Signature");
  if (!sha256.empty()) {
    return SignatureMatches(sha256, "sha256=" + HmacSha256Hex(secret, req.body));
  }
  if (absl::StartsWith(generic, "sha256=")) {
    return SignatureMatches(generic, "sha256=" + HmacSha256Hex(secret, req.body));
  }
  if (absl::StartsWith(generic, "sha1=")) {
    return SignatureMatches(generic, "sha1=" + HmacSha1Hex(secret, req.body));
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Listener>> StartGit(
    std::unique_ptr<Emitter> emitter, const char* secret_key,
    std::function<Reply(const std::string& secret, Emitter&, const httplib::Request&)> handle) {
  absl::StatusOr<std::string> secret = OptionalSecret(*emitter, secret_key);
  if (!secret.ok()) return secret.status();
  const json ctx = emitter->spec().config.value("webhook", json());
  const std::string where = emitter->spec().path() + ".webhook";
  return StartHttp(
      std::move(emitter), ctx, where,
      [s = *secret, handle](Emitter& e, const httplib::Request& req) { return handle(s, e, req); });
}

}  // namespace

std::string HmacSha256Hex(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len));
}

std::string HmacSha1Hex(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len));
}

namespace {

bool LooksLikeJsonDocument(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) return false;
  return json::accept(text);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartWebhook(std::unique_ptr<Emitter> emitter) {
  const json ctx = emitter->spec().config;
  const std::string where = emitter->spec().path();
  return StartHttp(std::move(emitter), ctx, where, [](Emitter& e, const httplib::Request& req) {
    json body;
    const std::string type = req.get_header_value("Content-Type");
    if (req.method == "GET") {
      body = Values(req.params);
    } else if (absl::StartsWith(type, "application/x-www-form-urlencoded") &&
               !LooksLikeJsonDocument(req.body)) {
      // `curl -d '{"message": ...}'` (the seed's call) labels a JSON document as a form;
      // a real form body never starts with '{' or '[' and parses as JSON, so those stay JSON.
      httplib::Params form;
      httplib::detail::parse_query_text(req.body, form);
      body = Values(form);
    } else {
      body = ParseOrString(req.body);
    }
    return EmitReply(e, {{"header", Headers(req)}, {"body", std::move(body)}});
  });
}

absl::StatusOr<std::unique_ptr<Listener>> StartGithub(std::unique_ptr<Emitter> emitter) {
  return StartGit(std::move(emitter), "webhookSecret",
                  [](const std::string& secret, Emitter& e, const httplib::Request& req) -> Reply {
                    if (!secret.empty() && !HubSignatureOk(secret, req)) {
                      return {401, "signature mismatch"};
                    }
                    if (!EventAllowed(e.spec().config, req.get_header_value("X-GitHub-Event"))) {
                      return {200, "event type ignored"};
                    }
                    json body;
                    if (absl::StartsWith(req.get_header_value("Content-Type"),
                                         "application/x-www-form-urlencoded")) {
                      httplib::Params form;
                      httplib::detail::parse_query_text(req.body, form);
                      auto it = form.find("payload");
                      body = ParseOrString(it == form.end() ? "" : it->second);
                    } else {
                      body = ParseOrString(req.body);
                    }
                    return EmitReply(e, {{"headers", Headers(req)}, {"body", std::move(body)}});
                  });
}

absl::StatusOr<std::unique_ptr<Listener>> StartGitlab(std::unique_ptr<Emitter> emitter) {
  return StartGit(
      std::move(emitter), "secretToken",
      [](const std::string& secret, Emitter& e, const httplib::Request& req) -> Reply {
        if (!secret.empty() && !SignatureMatches(req.get_header_value("X-Gitlab-Token"), secret)) {
          return {401, "invalid X-Gitlab-Token"};
        }
        return EmitReply(e, {{"headers", Headers(req)}, {"body", ParseOrString(req.body)}});
      });
}

namespace {
Reply BitbucketHandle(const std::string& secret, Emitter& e, const httplib::Request& req) {
  if (!secret.empty() && !HubSignatureOk(secret, req)) return {401, "signature mismatch"};
  if (!EventAllowed(e.spec().config, req.get_header_value("X-Event-Key"))) {
    return {200, "event type ignored"};
  }
  return EmitReply(e, {{"headers", Headers(req)}, {"body", ParseOrString(req.body)}});
}
}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartBitbucket(std::unique_ptr<Emitter> emitter) {
  return StartGit(std::move(emitter), "webhookSecret", &BitbucketHandle);
}

absl::StatusOr<std::unique_ptr<Listener>> StartBitbucketServer(std::unique_ptr<Emitter> emitter) {
  return StartGit(std::move(emitter), "webhookSecret", &BitbucketHandle);
}

}  // namespace argonaut::events::sources
