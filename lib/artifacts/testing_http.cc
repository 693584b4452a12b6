#include "lib/artifacts/testing_http.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace argonaut::artifacts::testing {

LoopbackHttpServer::LoopbackHttpServer(std::unique_ptr<httplib::Server> server)
    : server_(std::move(server)) {}

LoopbackHttpServer::~LoopbackHttpServer() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

void LoopbackHttpServer::ServeObjects(const std::string& prefix) {
  const std::string pattern = prefix + "(.*)";
  server_->Put(pattern, [this](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
    std::string body;
    reader([&](const char* data, size_t n) {
      body.append(data, n);
      return true;
    });
    std::lock_guard<std::mutex> l(mu_);
    objects_[req.matches[1]] = body;
    res.status = 201;
  });
  server_->Get(pattern, [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(req.matches[1]);
    if (it == objects_.end()) {
      res.status = 404;
      return;
    }
    res.set_content(it->second, "application/octet-stream");
  });
  server_->Delete(pattern, [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu_);
    res.status = objects_.erase(req.matches[1]) == 1 ? 204 : 404;
  });
}

void LoopbackHttpServer::Start() {
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) absl::SleepFor(absl::Milliseconds(5));
}

std::string LoopbackHttpServer::Url(const std::string& path, const std::string& scheme) const {
  return absl::StrCat(scheme, "://127.0.0.1:", port_, path);
}

void LoopbackHttpServer::Put(const std::string& key, std::string body) {
  std::lock_guard<std::mutex> l(mu_);
  objects_[key] = std::move(body);
}

std::string LoopbackHttpServer::Get(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? "" : it->second;
}

bool LoopbackHttpServer::Stored(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  return objects_.count(key) == 1;
}

}  // namespace argonaut::artifacts::testing
