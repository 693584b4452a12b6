// A process started by a Sandbox: its own process group, a pidfd for
// poll/epoll-based waiting, and group-wide signalling.
//
// Waiting uses waitid(P_PIDFD), never waitpid(-1): the runtime may have other
// children. The runtime must not set SIGCHLD to SIG_IGN (children would be
// reaped by the kernel and their exit status lost).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/sandbox/security.h"

namespace argonaut::cluster::sandbox {

struct ExitStatus {
  int code = -1;   // exit code, or -1 when killed by a signal
  int signal = 0;  // terminating signal, 0 when it exited

  bool exited() const { return signal == 0; }
  bool success() const { return signal == 0 && code == 0; }
  // Kubernetes convention for container exit codes: 128 + signal.
  int KubernetesExitCode() const { return signal == 0 ? code : 128 + signal; }
  std::string ToString() const;
  bool operator==(const ExitStatus&) const = default;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in env's PATH
  std::vector<std::string> env;   // "KEY=VALUE"; added after the sandbox's own env
  // Empty: "/" in a pod, the pod's work dir in plain mode. In a pod a missing
  // one is created (the pod's root is its own).
  std::string working_dir;
  // stdout and stderr both append here (so the log can be followed while the
  // process runs); empty: /dev/null. Opened on the host, before entering the pod.
  std::string log_path;
  // >= 0: stdout and stderr go here instead of log_path (e.g. a pipe to a
  // log copier); not owned.
  int output_fd = -1;
  // cgroup.procs descriptors of the cgroup(s) to run in (Cgroup::ProcsFds);
  // the process joins them before it execs. Not owned.
  std::vector<int> cgroup_procs_fds;
  // Capabilities, no_new_privs and seccomp of the process in an isolated
  // pod (the default: Docker's); plain mode runs plain processes.
  ContainerSecurity security;
};

namespace internal {

// Shared between a Process and the Sandbox that started it, so the sandbox can
// kill and reap processes whose Process object the caller still holds.
class ProcessState {
 public:
  ProcessState(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  ~ProcessState();
  ProcessState(const ProcessState&) = delete;
  ProcessState& operator=(const ProcessState&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  absl::StatusOr<std::optional<ExitStatus>> TryWait();
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout);
  // Sends to the whole process group while the leader is not yet reaped (its
  // pid, and so the group id, cannot be reused until then). After reaping:
  // FailedPrecondition.
  absl::Status SignalGroup(int sig);
  // True once the leader has exited (reaped or not), without reaping.
  bool Exited();

 private:
  const pid_t pid_;
  const int pidfd_;
  absl::Mutex mu_;
  std::optional<ExitStatus> status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal

class Process {
 public:
  explicit Process(std::shared_ptr<internal::ProcessState> state) : state_(std::move(state)) {}
  // Kills the group (SIGKILL) and reaps, if still running.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return state_->pid(); }    // in the host PID namespace
  int pidfd() const { return state_->pidfd(); }  // readable once the process exited
  // nullopt while running.
  absl::StatusOr<std::optional<ExitStatus>> TryWait() { return state_->TryWait(); }
  // DeadlineExceeded if still running after `timeout`.
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout) { return state_->Wait(timeout); }
  absl::Status Signal(int sig) { return state_->SignalGroup(sig); }
  // SIGTERM to the group, SIGKILL to the group after `grace`, then reap.
  absl::StatusOr<ExitStatus> Kill(absl::Duration grace);

 private:
  std::shared_ptr<internal::ProcessState> state_;
};

// Kill semantics on a set of processes at once: one grace period for all.
void KillAll(const std::vector<std::shared_ptr<internal::ProcessState>>& procs,
             absl::Duration grace);

}  // namespace argonaut::cluster::sandbox
