// Kubelet policies as pure functions: container restart and CrashLoopBackOff timing, pod
// phase and conditions from container states, and the pod active deadline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

enum class RestartPolicy { kAlways, kOnFailure, kNever };

// "" defaults to Always, as the API server does for pods.
absl::StatusOr<RestartPolicy> ParseRestartPolicy(std::string_view value, std::string_view path);

// Whether the policy restarts a container that exited with `exit_code`.
bool PolicyRestarts(RestartPolicy policy, int exit_code);

// The reason Kubernetes records for a terminated container: "Completed" for exit 0,
// "OOMKilled" when the runtime reports it, otherwise "Error".
std::string TerminatedReason(int exit_code, bool oom_killed);

// What the kernel's counters say, as the container runtime reports it: a
// container that failed (non-zero exit, 137 when SIGKILLed) after the OOM
// killer killed a process of its memory cgroup while it ran is "OOMKilled",
// whether the victim was its main process or a child (a shell that reports
// its killed child's 137 included), as containerd does.
bool ContainerOomKilled(int exit_code, int64_t oom_kills_at_start, int64_t oom_kills_at_exit);

// A container's resources as cgroup inputs, 0 when unset: limits.memory in
// bytes, limits.cpu and requests.cpu in millicores (requests default to the
// limits, as the API server defaults them). Errors name the field
// ("spec.containers[0].resources.limits.memory: ...").
struct ContainerResources {
  int64_t memory_limit_bytes = 0;
  int64_t cpu_limit_millis = 0;
  int64_t cpu_request_millis = 0;
};
absl::StatusOr<ContainerResources> ParseContainerResources(const Json& container,
                                                           std::string_view path);

// Memory for all pods together, like the kubelet's allocatable: what the
// node (or the runtime's own cgroup, when lower; 0 = none) has, minus a
// reserve for the runtime itself of 10%, at least 256 MiB and at most 2 GiB.
// A pod without limits that eats everything is then OOM-killed inside the
// pods' group and the runtime keeps its memory. 0 when nothing is left.
int64_t PodsMemoryLimit(int64_t node_memory_bytes, int64_t runtime_cgroup_limit_bytes);

inline constexpr absl::Duration kCrashLoopInitialDelay = absl::Seconds(10);
inline constexpr absl::Duration kCrashLoopMaxDelay = absl::Seconds(300);

// Per-container restart back-off with the kubelet's semantics: the first restart happens at
// once, later ones wait 10s, 20s, 40s ... capped at 300s. The back-off resets when the
// container exits more than 10 minutes (2 x the cap) after its last restart, i.e. after it
// ran that long without failing.
class CrashLoopBackoff {
 public:
  // True while a container that exited at `finished_at` must still wait at `now`.
  bool InBackoff(absl::Time finished_at, absl::Time now) const;
  // Time left to wait (zero when the container may restart).
  absl::Duration Remaining(absl::Time finished_at, absl::Time now) const;
  // Records a restart performed at `now` for an exit at `finished_at`.
  void RecordRestart(absl::Time finished_at, absl::Time now);
  // Current back-off step (zero before the first restart).
  absl::Duration delay() const { return delay_; }

 private:
  bool Expired(absl::Time finished_at) const;
  absl::Duration delay_ = absl::ZeroDuration();
  absl::Time last_update_ = absl::InfinitePast();
};

struct ContainerExit {
  int exit_code = 0;
  bool oom_killed = false;
  absl::Time finished_at;
};

struct RestartDecision {
  enum class Action { kLeaveTerminated, kRestartNow, kWaitBackoff };
  Action action = Action::kLeaveTerminated;
  absl::Duration wait;  // for kWaitBackoff
  // Terminated reason (Completed/Error/OOMKilled) or, while waiting, "CrashLoopBackOff".
  std::string reason;
  std::string message;
};

// What to do with an exited container. Does not mutate `backoff`: call RecordRestart when
// the restart is actually performed.
RestartDecision DecideRestart(RestartPolicy policy, std::string_view container_name,
                              const ContainerExit& exit, const CrashLoopBackoff& backoff,
                              absl::Time now);

// Pod phase from spec.(init)containers and status.(init)containerStatuses, following the
// kubelet: a failed init container with restartPolicy Never fails the pod; Pending while
// initialising or any container waits for its first start; Running when all have started
// and one runs (or all exited and will be restarted); Succeeded/Failed once all exited and
// none will be restarted.
absl::StatusOr<std::string> ComputePodPhase(const Json& pod);

// PodScheduled, Initialized, ContainersReady and Ready conditions for `pod` in `phase`,
// keeping lastTransitionTime of unchanged conditions from pod.status.conditions.
// Container readiness is read from containerStatuses[].ready.
Json ComputePodConditions(const Json& pod, std::string_view phase, absl::Time now);

struct DeadlineCheck {
  bool exceeded = false;
  absl::Duration remaining = absl::InfiniteDuration();  // until it would be exceeded
  std::string reason;                                   // "DeadlineExceeded" when exceeded
  std::string message;
};

// spec.activeDeadlineSeconds measured from status.startTime.
absl::StatusOr<DeadlineCheck> CheckActiveDeadline(const Json& pod, absl::Time now);

}  // namespace argonaut::cluster::workloads
