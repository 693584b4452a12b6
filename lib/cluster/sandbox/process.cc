#include "lib/cluster/sandbox/process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/cluster/sandbox/netlink.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace argonaut::cluster::sandbox {

std::string ExitStatus::ToString() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exit code ", code);
}

namespace internal {

ProcessState::~ProcessState() {
  if (pidfd_ >= 0) close(pidfd_);
}

absl::StatusOr<std::optional<ExitStatus>> ProcessState::TryWait() {
  absl::MutexLock lock(&mu_);
  if (status_) return status_;
  siginfo_t info{};
  int rc;
  do {
    rc =
        waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoStatus(errno, absl::StrCat("wait for pid ", pid_));
  if (info.si_pid == 0) return std::optional<ExitStatus>();
  ExitStatus st;
  if (info.si_code == CLD_EXITED) {
    st.code = info.si_status;
  } else {
    st.signal = info.si_status;
  }
  status_ = st;
  return status_;
}

bool ProcessState::Exited() {
  pollfd p{pidfd_, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

absl::StatusOr<ExitStatus> ProcessState::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Each round blocks in poll until exit or the deadline; rounds only repeat
  // on EINTR, so the loop is bounded by the deadline.
  for (;;) {
    absl::StatusOr<std::optional<ExitStatus>> st = TryWait();
    if (!st.ok()) return st.status();
    if (st->has_value()) return **st;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("pid ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    pollfd p{pidfd_, POLLIN, 0};
    const int64_t ms = std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30);
    if (poll(&p, 1, static_cast<int>(ms)) < 0 && errno != EINTR) {
      return ErrnoStatus(errno, "poll pidfd");
    }
  }
}

absl::Status ProcessState::SignalGroup(int sig) {
  absl::MutexLock lock(&mu_);
  if (status_) {
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid_, " already exited (", status_->ToString(), ")"));
  }
  if (kill(-pid_, sig) != 0 && errno != ESRCH) {
    return ErrnoStatus(errno, absl::StrCat("signal ", sig, " to process group ", pid_));
  }
  return absl::OkStatus();
}

}  // namespace internal

void KillAll(const std::vector<std::shared_ptr<internal::ProcessState>>& procs,
             absl::Duration grace) {
  for (const auto& p : procs) (void)p->SignalGroup(SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  for (const auto& p : procs) {
    pollfd fd{p->pidfd(), POLLIN, 0};
    const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    (void)poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)));
  }
  // The group may hold children of the leader even after the leader left.
  for (const auto& p : procs) (void)p->SignalGroup(SIGKILL);
  for (const auto& p : procs) (void)p->Wait(absl::Seconds(10));
}

absl::StatusOr<ExitStatus> Process::Kill(absl::Duration grace) {
  KillAll({state_}, grace);
  return state_->Wait(absl::ZeroDuration());
}

Process::~Process() {
  // Only when the caller is the last owner: a sandbox still tracking it will
  // reap it on Destroy. Killing regardless keeps "drop the handle" = "stop".
  if (!state_) return;
  absl::StatusOr<std::optional<ExitStatus>> st = state_->TryWait();
  if (st.ok() && st->has_value()) return;
  (void)state_->SignalGroup(SIGKILL);
  (void)state_->Wait(absl::Seconds(10));
}

}  // namespace argonaut::cluster::sandbox
