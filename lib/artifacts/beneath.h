// Path discipline shared by everything that writes or reads artifacts on a local filesystem
// (the local folder repository, archive extraction, argoexec): names are resolved below a
// directory descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS), so a symlink planted on the way (by a hostile archive, an artifact
// stored unarchived, or anyone who can write there) is refused instead of followed out.
// Static-link friendly: absl only.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace argonaut::artifacts {

// Bounds on one artifact tree or archive.
inline constexpr size_t kMaxEntries = 1000000;
inline constexpr int kMaxDepth = 256;
inline constexpr size_t kMaxNameBytes = 4096;
inline constexpr size_t kMaxKeyBytes = 1024;

// `rel` opened below the directory `root` without following any symlink and without leaving
// it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), or (use_openat2
// false, or openat2 missing or refused by seccomp) a walk of the components with O_NOFOLLOW.
// -1 with errno: ELOOP (a link on the way), EXDEV (escapes), ENOENT, ...
int OpenBeneath(int root, const std::string& rel, int flags, mode_t mode, bool use_openat2 = true);

// The directory `rel` below `root`, made (0755) where missing, as an owned descriptor; every
// directory made is fsynced into its parent when `sync`. `what` names the operation in errors.
absl::StatusOr<int> MakeDirsBeneath(int root, const std::string& rel, const std::string& what,
                                    bool sync = true);

// The error for a failed OpenBeneath of `rel` (errno): InvalidArgument for links and escapes,
// NotFound for ENOENT.
absl::Status BeneathError(const std::string& rel, const std::string& what);

// A repository key: relative, no "." / ".." / empty components, no NUL, bounded length.
absl::Status ValidateKey(std::string_view key);

// An archive member name as a clean relative path ("./a//b/" -> "a/b"); "." for the root
// entry. Absolute names and ".." components are errors.
absl::StatusOr<std::string> SafeMemberPath(std::string_view name);

// A directory left out of a copied or packed tree (the repository itself), by identity.
struct SkipDir {
  bool set = false;
  dev_t dev = 0;
  ino_t ino = 0;
  bool Matches(const struct stat& st) const {
    return set && S_ISDIR(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
  }
};

// Copies src (file, directory or symlink; links copied as links, never followed) to dst, which
// must not exist. Files and directories are fsynced when `sync`.
absl::Status CopyTree(const std::string& src, const std::string& dst, const SkipDir& skip = {},
                      bool sync = false);

// A path naming an open directory, for path-based helpers working below a directory resolved
// safely once. Only used as a parent, never as the final component.
std::string FdPath(int fd);

absl::Status SyncFd(int fd, const std::string& what);
absl::Status WriteAllFd(int fd, const char* data, size_t n, const std::string& what);
// "<what>: <strerror(errno)>" as Internal.
absl::Status ErrnoError(const std::string& what);

// Closes its descriptor.
struct OwnedFd {
  int fd = -1;
  explicit OwnedFd(int f = -1) : fd(f) {}
  ~OwnedFd();
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
};

}  // namespace argonaut::artifacts
