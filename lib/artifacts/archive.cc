#include "lib/artifacts/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kChunk = 64 * 1024;

struct ReadCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

absl::Status LibError(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", msg != nullptr ? msg : "failed"));
}

absl::Status PackPath(struct archive* a, const std::string& src, const std::string& name, int depth,
                      size_t* entries, const SkipDir& skip) {
  if (depth > kMaxDepth || ++*entries > kMaxEntries) {
    return absl::ResourceExhaustedError(absl::StrCat(src, ": too deep or too many files"));
  }
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0) return ErrnoError("stat " + src);
  if (depth > 0 && skip.Matches(st)) return absl::OkStatus();
  if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) && !S_ISREG(st.st_mode)) {
    return absl::OkStatus();  // sockets, fifos, devices: not data
  }
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), S_ISDIR(st.st_mode) ? (name + "/").c_str() : name.c_str());
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_mtime(e.get(), st.st_mtime, 0);
  OwnedFd in;
  if (S_ISDIR(st.st_mode)) {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
  } else if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    const std::string link = fs::read_symlink(src, ec).string();
    if (ec) return absl::InternalError(absl::StrCat("readlink ", src, ": ", ec.message()));
    archive_entry_set_filetype(e.get(), AE_IFLNK);
    archive_entry_set_symlink(e.get(), link.c_str());
  } else {
    in.fd = open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in.fd < 0) return ErrnoError("open " + src);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_size(e.get(), st.st_size);
  }
  if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return LibError(a, "archive " + src);
  if (in.fd >= 0) {
    std::vector<char> buf(kChunk);
    int64_t left = st.st_size;
    while (left > 0) {
      ssize_t n = read(in.fd, buf.data(), std::min<int64_t>(left, buf.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read " + src);
      if (n == 0) break;  // shrank while archived: the format pads to the announced size
      if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0) {
        return LibError(a, "archive " + src);
      }
      left -= n;
    }
  }
  if (archive_write_finish_entry(a) < ARCHIVE_WARN) return LibError(a, "archive " + src);
  if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
  std::error_code ec;
  std::vector<std::string> children;
  for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
    children.push_back(it->path().filename().string());
  }
  if (ec) return absl::InternalError(absl::StrCat("list ", src, ": ", ec.message()));
  std::sort(children.begin(), children.end());
  for (const std::string& c : children) {
    if (absl::Status s = PackPath(a, src + "/" + c, name + "/" + c, depth + 1, entries, skip);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Removes an existing non-directory at `base` below `parent`; a directory there is an error.
absl::Status ClearForFile(int parent, const std::string& base, const std::string& member) {
  struct stat st {};
  if (fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return absl::OkStatus();
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("archive member \"", member, "\": a directory is in the way"));
  }
  if (unlinkat(parent, base.c_str(), 0) != 0) return ErrnoError("unlink " + member);
  return absl::OkStatus();
}

// Extracts every entry of `a` below the directory `root_fd`.
absl::Status ExtractAll(struct archive* a, int root_fd, const UnpackLimits& limits) {
  uint64_t extracted = 0;
  std::vector<char> buf(kChunk);
  for (size_t n = 0;; ++n) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return LibError(a, "read artifact archive");
    if (n >= limits.max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("artifact archive has more than ", limits.max_entries, " entries"));
    }
    const char* raw = archive_entry_pathname(e);
    const std::string raw_name = raw != nullptr ? raw : "";
    absl::StatusOr<std::string> member = SafeMemberPath(raw_name);
    if (!member.ok()) return member.status();
    if (*member == ".") continue;
    if (archive_entry_hardlink(e) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("archive member \"", raw_name, "\": hard links are not supported"));
    }
    const mode_t type = archive_entry_filetype(e);
    const mode_t perm = archive_entry_perm(e) & 0777;
    if (type == AE_IFDIR) {
      absl::StatusOr<int> dir = MakeDirsBeneath(root_fd, *member, raw_name, /*sync=*/false);
      if (!dir.ok()) return dir.status();
      fchmod(*dir, perm | 0700);
      close(*dir);
      continue;
    }
    if (type != AE_IFREG && type != AE_IFLNK) continue;  // devices, fifos: nothing to write
    const size_t slash = member->rfind('/');
    const std::string parent_rel = slash == std::string::npos ? "" : member->substr(0, slash);
    const std::string base = slash == std::string::npos ? *member : member->substr(slash + 1);
    // The parent resolves without any symlink: a link stored earlier is never written through.
    absl::StatusOr<int> parent_fd = MakeDirsBeneath(root_fd, parent_rel, raw_name, false);
    if (!parent_fd.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("archive member \"", raw_name, "\": ", parent_fd.status().message()));
    }
    OwnedFd parent(*parent_fd);
    if (absl::Status s = ClearForFile(parent.fd, base, raw_name); !s.ok()) return s;
    if (type == AE_IFLNK) {
      const char* link = archive_entry_symlink(e);
      if (link == nullptr || symlinkat(link, parent.fd, base.c_str()) != 0) {
        return ErrnoError("symlink " + raw_name);
      }
      continue;
    }
    // Checked against the size the header announces, before anything is written: a bomb
    // fails at its first oversized member instead of after filling the disk.
    const uint64_t announced =
        archive_entry_size_is_set(e) ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
    if (announced > limits.max_bytes - extracted) {
      return absl::ResourceExhaustedError(
          absl::StrCat("artifact is larger than the extraction limit of ", limits.max_bytes,
                       " bytes (archive member \"", raw_name, "\" of ", announced, " bytes after ",
                       extracted, ")"));
    }
    OwnedFd out(openat(parent.fd, base.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
    if (out.fd < 0) return ErrnoError("create " + raw_name);
    while (true) {
      const la_ssize_t got = archive_read_data(a, buf.data(), buf.size());
      if (got == 0) break;
      if (got < 0) return LibError(a, "read archive member " + raw_name);
      // Counted as written too: a zip entry may lie about its size.
      if (static_cast<uint64_t>(got) > limits.max_bytes - extracted) {
        return absl::ResourceExhaustedError(
            absl::StrCat("artifact is larger than the extraction limit of ", limits.max_bytes,
                         " bytes (archive member \"", raw_name, "\")"));
      }
      extracted += static_cast<uint64_t>(got);
      if (absl::Status s = WriteAllFd(out.fd, buf.data(), static_cast<size_t>(got), raw_name);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

void RemoveAll(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace

absl::StatusOr<ArchiveStrategy> ParseArchiveStrategy(const json& artifact) {
  ArchiveStrategy how;
  if (!artifact.is_object() || !artifact.contains("archive") || artifact["archive"].is_null()) {
    return how;
  }
  const json& archive = artifact["archive"];
  if (!archive.is_object()) return absl::InvalidArgumentError("archive: not an object");
  if (archive.contains("none")) {
    how.format = ArchiveFormat::kNone;
  } else if (archive.contains("zip")) {
    how.format = ArchiveFormat::kZip;
  } else if (archive.contains("tar") && archive["tar"].is_object() &&
             archive["tar"].contains("compressionLevel")) {
    const json& lvl = archive["tar"]["compressionLevel"];
    if (!lvl.is_number_integer() || lvl.get<int64_t>() < -1 || lvl.get<int64_t>() > 9) {
      return absl::InvalidArgumentError(
          "archive.tar.compressionLevel: must be an integer from -1 to 9");
    }
    how.compression_level = static_cast<int>(lvl.get<int64_t>());
  }
  return how;
}

std::string_view ArchiveSuffix(ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::kTarGz:
      return ".tgz";
    case ArchiveFormat::kZip:
      return ".zip";
    case ArchiveFormat::kNone:
      return "";
  }
  return "";
}

absl::Status Pack(const std::string& src, int out_fd, const ArchiveStrategy& how,
                  const SkipDir& skip) {
  if (how.format == ArchiveFormat::kNone) {
    return absl::InvalidArgumentError("archive none: nothing to pack");
  }
  std::unique_ptr<struct archive, WriteCloser> a(archive_write_new());
  if (how.format == ArchiveFormat::kZip) {
    if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK) return LibError(a.get(), "zip");
  } else {
    // pax: names and link targets of any length, sizes past 8 GiB.
    if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) {
      return LibError(a.get(), "tar.gz");
    }
    if (how.compression_level >= 0 &&
        archive_write_set_filter_option(a.get(), "gzip", "compression-level",
                                        absl::StrCat(how.compression_level).c_str()) !=
            ARCHIVE_OK) {
      return LibError(a.get(), "archive.tar.compressionLevel");
    }
  }
  // No padding of the compressed stream to tar's 10 KiB blocks.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK) return LibError(a.get(), "open");
  std::string top = fs::path(src).filename().string();
  if (top.empty()) top = fs::path(src).parent_path().filename().string();
  size_t entries = 0;
  if (absl::Status s = PackPath(a.get(), src, top, 0, &entries, skip); !s.ok()) return s;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return LibError(a.get(), "archive " + src);
  return absl::OkStatus();
}

StoredFormat SniffFormat(int fd) {
  unsigned char head[512] = {};
  const ssize_t n = pread(fd, head, sizeof(head), 0);
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return StoredFormat::kGzip;
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
    return StoredFormat::kZip;
  }
  if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) return StoredFormat::kTar;
  return StoredFormat::kOther;
}

absl::Status Unpack(int in_fd, const std::string& target, const std::string& sub_path,
                    const UnpackLimits& limits) {
  struct stat st {};
  if (lstat(target.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(target, " already exists"));
  }
  // Unpacked beside the target first (same filesystem), then the part Argo's rule names is
  // renamed into place: nothing half-unpacked is ever at `target`.
  const std::string tmp = absl::StrCat(target, ".unpack-", getpid());
  RemoveAll(tmp);
  if (mkdir(tmp.c_str(), 0700) != 0) return ErrnoError("mkdir " + tmp);
  absl::Status s = [&]() -> absl::Status {
    OwnedFd root(open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (root.fd < 0) return ErrnoError("open " + tmp);
    std::unique_ptr<struct archive, ReadCloser> a(archive_read_new());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_zip(a.get());
    if (archive_read_open_fd(a.get(), in_fd, kChunk) != ARCHIVE_OK) {
      return LibError(a.get(), "open artifact archive");
    }
    if (absl::Status s = ExtractAll(a.get(), root.fd, limits); !s.ok()) return s;
    std::error_code ec;
    std::vector<std::string> top;
    for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
      top.push_back(it->path().filename().string());
    }
    if (ec) return absl::InternalError(absl::StrCat("list ", tmp, ": ", ec.message()));
    if (top.empty()) return absl::NotFoundError("the artifact archive is empty");
    std::string from = top.size() == 1 ? top[0] : "";
    if (!sub_path.empty()) from = from.empty() ? sub_path : from + "/" + sub_path;
    if (from.empty()) {  // the whole directory becomes the target
      if (fchmod(root.fd, 0755) != 0) return ErrnoError("chmod " + tmp);
      return absl::OkStatus();
    }
    // The selected part is renamed from below tmp: it must not pass through a stored link.
    OwnedFd part(OpenBeneath(root.fd, from, O_PATH | O_NOFOLLOW, 0));
    if (part.fd < 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(
            absl::StrCat("subPath \"", sub_path, "\" is not in the artifact"));
      }
      return BeneathError(sub_path, "subPath");
    }
    const size_t slash = from.rfind('/');
    OwnedFd parent(slash == std::string::npos
                       ? fcntl(root.fd, F_DUPFD_CLOEXEC, 0)
                       : OpenBeneath(root.fd, from.substr(0, slash), O_RDONLY | O_DIRECTORY, 0));
    if (parent.fd < 0) return BeneathError(from, "subPath");
    const std::string base = slash == std::string::npos ? from : from.substr(slash + 1);
    if (renameat(parent.fd, base.c_str(), AT_FDCWD, target.c_str()) != 0) {
      return ErrnoError("rename to " + target);
    }
    return absl::OkStatus();
  }();
  if (!s.ok()) {
    RemoveAll(tmp);
    return s;
  }
  struct stat tst {};
  if (lstat(target.c_str(), &tst) != 0) {
    if (rename(tmp.c_str(), target.c_str()) != 0) {
      absl::Status err = ErrnoError("rename to " + target);
      RemoveAll(tmp);
      return err;
    }
    return absl::OkStatus();
  }
  RemoveAll(tmp);
  return absl::OkStatus();
}

}  // namespace argonaut::artifacts
