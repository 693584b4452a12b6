// Test-only helpers for running external binaries (promtool, prometheus) from
// tests: temporary directories, one-shot commands, and long-running children
// that can never outlive the test.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::metrics::testing {

// A fresh directory under $TEST_TMPDIR (or /tmp), removed with its contents
// on destruction.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Create();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

absl::Status WriteFile(const std::string& path, const std::string& contents);
absl::StatusOr<std::string> ReadFile(const std::string& path);

struct CommandResult {
  // Exit code, or 128 + signal number if the command was killed.
  int exit_code = -1;
  // stdout and stderr, interleaved.
  std::string output;
};

// Runs argv (argv[0] is an absolute path; no shell) with `input` on stdin and
// waits for it; a command still running after `timeout` is killed and
// reported as DEADLINE_EXCEEDED.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input,
                                         absl::Duration timeout = absl::Seconds(60));

// A background child process, stopped (SIGTERM, then SIGKILL) when the object
// is destroyed, so an assertion failure cannot leave it behind. The child also
// gets SIGKILL if the test process dies first.
class ChildProcess {
 public:
  // Starts argv (argv[0] is an absolute path) with stdout and stderr
  // redirected to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::string& log_path);
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Whether the child is still running (reaps it if it exited).
  bool Running();
  // SIGTERM, then SIGKILL if it has not exited within `grace`; always reaps.
  // Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(10));

  pid_t pid() const { return pid_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  // Waits up to `timeout` for the child to exit; true if it did (and was reaped).
  bool WaitForExit(absl::Duration timeout);

  pid_t pid_;
  bool reaped_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for binaries that must
// be told their port up front).
absl::StatusOr<int> PickUnusedLoopbackPort();

}  // namespace argonaut::metrics::testing
