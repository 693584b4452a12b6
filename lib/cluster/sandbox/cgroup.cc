#include "lib/cluster/sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/sandbox/netlink.h"
#include "lib/cluster/sandbox/network_plan.h"

namespace argonaut::cluster::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kControllers[] = {"memory", "cpu", "pids"};

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status WriteText(const std::string& path, std::string_view value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  ssize_t n;
  do {
    n = write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  close(fd);
  if (n < 0) {
    return ErrnoStatus(err, absl::StrCat("write \"", AbslView(value), "\" to ", path));
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// mountinfo escapes blanks and backslashes as octal (\040).
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') {
          ok = false;
          break;
        }
        v = v * 8 + (s[i + k] - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct MountEntry {
  std::string root;
  std::string mount_point;
  std::string fstype;
  std::vector<std::string> super_options;
};

std::vector<MountEntry> ParseMountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    MountEntry e;
    e.root = Unescape(std::string(f[3]));
    e.mount_point = Unescape(std::string(f[4]));
    e.fstype = std::string(dash[1]);
    for (absl::string_view o : absl::StrSplit(dash[3], ',')) e.super_options.emplace_back(o);
    out.push_back(std::move(e));
  }
  return out;
}

// The cgroup path of `own` (as /proc/self/cgroup shows it) below a mount of
// that hierarchy whose root is `mount_root`.
std::string JoinOwn(const std::string& mount_point, const std::string& mount_root,
                    std::string own) {
  if (absl::EndsWith(own, " (deleted)")) own.resize(own.size() - 10);
  std::string rel = own;
  if (mount_root != "/" && absl::StartsWith(own, mount_root)) rel = own.substr(mount_root.size());
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  if (!rel.empty() && rel[0] != '/') rel = "/" + rel;
  return mount_point + rel;
}

// Children of a cgroup directory (subdirectories are child groups).
std::vector<std::string> ChildDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_directory(e2) && !it->is_symlink(e2)) out.push_back(it->path().string());
  }
  return out;
}

void CollectPids(const std::string& dir, std::vector<pid_t>* out) {
  if (std::optional<std::string> text = ReadText(dir + "/cgroup.procs")) {
    for (absl::string_view l : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      int pid = 0;
      if (absl::SimpleAtoi(l, &pid) && pid > 0) out->push_back(pid);
    }
  }
  for (const std::string& child : ChildDirs(dir)) CollectPids(child, out);
}

// Post-order rmdir; false while something is still busy.
bool RemoveTree(const std::string& dir, std::string* error) {
  bool ok = true;
  for (const std::string& child : ChildDirs(dir)) ok = RemoveTree(child, error) && ok;
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    *error = absl::StrCat("rmdir ", dir, ": ", strerror(errno));
    return false;
  }
  return ok;
}

// Kills everything below `dir` and removes it, until `deadline`.
absl::Status DestroyTree(const std::string& dir, bool v2, absl::Time deadline) {
  if (!Exists(dir)) return absl::OkStatus();
  // v2's cgroup.kill is atomic against forks. v1 has no such file: the pids
  // read may fork meanwhile (a fork bomb), hence the loop; a pid read there
  // could in principle be reused between the read and the kill, but the
  // group's processes are the only ones that can free and take pids so
  // quickly, and they are all being killed.
  if (v2 && Exists(dir + "/cgroup.kill")) (void)WriteText(dir + "/cgroup.kill", "1");
  std::string error;
  for (;;) {
    std::vector<pid_t> pids;
    CollectPids(dir, &pids);
    for (pid_t pid : pids) kill(pid, SIGKILL);
    if (pids.empty() && RemoveTree(dir, &error)) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(pids.empty() ? 20 : 2));
  }
  return absl::UnavailableError(
      absl::StrCat("cgroup ", dir, " not removed: ", error.empty() ? "processes left" : error));
}

}  // namespace

int64_t CpuQuotaUs(int64_t millis) {
  if (millis <= 0) return -1;
  return std::max<int64_t>(1000, millis * kCfsPeriodUs / 1000);
}

int64_t CpuShares(int64_t request_millis) {
  if (request_millis <= 0) return 2;
  return std::clamp<int64_t>(request_millis * 1024 / 1000, 2, 262144);
}

int64_t CpuWeightFromShares(int64_t shares) {
  shares = std::clamp<int64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::string CgroupName(std::string_view seed) {
  return absl::StrFormat("argonaut-%08x", StableHash(seed) & 0xffffffffu);
}

bool CgroupDir::Has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

absl::StatusOr<CgroupLayout> PlanCgroupLayout(
    std::string_view mountinfo, std::string_view proc_self_cgroup, std::string_view name,
    const std::function<std::optional<std::string>(const std::string&)>& read_controllers) {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("cgroup name \"", AbslView(name), "\""));
  }
  std::string own_v2;
  std::map<std::string, std::string> own_v1;  // controller -> path
  for (absl::string_view line :
       absl::StrSplit(AbslView(proc_self_cgroup), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) {
      own_v2 = std::string(f[2]);
      continue;
    }
    for (absl::string_view c : absl::StrSplit(f[1], ','))
      own_v1[std::string(c)] = std::string(f[2]);
  }
  const std::vector<MountEntry> mounts = ParseMountinfo(mountinfo);

  // v2 first: used when its root (or the runtime's cgroup in it) offers memory.
  for (const MountEntry& m : mounts) {
    if (m.fstype != "cgroup2" || own_v2.empty()) continue;
    const std::string own_dir = JoinOwn(m.mount_point, m.root, own_v2);
    std::optional<std::string> available = read_controllers(own_dir);
    if (!available.has_value()) continue;
    std::vector<std::string> have;
    const std::vector<absl::string_view> listed =
        absl::StrSplit(*available, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    for (std::string_view want : kControllers) {
      if (std::find(listed.begin(), listed.end(), AbslView(want)) != listed.end()) {
        have.emplace_back(want);
      }
    }
    if (std::find(have.begin(), have.end(), "memory") == have.end()) continue;
    CgroupLayout layout;
    layout.version = 2;
    layout.v2_own_dir = own_dir;
    layout.parents.push_back({absl::StrCat(own_dir, "/", AbslView(name)), have});
    return layout;
  }

  CgroupLayout layout;
  layout.version = 1;
  for (std::string_view want : kControllers) {
    bool covered = false;
    for (const CgroupDir& d : layout.parents) covered = covered || d.Has(want);
    if (covered) continue;
    for (const MountEntry& m : mounts) {
      if (m.fstype != "cgroup") continue;
      if (std::find(m.super_options.begin(), m.super_options.end(), want) ==
          m.super_options.end()) {
        continue;
      }
      auto own = own_v1.find(std::string(want));
      const std::string own_path = own == own_v1.end() ? "/" : own->second;
      CgroupDir d;
      d.dir = absl::StrCat(JoinOwn(m.mount_point, m.root, own_path), "/", AbslView(name));
      for (std::string_view c : kControllers) {
        if (std::find(m.super_options.begin(), m.super_options.end(), c) != m.super_options.end()) {
          d.controllers.emplace_back(c);
        }
      }
      layout.parents.push_back(std::move(d));
      break;
    }
  }
  bool useful = false;
  for (const CgroupDir& d : layout.parents) useful = useful || d.Has("memory") || d.Has("pids");
  if (!useful) {
    return absl::NotFoundError("no cgroup hierarchy with the memory or pids controller");
  }
  return layout;
}

int64_t ParseOomKillCount(std::string_view text) {
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t n = 0;
    if (f.size() == 2 && f[0] == "oom_kill" && absl::SimpleAtoi(f[1], &n)) return n;
  }
  return 0;
}

Cgroup::~Cgroup() {
  for (int fd : procs_fds_) close(fd);
}

absl::StatusOr<std::unique_ptr<Cgroup>> Cgroup::CreateChild(std::string_view name,
                                                            const CgroupLimits& limits) {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == ".." ||
      name.size() > 200) {
    return absl::InvalidArgumentError(absl::StrCat("cgroup name \"", AbslView(name), "\""));
  }
  std::vector<CgroupDir> dirs;
  for (const CgroupDir& d : dirs_) {
    if (version_ == 2) {
      // Controllers reach a child only when its parent enables them.
      for (const std::string& c : d.controllers) {
        absl::Status s = WriteText(d.dir + "/cgroup.subtree_control", "+" + c);
        if (!s.ok()) return s;
      }
    }
    const std::string dir = absl::StrCat(d.dir, "/", AbslView(name));
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("create cgroup ", dir));
    }
    dirs.push_back({dir, d.controllers});
  }
  auto child = std::make_unique<Cgroup>(version_, std::move(dirs));
  RETURN_IF_ERROR(child->SetLimits(limits));
  return child;
}

absl::Status Cgroup::SetLimits(const CgroupLimits& limits) {
  for (const CgroupDir& d : dirs_) {
    const std::string& p = d.dir;
    if (d.Has("memory") && limits.memory_bytes > 0) {
      const std::string v = absl::StrCat(limits.memory_bytes);
      if (version_ == 2) {
        RETURN_IF_ERROR(WriteText(p + "/memory.max", v));
        if (Exists(p + "/memory.swap.max")) RETURN_IF_ERROR(WriteText(p + "/memory.swap.max", "0"));
      } else {
        // The plain limit first: memsw may never be below it.
        RETURN_IF_ERROR(WriteText(p + "/memory.limit_in_bytes", v));
        if (Exists(p + "/memory.memsw.limit_in_bytes")) {
          RETURN_IF_ERROR(WriteText(p + "/memory.memsw.limit_in_bytes", v));
        }
      }
    }
    if (d.Has("cpu") && limits.cpu_quota_millis > 0) {
      const int64_t quota = CpuQuotaUs(limits.cpu_quota_millis);
      if (version_ == 2) {
        RETURN_IF_ERROR(WriteText(p + "/cpu.max", absl::StrCat(quota, " ", kCfsPeriodUs)));
      } else {
        RETURN_IF_ERROR(WriteText(p + "/cpu.cfs_period_us", absl::StrCat(kCfsPeriodUs)));
        RETURN_IF_ERROR(WriteText(p + "/cpu.cfs_quota_us", absl::StrCat(quota)));
      }
    }
    if (d.Has("cpu") && limits.cpu_shares > 0) {
      if (version_ == 2) {
        RETURN_IF_ERROR(
            WriteText(p + "/cpu.weight", absl::StrCat(CpuWeightFromShares(limits.cpu_shares))));
      } else {
        RETURN_IF_ERROR(WriteText(p + "/cpu.shares",
                                  absl::StrCat(std::clamp<int64_t>(limits.cpu_shares, 2, 262144))));
      }
    }
    if (d.Has("pids") && limits.pids > 0) {
      RETURN_IF_ERROR(WriteText(p + "/pids.max", absl::StrCat(limits.pids)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> Cgroup::ProcsFds() {
  if (procs_fds_.empty()) {
    for (const CgroupDir& d : dirs_) {
      const std::string path = d.dir + "/cgroup.procs";
      int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) {
        const int err = errno;
        for (int f : procs_fds_) close(f);
        procs_fds_.clear();
        return ErrnoStatus(err, absl::StrCat("open ", path));
      }
      procs_fds_.push_back(fd);
    }
  }
  return procs_fds_;
}

int64_t Cgroup::OomKills() const {
  for (const CgroupDir& d : dirs_) {
    if (!d.Has("memory")) continue;
    const std::string file = version_ == 2 ? "/memory.events" : "/memory.oom_control";
    std::optional<std::string> text = ReadText(d.dir + file);
    return text ? ParseOomKillCount(*text) : 0;
  }
  return 0;
}

std::vector<pid_t> Cgroup::Pids() const {
  std::vector<pid_t> pids;
  // Every hierarchy holds the same processes; the first is enough.
  if (!dirs_.empty()) CollectPids(dirs_[0].dir, &pids);
  return pids;
}

absl::Status Cgroup::Destroy(absl::Duration timeout) {
  for (int fd : procs_fds_) close(fd);
  procs_fds_.clear();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status result = absl::OkStatus();
  for (const CgroupDir& d : dirs_) {
    absl::Status s = DestroyTree(d.dir, version_ == 2, deadline);
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

absl::StatusOr<std::unique_ptr<CgroupManager>> CgroupManager::Open(
    const CgroupManagerOptions& options) {
  std::optional<std::string> mountinfo = ReadText(options.mountinfo_path);
  std::optional<std::string> own = ReadText(options.proc_cgroup_path);
  if (!mountinfo || !own) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", options.mountinfo_path, " or ", options.proc_cgroup_path));
  }
  ASSIGN_OR_RETURN(CgroupLayout layout,
                   PlanCgroupLayout(*mountinfo, *own, options.name, [](const std::string& dir) {
                     return ReadText(dir + "/cgroup.controllers");
                   }));
  if (layout.version == 2) {
    // The runtime's own cgroup must hand the controllers down. Outside the
    // root this fails (EBUSY) while it holds processes itself: cgroup v2's
    // no-internal-processes rule; the runtime then needs a delegated
    // subtree of its own (e.g. systemd's Delegate=yes).
    for (const std::string& c : layout.parents[0].controllers) {
      absl::Status s = WriteText(layout.v2_own_dir + "/cgroup.subtree_control", "+" + c);
      if (!s.ok()) {
        return absl::FailedPreconditionError(absl::StrCat("cgroup v2: cannot enable ", c, " below ",
                                                          layout.v2_own_dir, ": ", s.message()));
      }
    }
  }
  for (const CgroupDir& d : layout.parents) {
    if (mkdir(d.dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("create cgroup ", d.dir));
    }
  }
  // The pods' parent competes with its siblings (each a single process of the
  // host) by weight. Left at the default (1024: one thread's worth) every pod
  // together got one CPU's share against the runtime's own threads, which
  // halved workflow throughput under load (bench/retention_scale.sh). As
  // Kubernetes does for kubepods, weigh it as all the node's CPUs.
  const int64_t node_shares = 1024 * std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN));
  for (const CgroupDir& d : layout.parents) {
    if (!d.Has("cpu")) continue;
    // Best effort: a host that refuses the write still runs pods, at the
    // default weight.
    (void)(layout.version == 2
               ? WriteText(d.dir + "/cpu.weight", absl::StrCat(CpuWeightFromShares(node_shares)))
               : WriteText(d.dir + "/cpu.shares", absl::StrCat(node_shares)));
  }
  auto root = std::make_unique<Cgroup>(layout.version, std::move(layout.parents));
  auto mgr = std::unique_ptr<CgroupManager>(new CgroupManager(std::move(root)));
  return mgr;
}

int64_t CgroupManager::RuntimeMemoryLimit() const {
  for (const CgroupDir& d : root_->dirs()) {
    if (!d.Has("memory")) continue;
    const std::string own = fs::path(d.dir).parent_path().string();
    std::optional<std::string> text =
        ReadText(own + (root_->version() == 2 ? "/memory.max" : "/memory.limit_in_bytes"));
    int64_t v = 0;
    if (!text || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &v)) return 0;  // "max"
    // v1 shows "no limit" as the largest page-aligned value.
    return v >= (int64_t{1} << 62) ? 0 : v;
  }
  return 0;
}

absl::Status CgroupManager::CleanupStale(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status result = absl::OkStatus();
  for (const CgroupDir& d : root_->dirs()) {
    for (const std::string& child : ChildDirs(d.dir)) {
      absl::Status s = DestroyTree(child, root_->version() == 2, deadline);
      if (!s.ok() && result.ok()) result = s;
    }
  }
  return result;
}

}  // namespace argonaut::cluster::sandbox
