// Pure planning of a pod's namespace setup: the list of steps (hostname, lo,
// private propagation, the pod's own root filesystem, /proc, /sys, /dev, /tmp,
// volumes) that the pod's holder process executes with plain syscalls.
// Planning here, with full C++ and host path probes, keeps the holder free of
// allocation and string handling.
//
// The pod's root is an overlay whose lower layer is the host's root
// filesystem and whose upper layer lives in the pod's scratch directory (or a
// tmpfs), so every write outside a volume stays in the pod; the holder
// pivot_roots into it. Host paths (volume sources, the pod's /tmp, the host's
// other mounts) are opened as detached mount trees before the pivot and
// attached inside the new root after it, so that every mount point resolves
// in the pod's root, symlinks included, and nothing is created on the host.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox {

struct VolumeMount {
  std::string source;      // host file or directory; empty: a fresh tmpfs
  std::string mount_path;  // absolute path inside the pod
  bool read_only = false;
  // What the holder opens instead of `source`, without following any
  // symlink (RESOLVE_NO_SYMLINKS): the path the caller's own safe resolution
  // ended at (the kubelet: openat2 RESOLVE_BENEATH below an allowed
  // directory), so a symlink swapped in since fails the pod instead of
  // leading elsewhere. Overrides PodMountInput::volume_open_paths. Empty:
  // those, or `source`. `source` still names the volume in errors and is
  // where its alias shows in the pod. (Not a /proc/<pid>/fd link: the
  // holder's mount namespace cannot clone the runtime's mounts.)
  std::string open_path;
};

enum class MountOpKind : uint8_t {
  kSetHostname = 1,  // source: the name
  kLoopbackUp,       // bring "lo" up
  kMkdir,            // target, flags: mode (0: 0755); an existing directory is fine
  kMkfile,           // target; an existing file is fine
  kMount,            // mount(source, target, fstype, flags, data)
  kCloneTree,        // source -> slot: detached copy of the mount tree at source
                     // (open_tree; flags: AT_RECURSIVE or 0, | kCloneNoSymlinks)
  kTreeSetAttr,      // slot: set MOUNT_ATTR_* `flags` on the whole detached tree
  kAttachTree,       // slot -> target (move_mount); source only names it in errors
  kMknod,            // target: character device, flags: dev_t, mode 0666
  kSymlink,          // target: a symlink whose text is source
  kPivotRoot,        // target: the new root, a mount point; the old root is detached
  kMaskPath,         // target: a directory gets an empty read-only tmpfs, a file
                     // /dev/null bound over it; missing: nothing to do
  kReadOnlyPath,     // target: bound on itself read-only (nosuid, nodev, noexec);
                     // missing: nothing to do
  kWriteFile,        // target: an existing file (a sysctl) gets `data` written
};

// kCloneTree: resolve the source without following any symlink (openat2
// RESOLVE_NO_SYMLINKS), for sources already resolved by the planner's caller.
inline constexpr uint64_t kCloneNoSymlinks = uint64_t{1} << 40;

// kMkdir/kMkfile: the entry is created with the uid and gid in bits 32..63
// of `flags` as filesystem ids (the pod's root in a user namespace): pod
// root owns the mount points made for it, and inside an idmapped tree (where
// host root has no mapping: EOVERFLOW) the entry can be created at all.
inline constexpr uint64_t kCreateAsPodRoot = uint64_t{1} << 31;

struct MountOp {
  MountOpKind kind;
  std::string source;
  std::string target;
  std::string fstype;
  std::string data;
  uint64_t flags = 0;
  int32_t slot = -1;      // detached mount tree handle (kCloneTree..kAttachTree)
  bool optional = false;  // a failure skips the step (and later steps on its slot)
  // A failure is ignored and the slot's tree kept as it is (an idmapping
  // that a carried host filesystem does not support).
  bool best_effort = false;

  std::string Describe() const;  // for error messages: "bind /a on /b"
};

enum class PathKind { kMissing, kDirectory, kFile, kOther };
// Host filesystem lookup (follows symlinks). Injected so planning stays pure.
using PathProbe = std::function<PathKind(const std::string& path)>;
PathKind ProbeHostPath(const std::string& path);

struct PodMountInput {
  std::string hostname;
  std::string tmp_source;   // host dir backing the pod's /tmp; empty: tmpfs
  std::string scratch_dir;  // host dir for the root overlay's layers; empty: a tmpfs
  // The root overlay's upper layer goes on a tmpfs even with a scratch_dir
  // (needed when scratch_dir is itself on overlayfs, which cannot be an upper layer).
  bool upper_on_tmpfs = false;
  // Host mount points carried into the pod read-only (HostMountsToCarry).
  std::vector<std::string> host_mounts;
  std::vector<VolumeMount> volumes;
  // Host paths a pod must not see (the runtime's data directory: the
  // cluster store, other pods' directories). Each is covered with an empty
  // tmpfs before volumes are attached, and made read-only after, so volumes
  // whose sources lie below (emptyDir, the artifact repository) still show at
  // their mount paths and, by the alias rule, at their own host paths.
  std::vector<std::string> hidden_paths;
  // Per volume (same order; may be shorter): the path to open instead of its
  // source, i.e. its realpath, opened without following any symlink, so a
  // symlink planted after the caller resolved it fails the pod instead of
  // mounting what it points to. Empty: the source, symlinks followed. The
  // pod still sees the volume at its source path (aliases use `source`).
  std::vector<std::string> volume_open_paths;
  // The pod runs in a user namespace whose uid and gid 0..65535 are host
  // ids user_namespace_base.. (the holder gets its fd; kTreeSetAttr with
  // MOUNT_ATTR_IDMAP uses it). What the runtime owns is idmapped, so pod root
  // acts there as host root did before: the root overlay's lower layer (host
  // files owned by root show as the pod's; writes copy up into the pod's
  // upper layer), the pod's /tmp and volumes whose source lies under a
  // hidden path (emptyDir, configMap, secret, projected, the artifact
  // repository: files the pod writes there are owned on the host as in the
  // pod). Host mounts carried read-only are idmapped where their filesystem
  // allows. Other hostPath volumes are not: the pod is its mapped,
  // unprivileged host uid there. Also: ports below 1024 and ICMP echo
  // sockets are opened to the pod's ids in its network namespace, which the
  // host's user namespace owns. Unset: the host's user namespace.
  std::optional<uint32_t> user_namespace_base;
};

// What runc masks in every container (moby's defaults): files get /dev/null,
// directories an empty read-only tmpfs.
inline constexpr const char* kMaskedPaths[] = {
    "/proc/acpi",       "/proc/asound",      "/proc/interrupts",
    "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap"};
// ... and makes read-only.
inline constexpr const char* kReadOnlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

// Validates the input (errors name the field: "volumes[2].mount_path: ...")
// and returns the steps in execution order. Volumes are mounted parent first;
// a missing mount point is created in the pod's root (parents included). A
// volume's host source also shows live at its own path in the pod (where that
// path is not another volume's), as it did before the pod had its own root.
absl::StatusOr<std::vector<MountOp>> PlanPodMounts(const PodMountInput& input,
                                                   const PathProbe& probe);

// "a//b/./" -> error for "." and ".."; collapses slashes, strips a trailing one.
absl::StatusOr<std::string> NormalizeAbsolutePath(std::string_view path, std::string_view field);

// Mount points listed in /proc/<pid>/mountinfo text, octal escapes decoded,
// in file order. Errors name the line.
absl::StatusOr<std::vector<std::string>> ParseMountPoints(std::string_view mountinfo);

// Of the host's mount points, those a pod's root must carry because the root
// overlay (whose lower layer is the root filesystem alone) would hide them:
// not "/", not under /proc, /sys, /dev or /tmp (the pod has its own), and not
// below another carried one (recursive copies bring those). Sorted, unique.
std::vector<std::string> HostMountsToCarry(const std::vector<std::string>& mount_points);

// Flat encoding for the holder: per op kind(1) optional(1: 0 no, 1 optional,
// 2 best effort) flags(8) slot(4)
// then four NUL-terminated strings. Fails if a string holds a NUL byte.
absl::StatusOr<std::string> EncodeMountOps(const std::vector<MountOp>& ops);

// How many host mounts a pod carries at most (PodMountInput::host_mounts).
inline constexpr size_t kMaxHostMounts = 256;

// Largest slot index + 1 that EncodeMountOps accepts (the holder's table).
inline constexpr int32_t kMaxMountSlots = 1024;

}  // namespace argonaut::cluster::sandbox
