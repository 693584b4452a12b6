#include "lib/cluster/sandbox/mount_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {
namespace {

constexpr size_t kMaxPath = 4000;
constexpr size_t kMaxVolumes = 256;

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir ||
         (absl::StartsWith(path, dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Mkdir steps for every component strictly below `base` down to `target`'s
// parent, shallowest first.
void MkdirChain(const std::string& base, const std::string& target, std::vector<MountOp>* ops) {
  std::vector<std::string> chain;
  for (std::string p = Parent(target); p != base && IsUnder(p, base) && p != "/"; p = Parent(p)) {
    chain.push_back(p);
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    ops->push_back(MountOp{MountOpKind::kMkdir, "", *it, "", "", 0});
  }
}

absl::Status ValidateHostname(const std::string& name) {
  if (name.empty() || name.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("pod_name: must be 1 to 63 characters, got ", name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("pod_name: character ", i, " is not a letter, digit, '-' or '.'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string MountOp::Describe() const {
  switch (kind) {
    case MountOpKind::kSetHostname:
      return absl::StrCat("set hostname \"", source, "\"");
    case MountOpKind::kLoopbackUp:
      return "bring up lo";
    case MountOpKind::kMkdir:
      return absl::StrCat("create directory ", target);
    case MountOpKind::kMkfile:
      return absl::StrCat("create mount point file ", target);
    case MountOpKind::kMount:
      if (flags & MS_BIND) return absl::StrCat("bind ", source, " on ", target);
      if (target == "/" && source.empty()) return "make mounts private";
      return absl::StrCat("mount ", fstype, " on ", target);
    case MountOpKind::kRemountReadOnly:
      return absl::StrCat("make ", target, " read-only");
  }
  return "unknown step";
}

PathKind ProbeHostPath(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return PathKind::kMissing;
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  return PathKind::kOther;
}

absl::StatusOr<std::string> NormalizeAbsolutePath(std::string_view path, std::string_view field) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(field), ": \"", AbslView(path), "\" is not an absolute path"));
  }
  if (path.size() > kMaxPath) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(field), ": longer than ", kMaxPath, " bytes"));
  }
  if (path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": contains a NUL byte"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(path), '/', absl::SkipEmpty());
  for (absl::string_view p : parts) {
    if (p == "." || p == "..") {
      return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": \"", AbslView(path),
                                                     "\" has a \".\" or \"..\" component"));
    }
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

absl::StatusOr<std::vector<MountOp>> PlanPodMounts(const PodMountInput& input,
                                                   const PathProbe& probe) {
  RETURN_IF_ERROR(ValidateHostname(input.hostname));
  if (input.volumes.size() > kMaxVolumes) {
    return absl::InvalidArgumentError(
        absl::StrCat("volumes: ", input.volumes.size(), " exceeds the limit of ", kMaxVolumes));
  }
  std::vector<MountOp> ops;
  ops.push_back({MountOpKind::kSetHostname, input.hostname, "", "", "", 0});
  ops.push_back({MountOpKind::kLoopbackUp, "", "", "", "", 0});
  // Private first: nothing mounted below may propagate back to the host.
  ops.push_back({MountOpKind::kMount, "", "/", "", "", MS_REC | MS_PRIVATE});
  if (input.tmp_source.empty()) {
    ops.push_back(
        {MountOpKind::kMount, "tmpfs", "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV});
  } else {
    ASSIGN_OR_RETURN(std::string tmp, NormalizeAbsolutePath(input.tmp_source, "tmp_source"));
    ops.push_back({MountOpKind::kMount, tmp, "/tmp", "", "", MS_BIND | MS_REC});
  }
  ops.push_back(
      {MountOpKind::kMount, "proc", "/proc", "proc", "", MS_NOSUID | MS_NODEV | MS_NOEXEC});

  struct Vol {
    std::string source, target;
    bool read_only;
    size_t index;
  };
  std::vector<Vol> vols;
  for (size_t i = 0; i < input.volumes.size(); ++i) {
    const VolumeMount& v = input.volumes[i];
    const std::string field = absl::StrCat("volumes[", i, "]");
    ASSIGN_OR_RETURN(std::string target,
                     NormalizeAbsolutePath(v.mount_path, absl::StrCat(field, ".mount_path")));
    if (target == "/" || IsUnder(target, "/proc")) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".mount_path: \"", target, "\" may not be / or under /proc"));
    }
    std::string source;
    if (!v.source.empty()) {
      ASSIGN_OR_RETURN(source, NormalizeAbsolutePath(v.source, absl::StrCat(field, ".source")));
    }
    vols.push_back({source, target, v.read_only, i});
  }
  std::sort(vols.begin(), vols.end(), [](const Vol& a, const Vol& b) {
    return a.target < b.target;  // "/a" sorts before "/a/b": parents first
  });
  for (size_t i = 1; i < vols.size(); ++i) {
    if (vols[i].target == vols[i - 1].target) {
      return absl::InvalidArgumentError(absl::StrCat("volumes[", vols[i].index, "].mount_path: \"",
                                                     vols[i].target, "\" is also used by volumes[",
                                                     vols[i - 1].index, "]"));
    }
  }

  std::map<std::string, std::string> overlays;  // host dir -> overlay id
  std::vector<std::string> mounted;             // targets mounted so far
  for (const Vol& v : vols) {
    const std::string field = absl::StrCat("volumes[", v.index, "]");
    PathKind want = PathKind::kDirectory;
    if (!v.source.empty()) {
      want = probe(v.source);
      if (want != PathKind::kDirectory && want != PathKind::kFile) {
        return absl::NotFoundError(absl::StrCat(field, ".source: \"", v.source,
                                                "\" is not an existing file or directory"));
      }
    }
    const MountOpKind make_point =
        want == PathKind::kDirectory ? MountOpKind::kMkdir : MountOpKind::kMkfile;
    // Where the mount point lives decides how it can be created.
    std::optional<std::string> inside;  // a pod-private directory holding it
    if (IsUnder(v.target, "/tmp")) inside = "/tmp";
    for (const std::string& m : mounted) {
      if (IsUnder(v.target, m) && (!inside || m.size() > inside->size())) inside = m;
    }
    if (inside) {
      if (v.target != *inside) {
        MkdirChain(*inside, v.target, &ops);
        ops.push_back({make_point, "", v.target, "", "", 0});
      }
    } else {
      const PathKind have = probe(v.target);
      if (have == PathKind::kMissing) {
        std::string anchor = Parent(v.target);
        for (int depth = 0; depth < 512 && anchor != "/" && probe(anchor) == PathKind::kMissing;
             ++depth) {
          anchor = Parent(anchor);
        }
        if (anchor == "/" || probe(anchor) != PathKind::kDirectory) {
          return absl::FailedPreconditionError(absl::StrCat(
              field, ".mount_path: \"", v.target,
              "\" cannot be created without changing the host: no existing parent directory "
              "below /"));
        }
        if (input.scratch_dir.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat(field, ".mount_path: \"", v.target,
                           "\" does not exist on the host and the pod has no directory for an "
                           "overlay (pod_dir)"));
        }
        for (const std::string& p : {v.target, anchor, input.scratch_dir}) {
          if (p.find_first_of(",:\\") != std::string::npos) {
            return absl::InvalidArgumentError(absl::StrCat(field, ".mount_path: overlay path \"", p,
                                                           "\" holds ',', ':' or '\\'"));
          }
        }
        if (!overlays.count(anchor)) {
          const std::string id = std::to_string(overlays.size());
          overlays[anchor] = id;
          const std::string base = absl::StrCat(input.scratch_dir, "/overlay");
          const std::string dir = absl::StrCat(base, "/", id);
          for (const std::string& d : {base, dir, dir + "/upper", dir + "/work"}) {
            ops.push_back({MountOpKind::kMkdir, "", d, "", "", 0});
          }
          ops.push_back({MountOpKind::kMount, "overlay", anchor, "overlay",
                         absl::StrCat("lowerdir=", anchor, ",upperdir=", dir,
                                      "/upper,workdir=", dir, "/work"),
                         0});
        }
        MkdirChain(anchor, v.target, &ops);
        ops.push_back({make_point, "", v.target, "", "", 0});
      } else if (have != want) {
        return absl::FailedPreconditionError(absl::StrCat(
            field, ".mount_path: \"", v.target, "\" exists on the host as a ",
            have == PathKind::kDirectory ? "directory" : "non-directory", " but the source is ",
            want == PathKind::kDirectory ? "a directory" : "a file"));
      }
    }
    if (v.source.empty()) {
      ops.push_back({MountOpKind::kMount, "tmpfs", v.target, "tmpfs", "mode=0777",
                     static_cast<uint64_t>(MS_NOSUID | MS_NODEV | (v.read_only ? MS_RDONLY : 0))});
    } else {
      ops.push_back({MountOpKind::kMount, v.source, v.target, "", "", MS_BIND | MS_REC});
      if (v.read_only) ops.push_back({MountOpKind::kRemountReadOnly, "", v.target, "", "", 0});
    }
    mounted.push_back(v.target);
  }
  return ops;
}

absl::StatusOr<std::string> EncodeMountOps(const std::vector<MountOp>& ops) {
  std::string out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const MountOp& op = ops[i];
    out.push_back(static_cast<char>(op.kind));
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((op.flags >> (8 * b)) & 0xff));
    for (const std::string* s : {&op.source, &op.target, &op.fstype, &op.data}) {
      if (s->find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", i, " (", op.Describe(), "): contains a NUL byte"));
      }
      out.append(*s);
      out.push_back('\0');
    }
  }
  return out;
}

}  // namespace argonaut::cluster::sandbox
