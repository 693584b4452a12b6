#include "services/cd/repo/util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <regex>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "lib/base/strings.h"

extern char** environ;

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;

absl::string_view StripPathSuffixes(absl::string_view path) {
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  absl::ConsumeSuffix(&path, ".git");
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  return path;
}

int DefaultPort(absl::string_view scheme) {
  if (scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git") return 22;
  if (scheme == "https") return 443;
  if (scheme == "http") return 80;
  if (scheme == "git") return 9418;
  return -1;
}

}  // namespace

std::string NormalizeRepoUrl(absl::string_view raw) {
  absl::string_view url = absl::StripAsciiWhitespace(raw);
  if (absl::ConsumePrefix(&url, "file://") || absl::StartsWith(url, "/")) {
    std::string path = fs::path(std::string(url)).lexically_normal().string();
    return absl::StrCat("file:", StripPathSuffixes(path));
  }
  std::string scheme;
  absl::string_view rest;
  if (size_t p = url.find("://"); p != absl::string_view::npos) {
    scheme = absl::AsciiStrToLower(url.substr(0, p));
    rest = url.substr(p + 3);
  } else if (size_t colon = url.find(':');
             colon != absl::string_view::npos && url.substr(0, colon).find('/') == url.npos) {
    // scp-like "git@host:path": the ssh transport.
    scheme = "ssh";
    absl::string_view host = url.substr(0, colon);
    absl::string_view path = url.substr(colon + 1);
    if (size_t at = host.rfind('@'); at != host.npos) host = host.substr(at + 1);
    return absl::StrCat(absl::AsciiStrToLower(host), "/",
                        StripPathSuffixes(absl::StripPrefix(path, "/")));
  } else {
    return std::string(StripPathSuffixes(url));
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path = slash == rest.npos ? absl::string_view() : rest.substr(slash);
  if (size_t at = authority.rfind('@'); at != authority.npos) authority = authority.substr(at + 1);
  std::string host = absl::AsciiStrToLower(authority);
  if (size_t colon = host.rfind(':'); colon != host.npos && host.find(']', colon) == host.npos) {
    if (host.substr(colon + 1) == std::to_string(DefaultPort(scheme))) host.resize(colon);
  }
  // Network transports fold together, as Argo CD's webhook matching does: a push to
  // github.com/a/b concerns apps that cloned it over https or ssh alike.
  return absl::StrCat(host, StripPathSuffixes(path));
}

bool SameRepo(std::string_view a, std::string_view b) {
  return NormalizeRepoUrl(AbslView(a)) == NormalizeRepoUrl(AbslView(b));
}

std::string RedactUrl(absl::string_view url) {
  size_t p = url.find("://");
  if (p == url.npos) return std::string(url);
  absl::string_view rest = url.substr(p + 3);
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  size_t at = authority.rfind('@');
  if (at == authority.npos) return std::string(url);
  return absl::StrCat(url.substr(0, p + 3), rest.substr(at + 1));
}

std::string Redact(absl::string_view text, const std::vector<std::string>& secrets) {
  static const std::regex* kUserInfo = new std::regex(R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@)");
  std::string out = std::regex_replace(std::string(text), *kUserInfo, "$1***@");
  for (const std::string& s : secrets) {
    if (!s.empty()) absl::StrReplaceAll({{s, "***"}}, &out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Globs

namespace {

// Expands the first top-level {a,b} group; patterns without braces come back unchanged.
void ExpandBraces(absl::string_view pattern, std::vector<std::string>& out) {
  if (out.size() > 4096) return;  // a hostile pattern must not explode
  size_t open = absl::string_view::npos;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '{') {
      open = i;
      break;
    }
  }
  if (open == absl::string_view::npos) {
    out.emplace_back(pattern);
    return;
  }
  int depth = 0;
  std::vector<absl::string_view> alternatives;
  size_t start = open + 1;
  for (size_t i = open; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) {
        alternatives.push_back(pattern.substr(start, i - start));
        absl::string_view prefix = pattern.substr(0, open);
        absl::string_view suffix = pattern.substr(i + 1);
        for (absl::string_view alt : alternatives) {
          ExpandBraces(absl::StrCat(prefix, alt, suffix), out);
        }
        return;
      }
    } else if (c == ',' && depth == 1) {
      alternatives.push_back(pattern.substr(start, i - start));
      start = i + 1;
    }
  }
  out.emplace_back(pattern);  // unbalanced: the brace is literal
}

bool MatchClass(absl::string_view p, size_t& i, char c) {
  // p[i] == '['; on return i is past the closing ']'.
  size_t j = i + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool matched = false;
  bool first = true;
  while (j < p.size() && (first || p[j] != ']')) {
    first = false;
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      j += 2;
    }
    if (c >= lo && c <= hi) matched = true;
    ++j;
  }
  i = j + 1;
  return matched != negate;
}

bool MatchSimple(absl::string_view p, absl::string_view t) {
  size_t pi = 0, ti = 0;
  size_t star_p = absl::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      star_p = pi;
      star_t = ti;
      continue;
    }
    if (pi < p.size()) {
      size_t next = pi;
      bool ok = false;
      if (p[pi] == '?') {
        ok = true;
        next = pi + 1;
      } else if (p[pi] == '[' && p.find(']', pi + 2) != p.npos) {
        ok = MatchClass(p, next, t[ti]);
      } else if (p[pi] == '\\' && pi + 1 < p.size()) {
        ok = p[pi + 1] == t[ti];
        next = pi + 2;
      } else {
        ok = p[pi] == t[ti];
        next = pi + 1;
      }
      if (ok) {
        pi = next;
        ++ti;
        continue;
      }
    }
    if (star_p == absl::string_view::npos) return false;
    pi = star_p;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  std::vector<std::string> alternatives;
  ExpandBraces(pattern, alternatives);
  for (const std::string& alt : alternatives) {
    if (MatchSimple(alt, text)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Exec

std::string FindOnPath(absl::string_view name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(dirs, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate;
  }
  return "";
}

absl::StatusOr<ExecResult> Exec(const std::vector<std::string>& argv, const std::string& dir,
                                const std::map<std::string, std::string>& env,
                                absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("exec: empty command");
  std::string binary = argv[0];
  if (binary.find('/') == std::string::npos) binary = FindOnPath(binary);
  if (binary.empty() || access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(argv[0], ": executable not found"));
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    if (env.count(std::string(kv.substr(0, kv.find('=')))) == 0) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("exec: pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("exec: pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // own group: a timeout kills the tool's children too
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  absl::Cleanup close_pipes = [&] {
    close(out_pipe[0]);
    close(err_pipe[0]);
  };
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("exec ", argv[0], ": ", std::strerror(rc)));
  }

  ExecResult result;
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  bool out_open = true, err_open = true;
  absl::Time kill_at = absl::InfiniteFuture();
  char buffer[16384];
  while (out_open || err_open) {
    absl::Time now = absl::Now();
    if (!timed_out && now >= deadline) {
      timed_out = true;
      kill(-pid, SIGTERM);
      kill_at = now + absl::Seconds(5);
    }
    if (timed_out && now >= kill_at) {
      kill(-pid, SIGKILL);
      kill_at = absl::InfiniteFuture();
    }
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    absl::Time wake = timed_out ? std::min(kill_at, now + absl::Seconds(1)) : deadline;
    int wait_ms =
        static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(wake - now), 0, 1000));
    int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      (i == 0 ? result.stdout_text : result.stderr_text).append(buffer, static_cast<size_t>(n));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], " did not finish within ", absl::FormatDuration(timeout), " and was stopped"));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Paths

namespace {

bool IsWithin(const fs::path& root, const fs::path& p) {
  auto r = root.lexically_normal();
  auto q = p.lexically_normal();
  auto rel = q.lexically_relative(r);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

absl::StatusOr<fs::path> ResolveInside(const fs::path& root, absl::string_view rel,
                                       absl::string_view field) {
  fs::path relative(rel.empty() ? "." : std::string(rel));
  if (relative.is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", rel, ": absolute paths are not allowed"));
  }
  fs::path joined = (root / relative).lexically_normal();
  if (!IsWithin(root, joined)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", rel, ": path is outside the repository"));
  }
  std::error_code ec;
  if (fs::exists(joined, ec)) {
    fs::path real = fs::canonical(joined, ec);
    fs::path real_root = fs::canonical(root, ec);
    if (ec || !IsWithin(real_root, real)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", rel, ": path is outside the repository (through a symlink)"));
    }
  }
  return joined;
}

absl::Status CheckSymlinksInside(const fs::path& root, const fs::path& dir) {
  std::error_code ec;
  fs::path real_root = fs::canonical(root, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("repository checkout missing: ", ec.message()));
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    fs::path target = fs::read_symlink(it->path(), ec);
    if (ec) break;
    fs::path link_dir = fs::canonical(it->path().parent_path(), ec);
    fs::path resolved = target.is_absolute() ? target : link_dir / target;
    if (!IsWithin(real_root, resolved)) {
      return absl::FailedPreconditionError(
          absl::StrCat("repository contains out-of-bounds symlinks. file: ",
                       it->path().lexically_relative(root).string()));
    }
  }
  if (ec) return absl::InternalError(absl::StrCat("walking ", dir.string(), ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace argonaut::cd::repo
