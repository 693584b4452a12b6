// Pure planning of a pod's namespace setup: the list of steps (hostname, lo,
// private propagation, /tmp, /proc, volumes) that the pod's holder process
// executes with plain syscalls. Planning here, with full C++ and host path
// probes, keeps the holder free of allocation and string handling.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox {

struct VolumeMount {
  std::string source;      // host file or directory; empty: a fresh tmpfs
  std::string mount_path;  // absolute path inside the pod
  bool read_only = false;
};

enum class MountOpKind : uint8_t {
  kSetHostname = 1,  // source: the name
  kLoopbackUp,       // bring "lo" up
  kMkdir,            // target; an existing directory is fine
  kMkfile,           // target; an existing file is fine
  kMount,            // mount(source, target, fstype, flags, data)
  kRemountReadOnly,  // bind remount of target read-only (flags added)
};

struct MountOp {
  MountOpKind kind;
  std::string source;
  std::string target;
  std::string fstype;
  std::string data;
  uint64_t flags = 0;

  std::string Describe() const;  // for error messages: "bind /a on /b"
};

enum class PathKind { kMissing, kDirectory, kFile, kOther };
// Host filesystem lookup (follows symlinks). Injected so planning stays pure.
using PathProbe = std::function<PathKind(const std::string& path)>;
PathKind ProbeHostPath(const std::string& path);

struct PodMountInput {
  std::string hostname;
  std::string tmp_source;   // host dir backing the pod's /tmp; empty: tmpfs
  std::string scratch_dir;  // host dir for overlay upper/work dirs; empty: no overlays
  std::vector<VolumeMount> volumes;
};

// Validates the input (errors name the field: "volumes[2].mount_path: ...")
// and returns the steps in execution order. Volumes are mounted parent first.
// A mount point missing on the host is created without touching the host:
// under /tmp or another volume directly, elsewhere on an overlay of its
// deepest existing ancestor (whose own sub-mounts the overlay then hides).
absl::StatusOr<std::vector<MountOp>> PlanPodMounts(const PodMountInput& input,
                                                   const PathProbe& probe);

// "a//b/./" -> error for "." and ".."; collapses slashes, strips a trailing one.
absl::StatusOr<std::string> NormalizeAbsolutePath(std::string_view path, std::string_view field);

// Flat encoding for the holder: per op kind(1) flags(8) then four
// NUL-terminated strings. Fails if a string holds a NUL byte.
absl::StatusOr<std::string> EncodeMountOps(const std::vector<MountOp>& ops);

}  // namespace argonaut::cluster::sandbox
