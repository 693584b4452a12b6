// PortMux: one TCP port that serves both gRPC and HTTP/1.1, as Argo Server
// does on 2746. Each accepted connection is classified by its first bytes
// (HTTP/2's client preface starts "PRI ") and spliced to the matching
// backend on loopback. Bytes are copied as they are; nothing is parsed.
//
//   PortMux mux({.bind_address = "127.0.0.1", .port = 2746,
//                .http2_backend_port = grpc_port, .http1_backend_port = http_port});
//   RETURN_IF_ERROR(mux.Start());
//
// With tls_cert_file/tls_key_file set the port speaks only TLS: the mux
// terminates it (OpenSSL), classifies by the ALPN protocol the client chose
// (h2 for gRPC; http/1.1 whenever a client offers it, since the REST server
// speaks only HTTP/1.1) or else by the decrypted first bytes, and splices the
// plaintext to the same loopback backends. A plaintext HTTP request gets a
// 400 naming https; any other non-TLS client is closed.
//
// HTTP/1 connections carry one more check: each request body is counted as the
// REST server will read it (de-chunked, inflated; port_mux_http1.h) and one past
// http1_max_body_bytes is answered 413 and closed before the rest arrives.
//
// Thread safety: Start and Stop from one thread; each connection has its own
// thread, bounded by max_connections and, per client address, by
// max_connections_per_client (beyond either, new connections are closed at once).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

struct ssl_ctx_st;
struct ssl_st;

namespace argonaut::gateway {

class Http1BodyLimit;

struct PortMuxOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int http2_backend_port = 0;
  int http1_backend_port = 0;
  int max_connections = 1024;
  // Open connections from one IP address; 0: no cap. One client cannot take every slot.
  int max_connections_per_client = 64;
  // An HTTP/1 request body past this (after de-chunking and inflating) is refused with 413
  // while it arrives; 0: not checked. The REST server's payload limit.
  uint64_t http1_max_body_bytes = 16 << 20;
  // A client that sends nothing (or does not finish its TLS handshake) for
  // this long is disconnected unclassified.
  int classify_timeout_ms = 10000;
  // PEM files; both set: TLS only (see above). Start fails on a bad pair.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class PortMux {
 public:
  explicit PortMux(PortMuxOptions options) : options_(std::move(options)) {}
  ~PortMux();
  PortMux(const PortMux&) = delete;
  PortMux& operator=(const PortMux&) = delete;

  // Binds and starts accepting. UNAVAILABLE when the port is taken;
  // INVALID_ARGUMENT naming the file when the TLS pair cannot be loaded.
  absl::Status Start();
  int port() const { return port_; }
  // Stops accepting, closes every open connection and joins all threads.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int client, uint32_t client_ip);
  // `limit` (null for HTTP/2): what the client's bytes must pass first.
  void Splice(int client, int backend, Http1BodyLimit* limit);
  // The TLS side of Serve: handshake, classify, splice. Returns the backend
  // descriptor it opened (registered in open_fds_), or -1.
  int ServeTls(int client);
  void SpliceTls(ssl_st* ssl, int client, int backend, Http1BodyLimit* limit);
  // Connects to the backend and registers its descriptor in open_fds_.
  int Backend(bool http2);
  // Peeks up to `size` first bytes within the classify timeout.
  ssize_t PeekHead(int client, char* head, size_t size);

  PortMuxOptions options_;
  int listen_fd_ = -1;
  int port_ = -1;
  int max_connections_ = 0;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  // Open connections per client IPv4 address (network order).
  std::map<uint32_t, int> per_client_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::gateway
