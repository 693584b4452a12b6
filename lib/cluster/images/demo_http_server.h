// A small, fast HTTP/1.1 server for the built-in stand-ins of demo web images
// (jocatalin/kubernetes-bootcamp, argoproj/rollouts-demo): every request gets
// one fixed text body, or the answer of a handler, possibly after a delay. One
// epoll loop per thread, each with its own SO_REUSEPORT listener; keep-alive
// and pipelining; bounded buffers and connection count.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::cluster {

struct DemoHttpRequest {
  std::string_view method;
  std::string_view target;  // path and query as sent
  std::string_view body;
};

struct DemoHttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  // The answer is held this long; the loop keeps serving other connections
  // meanwhile, and later answers on the same connection wait their turn.
  absl::Duration delay = absl::ZeroDuration();
};

// Called from the server's loop threads, concurrently: must be thread-safe
// and must not block (use `delay` to answer late).
using DemoHttpHandler = std::function<DemoHttpResponse(const DemoHttpRequest&)>;

struct DemoHttpServerOptions {
  std::string bind_address = "0.0.0.0";
  int port = 8080;  // 0: ephemeral
  int threads = 2;
  int max_connections = 10000;
  std::string body;         // sent with Content-Type: text/plain when there is no handler
  DemoHttpHandler handler;  // when set, answers every request
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

// For the demo images' mains (kubernetes-bootcamp, guestbook, rollouts-demo).

// $PORT into *port when it is set; false, with a message naming `prog` on
// stderr, when it is not a port number.
bool DemoPortFromEnv(const char* prog, int* port);

// The pod name: $POD_NAME when the runtime gives it, else the (per-pod UTS)
// hostname, else $HOSTNAME.
std::string DemoPodName();

// Blocks SIGTERM and SIGINT (call before any thread starts, so that only
// WaitDemoStopSignal sees them) and ignores SIGPIPE; the set to wait on.
sigset_t BlockDemoStopSignals();

// Waits for a signal of `set` (from BlockDemoStopSignals); returns it.
int WaitDemoStopSignal(const sigset_t& set);

// Body of jocatalin/kubernetes-bootcamp:vN.
std::string KubernetesBootcampBody(const std::string& pod_name, const std::string& version);

// The kubernetes-bootcamp image: `kubernetes-bootcamp [VERSION]`, listening on
// $PORT (default 8080; 0 picks one) until SIGTERM or SIGINT, then exits 0.
// Prints `listening on port N` to stdout once it accepts connections.
int RunKubernetesBootcamp(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
