// Test helper: an httplib server on a free 127.0.0.1 port, run on its own thread, that can
// hold objects in memory (PUT stores, GET reads, DELETE removes) under a path prefix, the
// way the HTTP artifact drivers' tests need a writable server.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "httplib.h"

namespace argonaut::artifacts::testing {

class LoopbackHttpServer {
 public:
  // `server` may be an httplib::SSLServer. Add routes with server() before Start().
  explicit LoopbackHttpServer(
      std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>());
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  httplib::Server& server() { return *server_; }
  // Routes PUT/GET/DELETE of `prefix`<key> (prefix starts and ends with '/') to the objects.
  void ServeObjects(const std::string& prefix);
  // Binds 127.0.0.1 and serves until destruction; returns once it is listening.
  void Start();

  // `path` (starting with '/') on this server.
  std::string Url(const std::string& path, const std::string& scheme = "http") const;
  void Put(const std::string& key, std::string body);
  std::string Get(const std::string& key);  // "" when absent
  bool Stored(const std::string& key);

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
};

}  // namespace argonaut::artifacts::testing
