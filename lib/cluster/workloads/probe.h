// Container probe state machine (startup, liveness, readiness) with the kubelet's
// thresholds: results are fed in over time and the worker reports readiness changes and
// when a container must be killed.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/workloads/kubelet_policy.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

enum class ProbeKind { kStartup, kLiveness, kReadiness };
enum class ProbeResult { kUnknown, kSuccess, kFailure };

struct ProbeSpec {
  int32_t initial_delay_seconds = 0;
  int32_t period_seconds = 10;
  int32_t timeout_seconds = 1;
  int32_t success_threshold = 1;
  int32_t failure_threshold = 3;
};

// Reads a container's probe object, applying Kubernetes' defaults and checks (exactly one
// handler among exec/httpGet/tcpSocket/grpc; liveness and startup need successThreshold 1).
absl::StatusOr<ProbeSpec> ParseProbe(const Json& probe, ProbeKind kind, std::string_view path);

// An attempt that took longer than timeoutSeconds is a failure whatever it returned.
ProbeResult ClassifyAttempt(bool succeeded, absl::Duration took, const ProbeSpec& spec);

class ProbeWorker {
 public:
  ProbeWorker(ProbeKind kind, ProbeSpec spec);

  // Whether a probe attempt is due at `now` for a container running since `started_at`:
  // not during initialDelaySeconds, then every periodSeconds, never while on hold.
  bool Due(absl::Time started_at, absl::Time now) const;

  struct Outcome {
    bool changed = false;  // the published result changed
    ProbeResult result = ProbeResult::kUnknown;
    bool kill_container = false;  // liveness/startup failure crossed failureThreshold
  };
  // Records an attempt made at `now`. Results only flip after successThreshold consecutive
  // successes or failureThreshold consecutive failures.
  Outcome Record(ProbeResult r, absl::Time now);

  ProbeResult result() const { return result_; }
  // A new container instance (after a restart): start over, as the kubelet does.
  void Reset();

 private:
  ProbeKind kind_;
  ProbeSpec spec_;
  ProbeResult result_;
  ProbeResult last_ = ProbeResult::kUnknown;
  int run_ = 0;
  bool on_hold_ = false;
  std::optional<absl::Time> last_attempt_;
};

// A container's probes together: liveness and readiness only run once startup succeeded.
struct ContainerProbes {
  std::optional<ProbeWorker> startup, liveness, readiness;

  bool Started() const { return !startup || startup->result() == ProbeResult::kSuccess; }
  bool Ready(bool running) const {
    return running && Started() && (!readiness || readiness->result() == ProbeResult::kSuccess);
  }
  // Whether `kind` may run at all right now.
  bool Active(ProbeKind kind) const { return kind == ProbeKind::kStartup || Started(); }
};

// Builds the workers from a container spec (livenessProbe/readinessProbe/startupProbe).
absl::StatusOr<ContainerProbes> ProbesForContainer(const Json& container, std::string_view path);

// After a liveness/startup kill the container exits non-zero (SIGKILL, 137); whether it comes
// back is up to the pod's restart policy.
inline bool RestartsAfterProbeKill(RestartPolicy policy) { return PolicyRestarts(policy, 137); }

}  // namespace argonaut::cluster::workloads
