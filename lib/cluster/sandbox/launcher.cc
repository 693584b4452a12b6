#include "lib/cluster/sandbox/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/sandbox/mount_plan.h"
#include "lib/cluster/sandbox/netlink.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace argonaut::cluster::sandbox::internal {
namespace {

constexpr size_t kChildStackBytes = 64 * 1024;
// One holder request (the encoded setup steps): far above what real pods
// need, and below the size of one SEQPACKET message.
constexpr size_t kMaxRequestBytes = 60 * 1024;
constexpr int kHolderReadyTimeoutMs = 10000;
// kind(1) optional(1) flags(8) slot(4), see EncodeMountOps.
constexpr size_t kStepHeaderBytes = 14;

// ---------------------------------------------------------------------------
// Code below, up to the next rule, runs in children between clone and exec
// (or forever, for zygote and holder): async-signal-safe calls only, no
// allocation, no locks.

enum ChildStage : int {
  kStageOk = 0,
  kStageSetns,
  kStageStdio,
  kStageChdir,
  kStageExec,
  kStageCgroup,
  kStageSecurity,
  kStageUserns
};

struct ChildArgs {
  const char* const* candidates;
  int num_candidates;
  char* const* argv;
  char* const* envp;
  const char* cwd;    // nullptr: stay
  char* cwd_scratch;  // a writable copy of cwd when a missing one may be created
  int stdin_fd;
  int output_fd;
  int ns_fds[4];
  int ns_types[4];
  int num_ns;
  int userns_fd;  // -1: stay in the runtime's user namespace
  const int* cgroup_fds;
  int num_cgroup_fds;
  bool restrict_caps;
  int last_cap;
  __user_cap_header_struct cap_header;
  __user_cap_data_struct cap_data[2];
  bool no_new_privs;
  const sock_fprog* seccomp;
  // securityContext ids and read-only root (ChildSpec); SwitchIds, ReadOnlyRoot.
  bool set_ids;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  int num_groups;
  bool read_only_root;
  pid_t expected_ppid;  // what getppid() shows while the launcher lives
  sigset_t empty_mask;
  // Written by the child; the parent reads them after the vfork wait.
  int stage;
  int error;
  int failed_candidate;
};

// mkdir -p: cuts `path` at each '/' in turn (restoring it). True when the
// whole path is a directory afterwards.
bool MakeDirs(char* path) {
  for (char* p = path + 1; *p != '\0'; ++p) {
    if (*p != '/') continue;
    *p = '\0';
    const bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
    *p = '/';
    if (!ok) return false;
  }
  return mkdir(path, 0755) == 0 || errno == EEXIST;
}

// securityContext runAsUser/runAsGroup/supplementalGroups. Changing
// credentials clears PR_SET_PDEATHSIG: re-armed, and the launcher checked
// again as at the start. Returns 0 or -1 with errno.
int SwitchIds(const ChildArgs* a) {
  if (syscall(SYS_setgroups, a->num_groups, a->groups) != 0 ||
      syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
      syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0) {
    return -1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != a->expected_ppid) _exit(127);
  return 0;
}

// readOnlyRootFilesystem: a mount namespace of the process's own (the pod's
// others keep a writable root) whose root mount alone becomes read-only.
int ReadOnlyRoot() {
  if (unshare(CLONE_NEWNS) != 0) return -1;
  struct mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.attr_set = MOUNT_ATTR_RDONLY;
  return static_cast<int>(syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &attr, sizeof(attr)));
}

// Capabilities, no_new_privs, seccomp (see ChildSpec). The bounding set
// goes first and the effective set last: loading a filter without
// no_new_privs needs CAP_SYS_ADMIN in effect. Returns 0 or -1 with errno.
int RestrictSelf(const ChildArgs* a) {
  if (a->restrict_caps) {
    for (int cap = 0; cap <= a->last_cap; ++cap) {
      if ((a->cap_data[cap / 32].permitted >> (cap % 32)) & 1u) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    }
  }
  if (a->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (a->seccomp != nullptr && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a->seccomp) != 0) {
    return -1;
  }
  // The ids after the filter (loading it without no_new_privs needs root's
  // CAP_SYS_ADMIN) and before capset (a non-root uid holds nothing to set).
  if (a->set_ids && SwitchIds(a) != 0) return -1;
  if (a->restrict_caps) {
    __user_cap_header_struct header = a->cap_header;
    __user_cap_data_struct data[2] = {a->cap_data[0], a->cap_data[1]};
    if (a->set_ids && a->uid != 0) memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &header, data) != 0) return -1;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
      return -1;
    }
  }
  return 0;
}

int ChildMain(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  // Handlers of the runtime must not run in the child (it still shares the
  // runtime's memory) and containers expect default dispositions.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < _NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != a->expected_ppid) _exit(127);  // launcher already gone
  setpgid(0, 0);
  // Into the container's cgroups before anything of it runs, so no fork or
  // allocation of the container escapes its limits: "0" names the writer,
  // and the descriptors were opened by the runtime (no path resolved here,
  // before any setns changes what the writer may do).
  for (int i = 0; i < a->num_cgroup_fds; ++i) {
    if (write(a->cgroup_fds[i], "0", 1) != 1) {
      a->error = errno;
      a->stage = kStageCgroup;
      _exit(127);
    }
  }
  for (int i = 0; i < a->num_ns; ++i) {
    if (setns(a->ns_fds[i], a->ns_types[i]) != 0) {
      a->error = errno;
      a->stage = kStageSetns;
      _exit(127);
    }
  }
  if (a->read_only_root && ReadOnlyRoot() != 0) {
    a->error = errno;
    a->stage = kStageSecurity;
    _exit(127);
  }
  // The user namespace last: joining the others needs the host's
  // privileges. Entering it leaves our ids unmapped there (host root is not
  // mapped): become the pod's root. Raw syscalls: glibc's wrappers would
  // signal every thread of the runtime, whose memory this child shares.
  if (a->userns_fd >= 0 &&
      (setns(a->userns_fd, CLONE_NEWUSER) != 0 || syscall(SYS_setgroups, 0, nullptr) != 0 ||
       syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0)) {
    a->error = errno;
    a->stage = kStageUserns;
    _exit(127);
  }
  if (a->userns_fd >= 0) {
    // The kernel clears the death signal on any change of credentials
    // (here: a new user namespace and new ids). In a pod this child dies with
    // the holder anyway (PID namespace); re-armed for the others.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->expected_ppid) _exit(127);
  }
  if (dup2(a->stdin_fd, 0) < 0 || dup2(a->output_fd, 1) < 0 || dup2(a->output_fd, 2) < 0) {
    a->error = errno;
    a->stage = kStageStdio;
    _exit(127);
  }
  // Descriptors the runtime opened without O_CLOEXEC must not leak into pods.
  syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  if (a->cwd != nullptr && chdir(a->cwd) != 0 &&
      !(errno == ENOENT && a->cwd_scratch != nullptr && MakeDirs(a->cwd_scratch) &&
        chdir(a->cwd) == 0)) {
    a->error = errno;
    a->stage = kStageChdir;
    _exit(127);
  }
  if (RestrictSelf(a) != 0) {
    a->error = errno;
    a->stage = kStageSecurity;
    _exit(127);
  }
  sigprocmask(SIG_SETMASK, &a->empty_mask, nullptr);
  int err = ENOENT;
  bool saw_eacces = false;
  for (int i = 0; i < a->num_candidates; ++i) {
    execve(a->candidates[i], a->argv, a->envp);
    const int e = errno;
    if (e == EACCES) {
      saw_eacces = true;
    } else if (e != ENOENT && e != ENOTDIR) {
      err = e;
      a->failed_candidate = i;
      break;
    }
  }
  a->error = (err == ENOENT && saw_eacces) ? EACCES : err;
  a->stage = kStageExec;
  _exit(a->error == EACCES ? 126 : 127);
}

void WriteAll(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);  // runtime gone: nothing to report to
    p += n;
    len -= static_cast<size_t>(n);
  }
}

int BringLoopbackUp() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, "lo", 3);
  int err = 0;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  close(s);
  return err;
}

int PivotRoot(const char* new_root) {
  // pivot_root(".", ".") stacks the old root on the new one; detaching it
  // leaves the pod nothing of the host but what was attached explicitly.
  if (chdir(new_root) != 0) return errno;
  if (syscall(SYS_pivot_root, ".", ".") != 0) return errno;
  if (umount2(".", MNT_DETACH) != 0) return errno;
  return chdir("/") == 0 ? 0 : errno;
}

// Detached mount trees (kCloneTree) by slot; -1: none or skipped.
struct Slots {
  int fd[kMaxMountSlots];
  int userns_fd;  // for MOUNT_ATTR_IDMAP; -1: none
};

// kCreateAsPodRoot: create as the id in the upper half of the step's flags.
// Leaving fsuid 0 drops the filesystem capabilities from the effective set;
// they are raised again from the permitted set (the holder is host root
// with all of them), and come back by themselves with fsuid 0.
void CreateAs(uint64_t flags) {
  if (!(flags & kCreateAsPodRoot)) return;
  const auto id = static_cast<uint32_t>(flags >> 32);
  syscall(SYS_setfsgid, id);
  syscall(SYS_setfsuid, id);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) == 0) {
    for (auto& d : data) d.effective = d.permitted;
    syscall(SYS_capset, &header, data);
  }
}

void CreateAsDone(uint64_t flags) {
  if (!(flags & kCreateAsPodRoot)) return;
  syscall(SYS_setfsuid, 0);
  syscall(SYS_setfsgid, 0);
  // Each change of fsuid/fsgid cleared the holder's death signal (the
  // kernel does so on any credential change): without this, a holder that
  // created a mount point as pod root outlived a SIGKILLed runtime, and its
  // pod with it. The parent check closes the race (HolderMain).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

// The holder's parent is the zygote, in another PID namespace: getppid()
// says 0 whether it lives or not. Its pidfd tells.
bool ZygoteGone(int zygote_pidfd) {
  pollfd p{zygote_pidfd, POLLIN, 0};
  return zygote_pidfd >= 0 && poll(&p, 1, 0) > 0;
}

int MakeDirAs(const char* target, uint64_t flags) {
  const auto mode = static_cast<mode_t>(flags & 07777);
  CreateAs(flags);
  const int err = mkdir(target, mode != 0 ? mode : 0755) == 0 || errno == EEXIST ? 0 : errno;
  CreateAsDone(flags);
  return err;
}

int MakeFileAs(const char* target, uint64_t flags) {
  CreateAs(flags);
  const int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  const int err = fd >= 0 ? 0 : errno;
  CreateAsDone(flags);
  if (fd >= 0) close(fd);
  return err;
}

// Runs one encoded step (see EncodeMountOps); returns 0 or an errno.
int RunStep(MountOpKind kind, uint64_t flags, int32_t slot, Slots* slots, const char* source,
            const char* target, const char* fstype, const char* data) {
  const bool has_slot = slot >= 0 && slot < kMaxMountSlots;
  switch (kind) {
    case MountOpKind::kSetHostname:
      return sethostname(source, strlen(source)) == 0 ? 0 : errno;
    case MountOpKind::kLoopbackUp:
      return BringLoopbackUp();
    case MountOpKind::kMkdir:
      return MakeDirAs(target, flags);
    case MountOpKind::kMkfile:
      return MakeFileAs(target, flags);
    case MountOpKind::kWriteFile: {
      const int fd = open(target, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return errno;
      const size_t n = strlen(data);
      const int err = write(fd, data, n) == static_cast<ssize_t>(n) ? 0 : errno;
      close(fd);
      return err;
    }
    case MountOpKind::kMount:
      return mount(*source ? source : nullptr, target, *fstype ? fstype : nullptr, flags,
                   *data ? data : nullptr) == 0
                 ? 0
                 : errno;
    case MountOpKind::kCloneTree: {
      if (!has_slot) return EINVAL;
      const unsigned clone_flags =
          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | static_cast<unsigned>(flags & AT_RECURSIVE);
      int fd;
      if (flags & kCloneNoSymlinks) {
        open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_NO_SYMLINKS;
        const int path_fd =
            static_cast<int>(syscall(SYS_openat2, AT_FDCWD, source, &how, sizeof(how)));
        if (path_fd < 0) return errno;
        fd = open_tree(path_fd, "", clone_flags | AT_EMPTY_PATH);
        const int err = errno;
        close(path_fd);
        errno = err;
      } else {
        fd = open_tree(AT_FDCWD, source, clone_flags);
      }
      if (fd < 0) return errno;
      slots->fd[slot] = fd;
      return 0;
    }
    case MountOpKind::kTreeSetAttr: {
      if (!has_slot || slots->fd[slot] < 0) return EBADF;
      struct mount_attr attr;
      memset(&attr, 0, sizeof(attr));
      attr.attr_set = flags;
      if (flags & MOUNT_ATTR_IDMAP) {
        if (slots->userns_fd < 0) return EINVAL;
        attr.userns_fd = static_cast<uint64_t>(slots->userns_fd);
      }
      return mount_setattr(slots->fd[slot], "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                           sizeof(attr)) == 0
                 ? 0
                 : errno;
    }
    case MountOpKind::kAttachTree: {
      if (!has_slot || slots->fd[slot] < 0) return EBADF;
      const int rc = move_mount(slots->fd[slot], "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
      const int err = errno;
      close(slots->fd[slot]);
      slots->fd[slot] = -1;
      return rc == 0 ? 0 : err;
    }
    case MountOpKind::kMknod:
      return mknod(target, S_IFCHR | 0666, static_cast<dev_t>(flags)) == 0 ? 0 : errno;
    case MountOpKind::kSymlink:
      return symlink(source, target) == 0 ? 0 : errno;
    case MountOpKind::kPivotRoot:
      return PivotRoot(target);
    case MountOpKind::kMaskPath: {
      struct stat st;
      if (stat(target, &st) != 0) return errno == ENOENT ? 0 : errno;
      const int rc = S_ISDIR(st.st_mode)
                         ? mount("tmpfs", target, "tmpfs",
                                 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)
                         : mount("/dev/null", target, nullptr, MS_BIND, nullptr);
      return rc == 0 ? 0 : errno;
    }
    case MountOpKind::kReadOnlyPath: {
      struct stat st;
      if (stat(target, &st) != 0) return errno == ENOENT ? 0 : errno;
      if (mount(target, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
      return mount(nullptr, target, nullptr,
                   MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   nullptr) == 0
                 ? 0
                 : errno;
    }
  }
  return EINVAL;
}

[[noreturn]] void HolderMain(const char* buf, size_t len, int ready_fd, int userns_fd,
                             int zygote_pidfd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (ZygoteGone(zygote_pidfd)) _exit(1);  // died before the death signal was set
  prctl(PR_SET_NAME, "argn-pause", 0, 0, 0);
  close(3);  // the zygote's socket
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
  }
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, nullptr);  // the zygote ignores it; PID 1 must reap
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);

  // Modes in the steps are meant literally (/dev/null 0666, /dev/shm 1777).
  umask(0);
  Slots slots;
  for (int& fd : slots.fd) fd = -1;
  slots.userns_fd = userns_fd;

  int32_t report[2] = {-1, 0};
  size_t pos = 0;
  for (int32_t step = 0; pos < len; ++step) {
    if (len - pos < kStepHeaderBytes) {
      report[0] = step;
      report[1] = EINVAL;
      break;
    }
    const auto kind = static_cast<MountOpKind>(buf[pos]);
    const bool optional = buf[pos + 1] != 0;
    const bool best_effort = buf[pos + 1] == 2;
    uint64_t flags = 0;
    for (int b = 0; b < 8; ++b) {
      flags |= static_cast<uint64_t>(static_cast<unsigned char>(buf[pos + 2 + b])) << (8 * b);
    }
    uint32_t slot_bits = 0;
    for (int b = 0; b < 4; ++b) {
      slot_bits |= static_cast<uint32_t>(static_cast<unsigned char>(buf[pos + 10 + b])) << (8 * b);
    }
    const auto slot = static_cast<int32_t>(slot_bits);
    pos += kStepHeaderBytes;
    const char* s[4];
    bool ok = true;
    for (int k = 0; k < 4; ++k) {
      const void* end = memchr(buf + pos, '\0', len - pos);
      if (end == nullptr) {
        ok = false;
        break;
      }
      s[k] = buf + pos;
      pos = static_cast<size_t>(static_cast<const char*>(end) - buf) + 1;
    }
    const int err = ok ? RunStep(kind, flags, slot, &slots, s[0], s[1], s[2], s[3]) : EINVAL;
    if (err != 0 && best_effort && ok) continue;  // the tree stays as it was
    if (err != 0 && optional && ok) {
      // Later optional steps on this slot see no tree and are skipped too.
      if (slot >= 0 && slot < kMaxMountSlots && slots.fd[slot] >= 0) {
        close(slots.fd[slot]);
        slots.fd[slot] = -1;
      }
      continue;
    }
    if (err != 0) {
      report[0] = step;
      report[1] = err;
      break;
    }
  }
  WriteAll(ready_fd, report, sizeof(report));
  if (report[0] >= 0) _exit(1);
  close(ready_fd);
  if (userns_fd >= 0) close(userns_fd);  // the runtime holds its own
  // PID 1 of the pod: adopt and reap orphans until killed, or until the
  // zygote is gone (then the runtime is: its exit takes the pod's PID
  // namespace along). The death signal is the fast path; the pidfd also
  // covers a zygote that died while a credential change had cleared it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (ZygoteGone(zygote_pidfd)) _exit(1);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  const int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;) {
    if (sfd >= 0 && zygote_pidfd >= 0) {
      pollfd p[2] = {{sfd, POLLIN, 0}, {zygote_pidfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents != 0) _exit(1);
      signalfd_siginfo info;
      while (read(sfd, &info, sizeof(info)) > 0) {
      }
    } else {
      siginfo_t info;
      if (sigwaitinfo(&all, &info) != SIGCHLD) continue;
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}

// Zygote request: the encoded steps, plus the holder's ready pipe (SCM_RIGHTS).
// Reply: int32 holder pid or -errno, plus the holder's pidfd.
[[noreturn]] void ZygoteMain(int sock, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_NAME, "argn-zygote", 0, 0, 0);
  if (sock != 3) {
    dup2(sock, 3);
    close(sock);
  }
  syscall(SYS_close_range, 4u, ~0u, 0u);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    close(null_fd);
  }
  // Inherited by every holder, which ends when it becomes readable.
  const int self_pidfd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < _NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, nullptr);
  }
  sa.sa_handler = SIG_IGN;  // holders are reaped by the kernel
  sigaction(SIGCHLD, &sa, nullptr);
  sigaction(SIGPIPE, &sa, nullptr);
  // Ctrl-C at a terminal or `pkill argonaut` reaches the zygote too (same
  // process group and command line); its death would kill every pod at
  // once, before the runtime's graceful stop. It ends with the runtime
  // instead (PR_SET_PDEATHSIG, or its socket closing).
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  static char buf[kMaxRequestBytes];
  for (;;) {
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    iovec iov{buf, sizeof(buf)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(3, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);  // runtime closed its end
    // The holder's ready pipe, then (optionally) the pod's user namespace.
    int fds[2] = {-1, -1};
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      const size_t count = std::min<size_t>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), 2);
      memcpy(fds, CMSG_DATA(c), count * sizeof(int));
    }
    const int ready_fd = fds[0];
    const int userns_fd = fds[1];
    int32_t reply = -EINVAL;
    int pidfd = -1;
    if (ready_fd >= 0 && !(msg.msg_flags & MSG_TRUNC)) {
      long pid = syscall(SYS_clone,
                         CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |
                             CLONE_PIDFD | SIGCHLD,
                         nullptr, &pidfd, nullptr, nullptr);
      if (pid == 0) HolderMain(buf, static_cast<size_t>(n), ready_fd, userns_fd, self_pidfd);
      reply = pid > 0 ? static_cast<int32_t>(pid) : -errno;
    }
    alignas(cmsghdr) char out_control[CMSG_SPACE(sizeof(int))];
    iovec out_iov{&reply, sizeof(reply)};
    msghdr out{};
    out.msg_iov = &out_iov;
    out.msg_iovlen = 1;
    if (pidfd >= 0) {
      memset(out_control, 0, sizeof(out_control));
      out.msg_control = out_control;
      out.msg_controllen = sizeof(out_control);
      cmsghdr* oc = CMSG_FIRSTHDR(&out);
      oc->cmsg_level = SOL_SOCKET;
      oc->cmsg_type = SCM_RIGHTS;
      oc->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(oc), &pidfd, sizeof(int));
    }
    ssize_t sent;
    do {
      sent = sendmsg(3, &out, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (ready_fd >= 0) close(ready_fd);
    if (userns_fd >= 0) close(userns_fd);
    if (pidfd >= 0) close(pidfd);
    if (sent < 0) _exit(0);
  }
}

// ---------------------------------------------------------------------------

class Launcher {
 public:
  Launcher() {
    self_pidns_fd_ = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    const unsigned hw = std::thread::hardware_concurrency();
    threads_ = static_cast<int>(std::clamp(hw, 2u, 4u));
    for (int i = 0; i < threads_; ++i) {
      // Detached and never joined: launcher threads must outlive every child
      // (PR_SET_PDEATHSIG follows the creating thread). A host out of
      // threads (EAGAIN) leaves fewer; none makes pod starts fail, not the
      // runtime (GetLauncher).
      try {
        std::thread([this] { Loop(); }).detach();
      } catch (const std::system_error&) {
        threads_ = i;
        break;
      }
    }
  }

  int threads() const { return threads_; }
  int self_pidns_fd() const { return self_pidns_fd_; }

  // Runs `fn` on a launcher thread and returns when it finished.
  void Run(const std::function<void()>& fn) {
    Task task{&fn, false};
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(&task);
    }
    mu_.LockWhen(absl::Condition(&task.done));
    mu_.Unlock();
  }

  // Zygote state; zygote_mu serialises requests on the socket.
  absl::Mutex zygote_mu;
  int zygote_sock ABSL_GUARDED_BY(zygote_mu) = -1;
  int zygote_pidfd ABSL_GUARDED_BY(zygote_mu) = -1;

 private:
  struct Task {
    const std::function<void()>* fn;
    bool done;
  };

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); }

  void Loop() {
    // Signals are handled by the runtime's own threads, never here: a
    // handler must not run while this thread is between clone and exec.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (;;) {
      mu_.LockWhen(absl::Condition(this, &Launcher::HasWork));
      Task* task = queue_.front();
      queue_.pop_front();
      mu_.Unlock();
      (*task->fn)();
      absl::MutexLock lock(&mu_);
      task->done = true;
    }
  }

  int threads_ = 0;
  int self_pidns_fd_ = -1;
  absl::Mutex mu_;
  std::deque<Task*> queue_ ABSL_GUARDED_BY(mu_);
};

// After fork() the child has none of the parent's launcher threads; it gets a
// fresh Launcher (the old one is leaked: its mutexes may be held forever).
std::atomic<Launcher*> g_launcher{nullptr};
std::mutex* g_launcher_mu = new std::mutex;

void ResetLauncherAfterFork() {
  g_launcher.store(nullptr);
  g_launcher_mu = new std::mutex;
}

// Null when no launcher thread could be created (tried again next time).
Launcher* GetLauncher() {
  static const int registered = pthread_atfork(nullptr, nullptr, &ResetLauncherAfterFork);
  (void)registered;
  Launcher* l = g_launcher.load();
  if (l != nullptr) return l;
  std::lock_guard<std::mutex> lock(*g_launcher_mu);
  l = g_launcher.load();
  if (l == nullptr) {
    l = new Launcher();
    if (l->threads() == 0) {
      delete l;  // no thread refers to it
      return nullptr;
    }
    g_launcher.store(l);
  }
  return l;
}

thread_local char* t_child_stack = nullptr;

// The highest capability this kernel knows (CAP_LAST_CAP of the kernel, not
// of the headers we were built with).
int LastCapability() {
  static const int last = [] {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char buf[16] = {};
    const ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0) close(fd);
    int v = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) v = v * 10 + (buf[i] - '0');
    return n > 0 && v > 0 && v < 64 ? v : 63;
  }();
  return last;
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

absl::Status EnsureZygote(Launcher& l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l.zygote_mu) {
  if (l.zygote_sock >= 0) return absl::OkStatus();
  absl::Status status = absl::OkStatus();
  l.Run([&] {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      status = ErrnoStatus(errno, "zygote socketpair");
      return;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) ZygoteMain(sv[1], parent);
    close(sv[1]);
    if (pid < 0) {
      status = ErrnoStatus(errno, "fork zygote");
      close(sv[0]);
      return;
    }
    timeval tv{10, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    l.zygote_sock = sv[0];
    l.zygote_pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  });
  return status;
}

void DropZygote(Launcher& l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l.zygote_mu) {
  if (l.zygote_sock >= 0) close(l.zygote_sock);
  l.zygote_sock = -1;
  if (l.zygote_pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, l.zygote_pidfd, SIGKILL, nullptr, 0);
    siginfo_t info;
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(l.zygote_pidfd), &info, WEXITED);
    close(l.zygote_pidfd);
  }
  l.zygote_pidfd = -1;
}

// One request/reply with the zygote. Returns the holder pid and its pidfd.
absl::Status AskZygote(Launcher& l, const std::string& encoded, int ready_w, int userns_fd,
                       pid_t* pid, int* pidfd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l.zygote_mu) {
  const int fds[2] = {ready_w, userns_fd};
  const size_t num_fds = userns_fd >= 0 ? 2 : 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  memset(control, 0, sizeof(control));
  iovec iov{const_cast<char*>(encoded.data()), encoded.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(num_fds * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(num_fds * sizeof(int));
  memcpy(CMSG_DATA(c), fds, num_fds * sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(l.zygote_sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "send to zygote");

  int32_t reply = 0;
  alignas(cmsghdr) char in_control[CMSG_SPACE(sizeof(int))];
  iovec in_iov{&reply, sizeof(reply)};
  msghdr in{};
  in.msg_iov = &in_iov;
  in.msg_iovlen = 1;
  in.msg_control = in_control;
  in.msg_controllen = sizeof(in_control);
  do {
    n = recvmsg(l.zygote_sock, &in, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "receive from zygote");
  if (n != sizeof(reply)) return absl::UnavailableError("zygote exited");
  if (reply <= 0) return ErrnoStatus(-reply, "clone pod holder with new namespaces");
  cmsghdr* rc = CMSG_FIRSTHDR(&in);
  if (rc == nullptr || rc->cmsg_type != SCM_RIGHTS) {
    return absl::InternalError("zygote reply without pidfd");
  }
  memcpy(pidfd, CMSG_DATA(rc), sizeof(int));
  *pid = reply;
  return absl::OkStatus();
}

}  // namespace

int LauncherThreads() {
  Launcher* l = GetLauncher();
  return l == nullptr ? 0 : l->threads();
}

namespace {
absl::Status NoLauncher() {
  return absl::ResourceExhaustedError("cannot create a launcher thread (out of threads)");
}
}  // namespace

absl::StatusOr<ChildHandle> LaunchChild(const ChildSpec& spec) {
  if (spec.argv.empty() || spec.candidates.empty()) {
    return absl::InvalidArgumentError("argv: must not be empty");
  }
  if (spec.stdin_fd < 0 || spec.output_fd < 0) {
    return absl::InvalidArgumentError("stdin and output descriptors are required");
  }
  Launcher* launcher_ptr = GetLauncher();
  if (launcher_ptr == nullptr) return NoLauncher();
  Launcher& launcher = *launcher_ptr;
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  std::vector<char*> candidates = CStrings(spec.candidates);
  ChildArgs args{};
  args.candidates = candidates.data();
  args.num_candidates = static_cast<int>(spec.candidates.size());
  args.argv = argv.data();
  args.envp = envp.data();
  args.cwd = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  std::string cwd_scratch = spec.working_dir;
  if (spec.create_working_dir && args.cwd != nullptr && spec.working_dir[0] == '/') {
    args.cwd_scratch = cwd_scratch.data();
  }
  args.stdin_fd = spec.stdin_fd;
  args.output_fd = spec.output_fd;
  args.failed_candidate = -1;
  args.cgroup_fds = spec.cgroup_procs_fds.data();
  args.num_cgroup_fds = static_cast<int>(spec.cgroup_procs_fds.size());
  args.restrict_caps = spec.restrict_capabilities;
  if (args.restrict_caps) {
    args.last_cap = LastCapability();
    args.cap_header = {_LINUX_CAPABILITY_VERSION_3, 0};
    for (int i = 0; i < 2; ++i) {
      const auto word = static_cast<uint32_t>(spec.capabilities >> (32 * i));
      args.cap_data[i] = {.effective = word, .permitted = word, .inheritable = word};
    }
  }
  args.no_new_privs = spec.no_new_privs;
  args.seccomp = spec.seccomp;
  std::vector<gid_t> groups(spec.groups.begin(), spec.groups.end());
  args.set_ids = spec.set_ids;
  args.uid = spec.uid;
  args.gid = spec.gid;
  args.groups = groups.data();
  args.num_groups = static_cast<int>(groups.size());
  args.read_only_root = spec.read_only_root;
  sigemptyset(&args.empty_mask);
  // Mount last: after it, paths resolve inside the pod.
  const std::pair<int, int> ns[] = {{spec.netns_fd, CLONE_NEWNET},
                                    {spec.utsns_fd, CLONE_NEWUTS},
                                    {spec.ipcns_fd, CLONE_NEWIPC},
                                    {spec.mntns_fd, CLONE_NEWNS}};
  for (const auto& [fd, type] : ns) {
    if (fd < 0) continue;
    args.ns_fds[args.num_ns] = fd;
    args.ns_types[args.num_ns] = type;
    ++args.num_ns;
  }
  args.userns_fd = spec.userns_fd;
  // A child in the pod's PID namespace sees its parent (outside) as pid 0.
  args.expected_ppid = spec.pidns_fd >= 0 ? 0 : getpid();

  pid_t pid = -1;
  int pidfd = -1;
  int clone_errno = 0;
  absl::Status setup = absl::OkStatus();
  launcher.Run([&] {
    if (t_child_stack == nullptr) {
      void* m = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (m == MAP_FAILED) {
        setup = ErrnoStatus(errno, "allocate clone stack");
        return;
      }
      t_child_stack = static_cast<char*>(m);
    }
    if (spec.pidns_fd >= 0 && setns(spec.pidns_fd, CLONE_NEWPID) != 0) {
      setup = ErrnoStatus(errno, "enter pod PID namespace");
      return;
    }
    pid = clone(&ChildMain, t_child_stack + kChildStackBytes,
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &args, &pidfd);
    clone_errno = errno;
    if (spec.pidns_fd >= 0 && setns(launcher.self_pidns_fd(), CLONE_NEWPID) != 0) {
      // Later children of this thread would land in the wrong pod.
      abort();
    }
  });
  RETURN_IF_ERROR(setup);
  if (pid < 0) return ErrnoStatus(clone_errno, "clone");
  if (args.stage == kStageOk) return ChildHandle{pid, pidfd};

  siginfo_t info;
  waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
  close(pidfd);
  switch (args.stage) {
    case kStageSetns:
      return ErrnoStatus(args.error, "join pod namespaces");
    case kStageStdio:
      return ErrnoStatus(args.error, "redirect stdio");
    case kStageChdir:
      return ErrnoStatus(args.error, absl::StrCat("working directory \"", spec.working_dir, "\""));
    case kStageCgroup:
      return ErrnoStatus(args.error, "join container cgroup");
    case kStageSecurity:
      return ErrnoStatus(args.error, "restrict capabilities, no_new_privs or seccomp");
    case kStageUserns:
      return ErrnoStatus(args.error, "enter the pod's user namespace as its root");
    default:
      break;
  }
  if (args.failed_candidate >= 0) {
    return ErrnoStatus(args.error,
                       absl::StrCat("exec \"", spec.candidates[args.failed_candidate], "\""));
  }
  if (spec.candidates.size() == 1) {
    return ErrnoStatus(args.error, absl::StrCat("exec \"", spec.candidates[0], "\""));
  }
  return ErrnoStatus(args.error, absl::StrCat("exec \"", spec.argv[0], "\" (searched ",
                                              absl::StrJoin(spec.candidates, ", "), ")"));
}

namespace {

// A child cloned into a new user namespace only holds it while the runtime
// writes its maps and opens it, then is SIGKILLed (or dies with its launcher
// thread). No pipe: a child cloned without exec keeps a copy of every
// descriptor, so one pod's child would hold another's pipe open.
int UsernsHolderMain(void* p) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != *static_cast<const pid_t*>(p)) _exit(0);  // launcher already gone
  for (;;) pause();  // every signal but SIGKILL is blocked (launcher thread's mask)
}

constexpr size_t kUsernsStackBytes = 16 * 1024;
thread_local char* t_userns_stack = nullptr;

absl::Status WriteProcFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return ErrnoStatus(err, absl::StrCat("write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> CreateUserNamespace(uint32_t host_base, uint32_t count) {
  if (count == 0 || host_base == 0 || uint64_t{host_base} + count > 0xffffffffu) {
    return absl::InvalidArgumentError(
        absl::StrCat("user namespace: host ids ", host_base, "+", count, " out of range"));
  }
  Launcher* launcher_ptr = GetLauncher();
  if (launcher_ptr == nullptr) return NoLauncher();
  absl::Status status = absl::OkStatus();
  int ns_fd = -1;
  // On a launcher thread: it has every signal blocked, which the child
  // (sharing the runtime's memory until it exits) inherits.
  launcher_ptr->Run([&] {
    if (t_userns_stack == nullptr) {
      void* m = mmap(nullptr, kUsernsStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (m == MAP_FAILED) {
        status = ErrnoStatus(errno, "allocate clone stack");
        return;
      }
      t_userns_stack = static_cast<char*>(m);
    }
    int pidfd = -1;
    const pid_t parent = getpid();
    const pid_t pid = clone(&UsernsHolderMain, t_userns_stack + kUsernsStackBytes,
                            CLONE_NEWUSER | CLONE_VM | CLONE_PIDFD | SIGCHLD,
                            const_cast<pid_t*>(&parent), &pidfd);
    if (pid < 0) {
      status = ErrnoStatus(errno, "clone a user namespace");
      return;
    }
    const std::string map = absl::StrCat("0 ", host_base, " ", count, "\n");
    const std::string proc = absl::StrCat("/proc/", pid, "/");
    status = WriteProcFile(proc + "uid_map", map);
    if (status.ok()) status = WriteProcFile(proc + "gid_map", map);
    if (status.ok()) {
      ns_fd = open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC);
      if (ns_fd < 0) status = ErrnoStatus(errno, "open the user namespace");
    }
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    siginfo_t info;
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
    close(pidfd);
  });
  if (!status.ok()) {
    if (ns_fd >= 0) close(ns_fd);
    return status;
  }
  return ns_fd;
}

absl::StatusOr<HolderResult> LaunchHolder(const std::string& encoded_steps, int userns_fd) {
  if (encoded_steps.size() > kMaxRequestBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("pod setup of ", encoded_steps.size(), " bytes exceeds ", kMaxRequestBytes));
  }
  Launcher* launcher_ptr = GetLauncher();
  if (launcher_ptr == nullptr) return NoLauncher();
  Launcher& launcher = *launcher_ptr;
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  HolderResult result;
  absl::Status asked = absl::OkStatus();
  {
    absl::MutexLock lock(&launcher.zygote_mu);
    // Two attempts: a zygote that died (e.g. killed by an operator) is
    // replaced once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      asked = EnsureZygote(launcher);
      if (!asked.ok()) break;
      asked = AskZygote(launcher, encoded_steps, ready[1], userns_fd, &result.pid, &result.pidfd);
      if (asked.ok()) break;
      DropZygote(launcher);
    }
  }
  close(ready[1]);
  if (!asked.ok()) {
    close(ready[0]);
    return asked;
  }
  int32_t report[2] = {0, 0};
  size_t got = 0;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kHolderReadyTimeoutMs);
  while (got < sizeof(report)) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{ready[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
      close(ready[0]);
      syscall(SYS_pidfd_send_signal, result.pidfd, SIGKILL, nullptr, 0);
      close(result.pidfd);
      return absl::DeadlineExceededError("pod holder did not finish setup within 10s");
    }
    ssize_t n = read(ready[0], reinterpret_cast<char*>(report) + got, sizeof(report) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(ready[0]);
      close(result.pidfd);
      return absl::InternalError("pod holder exited during setup without a report");
    }
    got += static_cast<size_t>(n);
  }
  close(ready[0]);
  result.failed_step = report[0];
  result.error = report[1];
  return result;
}

}  // namespace argonaut::cluster::sandbox::internal
