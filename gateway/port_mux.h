// PortMux: one TCP port that serves both gRPC and HTTP/1.1, as Argo Server
// does on 2746. Each accepted connection is classified by its first bytes
// (HTTP/2's client preface starts "PRI ") and spliced to the matching
// backend on loopback. Bytes are copied as they are; nothing is parsed.
//
//   PortMux mux({.bind_address = "127.0.0.1", .port = 2746,
//                .http2_backend_port = grpc_port, .http1_backend_port = http_port});
//   RETURN_IF_ERROR(mux.Start());
//
// Thread safety: Start and Stop from one thread; each connection has its own
// thread, bounded by max_connections (beyond it new connections are closed).
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace argonaut::gateway {

struct PortMuxOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int http2_backend_port = 0;
  int http1_backend_port = 0;
  int max_connections = 1024;
  // A client that sends nothing for this long is disconnected unclassified.
  int classify_timeout_ms = 10000;
};

class PortMux {
 public:
  explicit PortMux(PortMuxOptions options) : options_(std::move(options)) {}
  ~PortMux() { Stop(); }
  PortMux(const PortMux&) = delete;
  PortMux& operator=(const PortMux&) = delete;

  // Binds and starts accepting. UNAVAILABLE when the port is taken.
  absl::Status Start();
  int port() const { return port_; }
  // Stops accepting, closes every open connection and joins all threads.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int client);
  void Splice(int a, int b);

  PortMuxOptions options_;
  int listen_fd_ = -1;
  int port_ = -1;
  int max_connections_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace argonaut::gateway
