// File I/O half of argoexec's artifacts: tar.gz writing and extraction, plain copies, the
// repository layout. Every write below a target goes through SafeChild, which refuses to pass
// through a symlink, so a hostile archive or directory cannot escape its target. Keys are
// resolved below the repository root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS): a key never needs a symlink (argoexec makes every directory on the way),
// so a link planted in the repository (by an artifact stored unarchived, or by anyone who can
// write there) is refused instead of followed out of it, or into another workflow's part.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/workflow/executor/artifacts.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 256;
constexpr size_t kChunk = 64 * 1024;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

struct GzCloser {
  void operator()(gzFile f) const {
    if (f != nullptr) gzclose(f);
  }
};
using Gz = std::unique_ptr<gzFile_s, GzCloser>;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// A path naming an open directory, for the path-based helpers (CopyTree, remove_all) to work
// below a directory resolved safely once. Only used as a parent, never as the final component.
std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::Status BeneathError(const std::string& key, const std::string& what) {
  if (errno == ELOOP || errno == EXDEV || errno == ENOTDIR) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact key \"", key, "\": ", what,
                     " passes through a symlink or leaves the repository; refusing to follow it"));
  }
  if (errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("key ", key, " is not in the repository"));
  }
  return Errno(absl::StrCat(what, " ", key));
}

// The repository root, opened once: every key resolves below this descriptor.
absl::StatusOr<int> OpenRoot(const std::string& repo_root) {
  const int fd = open(repo_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open artifact repository " + repo_root);
  return fd;
}

absl::Status SyncFd(int fd, const std::string& what) {
  if (fsync(fd) != 0 && errno != EINVAL) return Errno("fsync " + what);
  return absl::OkStatus();
}

// The directory `rel` below `root`, made (0755) where missing; every directory made is fsynced
// into its parent so the key survives a crash once recorded.
absl::StatusOr<int> MakeDirsBeneath(int root, const std::string& rel, const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return Errno("dup");
  for (const std::string& part : parts) {
    bool made = false;
    if (mkdirat(cur, part.c_str(), 0755) == 0) {
      made = true;
    } else if (errno != EEXIST) {
      absl::Status err = Errno(absl::StrCat("mkdir ", part, " for ", key));
      close(cur);
      return err;
    }
    const int next = OpenBeneath(cur, part, O_RDONLY | O_DIRECTORY, 0);
    if (next < 0) {
      absl::Status err = BeneathError(key, "its directory");
      close(cur);
      return err;
    }
    if (made) {
      if (absl::Status s = SyncFd(cur, key); !s.ok()) {
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

// A directory left out of saved artifacts (the repository itself), by identity.
struct Skip {
  bool set = false;
  dev_t dev = 0;
  ino_t ino = 0;
  bool Matches(const struct stat& st) const {
    return set && S_ISDIR(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
  }
};

// target + "/" + rel, creating the directories in between; no existing component below target
// may be a symlink or a non-directory.
absl::StatusOr<std::string> SafeChild(const std::string& target, const std::string& rel,
                                      bool create_parents) {
  if (rel.empty() || rel == ".") return target;
  std::vector<std::string> parts = absl::StrSplit(rel, '/', absl::SkipEmpty());
  std::string cur = target;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == ".." || parts[i] == ".") {
      return absl::InvalidArgumentError(absl::StrCat("\"", rel, "\": bad path component"));
    }
    const bool last = i + 1 == parts.size();
    struct stat st {};
    if (lstat(cur.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", rel, "\": a parent is a symlink or not a directory"));
      }
    } else if (create_parents) {
      if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir " + cur);
    }
    cur += "/" + parts[i];
    if (last) break;
  }
  return cur;
}

absl::Status WriteAllFd(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("write " + path);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status GzWrite(gzFile gz, const char* data, size_t n) {
  while (n > 0) {
    const unsigned part = static_cast<unsigned>(std::min(n, kChunk));
    if (gzwrite(gz, data, part) != static_cast<int>(part)) {
      return absl::InternalError("gzip write failed");
    }
    data += part;
    n -= part;
  }
  return absl::OkStatus();
}

absl::Status GzPad(gzFile gz, uint64_t size) {
  const size_t pad = (512 - size % 512) % 512;
  static const char kZeros[512] = {};
  return GzWrite(gz, kZeros, pad);
}

absl::Status TarHeaderWithLongNames(gzFile gz, TarHeader h) {
  for (const auto& [type, value] : {std::pair<char, std::string>{'L', h.name}, {'K', h.link}}) {
    if (value.size() < 100) continue;
    TarHeader l;
    l.name = "././@LongLink";
    l.type = type;
    l.size = value.size() + 1;
    std::string block = EncodeTarHeader(l);
    if (absl::Status s = GzWrite(gz, block.data(), block.size()); !s.ok()) return s;
    if (absl::Status s = GzWrite(gz, value.c_str(), value.size() + 1); !s.ok()) return s;
    if (absl::Status s = GzPad(gz, l.size); !s.ok()) return s;
  }
  const std::string block = EncodeTarHeader(h);
  return GzWrite(gz, block.data(), block.size());
}

absl::Status TarPath(gzFile gz, const std::string& src, const std::string& name, int depth,
                     size_t* entries, const Skip& skip) {
  if (depth > kMaxDepth || ++*entries > kMaxTarEntries) {
    return absl::ResourceExhaustedError(absl::StrCat(src, ": too deep or too many files"));
  }
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0) return Errno("stat " + src);
  if (depth > 0 && skip.Matches(st)) return absl::OkStatus();
  TarHeader h;
  h.name = name;
  h.mode = st.st_mode & 07777;
  h.mtime = st.st_mtime;
  if (S_ISDIR(st.st_mode)) {
    h.type = '5';
    h.name += "/";
    if (absl::Status s = TarHeaderWithLongNames(gz, h); !s.ok()) return s;
    std::error_code ec;
    std::vector<std::string> children;
    for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path().filename().string());
    }
    if (ec) return absl::InternalError(absl::StrCat("list ", src, ": ", ec.message()));
    std::sort(children.begin(), children.end());
    for (const std::string& c : children) {
      if (absl::Status s = TarPath(gz, src + "/" + c, name + "/" + c, depth + 1, entries, skip);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    h.type = '2';
    h.link = fs::read_symlink(src, ec).string();
    if (ec) return absl::InternalError(absl::StrCat("readlink ", src, ": ", ec.message()));
    return TarHeaderWithLongNames(gz, h);
  }
  if (!S_ISREG(st.st_mode)) return absl::OkStatus();  // sockets, fifos, devices: not data
  Fd in(open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.fd < 0) return Errno("open " + src);
  h.type = '0';
  h.size = static_cast<uint64_t>(st.st_size);
  if (absl::Status s = TarHeaderWithLongNames(gz, h); !s.ok()) return s;
  uint64_t left = h.size;
  std::vector<char> buf(kChunk);
  while (left > 0) {
    ssize_t n = read(in.fd, buf.data(), std::min<uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + src);
    if (n == 0) {
      // The file shrank while being archived: pad to the size already announced.
      std::fill(buf.begin(), buf.end(), '\0');
      n = static_cast<ssize_t>(std::min<uint64_t>(left, buf.size()));
    }
    if (absl::Status s = GzWrite(gz, buf.data(), static_cast<size_t>(n)); !s.ok()) return s;
    left -= static_cast<uint64_t>(n);
  }
  return GzPad(gz, h.size);
}

absl::Status GzReadExact(gzFile gz, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const int r = gzread(gz, buf + got, static_cast<unsigned>(std::min(n - got, kChunk)));
    if (r <= 0) return absl::DataLossError("artifact archive is truncated or corrupt");
    got += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::Status GzSkip(gzFile gz, uint64_t n) {
  std::vector<char> buf(kChunk);
  while (n > 0) {
    const size_t part = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
    if (absl::Status s = GzReadExact(gz, buf.data(), part); !s.ok()) return s;
    n -= part;
  }
  return absl::OkStatus();
}

uint64_t Padded(uint64_t size) { return size + (512 - size % 512) % 512; }

absl::StatusOr<std::string> ReadSmall(gzFile gz, uint64_t size) {
  if (size > kMaxTarNameBytes * 16) return absl::InvalidArgumentError("tar: long header too big");
  std::string s(static_cast<size_t>(Padded(size)), '\0');
  if (absl::Status st = GzReadExact(gz, s.data(), s.size()); !st.ok()) return st;
  s.resize(static_cast<size_t>(size));
  return s;
}

// Extracts the archive's single top-level entry (or sub_path inside it) to target.
absl::Status ExtractTarGz(int archive_fd, const std::string& key, const std::string& target,
                          const std::string& sub_path, uint64_t max_bytes) {
  const int gz_fd = fcntl(archive_fd, F_DUPFD_CLOEXEC, 0);
  if (gz_fd < 0) return Errno("dup");
  Gz gz(gzdopen(gz_fd, "rb"));
  if (!gz) {
    close(gz_fd);
    return Errno("open " + key);
  }
  uint64_t extracted = 0;
  std::string long_name, long_link;
  bool matched = false;
  char block[512];
  for (size_t n = 0; n <= kMaxTarEntries; ++n) {
    const int r = gzread(gz.get(), block, sizeof(block));
    if (r == 0) break;  // archives without the end blocks
    if (r != static_cast<int>(sizeof(block))) {
      return absl::DataLossError("artifact archive is truncated or corrupt");
    }
    absl::StatusOr<TarHeader> h = DecodeTarHeader(std::string_view(block, sizeof(block)));
    if (absl::IsNotFound(h.status())) break;
    if (!h.ok()) return h.status();
    if (h->type == 'L' || h->type == 'K') {
      absl::StatusOr<std::string> v = ReadSmall(gz.get(), h->size);
      if (!v.ok()) return v.status();
      (h->type == 'L' ? long_name : long_link) = std::string(v->c_str());
      continue;
    }
    if (h->type == 'x' || h->type == 'g') {
      absl::StatusOr<std::string> v = ReadSmall(gz.get(), h->size);
      if (!v.ok()) return v.status();
      if (h->type == 'x') {
        // "<len> key=value\n" records; only the names matter here.
        for (absl::string_view rec : absl::StrSplit(*v, '\n', absl::SkipEmpty())) {
          const size_t sp = rec.find(' ');
          if (sp == absl::string_view::npos) continue;
          absl::string_view kv = rec.substr(sp + 1);
          if (absl::StartsWith(kv, "path=")) long_name = std::string(kv.substr(5));
          if (absl::StartsWith(kv, "linkpath=")) long_link = std::string(kv.substr(9));
        }
      }
      continue;
    }
    const std::string raw_name = long_name.empty() ? h->name : long_name;
    const std::string link = long_link.empty() ? h->link : long_link;
    long_name.clear();
    long_link.clear();
    absl::StatusOr<std::string> member = SafeMemberPath(raw_name);
    if (!member.ok()) return member.status();
    const uint64_t data = (h->type == '0' || h->type == '7') ? h->size : 0;
    std::string rest;  // below the top-level entry
    if (const size_t slash = member->find('/'); slash != std::string::npos) {
      rest = member->substr(slash + 1);
    } else if (*member == ".") {
      return absl::InvalidArgumentError("tar member \".\": the archive has no top-level entry");
    }
    if (!sub_path.empty()) {
      if (rest == sub_path) {
        rest.clear();
      } else if (absl::StartsWith(rest, sub_path + "/")) {
        rest = rest.substr(sub_path.size() + 1);
      } else {
        if (absl::Status s = GzSkip(gz.get(), Padded(data)); !s.ok()) return s;
        continue;
      }
    }
    matched = true;
    // Checked against the sizes the headers announce, before anything is written: a tarbomb
    // fails at its first oversized member instead of after filling the disk.
    if (data > max_bytes - extracted) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "artifact is larger than the extraction limit of ", max_bytes, " bytes (tar member \"",
          raw_name, "\" of ", data, " bytes after ", extracted, ")"));
    }
    extracted += data;
    absl::StatusOr<std::string> dest = SafeChild(target, rest, /*create_parents=*/true);
    if (!dest.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("tar member \"", raw_name, "\": ", dest.status().message()));
    struct stat st {};
    const bool exists = lstat(dest->c_str(), &st) == 0;
    if (h->type == '5') {
      if (exists && !S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("tar member \"", raw_name, "\": exists and is not a directory"));
      }
      if (!exists && mkdir(dest->c_str(), (h->mode & 0777) | 0700) != 0) {
        return Errno("mkdir " + *dest);
      }
      continue;
    }
    if (exists && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tar member \"", raw_name, "\": a directory is in the way"));
    }
    if (h->type == '2') {
      if (exists && unlink(dest->c_str()) != 0) return Errno("unlink " + *dest);
      if (symlink(link.c_str(), dest->c_str()) != 0) return Errno("symlink " + *dest);
      continue;
    }
    if (h->type == '1') {
      return absl::InvalidArgumentError(
          absl::StrCat("tar member \"", raw_name, "\": hard links are not supported"));
    }
    if (h->type != '0' && h->type != '7') continue;  // devices, fifos: nothing to write
    if (exists && S_ISLNK(st.st_mode) && unlink(dest->c_str()) != 0) {
      return Errno("unlink " + *dest);
    }
    Fd out(
        open(dest->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, h->mode & 0777));
    if (out.fd < 0) return Errno("create " + *dest);
    std::vector<char> buf(kChunk);
    uint64_t left = h->size;
    while (left > 0) {
      const size_t part = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      if (absl::Status s = GzReadExact(gz.get(), buf.data(), part); !s.ok()) return s;
      if (absl::Status s = WriteAllFd(out.fd, buf.data(), part, *dest); !s.ok()) return s;
      left -= part;
    }
    if (absl::Status s = GzSkip(gz.get(), Padded(h->size) - h->size); !s.ok()) return s;
  }
  if (!matched) {
    return absl::NotFoundError(
        sub_path.empty() ? "the artifact archive is empty"
                         : absl::StrCat("subPath \"", sub_path, "\" is not in the artifact"));
  }
  return absl::OkStatus();
}

// Copies src (file, directory or symlink; never followed) to dst, which must not exist.
absl::Status CopyTree(const std::string& src, const std::string& dst, int depth, size_t* entries,
                      const Skip& skip, bool sync = false) {
  if (depth > kMaxDepth || ++*entries > kMaxTarEntries) {
    return absl::ResourceExhaustedError(absl::StrCat(src, ": too deep or too many files"));
  }
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0) return Errno("stat " + src);
  if (depth > 0 && skip.Matches(st)) return absl::OkStatus();
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst.c_str(), (st.st_mode & 0777) | 0700) != 0) return Errno("mkdir " + dst);
    std::error_code ec;
    std::vector<std::string> children;
    for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path().filename().string());
    }
    if (ec) return absl::InternalError(absl::StrCat("list ", src, ": ", ec.message()));
    for (const std::string& c : children) {
      if (absl::Status s = CopyTree(src + "/" + c, dst + "/" + c, depth + 1, entries, skip, sync);
          !s.ok()) {
        return s;
      }
    }
    if (sync) {
      Fd dir(open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dir.fd < 0) return Errno("open " + dst);
      return SyncFd(dir.fd, dst);
    }
    return absl::OkStatus();
  }
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    const fs::path link = fs::read_symlink(src, ec);
    if (ec) return absl::InternalError(absl::StrCat("readlink ", src, ": ", ec.message()));
    if (symlink(link.c_str(), dst.c_str()) != 0) return Errno("symlink " + dst);
    return absl::OkStatus();
  }
  if (!S_ISREG(st.st_mode)) return absl::OkStatus();
  Fd in(open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.fd < 0) return Errno("open " + src);
  Fd out(
      open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777));
  if (out.fd < 0) return Errno("create " + dst);
  std::vector<char> buf(kChunk);
  while (true) {
    ssize_t n = read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + src);
    if (n == 0) break;
    if (absl::Status s = WriteAllFd(out.fd, buf.data(), static_cast<size_t>(n), dst); !s.ok()) {
      return s;
    }
  }
  return sync ? SyncFd(out.fd, dst) : absl::OkStatus();
}

bool UnderTmp(const std::string& path) { return path == "/tmp" || absl::StartsWith(path, "/tmp/"); }

absl::Status ApplyMode(const std::string& path, uint32_t mode, bool recurse) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return absl::OkStatus();
  if (chmod(path.c_str(), mode) != 0) return Errno("chmod " + path);
  if (!recurse || !S_ISDIR(st.st_mode)) return absl::OkStatus();
  std::error_code ec;
  size_t n = 0;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end && n < kMaxTarEntries;
       it.increment(ec), ++n) {
    if (it->is_symlink(ec)) continue;
    if (chmod(it->path().c_str(), mode) != 0) return Errno("chmod " + it->path().string());
  }
  return absl::OkStatus();
}

}  // namespace

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

absl::Status LoadInputArtifact(const InputArtifactPlan& plan, const std::string& repo_root,
                               std::string* created) {
  const std::string& target = plan.path;
  struct stat st {};
  if (lstat(target.c_str(), &st) == 0) {
    // Outside /tmp a step pod shares the node's filesystem: never overwrite what is there.
    if (!UnderTmp(target)) {
      return absl::AlreadyExistsError(
          absl::StrCat(target, " already exists; refusing to overwrite it outside /tmp"));
    }
    std::error_code ec;
    fs::remove_all(target, ec);
    if (ec) return absl::InternalError(absl::StrCat("remove ", target, ": ", ec.message()));
  }
  // The topmost directory this load creates, so the step's end can remove it again.
  std::string top = target;
  for (int i = 0; i < kMaxDepth; ++i) {
    const std::string parent = fs::path(top).parent_path().string();
    if (parent.empty() || parent == "/" || lstat(parent.c_str(), &st) == 0) break;
    top = parent;
  }
  std::error_code ec;
  fs::create_directories(fs::path(target).parent_path(), ec);
  if (ec)
    return absl::InternalError(absl::StrCat("create parents of ", target, ": ", ec.message()));
  if (created != nullptr) *created = top;
  if (plan.from_raw) {
    Fd out(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (out.fd < 0) return Errno("create " + target);
    if (absl::Status s = WriteAllFd(out.fd, plan.raw_data.data(), plan.raw_data.size(), target);
        !s.ok()) {
      return s;
    }
  } else {
    if (repo_root.empty()) {
      return absl::FailedPreconditionError("no artifact repository is reachable from this pod");
    }
    if (absl::Status s = ValidateRepositoryKey(plan.key); !s.ok()) return s;
    absl::StatusOr<int> root_fd = OpenRoot(repo_root);
    if (!root_fd.ok()) return root_fd.status();
    Fd root(*root_fd);
    // Read only: inputs never change what the repository holds.
    Fd stored(OpenBeneath(root.fd, plan.key, O_RDONLY | O_NONBLOCK, 0));
    if (stored.fd < 0) return BeneathError(plan.key, "the key");
    if (fstat(stored.fd, &st) != 0) return Errno("stat " + plan.key);
    if (plan.archived) {
      if (!S_ISREG(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("key ", plan.key, " is not an archive in the repository"));
      }
      if (absl::Status s = ExtractTarGz(stored.fd, plan.key, target, plan.sub_path, plan.max_bytes);
          !s.ok()) {
        return s;
      }
    } else {
      Fd sub(-1);
      int src_fd = stored.fd;
      if (!plan.sub_path.empty()) {
        sub.fd = OpenBeneath(stored.fd, plan.sub_path, O_RDONLY | O_NONBLOCK, 0);
        if (sub.fd < 0) {
          if (errno == ENOENT) {
            return absl::NotFoundError(
                absl::StrCat("subPath \"", plan.sub_path, "\" is not in the artifact"));
          }
          return BeneathError(plan.key, absl::StrCat("subPath \"", plan.sub_path, "\""));
        }
        src_fd = sub.fd;
        if (fstat(src_fd, &st) != 0) return Errno("stat " + plan.sub_path);
      }
      size_t entries = 0;
      if (S_ISDIR(st.st_mode)) {
        // Below the resolved directory, CopyTree copies links as links, never following them.
        if (mkdir(target.c_str(), (st.st_mode & 0777) | 0700) != 0) {
          return Errno("mkdir " + target);
        }
        std::error_code ec;
        const std::string src = FdPath(src_fd);
        for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
          const std::string c = it->path().filename().string();
          if (absl::Status s = CopyTree(src + "/" + c, target + "/" + c, 1, &entries, Skip{});
              !s.ok()) {
            return s;
          }
        }
        if (ec) return absl::InternalError(absl::StrCat("list ", plan.key, ": ", ec.message()));
      } else if (S_ISREG(st.st_mode)) {
        Fd out(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    st.st_mode & 0777));
        if (out.fd < 0) return Errno("create " + target);
        std::vector<char> buf(kChunk);
        while (true) {
          ssize_t n = read(src_fd, buf.data(), buf.size());
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return Errno("read " + plan.key);
          if (n == 0) break;
          if (absl::Status s = WriteAllFd(out.fd, buf.data(), static_cast<size_t>(n), target);
              !s.ok()) {
            return s;
          }
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("key ", plan.key, " is not a file or directory"));
      }
    }
  }
  if (plan.mode.has_value()) return ApplyMode(target, *plan.mode, plan.recurse_mode);
  return absl::OkStatus();
}

absl::Status SaveOutputArtifact(const OutputArtifactPlan& plan, const std::string& repo_root) {
  if (repo_root.empty()) {
    return absl::FailedPreconditionError("no artifact repository is reachable from this pod");
  }
  if (absl::Status s = ValidateRepositoryKey(plan.key); !s.ok()) return s;
  struct stat st {};
  if (lstat(plan.path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("open ", plan.path, ": no such file or directory"));
  }
  // A directory artifact that holds the repository's mount point (path: /tmp) must not copy
  // the repository into itself.
  Skip skip;
  struct stat repo_st {};
  std::error_code ec;
  fs::create_directories(repo_root, ec);  // the root is trusted; what is below it is not
  if (stat(repo_root.c_str(), &repo_st) == 0) skip = Skip{true, repo_st.st_dev, repo_st.st_ino};
  absl::StatusOr<int> root_fd = OpenRoot(repo_root);
  if (!root_fd.ok()) return root_fd.status();
  Fd root(*root_fd);
  const size_t slash = plan.key.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : plan.key.substr(0, slash);
  const std::string name = slash == std::string::npos ? plan.key : plan.key.substr(slash + 1);
  absl::StatusOr<int> parent_fd = MakeDirsBeneath(root.fd, dir, plan.key);
  if (!parent_fd.ok()) return parent_fd.status();
  Fd parent(*parent_fd);
  const std::string parent_path = FdPath(parent.fd);
  // Written aside, fsynced and renamed, so a reader never sees half an artifact and the
  // workflow never records one a crash could lose.
  const std::string tmp_name = absl::StrCat(name, ".partial-", getpid());
  const std::string tmp = parent_path + "/" + tmp_name;
  fs::remove_all(tmp, ec);
  absl::Status s;
  if (plan.archived) {
    Fd out(openat(parent.fd, tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644));
    if (out.fd < 0) return Errno("create " + plan.key);
    const int gz_fd = fcntl(out.fd, F_DUPFD_CLOEXEC, 0);
    if (gz_fd < 0) return Errno("dup");
    const std::string mode =
        plan.compression_level >= 0 ? absl::StrCat("wb", plan.compression_level) : "wb";
    Gz gz(gzdopen(gz_fd, mode.c_str()));
    if (!gz) {
      close(gz_fd);
      return Errno("create " + plan.key);
    }
    size_t entries = 0;
    const std::string top = fs::path(plan.path).filename().string();
    s = TarPath(gz.get(), plan.path, top, 0, &entries, skip);
    if (s.ok()) {
      static const char kEnd[1024] = {};
      s = GzWrite(gz.get(), kEnd, sizeof(kEnd));
    }
    gzFile raw = gz.release();
    if (gzclose(raw) != Z_OK && s.ok()) s = absl::InternalError("gzip close failed");
    if (s.ok()) s = SyncFd(out.fd, plan.key);
  } else {
    size_t entries = 0;
    s = CopyTree(plan.path, tmp, 0, &entries, skip, /*sync=*/true);
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return s;
  }
  fs::remove_all(parent_path + "/" + name, ec);
  if (renameat(parent.fd, tmp_name.c_str(), parent.fd, name.c_str()) != 0) {
    absl::Status err = Errno("rename " + plan.key);
    fs::remove_all(tmp, ec);
    return err;
  }
  return SyncFd(parent.fd, plan.key);
}

}  // namespace argonaut::workflow::executor
