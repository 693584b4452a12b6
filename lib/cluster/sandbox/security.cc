#include "lib/cluster/sandbox/security.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/sandbox/netlink.h"

namespace argonaut::cluster::sandbox {
namespace {

// Index = capability number (linux/capability.h), as Kubernetes names them.
constexpr const char* kCapabilityNames[] = {"CHOWN",
                                            "DAC_OVERRIDE",
                                            "DAC_READ_SEARCH",
                                            "FOWNER",
                                            "FSETID",
                                            "KILL",
                                            "SETGID",
                                            "SETUID",
                                            "SETPCAP",
                                            "LINUX_IMMUTABLE",
                                            "NET_BIND_SERVICE",
                                            "NET_BROADCAST",
                                            "NET_ADMIN",
                                            "NET_RAW",
                                            "IPC_LOCK",
                                            "IPC_OWNER",
                                            "SYS_MODULE",
                                            "SYS_RAWIO",
                                            "SYS_CHROOT",
                                            "SYS_PTRACE",
                                            "SYS_PACCT",
                                            "SYS_ADMIN",
                                            "SYS_BOOT",
                                            "SYS_NICE",
                                            "SYS_RESOURCE",
                                            "SYS_TIME",
                                            "SYS_TTY_CONFIG",
                                            "MKNOD",
                                            "LEASE",
                                            "AUDIT_WRITE",
                                            "AUDIT_CONTROL",
                                            "SETFCAP",
                                            "MAC_OVERRIDE",
                                            "MAC_ADMIN",
                                            "SYSLOG",
                                            "WAKE_ALARM",
                                            "BLOCK_SUSPEND",
                                            "AUDIT_READ",
                                            "PERFMON",
                                            "BPF",
                                            "CHECKPOINT_RESTORE"};
constexpr int kNumCapabilities = sizeof(kCapabilityNames) / sizeof(kCapabilityNames[0]);
static_assert(kNumCapabilities == CAP_CHECKPOINT_RESTORE + 1);

uint64_t Bit(int cap) { return uint64_t{1} << cap; }

uint64_t AllCapabilities() { return (uint64_t{1} << kNumCapabilities) - 1; }

}  // namespace

uint64_t DockerDefaultCapabilities() {
  return Bit(CAP_CHOWN) | Bit(CAP_DAC_OVERRIDE) | Bit(CAP_FSETID) | Bit(CAP_FOWNER) |
         Bit(CAP_MKNOD) | Bit(CAP_NET_RAW) | Bit(CAP_SETGID) | Bit(CAP_SETUID) | Bit(CAP_SETFCAP) |
         Bit(CAP_SETPCAP) | Bit(CAP_NET_BIND_SERVICE) | Bit(CAP_SYS_CHROOT) | Bit(CAP_KILL) |
         Bit(CAP_AUDIT_WRITE);
}

absl::StatusOr<int> CapabilityFromName(std::string_view name) {
  std::string upper = absl::AsciiStrToUpper(AbslView(name));
  if (absl::StartsWith(upper, "CAP_")) upper = upper.substr(4);
  for (int i = 0; i < kNumCapabilities; ++i) {
    if (upper == kCapabilityNames[i]) return i;
  }
  return absl::NotFoundError(absl::StrCat("unknown capability \"", AbslView(name), "\""));
}

absl::StatusOr<uint64_t> ContainerCapabilities(const ContainerSecurity& security,
                                               std::string_view field) {
  if (security.privileged) return AllCapabilities();
  uint64_t caps = DockerDefaultCapabilities();
  auto each = [&](const std::vector<std::string>& names, const char* list,
                  bool add) -> absl::Status {
    for (size_t i = 0; i < names.size(); ++i) {
      if (absl::AsciiStrToUpper(names[i]) == "ALL") {
        caps = add ? AllCapabilities() : 0;
        continue;
      }
      absl::StatusOr<int> cap = CapabilityFromName(names[i]);
      if (!cap.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ".capabilities.", list, "[",
                                                       i, "]: ", cap.status().message()));
      }
      caps = add ? (caps | Bit(*cap)) : (caps & ~Bit(*cap));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(each(security.drop_capabilities, "drop", false));
  RETURN_IF_ERROR(each(security.add_capabilities, "add", true));
  return caps;
}

const std::vector<std::string>& DefaultSeccompDenied() {
  // Docker's default profile refuses these to a container without the
  // matching capability (and we never grant one to lift them: adding
  // SYS_ADMIN does not; seccompProfile Unconfined does). ptrace and
  // process_vm_* stay allowed, as in Docker on kernels >= 4.8.
  static const auto* names = new std::vector<std::string>{"acct",
                                                          "add_key",
                                                          "bpf",
                                                          "clock_adjtime",
                                                          "clock_settime",
                                                          "create_module",
                                                          "delete_module",
                                                          "fanotify_init",
                                                          "finit_module",
                                                          "fsconfig",
                                                          "fsmount",
                                                          "fsopen",
                                                          "fspick",
                                                          "get_kernel_syms",
                                                          "init_module",
                                                          "io_uring_enter",
                                                          "io_uring_register",
                                                          "io_uring_setup",
                                                          "ioperm",
                                                          "iopl",
                                                          "kcmp",
                                                          "kexec_file_load",
                                                          "kexec_load",
                                                          "keyctl",
                                                          "lookup_dcookie",
                                                          "mount",
                                                          "mount_setattr",
                                                          "move_mount",
                                                          "name_to_handle_at",
                                                          "nfsservctl",
                                                          "open_by_handle_at",
                                                          "open_tree",
                                                          "perf_event_open",
                                                          "pivot_root",
                                                          "query_module",
                                                          "quotactl",
                                                          "quotactl_fd",
                                                          "reboot",
                                                          "request_key",
                                                          "setns",
                                                          "settimeofday",
                                                          "stime",
                                                          "swapoff",
                                                          "swapon",
                                                          "syslog",
                                                          "sysfs",
                                                          "_sysctl",
                                                          "umount",
                                                          "umount2",
                                                          "unshare",
                                                          "uselib",
                                                          "userfaultfd",
                                                          "ustat",
                                                          "vm86",
                                                          "vm86old"};
  return *names;
}

absl::StatusOr<const sock_fprog*> DefaultSeccompProgram() {
  static std::once_flag once;
  static absl::StatusOr<const sock_fprog*>* result = nullptr;
  std::call_once(once, [] {
    auto build = []() -> absl::StatusOr<const sock_fprog*> {
      scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
      if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
      std::unique_ptr<void, void (*)(void*)> guard(ctx, [](void* c) { seccomp_release(c); });
      // A syscall of another ABI (i386 through int 0x80, x32) would bypass a
      // denylist written for the native one: kill instead.
      int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      if (rc != 0) return ErrnoStatus(-rc, "seccomp: bad-arch action");
      for (const std::string& name : DefaultSeccompDenied()) {
        const int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr < 0) continue;  // not a syscall on this architecture
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (rc != 0) return ErrnoStatus(-rc, absl::StrCat("seccomp: rule for ", name));
      }
      for (const uint64_t flag : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP}) {
        const scmp_arg_cmp cmp{0, SCMP_CMP_MASKED_EQ, flag, flag};
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &cmp);
        if (rc != 0) return ErrnoStatus(-rc, "seccomp: rule for clone");
      }
      // clone3 passes its flags in memory a filter cannot read.
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
      if (rc != 0) return ErrnoStatus(-rc, "seccomp: rule for clone3");
      const int fd = memfd_create("argn-seccomp", MFD_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "memfd_create");
      rc = seccomp_export_bpf(ctx, fd);
      struct stat st;
      if (rc != 0 || fstat(fd, &st) != 0 || st.st_size <= 0 ||
          st.st_size % sizeof(sock_filter) != 0) {
        close(fd);
        return absl::InternalError("seccomp: exporting the filter failed");
      }
      auto* filter = new sock_filter[st.st_size / sizeof(sock_filter)];
      const ssize_t n = pread(fd, filter, static_cast<size_t>(st.st_size), 0);
      close(fd);
      if (n != st.st_size) {
        delete[] filter;
        return absl::InternalError("seccomp: reading the exported filter failed");
      }
      auto* prog =
          new sock_fprog{static_cast<unsigned short>(st.st_size / sizeof(sock_filter)), filter};
      return prog;  // lives for the process
    };
    result = new absl::StatusOr<const sock_fprog*>(build());
  });
  return *result;
}

}  // namespace argonaut::cluster::sandbox
