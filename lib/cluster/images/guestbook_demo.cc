#include "lib/cluster/images/guestbook_demo.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::cluster {
namespace {

// Tags go into HTML; anything outside this set is refused rather than escaped.
bool SafeTag(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding, as PHP's $_GET does.
std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = UrlDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1));
    params.emplace(std::move(key), std::move(value));  // the first one wins
  }
  return params;
}

DemoHttpResponse Json(int status, std::string body) {
  DemoHttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body) + "\n";
  return r;
}

std::string Page(const GuestbookDemoConfig& c) {
  const std::string image = c.image == "ks-guestbook-demo"
                                ? "gcr.io/heptio-images/ks-guestbook-demo"
                                : "gcr.io/google-samples/gb-frontend";
  return absl::StrCat(
      "<!DOCTYPE html>\n<html ng-app=\"redis\">\n<head>\n<title>Guestbook</title>\n"
      "<meta name=\"image\" content=\"",
      image, ":", c.version,
      "\">\n</head>\n<body>\n<div class=\"container\">\n<h1>Guestbook</h1>\n"
      "<p>version: <b id=\"version\">",
      c.version, "</b> (", image, ")</p>\n<p>pod: <span id=\"pod\">", HtmlEscape(c.pod_name),
      "</span></p>\n<form action=\"guestbook.php\" method=\"get\">\n"
      "<input type=\"hidden\" name=\"cmd\" value=\"set\">\n"
      "<input type=\"hidden\" name=\"key\" value=\"messages\">\n"
      "<input name=\"value\" placeholder=\"Messages\">\n"
      "<button type=\"submit\">Submit</button>\n</form>\n"
      "<p><code>GET /guestbook.php?cmd=get&amp;key=messages</code> lists the messages.</p>\n"
      "</div>\n</body>\n</html>\n");
}

}  // namespace

absl::StatusOr<GuestbookDemoConfig> GuestbookDemoConfigFor(std::string_view image,
                                                           std::string_view tag) {
  if (image != "gb-frontend" && image != "ks-guestbook-demo") {
    return absl::InvalidArgumentError(absl::StrCat("image \"", AbslView(image.substr(0, 64)),
                                                   "\": want gb-frontend or ks-guestbook-demo"));
  }
  if (!SafeTag(tag)) {
    return absl::InvalidArgumentError(absl::StrCat("tag \"", AbslView(tag.substr(0, 64)),
                                                   "\": only letters, digits, '-', '_' and '.'"));
  }
  GuestbookDemoConfig config;
  config.image = std::string(image);
  config.version = std::string(tag);
  return config;
}

GuestbookDemoApp::GuestbookDemoApp(GuestbookDemoConfig config) : config_(std::move(config)) {}

DemoHttpResponse GuestbookDemoApp::Handle(const DemoHttpRequest& request) {
  const std::string_view target = request.target;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  const bool read = request.method == "GET" || request.method == "HEAD";
  DemoHttpResponse r;
  if (path == "/" || path == "/index.html") {
    if (!read) {
      r.status = 405;
      r.body = "method not allowed\n";
      return r;
    }
    r.content_type = "text/html; charset=UTF-8";
    r.body = Page(config_);
    return r;
  }
  if (path == "/guestbook.php") return Php(query);
  r.status = 404;
  r.body = "404 Not Found\n";
  return r;
}

DemoHttpResponse GuestbookDemoApp::Php(std::string_view query) {
  std::map<std::string, std::string> params = ParseQuery(query);
  const std::string& cmd = params["cmd"];
  const std::string& key = params["key"];
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Json(400, absl::StrCat("{\"error\": ", JsonString("key: want 1 to 64 bytes"), "}"));
  }
  if (cmd == "get") {
    absl::MutexLock lock(&mu_);
    auto it = store_.find(key);
    return Json(200,
                absl::StrCat("{\"data\": ", JsonString(it == store_.end() ? "" : it->second), "}"));
  }
  if (cmd == "set") {
    const std::string& value = params["value"];
    if (value.size() > kMaxValueBytes) {
      return Json(413,
                  absl::StrCat("{\"error\": ", JsonString("value: longer than 65536 bytes"), "}"));
    }
    absl::MutexLock lock(&mu_);
    if (!store_.contains(key) && store_.size() >= kMaxKeys) {
      return Json(507, absl::StrCat("{\"error\": ", JsonString("too many keys (64)"), "}"));
    }
    store_[key] = value;
    return Json(200, "{\"message\": \"Updated\"}");
  }
  return Json(400, absl::StrCat("{\"error\": ", JsonString("cmd: want get or set"), "}"));
}

int RunGuestbookDemo(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    fprintf(stderr, "guestbook: usage: guestbook gb-frontend|ks-guestbook-demo TAG\n");
    return 2;
  }
  absl::StatusOr<GuestbookDemoConfig> config = GuestbookDemoConfigFor(args[0], args[1]);
  if (!config.ok()) {
    fprintf(stderr, "guestbook: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  int port = 80;
  if (!DemoPortFromEnv("guestbook", &port)) return 2;
  config->pod_name = DemoPodName();

  const sigset_t set = BlockDemoStopSignals();

  auto app = std::make_shared<GuestbookDemoApp>(*config);
  DemoHttpServerOptions options;
  options.port = port;
  options.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 2u));
  options.handler = [app](const DemoHttpRequest& r) { return app->Handle(r); };
  absl::StatusOr<std::unique_ptr<DemoHttpServer>> server = DemoHttpServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "guestbook: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  printf("Guestbook %s:%s listening on port %d\n", config->image.c_str(), config->version.c_str(),
         (*server)->port());
  fflush(stdout);
  WaitDemoStopSignal(set);
  (*server)->Stop();
  return 0;
}

}  // namespace argonaut::cluster
