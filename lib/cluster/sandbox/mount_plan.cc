#include "lib/cluster/sandbox/mount_plan.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
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
// /tmp, host mounts, volumes and their aliases, the idmapped lower layer.
static_assert(1 + kMaxHostMounts + 2 * kMaxVolumes + 1 <= kMaxMountSlots);

// The pod gets fresh instances of these; the host's are never carried over.
constexpr const char* kPodOwnedTrees[] = {"/proc", "/sys", "/dev", "/tmp"};

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
    ops->push_back({.kind = MountOpKind::kMkdir, .target = *it});
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

// A minimal /dev as container runtimes give it: device nodes on a tmpfs, a
// private /dev/shm and a devpts instance of its own, nothing of the host's.
void PlanDev(const std::string& owner, std::vector<MountOp>* ops) {
  ops->push_back({.kind = MountOpKind::kMount,
                  .source = "tmpfs",
                  .target = "/dev",
                  .fstype = "tmpfs",
                  .data = "mode=755,size=65536k" + owner,
                  .flags = MS_NOSUID | MS_NOEXEC});
  const struct {
    const char* name;
    unsigned major, minor;
  } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (const auto& n : nodes) {
    ops->push_back({.kind = MountOpKind::kMknod,
                    .target = absl::StrCat("/dev/", n.name),
                    .flags = static_cast<uint64_t>(makedev(n.major, n.minor))});
  }
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"},
                                                       {"pts/ptmx", "/dev/ptmx"}};
  for (const auto& [text, path] : links) {
    ops->push_back({.kind = MountOpKind::kSymlink, .source = text, .target = path});
  }
  ops->push_back({.kind = MountOpKind::kMkdir, .target = "/dev/shm", .flags = 01777});
  // runc's /dev/shm: its own tmpfs, nosuid, noexec, nodev.
  ops->push_back({.kind = MountOpKind::kMount,
                  .source = "shm",
                  .target = "/dev/shm",
                  .fstype = "tmpfs",
                  .data = "mode=1777,size=65536k" + owner,
                  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  ops->push_back({.kind = MountOpKind::kMkdir, .target = "/dev/pts"});
  ops->push_back({.kind = MountOpKind::kMount,
                  .source = "devpts",
                  .target = "/dev/pts",
                  .fstype = "devpts",
                  .data = "newinstance,ptmxmode=0666,mode=0620",
                  .flags = MS_NOSUID | MS_NOEXEC});
}

struct Vol {
  std::string source, target;
  bool read_only;
  size_t index;
  int32_t slot = -1;
  PathKind want = PathKind::kDirectory;  // of the mount point: the source's kind
  bool alias = false;                    // the source at its own host path (AliasSources)
  std::string open;                      // PodMountInput::volume_open_paths, or empty
};

// A host file or directory given to the pod stays live at its own host path
// too. The root overlay would show a copy-on-write snapshot there, and a
// process that writes through the host path (the workflow executor does, for
// the artifact repository, when it sees that path) would write into the pod
// only. Left out where the path is the pod's own business (another volume's
// path, or one holding a volume) or cannot be (/proc, /sys).
std::vector<Vol> AliasSources(const std::vector<Vol>& vols) {
  std::vector<const Vol*> candidates;
  for (const Vol& v : vols) {
    const std::string& s = v.source;
    if (s.empty() || s == "/" || IsUnder(s, "/proc") || IsUnder(s, "/sys")) continue;
    bool skip = false;
    for (const Vol& other : vols) {
      skip = skip || IsUnder(s, other.target) || IsUnder(other.target, s);
    }
    if (!skip) candidates.push_back(&v);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Vol* a, const Vol* b) { return a->source < b->source; });
  std::vector<Vol> aliases;
  for (const Vol* v : candidates) {
    bool covered = false;  // an alias of a parent shows this one already
    for (Vol& a : aliases) {
      if (a.target == v->source) a.read_only = a.read_only && v->read_only;
      covered = covered || IsUnder(v->source, a.target);
    }
    if (!covered)
      aliases.push_back({v->source, v->source, v->read_only, v->index, -1, v->want, true, v->open});
  }
  return aliases;
}

absl::StatusOr<std::vector<Vol>> ValidateVolumes(const std::vector<VolumeMount>& volumes) {
  if (volumes.size() > kMaxVolumes) {
    return absl::InvalidArgumentError(
        absl::StrCat("volumes: ", volumes.size(), " exceeds the limit of ", kMaxVolumes));
  }
  std::vector<Vol> vols;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const VolumeMount& v = volumes[i];
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
  return vols;
}

// Steps that create the mount point of `v` inside the pod's root (after the
// pivot), given the volumes mounted before it.
absl::Status PlanMountPoint(const Vol& v, PathKind want, const std::vector<std::string>& mounted,
                            const PathProbe& probe, std::vector<MountOp>* ops) {
  const MountOpKind make_point =
      want == PathKind::kDirectory ? MountOpKind::kMkdir : MountOpKind::kMkfile;
  // Inside the pod's own /tmp, /dev or another volume the host's view says
  // nothing about what exists.
  std::optional<std::string> inside;
  for (const char* own : {"/tmp", "/dev"}) {
    if (IsUnder(v.target, own)) inside = own;
  }
  for (const std::string& m : mounted) {
    if (IsUnder(v.target, m) && (!inside || m.size() > inside->size())) inside = m;
  }
  if (inside) {
    if (v.target != *inside) {
      MkdirChain(*inside, v.target, ops);
      ops->push_back({.kind = make_point, .target = v.target});
    }
    return absl::OkStatus();
  }
  // Elsewhere the pod's root shows the host's root filesystem (and the host
  // mounts carried over), so the host tells what is there already.
  const PathKind have = probe(v.target);
  if (have == PathKind::kMissing) {
    // Parents that exist need no step (components are bounded by kMaxPath).
    std::string base = Parent(v.target);
    while (base != "/" && probe(base) == PathKind::kMissing) base = Parent(base);
    MkdirChain(base, v.target, ops);
    ops->push_back({.kind = make_point, .target = v.target});
  } else if (have != want) {
    return absl::FailedPreconditionError(absl::StrCat(
        "volumes[", v.index, "].mount_path: \"", v.target, "\" exists on the host as a ",
        have == PathKind::kDirectory ? "directory" : "non-directory", " but the source is ",
        want == PathKind::kDirectory ? "a directory" : "a file"));
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
      if (flags & MS_REMOUNT) return absl::StrCat("make ", target, " read-only");
      if (flags & MS_BIND) return absl::StrCat("bind ", source, " on ", target);
      if (target == "/" && source.empty()) return "make mounts private";
      return absl::StrCat("mount ", fstype, " on ", target);
    case MountOpKind::kCloneTree:
      return absl::StrCat("open host mount tree ", source);
    case MountOpKind::kTreeSetAttr: {
      std::vector<const char*> attrs;
      if (flags & MOUNT_ATTR_IDMAP) attrs.push_back("idmapped to the pod's user namespace");
      if (flags & MOUNT_ATTR_RDONLY) attrs.push_back("read-only");
      if (flags & MOUNT_ATTR_NOSUID) attrs.push_back("nosuid");
      if (flags & MOUNT_ATTR_NODEV) attrs.push_back("nodev");
      if (flags & MOUNT_ATTR_NOEXEC) attrs.push_back("noexec");
      return absl::StrCat("make ", source, " ", absl::StrJoin(attrs, ", "));
    }
    case MountOpKind::kAttachTree:
      return absl::StrCat("bind ", source, " on ", target);
    case MountOpKind::kMknod:
      return absl::StrCat("create device ", target);
    case MountOpKind::kSymlink:
      return absl::StrCat("create symlink ", target);
    case MountOpKind::kPivotRoot:
      return absl::StrCat("switch to the pod's root ", target);
    case MountOpKind::kMaskPath:
      return absl::StrCat("mask ", target);
    case MountOpKind::kReadOnlyPath:
      return absl::StrCat("make ", target, " read-only");
    case MountOpKind::kWriteFile:
      return absl::StrCat("write ", target);
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

absl::StatusOr<std::vector<std::string>> ParseMountPoints(std::string_view mountinfo) {
  std::vector<std::string> points;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(mountinfo), '\n', absl::SkipEmpty())) {
    ++line_no;
    // "id parent major:minor root mount_point options ..."
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5 || fields[4].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mountinfo line ", line_no, ": fewer than 5 fields"));
    }
    // The kernel escapes space, tab, newline and backslash as \ooo.
    const absl::string_view raw = fields[4];
    std::string point;
    point.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '3' &&
          raw[i + 2] >= '0' && raw[i + 2] <= '7' && raw[i + 3] >= '0' && raw[i + 3] <= '7') {
        point.push_back(static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 +
                                          (raw[i + 3] - '0')));
        i += 3;
      } else {
        point.push_back(raw[i]);
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

std::vector<std::string> HostMountsToCarry(const std::vector<std::string>& mount_points) {
  std::vector<std::string> candidates;
  for (const std::string& p : mount_points) {
    absl::StatusOr<std::string> norm = NormalizeAbsolutePath(p, "mount point");
    if (!norm.ok() || *norm == "/") continue;
    bool pod_owned = false;
    for (const char* own : kPodOwnedTrees) pod_owned = pod_owned || IsUnder(*norm, own);
    if (!pod_owned) candidates.push_back(*std::move(norm));
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<std::string> carried;
  for (const std::string& c : candidates) {
    bool below = false;
    for (const std::string& k : carried) below = below || IsUnder(c, k);
    if (!below) carried.push_back(c);
  }
  return carried;
}

absl::StatusOr<std::vector<MountOp>> PlanPodMounts(const PodMountInput& input,
                                                   const PathProbe& probe) {
  RETURN_IF_ERROR(ValidateHostname(input.hostname));
  ASSIGN_OR_RETURN(std::vector<Vol> vols, ValidateVolumes(input.volumes));
  if (input.host_mounts.size() > kMaxHostMounts) {
    return absl::InvalidArgumentError(absl::StrCat("host_mounts: ", input.host_mounts.size(),
                                                   " exceeds the limit of ", kMaxHostMounts));
  }
  std::string tmp_source;
  if (!input.tmp_source.empty()) {
    ASSIGN_OR_RETURN(tmp_source, NormalizeAbsolutePath(input.tmp_source, "tmp_source"));
  }
  std::string scratch;
  if (!input.scratch_dir.empty()) {
    ASSIGN_OR_RETURN(scratch, NormalizeAbsolutePath(input.scratch_dir, "scratch_dir"));
    if (scratch.find_first_of(",:\\") != std::string::npos) {
      // Overlay options cannot carry these in layer paths.
      return absl::InvalidArgumentError(
          absl::StrCat("scratch_dir: \"", scratch, "\" holds ',', ':' or '\\'"));
    }
  }
  // Hidden host paths: directories get a tmpfs (written to only to create
  // volume mount points below, then read-only), files /dev/null. Paths under
  // the pod's own /proc, /sys, /dev or /tmp are invisible anyway.
  std::vector<std::string> hidden_dirs, hidden_files;
  for (size_t i = 0; i < input.hidden_paths.size(); ++i) {
    const std::string field = absl::StrCat("hidden_paths[", i, "]");
    ASSIGN_OR_RETURN(std::string h, NormalizeAbsolutePath(input.hidden_paths[i], field));
    if (h == "/") return absl::InvalidArgumentError(absl::StrCat(field, ": may not be /"));
    bool pod_owned = false;
    for (const char* own : kPodOwnedTrees) pod_owned = pod_owned || IsUnder(h, own);
    if (pod_owned) continue;
    const PathKind kind = probe(h);
    if (kind == PathKind::kDirectory) {
      hidden_dirs.push_back(h);
    } else if (kind != PathKind::kMissing) {
      hidden_files.push_back(h);
    }
  }
  std::sort(hidden_dirs.begin(), hidden_dirs.end());
  {
    std::vector<std::string> outer;  // one below another is covered already
    for (const std::string& h : hidden_dirs) {
      bool below = false;
      for (const std::string& o : outer) below = below || IsUnder(h, o);
      if (!below) outer.push_back(h);
    }
    hidden_dirs = std::move(outer);
  }
  for (Vol& v : vols) {
    if (v.source.empty()) continue;
    if (!input.volumes[v.index].open_path.empty()) {
      ASSIGN_OR_RETURN(v.open,
                       NormalizeAbsolutePath(input.volumes[v.index].open_path,
                                             absl::StrCat("volumes[", v.index, "].open_path")));
    } else if (v.index < input.volume_open_paths.size() &&
               !input.volume_open_paths[v.index].empty()) {
      ASSIGN_OR_RETURN(v.open,
                       NormalizeAbsolutePath(input.volume_open_paths[v.index],
                                             absl::StrCat("volume_open_paths[", v.index, "]")));
    }
    // The kind of what is opened (where the caller resolved the source itself).
    v.want = probe(input.volumes[v.index].open_path.empty() ? v.source : v.open);
    if (v.want != PathKind::kDirectory && v.want != PathKind::kFile) {
      return absl::NotFoundError(absl::StrCat("volumes[", v.index, "].source: \"", v.source,
                                              "\" is not an existing file or directory"));
    }
  }
  for (Vol& a : AliasSources(vols)) vols.push_back(std::move(a));
  std::stable_sort(vols.begin(), vols.end(),
                   [](const Vol& a, const Vol& b) { return a.target < b.target; });

  // With a user namespace: what the runtime owns is idmapped (see
  // PodMountInput::user_namespace_base), and pod-owned tmpfs belong to pod root.
  const bool userns = input.user_namespace_base.has_value();
  const uint32_t pod_root = input.user_namespace_base.value_or(0);
  const std::string owner = userns ? absl::StrCat(",uid=", pod_root, ",gid=", pod_root) : "";
  std::vector<std::string> idmapped_sources;
  if (userns) {
    for (size_t i = 0; i < input.hidden_paths.size(); ++i) {
      absl::StatusOr<std::string> h = NormalizeAbsolutePath(input.hidden_paths[i], "hidden_paths");
      if (h.ok()) idmapped_sources.push_back(*h);
    }
  }
  auto idmapped = [&](const std::string& source) {
    for (const std::string& h : idmapped_sources) {
      if (IsUnder(source, h)) return true;
    }
    return false;
  };
  auto idmap_step = [](const std::string& source, int32_t slot) {
    return MountOp{.kind = MountOpKind::kTreeSetAttr,
                   .source = source,
                   .flags = MOUNT_ATTR_IDMAP,
                   .slot = slot};
  };

  std::vector<MountOp> ops;
  ops.push_back({.kind = MountOpKind::kSetHostname, .source = input.hostname});
  ops.push_back({.kind = MountOpKind::kLoopbackUp});
  if (userns) {
    // The network namespace belongs to the host's user namespace, where pod
    // root has no CAP_NET_BIND_SERVICE nor CAP_NET_RAW: open low ports and
    // ICMP echo sockets to everyone in this namespace, as Docker does.
    // Before the pivot: /proc/sys/net is the writer's network namespace.
    ops.push_back({.kind = MountOpKind::kWriteFile,
                   .target = "/proc/sys/net/ipv4/ip_unprivileged_port_start",
                   .data = "0",
                   .optional = true});
    ops.push_back({.kind = MountOpKind::kWriteFile,
                   .target = "/proc/sys/net/ipv4/ping_group_range",
                   .data = "0 2147483647",
                   .optional = true});
  }
  // Private first: nothing mounted below may propagate back to the host.
  ops.push_back({.kind = MountOpKind::kMount, .target = "/", .flags = MS_REC | MS_PRIVATE});

  // Host paths resolve only before the pivot: take detached copies now.
  int32_t next_slot = 0;
  int32_t tmp_slot = -1;
  if (!tmp_source.empty()) {
    tmp_slot = next_slot++;
    ops.push_back({.kind = MountOpKind::kCloneTree,
                   .source = tmp_source,
                   .flags = AT_RECURSIVE,
                   .slot = tmp_slot});
    ops.push_back({.kind = MountOpKind::kTreeSetAttr,
                   .source = tmp_source,
                   .flags = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                   .slot = tmp_slot});
    if (userns) ops.push_back(idmap_step(tmp_source, tmp_slot));
  }
  std::vector<std::pair<std::string, int32_t>> host;
  for (const std::string& m : input.host_mounts) {
    absl::StatusOr<std::string> norm = NormalizeAbsolutePath(m, "host_mounts");
    if (!norm.ok()) return norm.status();
    const int32_t slot = next_slot++;
    host.push_back({*norm, slot});
    // Optional: a host mount that cannot be copied (gone, unreadable) is
    // left out rather than failing every pod.
    ops.push_back({.kind = MountOpKind::kCloneTree,
                   .source = *norm,
                   .flags = AT_RECURSIVE,
                   .slot = slot,
                   .optional = true});
    ops.push_back({.kind = MountOpKind::kTreeSetAttr,
                   .source = *norm,
                   .flags = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                   .slot = slot,
                   .optional = true});
    if (userns) {
      // Read-only anyway: without an idmapping (a filesystem that has none)
      // the pod still reads it, host root's files showing as nobody's.
      MountOp op = idmap_step(*norm, slot);
      op.best_effort = true;
      ops.push_back(std::move(op));
    }
  }
  for (Vol& v : vols) {
    if (v.source.empty()) continue;
    v.slot = next_slot++;
    ops.push_back({.kind = MountOpKind::kCloneTree,
                   .source = v.open.empty() ? v.source : v.open,
                   .flags = AT_RECURSIVE | (v.open.empty() ? 0 : kCloneNoSymlinks),
                   .slot = v.slot,
                   .optional = v.alias});
    ops.push_back({.kind = MountOpKind::kTreeSetAttr,
                   .source = v.source,
                   .flags = static_cast<uint64_t>(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                  (v.read_only ? MOUNT_ATTR_RDONLY : 0)),
                   .slot = v.slot,
                   .optional = v.alias});
    if (idmapped(v.source)) {
      MountOp op = idmap_step(v.source, v.slot);
      op.optional = v.alias;
      ops.push_back(std::move(op));
    }
  }

  // The root overlay. Its layers sit in the pod's scratch directory so that
  // big writes land on disk and go with the pod; a tmpfs when there is none
  // (mounted over the holder's own view of a host directory: private).
  // "volatile": without it every pod's unmount syncs the whole host
  // filesystem holding the upper layer; a pod's root does not outlive it.
  const std::string stage = scratch.empty() ? "/tmp" : scratch + "/rootfs";
  if (!scratch.empty()) ops.push_back({.kind = MountOpKind::kMkdir, .target = stage});
  if (scratch.empty() || input.upper_on_tmpfs) {
    ops.push_back({.kind = MountOpKind::kMount,
                   .source = "tmpfs",
                   .target = stage,
                   .fstype = "tmpfs",
                   .data = "mode=0755",
                   .flags = MS_NOSUID | MS_NODEV});
  }
  // The upper layer's top is the pod's "/": pod root must own it.
  ops.push_back({.kind = MountOpKind::kMkdir,
                 .target = stage + "/upper",
                 .flags = userns ? kCreateAsPodRoot | (uint64_t{pod_root} << 32) : 0});
  ops.push_back({.kind = MountOpKind::kMkdir, .target = stage + "/work"});
  std::string lower = "/";
  if (userns) {
    // The host's root filesystem (that mount alone, as lowerdir=/ would
    // take), idmapped, attached where the overlay can name it.
    lower = stage + "/lower";
    const int32_t slot = next_slot++;
    ops.push_back({.kind = MountOpKind::kMkdir, .target = lower});
    ops.push_back({.kind = MountOpKind::kCloneTree, .source = "/", .slot = slot});
    ops.push_back(idmap_step("/", slot));
    ops.push_back({.kind = MountOpKind::kAttachTree, .source = "/", .target = lower, .slot = slot});
  }
  // Mounted over the directory holding its own layers: one directory less
  // to create and remove per pod, and the layers stay reachable to the
  // overlay, which resolved them at mount time.
  ops.push_back({.kind = MountOpKind::kMount,
                 .source = "overlay",
                 .target = stage,
                 .fstype = "overlay",
                 .data = absl::StrCat("lowerdir=", lower, ",upperdir=", stage,
                                      "/upper,workdir=", stage, "/work,volatile"),
                 .flags = MS_NOSUID | MS_NODEV});
  ops.push_back({.kind = MountOpKind::kPivotRoot, .target = stage});
  const size_t pivot_step = ops.size();

  // From here on, paths are the pod's.
  ops.push_back({.kind = MountOpKind::kMount,
                 .source = "proc",
                 .target = "/proc",
                 .fstype = "proc",
                 .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  ops.push_back({.kind = MountOpKind::kMount,
                 .source = "sysfs",
                 .target = "/sys",
                 .fstype = "sysfs",
                 .flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC});
  PlanDev(owner, &ops);
  // After /dev, whose null masks files.
  for (const char* p : kMaskedPaths) ops.push_back({.kind = MountOpKind::kMaskPath, .target = p});
  for (const char* p : kReadOnlyPaths) {
    ops.push_back({.kind = MountOpKind::kReadOnlyPath, .target = p});
  }
  if (tmp_slot >= 0) {
    ops.push_back({.kind = MountOpKind::kAttachTree,
                   .source = tmp_source,
                   .target = "/tmp",
                   .slot = tmp_slot});
  } else {
    ops.push_back({.kind = MountOpKind::kMount,
                   .source = "tmpfs",
                   .target = "/tmp",
                   .fstype = "tmpfs",
                   .data = "mode=1777" + owner,
                   .flags = MS_NOSUID | MS_NODEV});
  }
  for (const auto& [path, slot] : host) {
    ops.push_back({.kind = MountOpKind::kAttachTree,
                   .source = path,
                   .target = path,
                   .slot = slot,
                   .optional = true});
  }

  // After the host mounts, which may hold a hidden path.
  for (const std::string& h : hidden_dirs) {
    ops.push_back({.kind = MountOpKind::kMount,
                   .source = "tmpfs",
                   .target = h,
                   .fstype = "tmpfs",
                   .data = "mode=0755,size=64k",
                   .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  }
  for (const std::string& h : hidden_files) {
    ops.push_back({.kind = MountOpKind::kMaskPath, .target = h});
  }

  // Volume targets mounted so far; a hidden directory is the pod's own
  // (empty) tmpfs, where mount points are created as needed.
  std::vector<std::string> mounted = hidden_dirs;
  for (const Vol& v : vols) {
    const size_t first_op = ops.size();
    RETURN_IF_ERROR(PlanMountPoint(v, v.want, mounted, probe, &ops));
    if (v.source.empty()) {
      ops.push_back(
          {.kind = MountOpKind::kMount,
           .source = "tmpfs",
           .target = v.target,
           .fstype = "tmpfs",
           .data = "mode=0777" + owner,
           .flags = static_cast<uint64_t>(MS_NOSUID | MS_NODEV | (v.read_only ? MS_RDONLY : 0))});
    } else {
      ops.push_back({.kind = MountOpKind::kAttachTree,
                     .source = v.source,
                     .target = v.target,
                     .slot = v.slot});
    }
    // An alias is a convenience: where it cannot be made the pod goes without.
    for (size_t i = first_op; i < ops.size(); ++i) ops[i].optional = v.alias;
    mounted.push_back(v.target);
  }
  for (const std::string& h : hidden_dirs) {
    // A volume attached at the hidden directory itself (the artifact
    // repository given as a hidden path, seen at its own host path) now tops
    // the tmpfs there: the remount would make that volume read-only.
    bool covered = false;
    for (const Vol& v : vols) covered = covered || v.target == h;
    if (covered) continue;
    ops.push_back({.kind = MountOpKind::kMount,
                   .target = h,
                   .flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC});
  }
  if (userns) {
    // Mount points made in the pod's root belong to pod root, as they would
    // had the pod made them (and as they did when pods were host root).
    for (size_t i = pivot_step; i < ops.size(); ++i) {
      if (ops[i].kind == MountOpKind::kMkdir || ops[i].kind == MountOpKind::kMkfile) {
        ops[i].flags |= kCreateAsPodRoot | (uint64_t{pod_root} << 32);
      }
    }
  }
  return ops;
}

absl::StatusOr<std::string> EncodeMountOps(const std::vector<MountOp>& ops) {
  std::string out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const MountOp& op = ops[i];
    if (op.slot < -1 || op.slot >= kMaxMountSlots) {
      return absl::InvalidArgumentError(
          absl::StrCat("step ", i, " (", op.Describe(), "): slot ", op.slot, " out of range"));
    }
    out.push_back(static_cast<char>(op.kind));
    out.push_back(op.best_effort ? 2 : op.optional ? 1 : 0);
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((op.flags >> (8 * b)) & 0xff));
    const auto slot = static_cast<uint32_t>(op.slot);
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((slot >> (8 * b)) & 0xff));
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
