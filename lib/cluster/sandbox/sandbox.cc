#include "lib/cluster/sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/sandbox/launcher.h"
#include "lib/cluster/sandbox/netlink.h"
#include "lib/cluster/sandbox/network_plan.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster::sandbox {
namespace {

constexpr char kComponent[] = "sandbox";
constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr size_t kMaxPathEntries = 64;
constexpr size_t kMaxArgs = 100000;

absl::Status MakeDir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("create directory ", path, ": ", ec.message()));
  // create_directories applies the umask; /tmp needs its sticky 1777.
  if (chmod(path.c_str(), mode) != 0) return ErrnoStatus(errno, absl::StrCat("chmod ", path));
  return absl::OkStatus();
}

// Opens with O_CLOEXEC at a descriptor >= 3, so dup2 onto 0-2 in the child
// never meets itself (which would keep O_CLOEXEC and close it at exec).
absl::StatusOr<int> OpenHigh(const std::string& path, int flags, std::string_view field) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ErrnoStatus(errno, absl::StrCat(AbslView(field), " \"", path, "\""));
  }
  if (fd < 3) {
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int err = errno;
    close(fd);
    if (high < 0) return ErrnoStatus(err, "dup");
    fd = high;
  }
  return fd;
}

absl::Status CheckNoNul(const std::string& s, std::string_view field) {
  if (s.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": contains a NUL byte"));
  }
  return absl::OkStatus();
}

bool WaitPidfd(int pidfd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    pollfd p{pidfd, POLLIN, 0};
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    const int rc = poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0)));
    if (rc > 0) return true;
    if (rc == 0 || left <= 0) return false;
    // EINTR: loop, bounded by the deadline.
  }
}

// The host's mounts that a pod's root must carry (mount_plan.h).
absl::StatusOr<std::vector<std::string>> HostMounts() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return absl::InternalError("read /proc/self/mountinfo: cannot open");
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(std::vector<std::string> points, ParseMountPoints(text.str()));
  std::vector<std::string> carried = HostMountsToCarry(points);
  if (carried.size() > kMaxHostMounts) {
    // A host with hundreds of mounts (container runtimes' layers) should not
    // stop pods from starting; the rest stay hidden in pods.
    static std::once_flag warned;
    std::call_once(warned, [&] {
      LogWarn(kComponent, "too many host mounts: pods see only the first ones",
              {{"mounts", std::to_string(carried.size())},
               {"carried", std::to_string(kMaxHostMounts)}});
    });
    carried.resize(kMaxHostMounts);
  }
  return carried;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir ||
         (absl::StartsWith(path, dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) != nullptr ? std::string(buf) : "";
}

// Each volume source's realpath, which the holder opens without following
// symlinks. A source below a hidden path must stay below it once resolved:
// a symlink planted in a directory pods write to (the artifact repository)
// must not mount the host's / into the next pod that names it.
absl::Status ResolveVolumeSources(const SandboxOptions& options,
                                  std::vector<std::string>* open_paths) {
  std::vector<std::pair<std::string, std::string>> hidden;  // lexical, resolved
  for (const std::string& h : options.hidden_paths) {
    absl::StatusOr<std::string> norm = NormalizeAbsolutePath(h, "hidden_paths");
    if (!norm.ok()) continue;  // the planner reports it
    hidden.push_back({*norm, RealPath(*norm)});
  }
  open_paths->assign(options.volumes.size(), "");
  for (size_t i = 0; i < options.volumes.size(); ++i) {
    const std::string& source = options.volumes[i].source;
    if (source.empty()) continue;
    absl::StatusOr<std::string> norm = NormalizeAbsolutePath(source, "source");
    const std::string resolved = RealPath(source);
    if (!norm.ok() || resolved.empty()) continue;  // the planner reports it
    for (const auto& [lexical, real] : hidden) {
      if (IsUnder(*norm, lexical) && !real.empty() && !IsUnder(resolved, real)) {
        return absl::PermissionDeniedError(absl::StrCat("volumes[", i, "].source: \"", source,
                                                        "\" leads out of \"", lexical,
                                                        "\" through a symlink"));
      }
    }
    (*open_paths)[i] = resolved;
  }
  return absl::OkStatus();
}

// What runc does by default to a container's process, unless privileged.
absl::Status ApplySecurity(const ContainerSecurity& security, internal::ChildSpec* child) {
  // Ids and a read-only root hold for privileged containers too.
  if (security.run_as_user || security.run_as_group || !security.supplemental_groups.empty()) {
    child->set_ids = true;
    child->uid = security.run_as_user.value_or(0);
    child->gid = security.run_as_group.value_or(0);
    child->groups = security.supplemental_groups;
  }
  child->read_only_root = security.read_only_root_filesystem;
  if (security.privileged) return absl::OkStatus();
  ASSIGN_OR_RETURN(child->capabilities, ContainerCapabilities(security));
  child->restrict_capabilities = true;
  child->no_new_privs = !security.allow_privilege_escalation.value_or(false);
  if (!security.seccomp_unconfined) {
    ASSIGN_OR_RETURN(child->seccomp, DefaultSeccompProgram());
  }
  return absl::OkStatus();
}

}  // namespace

bool Sandbox::CanIsolate() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))) != 0;
}

absl::Status Sandbox::CleanupStale(std::string_view seed) { return PodNetwork::CleanupStale(seed); }

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  std::unique_ptr<Sandbox> sb(new Sandbox(options));
  RETURN_IF_ERROR(CheckNoNul(options.pod_name, "pod_name"));
  for (size_t i = 0; i < options.env.size(); ++i) {
    const std::string field = absl::StrCat("env[", i, "]");
    RETURN_IF_ERROR(CheckNoNul(options.env[i], field));
    if (options.env[i].find('=') == std::string::npos || options.env[i][0] == '=') {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not of the form KEY=VALUE"));
    }
  }
  if (!options.pod_dir.empty()) {
    ASSIGN_OR_RETURN(std::string dir, NormalizeAbsolutePath(options.pod_dir, "pod_dir"));
    // What an earlier sandbox of the same pod left (a pod started again
    // after a runtime restart) must not leak into this one.
    std::error_code ec;
    if (options.keep_pod_dir && std::filesystem::exists(dir, ec)) {
      std::filesystem::remove_all(dir, ec);
      if (ec) {
        return absl::InternalError(absl::StrCat("pod_dir: cannot clear ", dir, ": ", ec.message()));
      }
    }
  }
  bool isolate = options.isolate;
  if (isolate && !CanIsolate()) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      LogWarn(kComponent,
              "no CAP_SYS_ADMIN: pods run as plain processes without namespaces, private /tmp, "
              "volumes or pod IPs");
    });
    isolate = false;
  }
  absl::Status started = isolate ? sb->StartIsolated() : sb->StartPlain();
  if (!started.ok()) {
    (void)sb->Destroy(absl::ZeroDuration());
    return started;
  }
  return sb;
}

absl::Status Sandbox::StartPlain() {
  if (options_.pod_dir.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(MakeDir(options_.pod_dir, 0755));
  RETURN_IF_ERROR(MakeDir(options_.pod_dir + "/tmp", 01777));
  RETURN_IF_ERROR(MakeDir(options_.pod_dir + "/work", 0755));
  if (!options_.volumes.empty()) {
    LogWarn(kComponent, "plain mode: volumes are not mounted",
            {{"pod", options_.pod_name}, {"volumes", std::to_string(options_.volumes.size())}});
  }
  return absl::OkStatus();
}

uint32_t UserNamespaceBase(std::string_view seed) {
  constexpr uint64_t kFirst = uint64_t{1} << 28;
  constexpr uint64_t kRanges = ((uint64_t{1} << 32) - 2 * kFirst) / kUserNamespaceSize;
  return static_cast<uint32_t>(kFirst + (StableHash(seed) % kRanges) * kUserNamespaceSize);
}

absl::Status Sandbox::StartIsolated() {
  PodMountInput input;
  input.hostname = options_.pod_name;
  input.volumes = options_.volumes;
  input.hidden_paths = options_.hidden_paths;
  if (!options_.pod_dir.empty()) {
    RETURN_IF_ERROR(MakeDir(options_.pod_dir, 0755));
    RETURN_IF_ERROR(MakeDir(options_.pod_dir + "/tmp", 01777));
    input.tmp_source = options_.pod_dir + "/tmp";
    input.scratch_dir = options_.pod_dir;
    struct statfs fs;
    input.upper_on_tmpfs =
        statfs(options_.pod_dir.c_str(), &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC;
  }
  RETURN_IF_ERROR(ResolveVolumeSources(options_, &input.volume_open_paths));
  ASSIGN_OR_RETURN(input.host_mounts, HostMounts());
  if (options_.user_namespace_base.has_value()) {
    absl::StatusOr<int> fd =
        internal::CreateUserNamespace(*options_.user_namespace_base, kUserNamespaceSize);
    if (fd.ok()) {
      userns_fd_ = *fd;
      input.user_namespace_base = options_.user_namespace_base;
    } else {
      LogWarn(kComponent, "pod runs in the host's user namespace: cannot create one",
              {{"pod", options_.pod_name}, {"error", fd.status().ToString()}});
    }
  }
  bool setup_failed = false;
  absl::Status started = StartHolder(input, &setup_failed);
  if (!started.ok() && setup_failed && userns_fd_ >= 0) {
    // E.g. a root filesystem without idmapped mounts: the pod still runs,
    // as it would have without user namespaces.
    LogWarn(kComponent, "pod runs in the host's user namespace: its setup failed in its own",
            {{"pod", options_.pod_name}, {"error", started.ToString()}});
    ReleaseHolder();
    if (!options_.pod_dir.empty()) {
      // The failed overlay's layers (a "volatile" one refuses to be reused).
      std::error_code ec;
      std::filesystem::remove_all(options_.pod_dir + "/rootfs", ec);
    }
    close(userns_fd_);
    userns_fd_ = -1;
    input.user_namespace_base.reset();
    started = StartHolder(input, &setup_failed);
  }
  RETURN_IF_ERROR(started);
  if (userns_fd_ >= 0) userns_base_ = options_.user_namespace_base;
  if (options_.network != nullptr) {
    ASSIGN_OR_RETURN(attachment_, options_.network->Attach(ns_fds_[0]));
    attached_ = true;
    ip_ = attachment_.ip;
  }
  return absl::OkStatus();
}

void Sandbox::ReleaseHolder() {
  if (holder_pidfd_ >= 0) {
    syscall(SYS_pidfd_send_signal, holder_pidfd_, SIGKILL, nullptr, 0);
    WaitPidfd(holder_pidfd_, absl::Seconds(10));
    close(holder_pidfd_);
  }
  holder_pidfd_ = -1;
  holder_pid_ = -1;
  for (int& fd : ns_fds_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

absl::Status Sandbox::StartHolder(const PodMountInput& input, bool* setup_failed) {
  *setup_failed = false;
  ASSIGN_OR_RETURN(std::vector<MountOp> steps, PlanPodMounts(input, &ProbeHostPath));
  ASSIGN_OR_RETURN(std::string encoded, EncodeMountOps(steps));
  ASSIGN_OR_RETURN(internal::HolderResult holder,
                   internal::LaunchHolder(encoded, input.user_namespace_base ? userns_fd_ : -1));
  holder_pid_ = holder.pid;
  holder_pidfd_ = holder.pidfd;
  isolated_ = true;
  if (holder.failed_step >= 0) {
    *setup_failed = true;
    const std::string step = static_cast<size_t>(holder.failed_step) < steps.size()
                                 ? steps[holder.failed_step].Describe()
                                 : "decode setup";
    return ErrnoStatus(holder.error, absl::StrCat("pod ", options_.pod_name, ": ", step));
  }
  const char* names[5] = {"net", "uts", "ipc", "mnt", "pid"};
  for (int i = 0; i < 5; ++i) {
    const std::string path = absl::StrCat("/proc/", holder_pid_, "/ns/", names[i]);
    ns_fds_[i] = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fds_[i] < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  }
  // The fds above name the holder's namespaces only if that pid was still
  // the holder when they were opened; the pidfd tells.
  pollfd p{holder_pidfd_, POLLIN, 0};
  if (poll(&p, 1, 0) != 0) {
    return absl::InternalError(absl::StrCat("pod ", options_.pod_name, ": holder exited"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Sandbox::MergedEnv(const ProcessSpec& spec) const {
  std::vector<std::string> env;
  std::map<std::string, size_t> index;
  auto add = [&](const std::string& kv) {
    const std::string key = kv.substr(0, kv.find('='));
    auto it = index.find(key);
    if (it != index.end()) {
      env[it->second] = kv;
    } else {
      index[key] = env.size();
      env.push_back(kv);
    }
  };
  if (!isolated_ && !options_.pod_dir.empty()) add("TMPDIR=" + options_.pod_dir + "/tmp");
  for (const std::string& kv : options_.env) add(kv);
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const std::string field = absl::StrCat("env[", i, "]");
    RETURN_IF_ERROR(CheckNoNul(spec.env[i], field));
    if (spec.env[i].find('=') == std::string::npos || spec.env[i][0] == '=') {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not of the form KEY=VALUE"));
    }
    add(spec.env[i]);
  }
  // Last, so a pod cannot claim a private root it does not have: argoexec
  // overwrites an image's file with an input artifact only in a pod's own
  // root filesystem, never in the host's.
  add(absl::StrCat(kPodRootfsEnv, "=", isolated_ ? "private" : "host"));
  if (!isolated_ && !options_.volumes.empty()) {
    // Nothing is mounted in plain mode; the platform's own programs (argoexec
    // reading its mounted Secrets) find a volume's files at its host path.
    nlohmann::json mounts = nlohmann::json::array();
    for (const VolumeMount& v : options_.volumes) {
      if (!v.source.empty()) mounts.push_back({v.mount_path, v.source});
    }
    add(absl::StrCat(kPlainMountsEnv, "=", mounts.dump()));
  }
  return env;
}

absl::StatusOr<std::unique_ptr<Process>> Sandbox::Spawn(const ProcessSpec& spec) {
  {
    absl::MutexLock lock(&mu_);
    if (destroyed_) return absl::FailedPreconditionError("sandbox was destroyed");
  }
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return absl::InvalidArgumentError("argv: argv[0] must not be empty");
  }
  if (spec.argv.size() > kMaxArgs) {
    return absl::InvalidArgumentError(absl::StrCat("argv: more than ", kMaxArgs, " arguments"));
  }
  for (size_t i = 0; i < spec.argv.size(); ++i) {
    RETURN_IF_ERROR(CheckNoNul(spec.argv[i], absl::StrCat("argv[", i, "]")));
  }
  RETURN_IF_ERROR(CheckNoNul(spec.working_dir, "working_dir"));
  RETURN_IF_ERROR(CheckNoNul(spec.log_path, "log_path"));
  internal::ChildSpec child;
  ASSIGN_OR_RETURN(child.env, MergedEnv(spec));
  if (isolated_) RETURN_IF_ERROR(ApplySecurity(spec.security, &child));
  child.argv = spec.argv;
  const std::string& cmd = spec.argv[0];
  if (cmd.find('/') != std::string::npos) {
    child.candidates.push_back(cmd);
  } else {
    std::string path = kDefaultPath;
    for (const std::string& kv : child.env) {
      if (absl::StartsWith(kv, "PATH=")) path = kv.substr(5);
    }
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      if (child.candidates.size() >= kMaxPathEntries) break;
      child.candidates.push_back(absl::StrCat(dir.empty() ? "." : dir, "/", cmd));
    }
  }
  child.working_dir = spec.working_dir;
  // The pod's root is private: creating a missing working directory there
  // changes nothing on the host.
  child.create_working_dir = isolated_;
  if (child.working_dir.empty()) {
    if (isolated_) {
      child.working_dir = "/";
    } else if (!options_.pod_dir.empty()) {
      child.working_dir = options_.pod_dir + "/work";
    }
  }
  ASSIGN_OR_RETURN(int null_fd, OpenHigh("/dev/null", O_RDONLY, "stdin"));
  absl::StatusOr<int> log_fd =
      spec.output_fd >= 0     ? absl::StatusOr<int>(fcntl(spec.output_fd, F_DUPFD_CLOEXEC, 3))
      : spec.log_path.empty() ? OpenHigh("/dev/null", O_WRONLY, "stdout")
                              : OpenHigh(spec.log_path, O_WRONLY | O_CREAT | O_APPEND, "log_path");
  if (log_fd.ok() && *log_fd < 0) log_fd = ErrnoStatus(errno, "output_fd");
  if (!log_fd.ok()) {
    close(null_fd);
    return log_fd.status();
  }
  if (userns_base_.has_value()) {
    // Programs reopen their output through /proc/self/fd/1 (nginx's
    // access_log, images linking log files to /dev/stdout). The pipe
    // belongs to host root, which the pod's namespace does not map: give
    // it to the container's user (pod root unless runAsUser says otherwise),
    // as runc does with its stdio pipes.
    const uid_t uid = *userns_base_ + (child.set_ids ? child.uid : 0);
    const gid_t gid = *userns_base_ + (child.set_ids ? child.gid : 0);
    struct stat st;
    if (fstat(*log_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        (st.st_uid != uid || st.st_gid != gid)) {
      (void)fchown(*log_fd, uid, gid);
    }
  }
  child.cgroup_procs_fds = spec.cgroup_procs_fds;
  child.stdin_fd = null_fd;
  child.output_fd = *log_fd;
  if (isolated_) {
    child.netns_fd = ns_fds_[0];
    child.utsns_fd = ns_fds_[1];
    child.ipcns_fd = ns_fds_[2];
    child.mntns_fd = ns_fds_[3];
    child.pidns_fd = ns_fds_[4];
    child.userns_fd = userns_fd_;
  }
  absl::StatusOr<internal::ChildHandle> handle = internal::LaunchChild(child);
  if (!handle.ok() && (!spec.log_path.empty() || spec.output_fd >= 0)) {
    const std::string line =
        absl::StrCat("argonaut: cannot start ", cmd, ": ", handle.status().message(), "\n");
    (void)!write(*log_fd, line.data(), line.size());
  }
  close(null_fd);
  close(*log_fd);
  if (!handle.ok()) return handle.status();
  auto state = std::make_shared<internal::ProcessState>(handle->pid, handle->pidfd);
  {
    absl::MutexLock lock(&mu_);
    if (!destroyed_) {
      // Drop entries of processes already gone so a long-lived pod that
      // runs many probes does not grow this list without bound.
      std::erase_if(procs_,
                    [](const std::weak_ptr<internal::ProcessState>& w) { return w.expired(); });
      procs_.push_back(state);
      return std::make_unique<Process>(std::move(state));
    }
  }
  KillAll({state}, absl::ZeroDuration());
  return absl::FailedPreconditionError("sandbox was destroyed while the process started");
}

absl::Status Sandbox::Destroy(absl::Duration grace) {
  std::vector<std::shared_ptr<internal::ProcessState>> live;
  {
    absl::MutexLock lock(&mu_);
    if (destroyed_) return absl::OkStatus();
    destroyed_ = true;
    for (const auto& w : procs_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    procs_.clear();
  }
  absl::Status result = absl::OkStatus();
  KillAll(live, grace);
  bool holder_gone = holder_pidfd_ < 0;
  if (holder_pidfd_ >= 0) {
    // Killing PID 1 makes the kernel kill everything left in the pod.
    syscall(SYS_pidfd_send_signal, holder_pidfd_, SIGKILL, nullptr, 0);
    if (WaitPidfd(holder_pidfd_, absl::Seconds(10))) {
      holder_gone = true;
    } else if (result.ok()) {
      result = absl::DeadlineExceededError(
          absl::StrCat("pod ", options_.pod_name, ": holder ", holder_pid_, " did not exit"));
    }
    close(holder_pidfd_);
    holder_pidfd_ = -1;
  }
  for (int& fd : ns_fds_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (userns_fd_ >= 0) close(userns_fd_);
  userns_fd_ = -1;
  if (attached_) {
    // With the holder dead and our fds closed the namespace is gone, and the
    // veth with it: skip the slow explicit delete.
    absl::Status s = holder_gone ? options_.network->Release(attachment_)
                                 : options_.network->Detach(attachment_);
    if (!s.ok() && result.ok()) result = s;
    attached_ = false;
  }
  if (!options_.pod_dir.empty() && !options_.keep_pod_dir) {
    std::error_code ec;
    std::filesystem::remove_all(options_.pod_dir, ec);
    if (ec && result.ok()) {
      result = absl::InternalError(
          absl::StrCat("remove pod dir ", options_.pod_dir, ": ", ec.message()));
    }
  }
  return result;
}

Sandbox::~Sandbox() {
  if (absl::Status s = Destroy(absl::ZeroDuration()); !s.ok()) {
    LogWarn(kComponent, "destroy failed", {{"pod", options_.pod_name}, {"error", s.ToString()}});
  }
}

}  // namespace argonaut::cluster::sandbox
