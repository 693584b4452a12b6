// Sandbox: the processes of one pod.
//
// Isolated (needs CAP_SYS_ADMIN): a holder process is PID 1 of new mount, UTS,
// IPC, PID and network namespaces; it reaps orphans and keeps the namespaces
// alive. Its hostname is the pod name, mounts are private (nothing propagates
// to the host) and the pod has its own root filesystem: an overlay of the
// host's root whose writes stay in <pod_dir> (see mount_plan.h), with its own
// /proc, /sys, minimal /dev, private /tmp (a bind of <pod_dir>/tmp, or a
// tmpfs) and the volumes at their mount paths (any path). Every process
// started with Spawn joins those namespaces and that root. With a PodNetwork
// the pod gets eth0 with its own address; without one it has only lo.
//
// Plain (isolate=false, or no CAP_SYS_ADMIN; the latter logged once): plain
// child processes working in <pod_dir>/work with TMPDIR=<pod_dir>/tmp, sharing
// the host's network (ip() is 127.0.0.1); volumes are not mounted.
//
//   ASSIGN_OR_RETURN(auto sb, Sandbox::Create({.pod_name = "web-1", .network = net,
//                                              .pod_dir = dir}));
//   ASSIGN_OR_RETURN(auto proc, sb->Spawn({.argv = {"nginx"}, .log_path = log}));
//   ...
//   RETURN_IF_ERROR(sb->Destroy(absl::Seconds(30)));
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/sandbox/mount_plan.h"
#include "lib/cluster/sandbox/network.h"
#include "lib/cluster/sandbox/process.h"

namespace argonaut::cluster::sandbox {

struct SandboxOptions {
  std::string pod_name;  // also the hostname: letters, digits, '-', '.'; <= 63
  bool isolate = true;
  PodNetwork* network = nullptr;  // not owned, must outlive the sandbox; null: lo only
  // Per-pod host directory, created if missing and removed by Destroy. Backs
  // the private /tmp and the root overlay's layers. Empty: both are tmpfs.
  std::string pod_dir;
  // Destroy leaves pod_dir in place; Create then starts from an empty one.
  // For the kubelet, which keeps a finished pod's files until the pod is
  // deleted, as Kubernetes keeps a terminated container's layer (and which
  // would otherwise churn inodes: creating directories right after deleting
  // many is slow on ext4).
  bool keep_pod_dir = false;
  std::vector<VolumeMount> volumes;
  std::vector<std::string> env;  // "KEY=VALUE" given to every process
  // Host paths the pod must not see (see PodMountInput::hidden_paths): the
  // runtime's data directory, so a pod reads neither the stores nor other
  // pods' directories. Volumes below them still work.
  std::vector<std::string> hidden_paths;
  // Isolated pods only: pod uid and gid 0..65535 are host ids
  // user_namespace_base..+65535 in a user namespace of the pod's own (see
  // UserNamespaceBase; what is idmapped: PodMountInput::user_namespace_base).
  // Every process Spawn starts joins it as its root (uid 0 there), privileged
  // ones included. Unset: the host's user namespace (pod root is host root).
  // A pod whose user namespace cannot be made, or whose setup fails in one,
  // runs in the host's (logged with the reason).
  std::optional<uint32_t> user_namespace_base;
};

// Set in every process a sandbox starts: "private" when the pod has its own
// root filesystem (isolated), "host" when it shares the host's.
inline constexpr char kPodRootfsEnv[] = "ARGONAUT_POD_ROOTFS";
// Plain mode only: the pod's volumes as a JSON array of [mountPath, hostPath]
// (they are not mounted there).
inline constexpr char kPlainMountsEnv[] = "ARGONAUT_PLAIN_MOUNTS";

// Host ids of one pod user namespace.
inline constexpr uint32_t kUserNamespaceSize = 65536;

// A 64Ki-aligned range of host ids for a runtime's pods, derived from its
// seed (data dir) like its bridge name: one of 57344 ranges in
// [2^28, 2^32 - 2^28), far above the ids of the host's users and of
// /etc/subuid's usual ranges (100000..).
uint32_t UserNamespaceBase(std::string_view seed);

class Sandbox {
 public:
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(const SandboxOptions& options);

  // Whether this process may create namespaces (CAP_SYS_ADMIN in effect).
  static bool CanIsolate();

  // Removes what a crashed runtime using `seed` for its PodNetwork left on
  // the host: its bridge and host veths. (Pod processes and namespaces die
  // with the runtime; pod directories belong to the caller's data dir.)
  static absl::Status CleanupStale(std::string_view seed);

  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  ~Sandbox();  // Destroy(no grace), errors logged

  // Starts a process in the pod. An exec failure (argv[0] not found, not
  // executable) is returned as an error status (NotFound, PermissionDenied,
  // ...) and also appended to the log file; no Process is returned then.
  absl::StatusOr<std::unique_ptr<Process>> Spawn(const ProcessSpec& spec);

  // SIGTERM to every process group, SIGKILL after `grace`; then kills the
  // holder (and with it anything left in the pod), releases the network and
  // removes pod_dir. Idempotent.
  absl::Status Destroy(absl::Duration grace);

  bool isolated() const { return isolated_; }
  const std::string& pod_name() const { return options_.pod_name; }
  const std::string& pod_dir() const { return options_.pod_dir; }
  const std::string& ip() const { return ip_; }
  pid_t holder_pid() const { return holder_pid_; }  // -1 in plain mode
  // The host uid of pod root when the pod has its own user namespace.
  std::optional<uint32_t> user_namespace_base() const { return userns_base_; }
  int holder_pidfd() const { return holder_pidfd_; }

 private:
  explicit Sandbox(SandboxOptions options) : options_(std::move(options)) {}
  absl::Status StartIsolated();
  // The holder and its namespaces; *setup_failed: a setup step failed.
  absl::Status StartHolder(const PodMountInput& input, bool* setup_failed);
  void ReleaseHolder();
  absl::Status StartPlain();
  absl::StatusOr<std::vector<std::string>> MergedEnv(const ProcessSpec& spec) const;

  const SandboxOptions options_;
  bool isolated_ = false;
  std::string ip_ = "127.0.0.1";
  pid_t holder_pid_ = -1;
  int holder_pidfd_ = -1;
  // Namespace fds of the holder: net, uts, ipc, mnt, pid (-1 when plain).
  int ns_fds_[5] = {-1, -1, -1, -1, -1};
  int userns_fd_ = -1;
  std::optional<uint32_t> userns_base_;
  PodAttachment attachment_;
  bool attached_ = false;

  absl::Mutex mu_;
  bool destroyed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::weak_ptr<internal::ProcessState>> procs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::cluster::sandbox
