#include "lib/artifacts/beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
constexpr size_t kChunk = 64 * 1024;

absl::Status CopyTreeAt(const std::string& src, const std::string& dst, int depth, size_t* entries,
                        const SkipDir& skip, bool sync) {
  if (depth > kMaxDepth || ++*entries > kMaxEntries) {
    return absl::ResourceExhaustedError(absl::StrCat(src, ": too deep or too many files"));
  }
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0) return ErrnoError("stat " + src);
  if (depth > 0 && skip.Matches(st)) return absl::OkStatus();
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst.c_str(), (st.st_mode & 0777) | 0700) != 0) return ErrnoError("mkdir " + dst);
    std::error_code ec;
    std::vector<std::string> children;
    for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path().filename().string());
    }
    if (ec) return absl::InternalError(absl::StrCat("list ", src, ": ", ec.message()));
    for (const std::string& c : children) {
      if (absl::Status s = CopyTreeAt(src + "/" + c, dst + "/" + c, depth + 1, entries, skip, sync);
          !s.ok()) {
        return s;
      }
    }
    if (sync) {
      OwnedFd dir(open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dir.fd < 0) return ErrnoError("open " + dst);
      return SyncFd(dir.fd, dst);
    }
    return absl::OkStatus();
  }
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    const fs::path link = fs::read_symlink(src, ec);
    if (ec) return absl::InternalError(absl::StrCat("readlink ", src, ": ", ec.message()));
    if (symlink(link.c_str(), dst.c_str()) != 0) return ErrnoError("symlink " + dst);
    return absl::OkStatus();
  }
  if (!S_ISREG(st.st_mode)) return absl::OkStatus();  // sockets, fifos, devices: not data
  OwnedFd in(open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.fd < 0) return ErrnoError("open " + src);
  OwnedFd out(
      open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777));
  if (out.fd < 0) return ErrnoError("create " + dst);
  std::vector<char> buf(kChunk);
  while (true) {
    ssize_t n = read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + src);
    if (n == 0) break;
    if (absl::Status s = WriteAllFd(out.fd, buf.data(), static_cast<size_t>(n), dst); !s.ok()) {
      return s;
    }
  }
  return sync ? SyncFd(out.fd, dst) : absl::OkStatus();
}

}  // namespace

OwnedFd::~OwnedFd() {
  if (fd >= 0) close(fd);
}

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::Status SyncFd(int fd, const std::string& what) {
  if (fsync(fd) != 0 && errno != EINVAL) return ErrnoError("fsync " + what);
  return absl::OkStatus();
}

absl::Status WriteAllFd(int fd, const char* data, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return ErrnoError("write " + what);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

// openat2 beneath `root` without following any symlink; glibc 2.36 has no wrapper. Without
// openat2 the same rules hold by walking the components with O_NOFOLLOW.
int OpenBeneath(int root, const std::string& rel, int flags, mode_t mode, bool use_openat2) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
  const long fd = use_openat2 ? syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how))
                              : (errno = ENOSYS, -1);
  // ENOSYS: a kernel before 5.6; EPERM: a seccomp profile that refuses openat2. The walk
  // below is as strict.
  if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(fd);
  std::vector<std::string> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
  if (parts.empty()) return openat(root, ".", flags | O_CLOEXEC, mode);
  int cur = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == ".." || parts[i] == ".") {
      if (cur != root) close(cur);
      errno = EXDEV;
      return -1;
    }
    const bool last = i + 1 == parts.size();
    const int next =
        last ? openat(cur, parts[i].c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode)
             : openat(cur, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int saved = errno;
    if (cur != root) close(cur);
    if (next < 0) {
      // O_NOFOLLOW on a link: ELOOP (last) or ENOTDIR (O_DIRECTORY on the way), as openat2 says.
      errno = saved == ENOTDIR ? ELOOP : saved;
      return -1;
    }
    cur = next;
  }
  return cur;
}

absl::Status BeneathError(const std::string& rel, const std::string& what) {
  if (errno == ELOOP || errno == EXDEV || errno == ENOTDIR) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", rel, "\": ", what,
                     " passes through a symlink or leaves its root; refusing to follow it"));
  }
  if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("\"", rel, "\" does not exist"));
  return ErrnoError(absl::StrCat(what, " ", rel));
}

absl::StatusOr<int> MakeDirsBeneath(int root, const std::string& rel, const std::string& what,
                                    bool sync) {
  std::vector<std::string> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return ErrnoError("dup");
  for (const std::string& part : parts) {
    bool made = false;
    if (mkdirat(cur, part.c_str(), 0755) == 0) {
      made = true;
    } else if (errno != EEXIST) {
      absl::Status err = ErrnoError(absl::StrCat("mkdir ", part, " for ", what));
      close(cur);
      return err;
    }
    const int next = OpenBeneath(cur, part, O_RDONLY | O_DIRECTORY, 0);
    if (next < 0) {
      absl::Status err = BeneathError(what, "its directory");
      close(cur);
      return err;
    }
    if (made && sync) {
      if (absl::Status s = SyncFd(cur, what); !s.ok()) {
        close(cur);
        close(next);
        return s;
      }
    }
    close(cur);
    cur = next;
  }
  return cur;
}

absl::Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact key: must be 1 to ", kMaxKeyBytes, " bytes"));
  }
  if (key.find('\0') != std::string_view::npos || key[0] == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact key \"", std::string(key), "\": must be a relative path"));
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(key.data(), key.size()), '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("artifact key \"", std::string(key),
                                                     "\": empty, \".\" or \"..\" component"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SafeMemberPath(std::string_view name) {
  if (name.size() > kMaxNameBytes || name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("archive member name is too long or holds a NUL byte");
  }
  if (!name.empty() && name[0] == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("archive member \"", std::string(name), "\": absolute path"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(name.data(), name.size()), '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("archive member \"", std::string(name), "\": \"..\" component"));
    }
    parts.emplace_back(part);
  }
  if (parts.empty()) return std::string(".");
  return absl::StrJoin(parts, "/");
}

absl::Status CopyTree(const std::string& src, const std::string& dst, const SkipDir& skip,
                      bool sync) {
  size_t entries = 0;
  return CopyTreeAt(src, dst, 0, &entries, skip, sync);
}

}  // namespace argonaut::artifacts
