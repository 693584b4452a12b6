#include "services/workflow/executor/remote.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace argonaut::workflow::executor {
namespace {

using nlohmann::json;

constexpr size_t kMaxMessageBytes = 16 * 1024;

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

absl::Status RunHelper(const std::vector<std::string>& helper, const std::string& op,
                       const std::string& path, const json& artifact) {
  if (helper.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the artifact helper (", kArtifactHelperName,
                                                      ") is not installed beside argoexec"));
  }
  int in_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return absl::InternalError("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<std::string> argv = helper;
  argv.push_back(op);
  argv.push_back(path);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t child = 0;
  const int rc = posix_spawn(&child, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(err_pipe[0]);
    return absl::FailedPreconditionError(
        absl::StrCat("start the artifact helper ", argv[0], ": ", std::strerror(rc)));
  }
  WriteAll(in_pipe[1], artifact.dump());
  close(in_pipe[1]);
  std::string message;
  char buf[4096];
  while (true) {
    ssize_t n = read(err_pipe[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (message.size() < kMaxMessageBytes) message.append(buf, static_cast<size_t>(n));
  }
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::string text(absl::StripAsciiWhitespace(message));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status) && WEXITSTATUS(status) <= 16) {
    return absl::Status(static_cast<absl::StatusCode>(WEXITSTATUS(status)), text);
  }
  return absl::InternalError(absl::StrCat("the artifact helper failed (",
                                          WIFEXITED(status)
                                              ? absl::StrCat("exit ", WEXITSTATUS(status))
                                              : absl::StrCat("signal ", WTERMSIG(status)),
                                          ")", text.empty() ? "" : ": ", text));
}

}  // namespace

std::vector<std::string> FindArtifactHelper() {
  if (const char* env = std::getenv(kArtifactHelperEnv); env != nullptr && *env != '\0') {
    return {env};
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    const std::string beside =
        (std::filesystem::path(std::string(self, static_cast<size_t>(n))).parent_path() /
         kArtifactHelperName)
            .string();
    if (access(beside.c_str(), X_OK) == 0) return {beside};
  }
  const char* bin = std::getenv("ARGONAUT_BUILTIN_BINARY");
  if (bin == nullptr || *bin == '\0') return {};
  std::vector<std::string> out = {bin};
  if (const char* prefix = std::getenv("ARGONAUT_BUILTIN_PREFIX"); prefix != nullptr) {
    for (absl::string_view w : absl::StrSplit(prefix, ' ', absl::SkipEmpty())) {
      out.emplace_back(w);
    }
  }
  out.push_back(kArtifactHelperName);
  return out;
}

RemoteTransfer HelperTransfer(std::vector<std::string> helper) {
  RemoteTransfer t;
  t.load = [helper](const json& artifact, const std::string& dst) {
    return RunHelper(helper, "load", dst, artifact);
  };
  t.save = [helper](const std::string& src, const json& artifact) {
    return RunHelper(helper, "save", src, artifact);
  };
  return t;
}

}  // namespace argonaut::workflow::executor
