// A small, fast HTTP/1.1 server that answers every request with one fixed
// text body: the built-in stand-in for demo web images such as
// jocatalin/kubernetes-bootcamp. One epoll loop per thread, each with its own
// SO_REUSEPORT listener; keep-alive and pipelining; bounded buffers and
// connection count.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster {

struct DemoHttpServerOptions {
  std::string bind_address = "0.0.0.0";
  int port = 8080;  // 0: ephemeral
  int threads = 2;
  int max_connections = 10000;
  std::string body;  // sent with Content-Type: text/plain
};

class DemoHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<DemoHttpServer>> Start(
      const DemoHttpServerOptions& options);
  ~DemoHttpServer();
  DemoHttpServer(const DemoHttpServer&) = delete;
  DemoHttpServer& operator=(const DemoHttpServer&) = delete;

  int port() const { return port_; }
  // Closes the listeners and every connection; idempotent.
  void Stop();

 private:
  struct Loop;
  DemoHttpServer() = default;
  void Run(Loop* loop);

  DemoHttpServerOptions options_;
  int port_ = 0;
  int stop_fd_ = -1;  // eventfd, readable once Stop() is called
  std::atomic<int> connections_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

// Body of jocatalin/kubernetes-bootcamp:vN.
std::string KubernetesBootcampBody(const std::string& pod_name, const std::string& version);

// The kubernetes-bootcamp image: `kubernetes-bootcamp [VERSION]`, listening on
// $PORT (default 8080; 0 picks one) until SIGTERM or SIGINT, then exits 0.
// Prints `listening on port N` to stdout once it accepts connections.
int RunKubernetesBootcamp(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
