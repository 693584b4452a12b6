// I/O half of argoexec's artifacts: raw and local objects in this process, every other location
// through the caller's RemoteTransfer; packing and unpacking through lib/artifacts/archive.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/artifacts/archive.h"
#include "lib/artifacts/beneath.h"
#include "lib/artifacts/local_driver.h"
#include "services/workflow/executor/artifacts.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using artifacts::ErrnoError;
using artifacts::OwnedFd;

constexpr size_t kChunk = 64 * 1024;

bool UnderTmp(const std::string& path) { return path == "/tmp" || absl::StartsWith(path, "/tmp/"); }

void RemoveAll(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

absl::Status ApplyMode(const std::string& path, uint32_t mode, bool recurse) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return absl::OkStatus();
  if (chmod(path.c_str(), mode) != 0) return ErrnoError("chmod " + path);
  if (!recurse || !S_ISDIR(st.st_mode)) return absl::OkStatus();
  std::error_code ec;
  size_t n = 0;
  for (fs::recursive_directory_iterator it(path, ec), end;
       !ec && it != end && n < artifacts::kMaxEntries; it.increment(ec), ++n) {
    if (it->is_symlink(ec)) continue;
    if (chmod(it->path().c_str(), mode) != 0) return ErrnoError("chmod " + it->path().string());
  }
  return absl::OkStatus();
}

absl::Status CopyFd(int in, const std::string& dst, mode_t mode, const std::string& what) {
  OwnedFd out(open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (out.fd < 0) return ErrnoError("create " + dst);
  std::vector<char> buf(kChunk);
  while (true) {
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + what);
    if (n == 0) return absl::OkStatus();
    if (absl::Status s = artifacts::WriteAllFd(out.fd, buf.data(), static_cast<size_t>(n), dst);
        !s.ok()) {
      return s;
    }
  }
}

// The stored object open at `fd` (a file) placed at plan.path: unpacked when it is an archive
// (and the artifact is not `archive: none`), else copied as the file it is, as Argo does.
absl::Status PlaceFile(int fd, const InputArtifactPlan& plan, const std::string& what) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return ErrnoError("stat " + what);
  if (plan.archived) {
    const artifacts::StoredFormat format = artifacts::SniffFormat(fd);
    if (format != artifacts::StoredFormat::kOther) {
      return artifacts::Unpack(fd, plan.path, plan.sub_path, {.max_bytes = plan.max_bytes});
    }
  }
  if (!plan.sub_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("subPath \"", plan.sub_path, "\": ", what, " is a single file"));
  }
  return CopyFd(fd, plan.path, st.st_mode & 0777, what);
}

absl::Status LoadLocal(const InputArtifactPlan& plan, const std::string& repo_root) {
  if (repo_root.empty()) {
    return absl::FailedPreconditionError("no artifact repository is reachable from this pod");
  }
  artifacts::LocalDriver driver(repo_root);
  absl::StatusOr<int> stored_fd = driver.OpenObject(plan.key);
  if (!stored_fd.ok()) {
    if (absl::IsInvalidArgument(stored_fd.status()) &&
        absl::StrContains(stored_fd.status().message(), "symlink")) {
      return absl::InvalidArgumentError(
          absl::StrCat("artifact key \"", plan.key,
                       "\": passes through a symlink or leaves the repository; refusing to "
                       "follow it"));
    }
    return stored_fd.status();
  }
  OwnedFd stored(*stored_fd);
  struct stat st {};
  if (fstat(stored.fd, &st) != 0) return ErrnoError("stat " + plan.key);
  if (S_ISREG(st.st_mode)) return PlaceFile(stored.fd, plan, "key " + plan.key);
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", plan.key, " is not a file or directory"));
  }
  OwnedFd sub;
  int src_fd = stored.fd;
  if (!plan.sub_path.empty()) {
    sub.fd = artifacts::OpenBeneath(stored.fd, plan.sub_path, O_RDONLY | O_NONBLOCK, 0);
    if (sub.fd < 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(
            absl::StrCat("subPath \"", plan.sub_path, "\" is not in the artifact"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("artifact key \"", plan.key, "\": subPath \"", plan.sub_path,
                       "\" passes through a symlink; refusing to follow it"));
    }
    src_fd = sub.fd;
    if (fstat(src_fd, &st) != 0) return ErrnoError("stat " + plan.sub_path);
  }
  if (S_ISREG(st.st_mode)) return CopyFd(src_fd, plan.path, st.st_mode & 0777, plan.key);
  // Below the resolved directory, CopyTree copies links as links, never following them.
  if (mkdir(plan.path.c_str(), (st.st_mode & 0777) | 0700) != 0) {
    return ErrnoError("mkdir " + plan.path);
  }
  std::error_code ec;
  const std::string src = artifacts::FdPath(src_fd);
  for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string c = it->path().filename().string();
    if (absl::Status s = artifacts::CopyTree(src + "/" + c, plan.path + "/" + c); !s.ok()) {
      return s;
    }
  }
  if (ec) return absl::InternalError(absl::StrCat("list ", plan.key, ": ", ec.message()));
  return absl::OkStatus();
}

// A remote object is downloaded beside its target (same filesystem, pod-private), then
// unpacked or renamed into place.
absl::Status LoadRemote(const InputArtifactPlan& plan, const RemoteTransfer* remote) {
  if (remote == nullptr || !remote->load) {
    return absl::FailedPreconditionError(
        absl::StrCat(plan.kind, " artifacts cannot be reached from this process"));
  }
  const std::string tmp = absl::StrCat(plan.path, ".download-", getpid());
  RemoveAll(tmp);
  absl::Status s = remote->load(plan.artifact, tmp);
  if (s.ok()) {
    struct stat st {};
    if (lstat(tmp.c_str(), &st) != 0) {
      s = absl::InternalError(absl::StrCat("the ", plan.kind, " driver stored nothing"));
    } else if (S_ISREG(st.st_mode)) {
      OwnedFd fd(open(tmp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      s = fd.fd < 0 ? ErrnoError("open " + tmp)
                    : PlaceFile(fd.fd, plan, absl::StrCat("the ", plan.kind, " object"));
    } else if (S_ISDIR(st.st_mode)) {
      // A tree (git checkout, S3 prefix): subPath selects inside it, never through a link.
      std::string from = tmp;
      if (!plan.sub_path.empty()) {
        OwnedFd dir(open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        OwnedFd part(artifacts::OpenBeneath(dir.fd, plan.sub_path, O_PATH | O_NOFOLLOW, 0));
        if (part.fd < 0) {
          s = errno == ENOENT ? absl::NotFoundError(absl::StrCat("subPath \"", plan.sub_path,
                                                                 "\" is not in the artifact"))
                              : artifacts::BeneathError(plan.sub_path, "subPath");
        }
        from = tmp + "/" + plan.sub_path;
      }
      if (s.ok() && rename(from.c_str(), plan.path.c_str()) != 0) {
        s = ErrnoError("rename to " + plan.path);
      }
    } else {
      s = absl::InvalidArgumentError(absl::StrCat("the ", plan.kind, " object is not a file"));
    }
  }
  RemoveAll(tmp);
  return s;
}

// A scratch directory for packing remote outputs, left out of what is packed.
class Scratch {
 public:
  Scratch() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/.argonaut-upload-XXXXXX");
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~Scratch() {
    if (!path_.empty()) RemoveAll(path_);
  }
  const std::string& path() const { return path_; }
  artifacts::SkipDir Identity() const {
    struct stat st {};
    if (path_.empty() || stat(path_.c_str(), &st) != 0) return {};
    return artifacts::SkipDir{true, st.st_dev, st.st_ino};
  }

 private:
  std::string path_;
};

}  // namespace

absl::Status LoadInputArtifact(const InputArtifactPlan& plan, const std::string& repo_root,
                               std::string* created, const RemoteTransfer* remote) {
  const std::string& target = plan.path;
  struct stat st {};
  if (lstat(target.c_str(), &st) == 0) {
    // A pod with its own root filesystem may replace an image's file (Argo's http example
    // installs /bin/kubectl), but not a directory tree, which may hold volumes (the artifact
    // repository, hostPaths), nor anything on a volume. Sharing the host's root filesystem,
    // outside /tmp, never overwrite what is there. An empty directory holds nothing to lose:
    // the kubelet makes a container's workingDir before it starts, and Argo's git example
    // loads its checkout there (/src).
    const char* rootfs = std::getenv("ARGONAUT_POD_ROOTFS");
    struct stat root {};
    const bool image_file = rootfs != nullptr && std::string_view(rootfs) == "private" &&
                            !S_ISDIR(st.st_mode) && stat("/", &root) == 0 &&
                            root.st_dev == st.st_dev;
    if (image_file || UnderTmp(target)) {
      // Replaced below.
    } else if (S_ISDIR(st.st_mode) && rmdir(target.c_str()) == 0) {
      // Loaded in its place below.
    } else {
      return absl::AlreadyExistsError(
          absl::StrCat(target, " already exists; refusing to overwrite it outside /tmp"));
    }
    std::error_code ec;
    fs::remove_all(target, ec);
    if (ec) return absl::InternalError(absl::StrCat("remove ", target, ": ", ec.message()));
  }
  // The topmost directory this load creates, so the step's end can remove it again.
  std::string top = target;
  for (int i = 0; i < artifacts::kMaxDepth; ++i) {
    const std::string parent = fs::path(top).parent_path().string();
    if (parent.empty() || parent == "/" || lstat(parent.c_str(), &st) == 0) break;
    top = parent;
  }
  std::error_code ec;
  fs::create_directories(fs::path(target).parent_path(), ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("create parents of ", target, ": ", ec.message()));
  }
  if (created != nullptr) *created = top;
  absl::Status s;
  if (plan.from_raw) {
    OwnedFd out(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (out.fd < 0) return ErrnoError("create " + target);
    s = artifacts::WriteAllFd(out.fd, plan.raw_data.data(), plan.raw_data.size(), target);
  } else if (plan.kind == "local" || plan.kind.empty()) {
    if (absl::Status k = artifacts::ValidateKey(plan.key); !k.ok()) return k;
    s = LoadLocal(plan, repo_root);
  } else {
    s = LoadRemote(plan, remote);
  }
  if (!s.ok()) return s;
  if (plan.mode.has_value()) return ApplyMode(target, *plan.mode, plan.recurse_mode);
  return absl::OkStatus();
}

absl::Status SaveOutputArtifact(const OutputArtifactPlan& plan, const std::string& repo_root,
                                const RemoteTransfer* remote) {
  struct stat st {};
  if (lstat(plan.path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("open ", plan.path, ": no such file or directory"));
  }
  const bool packed = plan.archive.format != artifacts::ArchiveFormat::kNone;
  if (plan.kind == "local") {
    if (repo_root.empty()) {
      return absl::FailedPreconditionError("no artifact repository is reachable from this pod");
    }
    if (absl::Status s = artifacts::ValidateKey(plan.key); !s.ok()) return s;
    artifacts::LocalDriver driver(repo_root);
    if (!packed) return driver.SaveCopy(plan.path, plan.key);
    // A directory artifact that holds the repository's mount point (path: /tmp) must not
    // pack the repository into itself.
    std::error_code ec;
    fs::create_directories(repo_root, ec);
    const artifacts::SkipDir skip = driver.RootIdentity();
    return driver.SaveWith(
        plan.key, [&](int fd) { return artifacts::Pack(plan.path, fd, plan.archive, skip); });
  }
  if (remote == nullptr || !remote->save) {
    return absl::FailedPreconditionError(
        absl::StrCat(plan.kind, " artifacts cannot be reached from this process"));
  }
  if (!packed) return remote->save(plan.path, plan.record);
  Scratch scratch;
  if (scratch.path().empty()) return ErrnoError("make a scratch directory");
  const std::string file =
      scratch.path() + "/" + plan.name + std::string(artifacts::ArchiveSuffix(plan.archive.format));
  {
    OwnedFd out(open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out.fd < 0) return ErrnoError("create " + file);
    if (absl::Status s = artifacts::Pack(plan.path, out.fd, plan.archive, scratch.Identity());
        !s.ok()) {
      return s;
    }
  }
  return remote->save(file, plan.record);
}

}  // namespace argonaut::workflow::executor
