// A Kubernetes Service realised locally: a listening TCP port that forwards
// each accepted connection to one ready endpoint, round-robin or by weighted
// endpoint group.
//
//   ASSIGN_OR_RETURN(auto proxy, ServiceProxy::Start({.port = 0}));
//   RETURN_IF_ERROR(proxy->SetEndpoints({{"stable", "10.0.0.5", 8080}}));
//   ... clients connect to 127.0.0.1:proxy->port() ...
//
// Connections are spliced by epoll loops over non-blocking sockets with a
// bounded buffer per direction (a full buffer stops reading its source).
// Half-closes are forwarded. A refused or timed-out backend connect is retried
// on the next endpoint before any client byte is read, so a client never sees
// an endpoint that went away; with no endpoint left the client is closed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/proxy/endpoint_picker.h"

namespace argonaut::cluster {

struct ProxyOptions {
  std::string name;  // for logs, e.g. "default/web:80"
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: ephemeral
  int threads = 1;
  // Further clients are accepted and closed at once, so that a flood cannot
  // exhaust file descriptors or memory.
  int max_connections = 10000;
  // Per direction per connection, allocated on first use.
  size_t buffer_bytes = 64 * 1024;
  absl::Duration connect_timeout = absl::Seconds(3);
};

struct ProxyStats {
  uint64_t accepted = 0;
  uint64_t active = 0;
  uint64_t failed_connects = 0;       // backend connect attempts that failed
  uint64_t rejected_no_endpoint = 0;  // clients closed: no endpoint (left) to try
  uint64_t rejected_over_limit = 0;   // clients closed: max_connections reached
  uint64_t bytes_to_backends = 0;
  uint64_t bytes_to_clients = 0;
};

inline constexpr size_t kMaxProxyEndpoints = 10000;
inline constexpr int kMaxGroupWeight = 1000000;

class ServiceProxy {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceProxy>> Start(const ProxyOptions& options);
  ~ServiceProxy();
  ServiceProxy(const ServiceProxy&) = delete;
  ServiceProxy& operator=(const ServiceProxy&) = delete;

  int port() const { return port_; }

  // Replaces the endpoint list atomically; established connections stay.
  // INVALID_ARGUMENT (naming the entry) for a bad ip or port.
  absl::Status SetEndpoints(std::vector<Endpoint> endpoints);
  // Traffic split by endpoint group (see EndpointPicker::SetWeights); empty
  // means plain round-robin. INVALID_ARGUMENT for a weight outside 0..1e6.
  absl::Status SetWeights(std::map<std::string, int> group_weights);

  ProxyStats stats() const;

  // Closes the listener and every connection and joins the loops; idempotent.
  void Stop();

 private:
  struct Loop;
  struct Conn;
  ServiceProxy() = default;
  void Run(Loop* loop);

  ProxyOptions options_;
  int port_ = 0;
  int listen_fd_ = -1;

  mutable absl::Mutex mu_;
  EndpointPicker picker_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> failed_connects_{0};
  std::atomic<uint64_t> rejected_no_endpoint_{0};
  std::atomic<uint64_t> rejected_over_limit_{0};
  std::atomic<uint64_t> bytes_to_backends_{0};
  std::atomic<uint64_t> bytes_to_clients_{0};

  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace argonaut::cluster
