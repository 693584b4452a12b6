#include "lib/cluster/images/busybox.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace argonaut::cluster {
namespace {

constexpr size_t kMaxListBytes = 64 * 1024;
constexpr size_t kMaxApplets = 2048;

bool Skipped(const std::string& name) {
  for (const char* s : kBusyboxSkippedApplets) {
    if (name == s) return true;
  }
  return false;
}

bool ValidAppletName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0' || static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

// FNV-1a: stable across processes (absl::Hash is seeded per process), so every
// runtime on the machine names the same build's directory alike.
uint64_t Fnv(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// A directory we may trust: ours and writable by nobody else, so that no one
// can slip other programs under an applet's name.
absl::Status CheckOwned(const std::string& dir) {
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(dir, ": ", strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(dir + ": not a directory");
  if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, ": not owned by uid ", geteuid(), " or writable by others"));
  }
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path) {
  std::string cur;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&cur, "/", part);
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("mkdir ", cur, ": ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// `busybox --list`: its applet names, one per line.
absl::StatusOr<std::set<std::string>> ListApplets(const std::string& binary) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string arg0 = binary, arg1 = "--list";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return absl::UnavailableError(absl::StrCat("exec ", binary, ": ", strerror(rc)));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < kMaxListBytes) out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError(absl::StrCat(binary, " --list failed"));
  }
  std::set<std::string> applets;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::string name(line);
    if (ValidAppletName(name) && !Skipped(name) && applets.size() < kMaxApplets) {
      applets.insert(std::move(name));
    }
  }
  if (applets.empty()) return absl::UnavailableError(absl::StrCat(binary, " lists no applets"));
  return applets;
}

std::set<std::string> ReadDirNames(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (ValidAppletName(name) && !Skipped(name) && names.size() < kMaxApplets) {
      names.insert(std::move(name));
    }
  }
  closedir(d);
  return names;
}

void RemoveTree(const std::string& dir) {
  for (const std::string& name : ReadDirNames(dir)) unlink((dir + "/" + name).c_str());
  rmdir(dir.c_str());
}

// Fills a fresh directory and renames it into place; a runtime that got there
// first wins and its directory is used.
absl::Status MakeAppletDir(const std::string& final_dir, const Busybox& bb) {
  std::string temp = final_dir + ".tmp-XXXXXX";
  if (mkdtemp(temp.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("mkdtemp ", temp, ": ", strerror(errno)));
  }
  for (const std::string& applet : bb.applets) {
    std::string link = absl::StrCat(temp, "/", applet);
    if (symlink(bb.binary.c_str(), link.c_str()) != 0) {
      int err = errno;
      RemoveTree(temp);
      return absl::UnavailableError(absl::StrCat("symlink ", link, ": ", strerror(err)));
    }
  }
  chmod(temp.c_str(), 0755);
  if (rename(temp.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    RemoveTree(temp);
    if (err != EEXIST && err != ENOTEMPTY) {
      return absl::UnavailableError(absl::StrCat("rename to ", final_dir, ": ", strerror(err)));
    }
  }
  return CheckOwned(final_dir);
}

}  // namespace

std::string DefaultBusyboxAppletParent() {
  // Pods get a private /tmp: a directory there would be on their PATH but
  // absent, and the commands a script runs would quietly be the host's.
  auto usable = [](const char* dir) {
    if (dir == nullptr || dir[0] != '/' || dir[1] == '\0') return false;
    std::string_view d = dir;
    while (d.size() > 1 && d.back() == '/') d.remove_suffix(1);
    return d != "/tmp" && d.substr(0, 5) != "/tmp/";
  };
  const char* xdg = getenv("XDG_CACHE_HOME");
  if (usable(xdg)) return absl::StrCat(xdg, "/argonaut");
  const char* home = getenv("HOME");
  if (usable(home)) return absl::StrCat(home, "/.cache/argonaut");
  return absl::StrCat("/var/tmp/argonaut-", geteuid());
}

std::optional<Busybox> LoadBusybox(const std::string& binary, const std::string& applet_parent) {
  std::vector<std::string> candidates;
  if (binary.empty()) {
    candidates = {"/bin/busybox", "/usr/bin/busybox"};
  } else {
    candidates = {binary};
  }
  Busybox bb;
  struct stat st {};
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0 && stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      bb.binary = c;
      break;
    }
  }
  if (bb.binary.empty()) return std::nullopt;
  // Symlinks point at the real file so that a usrmerge /bin alias does not matter.
  char real[PATH_MAX];
  std::string target = realpath(bb.binary.c_str(), real) != nullptr ? std::string(real) : bb.binary;

  std::string parent = applet_parent.empty() ? DefaultBusyboxAppletParent() : applet_parent;
  uint64_t key = Fnv(target);
  key =
      Fnv(absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ":", st.st_mtim.tv_nsec, ":", st.st_ino),
          key);
  std::string final_dir =
      absl::StrCat(parent, "/busybox-applets-", absl::Hex(key, absl::kZeroPad16));

  // Made by an earlier run: its entries are the applet list, no exec needed.
  if (CheckOwned(final_dir).ok()) {
    bb.applets = ReadDirNames(final_dir);
    if (!bb.applets.empty()) {
      bb.applet_dir = final_dir;
      return bb;
    }
  }
  absl::StatusOr<std::set<std::string>> applets = ListApplets(bb.binary);
  if (!applets.ok()) return std::nullopt;
  bb.applets = *std::move(applets);
  Busybox linked = bb;
  linked.binary = target;
  absl::Status made = MakeDirs(parent);
  if (made.ok()) made = CheckOwned(parent);
  if (made.ok()) made = MakeAppletDir(final_dir, linked);
  if (made.ok()) {
    bb.applet_dir = final_dir;
  } else {
    bb.applet_dir_problem = std::string(made.message());
  }
  return bb;
}

}  // namespace argonaut::cluster
