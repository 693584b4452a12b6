// argoproj/rollouts-demo re-implemented: the demo app of Argo Rollouts' getting
// started guide. An HTTP server (port 8080, or $PORT) that answers its color:
//   GET /         a small HTML page naming the color and the pod (always 200)
//   ANY /color    the color as a JSON string, `"blue"`; tags `bad-<color>`
//                 answer HTTP 500 on a share of these requests, `slow-<color>`
//                 answer after a delay
//   GET /metrics  Prometheus text format: `requests_total{color,status}` for
//                 /color, `http_requests_total{color,path,status}` for all
// Errors and delay apply to /color only, as in Argo's app (its `/` serves static
// files), so that readiness probes on `/` pass and analysis sees the errors on
// the traffic that carries them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/images/demo_http_server.h"

namespace argonaut::cluster {

inline constexpr int kRolloutsDemoBadErrorPercent = 50;
inline constexpr absl::Duration kRolloutsDemoSlowLatency = absl::Seconds(2);

struct RolloutsDemoConfig {
  std::string color;       // empty: a random color per request (Argo's untagged image)
  int error_percent = 0;   // share of /color answers that are HTTP 500, 0..100
  absl::Duration latency;  // delay before each /color answer
  std::string pod_name;
};

// The image's behaviour from its tag (`blue`, `bad-blue`, `slow-blue`; `latest`:
// no color) and its environment (`getenv`): COLOR, ERROR_RATE (percent of /color
// answers that fail) and LATENCY (seconds) override the tag, as the upstream
// image's variables do. INVALID_ARGUMENT names a malformed variable.
absl::StatusOr<RolloutsDemoConfig> RolloutsDemoConfigFor(
    std::string_view tag, const std::function<const char*(const char*)>& getenv);

// The app's request handling, independent of the socket server (thread-safe).
class RolloutsDemoApp {
 public:
  explicit RolloutsDemoApp(RolloutsDemoConfig config);
  DemoHttpResponse Handle(const DemoHttpRequest& request);
  std::string Metrics() const;

 private:
  // Whether the n-th (0-based) /color answer fails: failures are spread evenly,
  // exactly error_percent of every 100 consecutive answers.
  bool Fails(uint64_t n) const;
  std::string ColorFor();
  void Count(std::string_view path, int status);

  const RolloutsDemoConfig config_;
  mutable absl::Mutex mu_;
  uint64_t color_requests_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t random_state_ ABSL_GUARDED_BY(mu_);
  // (path, status) -> answers.
  std::map<std::pair<std::string, int>, uint64_t> counts_ ABSL_GUARDED_BY(mu_);
};

// The image: `rollouts-demo TAG [--listen-addr [HOST]:PORT] [--termination-delay SECONDS]`.
// The table passes the image tag first. Listens on $PORT when set (0 picks a
// port), else the flag's port, else 8080; prints `Started server on :PORT` to
// stdout once listening; on SIGTERM/SIGINT waits the termination delay
// (default 0 here; upstream 10 s for ingress controllers, a second signal ends
// it) and exits 0.
int RunRolloutsDemo(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
