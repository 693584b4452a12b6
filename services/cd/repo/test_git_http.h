// Test-only: git's smart HTTP protocol on loopback (git-http-backend run as a CGI per request,
// behind HTTP Basic auth), for tests of git clients over http and https.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo::testing {

inline constexpr char kHttpBackend[] = "/usr/lib/git-core/git-http-backend";

// Serves the bare repositories under `project_root` on 127.0.0.1 (any free port).
class GitHttpServer {
 public:
  // `server` is an httplib::Server, or an httplib::SSLServer for https.
  GitHttpServer(std::string project_root, std::string user, std::string password,
                std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : root_(std::move(project_root)),
        expected_auth_("Basic " + absl::Base64Escape(user + ":" + password)),
        server_(std::move(server)) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) absl::SleepFor(absl::Milliseconds(5));
  }
  ~GitHttpServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (req.get_header_value("Authorization") != expected_auth_) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"git\"");
      return;
    }
    const std::string body_file = absl::StrCat(root_, "/.body-", requests_.load());
    std::ofstream(body_file, std::ios::binary) << req.body;
    std::string query;
    for (const auto& [k, v] : req.params) {
      absl::StrAppend(&query, query.empty() ? "" : "&", k, "=", v);
    }
    std::map<std::string, std::string> env = {
        {"GIT_PROJECT_ROOT", root_},
        {"GIT_HTTP_EXPORT_ALL", "1"},
        {"PATH_INFO", req.path},
        {"QUERY_STRING", query},
        {"REQUEST_METHOD", req.method},
        {"CONTENT_TYPE", req.get_header_value("Content-Type")},
        {"CONTENT_LENGTH", std::to_string(req.body.size())},
        {"REMOTE_USER", "user"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"BODY_FILE", body_file}};
    if (req.has_header("Content-Encoding")) {
      env["HTTP_CONTENT_ENCODING"] = req.get_header_value("Content-Encoding");
    }
    if (req.has_header("Git-Protocol")) env["GIT_PROTOCOL"] = req.get_header_value("Git-Protocol");
    auto out = Exec({"sh", "-c", absl::StrCat("exec ", kHttpBackend, " < \"$BODY_FILE\"")}, root_,
                    env, absl::Seconds(30));
    std::filesystem::remove(body_file);
    if (!out.ok() || out->exit_code != 0) {
      res.status = 500;
      return;
    }
    // CGI output: headers, a blank line, the body.
    const std::string& text = out->stdout_text;
    size_t split = text.find("\r\n\r\n");
    size_t skip = 4;
    if (split == std::string::npos) {
      split = text.find("\n\n");
      skip = 2;
    }
    if (split == std::string::npos) {
      res.status = 500;
      return;
    }
    res.status = 200;
    std::string content_type = "application/octet-stream";
    for (absl::string_view line : absl::StrSplit(text.substr(0, split), '\n')) {
      line = absl::StripSuffix(line, "\r");
      size_t colon = line.find(':');
      if (colon == line.npos) continue;
      std::string key(line.substr(0, colon));
      std::string value(absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
      if (absl::EqualsIgnoreCase(key, "Status")) {
        int code = 0;
        if (absl::SimpleAtoi(value.substr(0, 3), &code)) res.status = code;
      } else if (absl::EqualsIgnoreCase(key, "Content-Type")) {
        content_type = value;
      } else {
        res.set_header(key, value);
      }
    }
    res.set_content(text.substr(split + skip), content_type);
  }

  std::string root_, expected_auth_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

}  // namespace argonaut::cd::repo::testing
