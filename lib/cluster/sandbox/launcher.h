// Process creation for sandboxes. Internal to //lib/cluster/sandbox.
//
// Two paths:
// - Containers: clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) from one of a few
//   long-lived launcher threads. The child joins the pod's namespaces and
//   execs; sharing memory until exec makes starting cost independent of the
//   runtime's size, and the vfork wait tells exec failures apart. The pod's PID
//   namespace is entered through the launcher thread's pid_for_children.
// - Holders (the pod's PID 1): cloned with new namespaces by a "zygote", a
//   small single-threaded process forked once from a launcher thread. A holder
//   never execs, so forking it from the big runtime would pin a copy-on-write
//   snapshot of the runtime's memory per pod; from the zygote it shares one.
//
// PR_SET_PDEATHSIG fires when the *thread* that created a child exits: every
// child is therefore created by a launcher thread (or the zygote), which live
// as long as the process. The chain runtime -> zygote -> holder -> pod PID
// namespace means a SIGKILLed runtime leaves no pod process behind.
//
// fork(): a child of the runtime gets fresh launchers and zygote on first use.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox::internal {

struct ChildSpec {
  // execve() candidates in order (PATH expanded); the first that is not
  // ENOENT/ENOTDIR wins, as with execvp.
  std::vector<std::string> candidates;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string working_dir;  // empty: stay
  // A missing absolute working_dir is created (with its parents), as
  // container runtimes do; only where the filesystem is the pod's own.
  bool create_working_dir = false;
  int stdin_fd = -1;   // required
  int output_fd = -1;  // required; becomes stdout and stderr
  // Namespaces to join (-1: stay in the runtime's).
  int netns_fd = -1;
  int utsns_fd = -1;
  int ipcns_fd = -1;
  int mntns_fd = -1;
  int pidns_fd = -1;
  // The pod's user namespace, joined after the others; the child becomes
  // its uid and gid 0 (-1: the runtime's user namespace).
  int userns_fd = -1;
  // cgroup.procs descriptors (see cgroup.h): the child writes "0" to each
  // before it execs. Not owned.
  std::vector<int> cgroup_procs_fds;
  // Applied last before exec, in this order: bounding set cut to
  // `capabilities`, no_new_privs, the seccomp filter, then permitted,
  // effective and inheritable set to `capabilities`, ambient cleared.
  bool restrict_capabilities = false;
  uint64_t capabilities = 0;  // bit n = capability n
  bool no_new_privs = false;
  const sock_fprog* seccomp = nullptr;  // not owned; must outlive the call
  // securityContext ids (in the pod's user namespace when it has one): the
  // groups, gid and uid are set after the seccomp filter and before capset;
  // a uid other than 0 ends with no permitted, effective or inheritable
  // capability (the bounding set stays as above).
  bool set_ids = false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;
  // readOnlyRootFilesystem: after joining the pod's mount namespace the
  // child takes a copy of its own whose root mount is read-only.
  bool read_only_root = false;
};

struct ChildHandle {
  pid_t pid = -1;
  int pidfd = -1;
};

// On exec failure the child has been reaped and the status names the
// candidate(s): NotFound (ENOENT), PermissionDenied (EACCES), etc.
absl::StatusOr<ChildHandle> LaunchChild(const ChildSpec& spec);

struct HolderResult {
  pid_t pid = -1;
  int pidfd = -1;
  int failed_step = -1;  // index into the encoded steps, -1: all done
  int error = 0;         // errno of the failed step
};

// Starts a holder in new mount, UTS, IPC, PID and network namespaces that runs
// the encoded steps (EncodeMountOps) and then reaps orphans as PID 1 forever.
// With failed_step >= 0 the holder has exited already; pidfd is still open.
// `userns_fd` (or -1) is the user namespace MOUNT_ATTR_IDMAP steps map to.
absl::StatusOr<HolderResult> LaunchHolder(const std::string& encoded_steps, int userns_fd = -1);

// A new user namespace (owned by the runtime's) whose ids 0..count-1 are the
// host's host_base..host_base+count-1, as an open nsfs descriptor (O_CLOEXEC).
absl::StatusOr<int> CreateUserNamespace(uint32_t host_base, uint32_t count);

// Number of launcher threads (fixed at first use).
int LauncherThreads();

}  // namespace argonaut::cluster::sandbox::internal
