// Server: the process bootstrap every Argonaut service shares.
//
// One gRPC server (with the standard grpc.health.v1 service and reflection)
// and one HTTP/1.1 server carrying /healthz, /readyz, /metrics and any routes
// the owner adds (the gateway's REST API). Either port may be disabled (-1),
// which is how `argonaut up` runs services reachable only through in-process
// channels. Port 0 picks a free port; BoundGrpcPort()/BoundHttpPort() tell which.
//
//   Server server({.name = "workflow", .grpc_port = 7001, .http_port = 8001});
//   server.AddService(&resource_service);
//   RETURN_IF_ERROR(server.Start());
//   WaitForShutdownSignal();
//   server.Shutdown(absl::Seconds(10));   // in-flight calls finish first
//
// With `authorizer` set, the listening gRPC port hosts only the AuthProxy
// (auth_proxy.h), which authenticates and authorizes every call and relays it
// to an internal server without ports where the services live.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace httplib {
class Server;
}

namespace argonaut::auth {
class Authorizer;
}

namespace argonaut::server {

class AuthProxy;

// Both empty: plaintext. Both set: the gRPC listener speaks TLS with this
// PEM certificate (chain) and key.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
};

struct ServerOptions {
  std::string name;
  std::string bind_address = "127.0.0.1";
  int grpc_port = 0;  // -1: no gRPC listener (in-process channels only)
  int http_port = 0;  // -1: no HTTP listener
  // Text exposition of the process' metrics, served at /metrics.
  std::function<std::string()> metrics_text;
  // Extra readiness condition for /readyz (beyond "started").
  std::function<bool()> ready;
  // Null: no authentication (the services are on the listening port). Set:
  // every call through the listening port or AuthenticatedInProcessChannel()
  // is checked by it. Must outlive the server.
  auth::Authorizer* authorizer = nullptr;
  TlsOptions tls;  // the HTTP port is unaffected
  // A gRPC connection without a call for this long is closed (GOAWAY). An open watch is a call.
  absl::Duration grpc_max_connection_idle = absl::Minutes(5);
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Must be called before Start. The service must outlive the server.
  void AddService(grpc::Service* service);
  // Registers extra HTTP routes (the gateway's REST API). The callbacks run
  // inside Start once the gRPC server is up, so InProcessChannel() works there.
  void ConfigureHttp(std::function<void(httplib::Server&)> configure);
  // Runs after the HTTP and gRPC servers stop accepting calls, before
  // Shutdown returns: flush stores here.
  void OnShutdown(std::function<void()> fn);

  absl::Status Start();
  int BoundGrpcPort() const { return grpc_port_; }
  int BoundHttpPort() const { return http_port_; }

  // A channel to this server that never leaves the process. Trusted: it
  // reaches the services directly, without authentication, for components
  // that are part of the process.
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // An in-process channel that enters through the authorizing proxy, carrying
  // `authorization` from auth::CurrentCallerToken() (read when each call is
  // created). For code acting on behalf of a remote caller (REST handlers).
  // Without an authorizer: InProcessChannel().
  std::shared_ptr<grpc::Channel> AuthenticatedInProcessChannel();

  // Stops accepting calls, waits up to `grace` for in-flight calls, then
  // cancels the rest and runs the OnShutdown hooks. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::vector<std::function<void(httplib::Server&)>> http_config_;
  std::vector<std::function<void()>> on_shutdown_;
  // Declared in this order so that the proxy server goes first, then the
  // proxy (and its channel to grpc_), then grpc_.
  std::unique_ptr<grpc::Server> grpc_;  // with an authorizer: internal, no ports
  std::unique_ptr<AuthProxy> proxy_service_;
  std::unique_ptr<grpc::Server> proxy_;  // the listening server when authorizing
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  int grpc_port_ = -1;
  int http_port_ = -1;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

// Call first thing in main, before any thread starts, so that SIGTERM and
// SIGINT are delivered only to WaitForShutdownSignal.
void BlockShutdownSignals();
// Blocks until SIGTERM or SIGINT; returns the signal number.
int WaitForShutdownSignal();

}  // namespace argonaut::server
