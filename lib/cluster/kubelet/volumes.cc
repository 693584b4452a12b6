#include "lib/cluster/kubelet/volumes.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/sandbox/security_context.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Keys become file names: refuse anything that could climb out of the
// volume directory.
bool SafeFileName(const std::string& key) {
  return !key.empty() && key != "." && key != ".." && key.find('/') == std::string::npos &&
         key.find('\0') == std::string::npos;
}

bool SafeRelativePath(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (const fs::path& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

// Secret files are 0600 from the moment they exist (no window in which the
// umask's mode applies); a link planted at the name is not followed.
absl::Status WriteFile(const fs::path& file, const std::string& content, mode_t mode) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", file.string()));
  bool ok = fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = close(fd) == 0 && ok;
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", file.string()));
  return absl::OkStatus();
}

// Writes the keys of a ConfigMap/Secret into `dir`, honouring `items`.
absl::Status Project(const json& source, const json& data, bool base64, const fs::path& dir,
                     const std::string& path, mode_t mode) {
  std::map<std::string, std::string> values;
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) {
      if (!v.is_string()) continue;
      std::string value = v.get<std::string>();
      if (base64) {
        std::string decoded;
        if (!absl::Base64Unescape(value, &decoded)) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": data key \"", k, "\" is not valid base64"));
        }
        value = std::move(decoded);
      }
      values[k] = std::move(value);
    }
  }
  if (source.contains("items") && source["items"].is_array()) {
    size_t i = 0;
    for (const json& item : source["items"]) {
      const std::string key = item.value("key", "");
      const std::string rel = item.value("path", "");
      if (!SafeRelativePath(rel)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".items[", i, "].path: must be a relative path without '..'"));
      }
      auto it = values.find(key);
      if (it == values.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".items[", i, "].key: \"", key, "\" not found"));
      }
      RETURN_IF_ERROR(WriteFile(dir / rel, it->second, mode));
      ++i;
    }
    return absl::OkStatus();
  }
  for (const auto& [k, v] : values) {
    if (!SafeFileName(k)) continue;
    RETURN_IF_ERROR(WriteFile(dir / k, v, mode));
  }
  return absl::OkStatus();
}

constexpr uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

int OpenHow(int dirfd, const char* rel, uint64_t resolve) {
  open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, rel, &how, sizeof(how)));
}

// `rel` below the directory `root`, every step resolved beneath it; missing
// directories on the way (and at the end) are made 0755, as hostPath volumes
// always were. -1 with errno (EXDEV, ELOOP: a link out of root).
int OpenOrMakeBeneath(int root, const std::string& rel) {
  if (rel.empty()) return fcntl(root, F_DUPFD_CLOEXEC, 3);
  const int fd = OpenHow(root, rel.c_str(), kBeneath);
  if (fd >= 0 || errno != ENOENT) return fd;
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 3);
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    if (cur < 0) return -1;
    const std::string name(part);
    int next = OpenHow(cur, name.c_str(), kBeneath);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, name.c_str(), 0755) != 0 && errno != EEXIST)
        next = -1;
      else
        next = OpenHow(cur, name.c_str(), kBeneath);
    }
    const int err = errno;
    close(cur);
    errno = err;
    cur = next;
  }
  return cur;
}

std::string TrimSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool IsUnderDir(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (absl::StartsWith(path, dir) && path[dir.size()] == '/');
}

// A hostPath volume's O_PATH descriptor: below its allowed root, or (no
// allow list) as the path resolves. Missing directories are made.
absl::StatusOr<int> OpenHostPath(const std::string& host, const std::string& field,
                                 const VolumeOptions& options) {
  for (absl::string_view part : absl::StrSplit(host, '/')) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", host, "\" has a \".\" or \"..\" component"));
    }
  }
  std::error_code ec;
  if (options.host_path_allow.empty()) {
    fs::create_directories(host, ec);
    const int fd = open(host.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": cannot open \"", host, "\": ", strerror(errno)));
    }
    return fd;
  }
  std::string root;
  for (const std::string& a : options.host_path_allow) {
    const std::string dir = TrimSlashes(a);
    if (!dir.empty() && dir[0] == '/' && IsUnderDir(host, dir) && dir.size() > root.size()) {
      root = dir;
    }
  }
  if (root.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": \"", host, "\" is not under an allowed host path (--host-path-allow)"));
  }
  // The allowed directory itself is the operator's: its own path may hold links.
  fs::create_directories(root, ec);
  const int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": cannot open the allowed host path \"", root, "\": ", strerror(errno)));
  }
  std::string rel = host.size() > root.size() ? host.substr(root == "/" ? 1 : root.size() + 1) : "";
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  const int fd = OpenOrMakeBeneath(root_fd, rel);
  const int err = errno;
  close(root_fd);
  if (fd >= 0) return fd;
  if (err == EXDEV || err == ELOOP) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": \"", host,
                                                    "\" leads out of the allowed host path \"",
                                                    root, "\" (a symlink or \"..\")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(field, ": cannot open \"", host, "\": ", strerror(err)));
}

// fsGroup on a volume the kubelet made: the group owns it and may read it
// (write to emptyDir), new entries inherit the group (setgid directories).
void ApplyFsGroup(const fs::path& dir, uint32_t gid, bool empty_dir) {
  auto own = [gid](const fs::path& p, bool is_dir, bool writable) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    if (lchown(p.c_str(), static_cast<uid_t>(-1), gid) != 0) return;
    mode_t mode = st.st_mode & 07777;
    mode |= is_dir ? (S_ISGID | S_IRGRP | S_IXGRP) : S_IRGRP;
    if (writable) mode |= S_IWGRP;
    chmod(p.c_str(), mode);
  };
  own(dir, true, empty_dir);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    own(it->path(), it->is_directory(ec) && !it->is_symlink(ec), empty_dir);
  }
}

// Whether any runAsUser of the pod (its own or a container's) is not 0.
bool RunsAsNonRoot(const json& spec) {
  auto non_zero = [](const json& holder) {
    if (!holder.is_object() || !holder.contains("securityContext")) return false;
    const json& sc = holder["securityContext"];
    return sc.is_object() && sc.contains("runAsUser") && sc["runAsUser"].is_number_integer() &&
           sc["runAsUser"].get<int64_t>() != 0;
  };
  if (non_zero(spec)) return true;
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (const json& c : spec[list]) {
      if (non_zero(c)) return true;
    }
  }
  return false;
}

}  // namespace

HostPathFds::~HostPathFds() {
  for (int fd : fds_) close(fd);
}

int HostPathFds::Find(const std::string& volume) const {
  auto it = by_volume_.find(volume);
  return it == by_volume_.end() ? -1 : it->second;
}

std::string HostPathFds::Hold(int fd) {
  fds_.push_back(fd);
  return ResolvedPath(fd);
}

std::string HostPathFds::ResolvedPath(int fd) {
  std::error_code ec;
  const fs::path p = fs::read_symlink(absl::StrCat("/proc/self/fd/", fd), ec);
  // A path the kernel could not name (deleted meanwhile) opens nothing.
  return ec || p.empty() || p.native()[0] != '/' ? "/nonexistent/deleted" : p.string();
}

void HostPathFds::Add(const std::string& volume, int fd) {
  Hold(fd);
  by_volume_[volume] = fd;
}

absl::StatusOr<std::map<std::string, std::string>> PrepareVolumes(const json& pod,
                                                                  const std::string& pod_dir,
                                                                  const ObjectLookup& lookup,
                                                                  const VolumeOptions& options,
                                                                  HostPathFds* held) {
  std::map<std::string, std::string> out;
  const json spec = pod.value("spec", json::object());
  if (!spec.contains("volumes") || !spec["volumes"].is_array()) return out;
  ASSIGN_OR_RETURN(std::optional<uint32_t> fs_group, sandbox::PodFsGroup(spec));
  const bool non_root = RunsAsNonRoot(spec);
  size_t i = 0;
  for (const json& v : spec["volumes"]) {
    const std::string path = absl::StrCat("spec.volumes[", i++, "]");
    const std::string name = v.is_object() ? v.value("name", "") : "";
    if (!SafeFileName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".name: invalid volume name"));
    }
    const fs::path dir = fs::path(pod_dir) / "volumes" / name;
    std::error_code ec;
    if (v.contains("hostPath")) {
      const std::string host =
          v["hostPath"].is_object() ? v["hostPath"].value("path", "") : std::string();
      if (host.empty() || host[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".hostPath.path: must be an absolute path"));
      }
      ASSIGN_OR_RETURN(int fd, OpenHostPath(host, path + ".hostPath.path", options));
      if (held != nullptr) {
        held->Add(name, fd);
      } else {
        close(fd);
      }
      out[name] = host;
      continue;
    }
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string()));
    if (v.contains("configMap") || v.contains("secret")) {
      const bool secret = v.contains("secret");
      const json& src = secret ? v["secret"] : v["configMap"];
      const std::string obj_name =
          secret ? src.value("secretName", "") : src.value("name", std::string());
      const std::string field = absl::StrCat(path, secret ? ".secret" : ".configMap");
      std::optional<json> obj = lookup(secret ? "Secret" : "ConfigMap", obj_name);
      if (!obj) {
        if (src.value("optional", false)) {
          out[name] = dir.string();
          continue;
        }
        return absl::FailedPreconditionError(absl::StrCat(
            field, ": ", secret ? "secret" : "configmap", " \"", obj_name, "\" not found"));
      }
      const mode_t mode = secret ? 0600 : 0644;
      RETURN_IF_ERROR(Project(src, obj->value("data", json::object()), secret, dir, field, mode));
      if (secret) {
        RETURN_IF_ERROR(Project(src.contains("items") ? json::object() : src,
                                obj->value("stringData", json::object()), false, dir, field, mode));
      }
    }
    // emptyDir and anything else (downwardAPI, projected...) start empty.
    const bool empty_dir = !v.contains("configMap") && !v.contains("secret");
    if (fs_group.has_value()) {
      ApplyFsGroup(dir, *fs_group, empty_dir);
    } else if (empty_dir && non_root) {
      // Kubernetes' emptyDir mode (0777), so that a container's non-root
      // user can write it; only then, as this directory lives on the host.
      fs::permissions(dir, fs::perms::all, ec);
    }
    out[name] = dir.string();
  }
  return out;
}

absl::StatusOr<std::vector<VolumeMount>> ContainerMounts(
    const json& container, const std::map<std::string, std::string>& volumes,
    const std::string& path, HostPathFds* held) {
  std::vector<VolumeMount> out;
  if (!container.contains("volumeMounts") || !container["volumeMounts"].is_array()) return out;
  size_t i = 0;
  for (const json& m : container["volumeMounts"]) {
    const std::string field = absl::StrCat(path, ".volumeMounts[", i++, "]");
    const std::string name = m.value("name", "");
    auto it = volumes.find(name);
    if (it == volumes.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: no volume named \"", name, "\""));
    }
    const std::string mount_path = m.value("mountPath", "");
    if (mount_path.empty() || mount_path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".mountPath: must be an absolute path"));
    }
    std::string host = it->second;
    std::string open_path;
    const int volume_fd = held != nullptr ? held->Find(name) : -1;
    const std::string sub = m.value("subPath", "");
    if (!sub.empty()) {
      if (!SafeRelativePath(sub)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".subPath: must be a relative path without '..'"));
      }
      host = (fs::path(host) / sub).string();
      if (volume_fd >= 0) {
        const int fd = OpenOrMakeBeneath(volume_fd, sub);
        if (fd < 0) {
          const int err = errno;
          return absl::PermissionDeniedError(absl::StrCat(
              field, ".subPath: \"", sub, "\" ",
              err == EXDEV || err == ELOOP ? "leads out of the volume (a symlink)"
                                           : absl::StrCat("cannot be opened: ", strerror(err))));
        }
        open_path = held->Hold(fd);
      } else {
        std::error_code ec;
        if (!fs::exists(host, ec)) fs::create_directories(host, ec);
      }
    } else if (volume_fd >= 0) {
      open_path = HostPathFds::ResolvedPath(volume_fd);
    }
    out.push_back({host, mount_path, m.value("readOnly", false), open_path});
  }
  return out;
}

}  // namespace argonaut::cluster::kubelet
