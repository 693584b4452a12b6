#include "lib/metrics/test_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace argonaut::metrics::testing {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// fork() + exec() rather than posix_spawn() because only a forked child can
// ask for PR_SET_PDEATHSIG, which is what guarantees the child dies with us.
// Between fork() and exec() the child may only make async-signal-safe calls:
// the test process is multi-threaded.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdin_fd, int output_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl() took effect.
    if (getppid() != parent) _exit(127);
    if (stdin_fd < 0) stdin_fd = open("/dev/null", O_RDONLY);
    dup2(stdin_fd, STDIN_FILENO);
    dup2(output_fd, STDOUT_FILENO);
    dup2(output_fd, STDERR_FILENO);
    // Keeps the test's sockets (e.g. a listening HTTP server) out of the child.
    close_range(3, ~0U, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Create() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/argonaut_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoError("mkdtemp");
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input, absl::Duration timeout) {
  // stdin comes from a memfd rather than a pipe so that a large input can
  // never deadlock against the child's output.
  const int input_fd = memfd_create("stdin", MFD_CLOEXEC);
  if (input_fd < 0) return ErrnoError("memfd_create");
  absl::Cleanup close_input = [input_fd] { close(input_fd); };
  if (write(input_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    return ErrnoError("write stdin");
  }
  if (lseek(input_fd, 0, SEEK_SET) != 0) return ErrnoError("lseek");

  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  absl::Cleanup close_read = [&output] { close(output[0]); };
  absl::StatusOr<pid_t> pid = Spawn(argv, input_fd, output[1]);
  close(output[1]);
  if (!pid.ok()) return pid.status();

  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[4096];
  while (true) {
    pollfd fd{.fd = output[0], .events = POLLIN, .revents = 0};
    const int remaining_ms =
        static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    const int ready = poll(&fd, 1, remaining_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      kill(*pid, SIGKILL);
      waitpid(*pid, nullptr, 0);
      return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish within ",
                                                      absl::FormatDuration(timeout),
                                                      "; output so far:\n", result.output));
    }
    const ssize_t n = read(output[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (waitpid(*pid, &status, 0) != *pid) return ErrnoError("waitpid");
  result.exit_code = ExitCode(status);
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoError(absl::StrCat("open ", log_path));
  absl::StatusOr<pid_t> pid = Spawn(argv, -1, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid));
}

bool ChildProcess::Running() {
  if (reaped_) return false;
  const pid_t r = waitpid(pid_, nullptr, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) reaped_ = true;
  return !reaped_;
}

bool ChildProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

void ChildProcess::Stop(absl::Duration grace) {
  if (reaped_) return;
  kill(pid_, SIGTERM);
  if (WaitForExit(grace)) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  reaped_ = true;
}

absl::StatusOr<int> PickUnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  absl::Cleanup close_fd = [fd] { close(fd); };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return ErrnoError("bind");
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("getsockname");
  }
  return ntohs(addr.sin_port);
}

}  // namespace argonaut::metrics::testing
