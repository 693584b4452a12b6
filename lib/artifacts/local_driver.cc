#include "lib/artifacts/local_driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kChunk = 64 * 1024;

absl::StatusOr<int> OpenRoot(const std::string& root) {
  const int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open artifact repository " + root);
  return fd;
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.rfind('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

absl::Status KeyError(const std::string& key, const std::string& what) {
  if (errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("key ", key, " is not in the repository"));
  }
  return BeneathError(key, what);
}

}  // namespace

absl::StatusOr<std::string> LocalKey(const json& artifact) {
  const json* loc =
      artifact.is_object() && artifact.contains("local") ? &artifact["local"] : nullptr;
  if (loc == nullptr || !loc->is_object() || !loc->contains("key") || !(*loc)["key"].is_string()) {
    return absl::InvalidArgumentError("local.key: is required");
  }
  std::string key = (*loc)["key"].get<std::string>();
  if (absl::Status s = ValidateKey(key); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("local.key: ", s.message()));
  }
  return key;
}

absl::StatusOr<std::unique_ptr<LocalDriver>> MakeLocalDriver(const DriverOptions& options) {
  if (options.local_root.empty()) {
    return absl::FailedPreconditionError("no local artifact repository is reachable here");
  }
  return std::make_unique<LocalDriver>(options.local_root);
}

SkipDir LocalDriver::RootIdentity() const {
  struct stat st {};
  if (stat(root_.c_str(), &st) != 0) return {};
  return SkipDir{true, st.st_dev, st.st_ino};
}

absl::StatusOr<int> LocalDriver::OpenObject(const std::string& key) const {
  if (absl::Status s = ValidateKey(key); !s.ok()) return s;
  absl::StatusOr<int> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) return root_fd.status();
  OwnedFd root(*root_fd);
  // Read only: loads never change what the repository holds.
  const int fd = OpenBeneath(root.fd, key, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0) return KeyError(key, "the key");
  return fd;
}

absl::Status LocalDriver::Load(const json& artifact, const std::string& dst) {
  absl::StatusOr<std::string> key = LocalKey(artifact);
  if (!key.ok()) return key.status();
  absl::StatusOr<int> fd = OpenObject(*key);
  if (!fd.ok()) return fd.status();
  OwnedFd stored(*fd);
  struct stat st {};
  if (fstat(stored.fd, &st) != 0) return ErrnoError("stat " + *key);
  if (S_ISDIR(st.st_mode)) {
    // Below the resolved directory, CopyTree copies links as links, never following them.
    if (mkdir(dst.c_str(), (st.st_mode & 0777) | 0700) != 0) return ErrnoError("mkdir " + dst);
    std::error_code ec;
    const std::string src = FdPath(stored.fd);
    for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string c = it->path().filename().string();
      if (absl::Status s = CopyTree(src + "/" + c, dst + "/" + c); !s.ok()) return s;
    }
    if (ec) return absl::InternalError(absl::StrCat("list ", *key, ": ", ec.message()));
    return absl::OkStatus();
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("key ", *key, " is not a file or directory"));
  }
  OwnedFd out(
      open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777));
  if (out.fd < 0) return ErrnoError("create " + dst);
  return OpenStream(artifact, [&](std::string_view chunk) {
    return WriteAllFd(out.fd, chunk.data(), chunk.size(), dst);
  });
}

absl::Status LocalDriver::OpenStream(const json& artifact, const ChunkSink& sink) {
  absl::StatusOr<std::string> key = LocalKey(artifact);
  if (!key.ok()) return key.status();
  absl::StatusOr<int> fd = OpenObject(*key);
  if (!fd.ok()) return fd.status();
  OwnedFd stored(*fd);
  struct stat st {};
  if (fstat(stored.fd, &st) != 0) return ErrnoError("stat " + *key);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("key ", *key, " is not a single object"));
  }
  std::vector<char> buf(kChunk);
  while (true) {
    ssize_t n = read(stored.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + *key);
    if (n == 0) return absl::OkStatus();
    if (absl::Status s = sink(std::string_view(buf.data(), static_cast<size_t>(n))); !s.ok()) {
      return s;
    }
  }
}

absl::Status LocalDriver::Store(
    const std::string& key,
    const std::function<absl::Status(int parent, const std::string& tmp)>& fill) {
  if (absl::Status s = ValidateKey(key); !s.ok()) return s;
  std::error_code ec;
  fs::create_directories(root_, ec);  // the root is trusted; what is below it is not
  absl::StatusOr<int> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) return root_fd.status();
  OwnedFd root(*root_fd);
  const auto [dir, name] = SplitKey(key);
  absl::StatusOr<int> parent_fd = MakeDirsBeneath(root.fd, dir, key);
  if (!parent_fd.ok()) {
    if (absl::IsInvalidArgument(parent_fd.status())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "artifact key \"", key,
          "\": its directory passes through a symlink or leaves the repository; refusing to "
          "follow it"));
    }
    return parent_fd.status();
  }
  OwnedFd parent(*parent_fd);
  const std::string parent_path = FdPath(parent.fd);
  // Written aside, fsynced and renamed, so a reader never sees half an artifact and the
  // workflow never records one a crash could lose.
  const std::string tmp = absl::StrCat(name, ".partial-", getpid());
  fs::remove_all(parent_path + "/" + tmp, ec);
  absl::Status s = fill(parent.fd, tmp);
  if (!s.ok()) {
    fs::remove_all(parent_path + "/" + tmp, ec);
    return s;
  }
  fs::remove_all(parent_path + "/" + name, ec);
  if (renameat(parent.fd, tmp.c_str(), parent.fd, name.c_str()) != 0) {
    absl::Status err = ErrnoError("rename " + key);
    fs::remove_all(parent_path + "/" + tmp, ec);
    return err;
  }
  return SyncFd(parent.fd, key);
}

absl::Status LocalDriver::SaveWith(const std::string& key,
                                   const std::function<absl::Status(int fd)>& write) {
  return Store(key, [&](int parent, const std::string& tmp) -> absl::Status {
    OwnedFd out(
        openat(parent, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (out.fd < 0) return ErrnoError("create " + key);
    if (absl::Status s = write(out.fd); !s.ok()) return s;
    return SyncFd(out.fd, key);
  });
}

absl::Status LocalDriver::SaveCopy(const std::string& src, const std::string& key) {
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("open ", src, ": no such file or directory"));
  }
  const SkipDir skip = RootIdentity();
  return Store(key, [&](int parent, const std::string& tmp) {
    return CopyTree(src, FdPath(parent) + "/" + tmp, skip, /*sync=*/true);
  });
}

absl::Status LocalDriver::Save(const std::string& src, const json& artifact) {
  absl::StatusOr<std::string> key = LocalKey(artifact);
  if (!key.ok()) return key.status();
  return SaveCopy(src, *key);
}

absl::Status LocalDriver::Delete(const json& artifact) {
  absl::StatusOr<std::string> key = LocalKey(artifact);
  if (!key.ok()) return key.status();
  struct stat st {};
  if (stat(root_.c_str(), &st) != 0 && errno == ENOENT) return absl::OkStatus();  // nothing kept
  absl::StatusOr<int> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) return root_fd.status();
  OwnedFd root(*root_fd);
  const auto [dir, name] = SplitKey(*key);
  OwnedFd parent(dir.empty() ? fcntl(root.fd, F_DUPFD_CLOEXEC, 0)
                             : OpenBeneath(root.fd, dir, O_RDONLY | O_DIRECTORY, 0));
  if (parent.fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();  // already gone
    return KeyError(*key, "its directory");
  }
  // remove_all never follows a link: a stored link is removed, not what it points at.
  std::error_code ec;
  fs::remove_all(FdPath(parent.fd) + "/" + name, ec);
  if (ec) return absl::InternalError(absl::StrCat("delete ", *key, ": ", ec.message()));
  return SyncFd(parent.fd, *key);
}

absl::StatusOr<std::vector<std::string>> LocalDriver::ListObjects(const json& artifact) {
  absl::StatusOr<std::string> key = LocalKey(artifact);
  if (!key.ok()) return key.status();
  std::vector<std::string> out;
  absl::StatusOr<int> fd = OpenObject(*key);
  if (absl::IsNotFound(fd.status())) return out;
  if (!fd.ok()) return fd.status();
  OwnedFd stored(*fd);
  struct stat st {};
  if (fstat(stored.fd, &st) != 0) return ErrnoError("stat " + *key);
  if (!S_ISDIR(st.st_mode)) {
    out.push_back(*key);
    return out;
  }
  const std::string base = FdPath(stored.fd);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    if (out.size() >= kMaxEntries) break;
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
    out.push_back(*key + "/" + fs::relative(it->path(), base, ec).string());
  }
  if (ec) return absl::InternalError(absl::StrCat("list ", *key, ": ", ec.message()));
  return out;
}

}  // namespace argonaut::artifacts
