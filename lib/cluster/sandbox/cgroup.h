// Control groups for pods: memory, CPU and pids limits, OOM-kill counts and
// killing whatever a pod left behind.
//
// Layout (as the kubelet's, one level per pod and per container, so limits
// are per container):
//
//   <runtime's own cgroup>/argonaut-<hash of data dir>/pod-<uid>/<container>
//
// in every hierarchy used: the unified one (cgroup v2) when its root lists
// the memory controller, else the v1 hierarchies carrying memory, cpu and
// pids (each found in /proc/self/mountinfo). Nesting under the runtime's own
// cgroup keeps pods inside whatever limits the runtime itself runs under.
//
//   ASSIGN_OR_RETURN(auto mgr, CgroupManager::Open({.name = CgroupName(data_dir)}));
//   ASSIGN_OR_RETURN(auto pod, mgr->CreateGroup("pod-" + uid, {.pids = 1024}));
//   ASSIGN_OR_RETURN(auto ctr, pod->CreateChild("main", {.memory_bytes = 64 << 20}));
//   spec.cgroup_procs_fds = ctr->procs_fds();  // the child joins before exec
//   ...
//   ctr->OomKills();  // rose while it ran: OOMKilled
//   pod->Destroy(absl::Seconds(10));
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::cluster::sandbox {

// Zero fields set nothing (the kernel's default: unlimited).
struct CgroupLimits {
  int64_t memory_bytes = 0;  // swap included: a limited container never swaps
  int64_t cpu_quota_millis = 0;
  int64_t cpu_shares = 0;  // v1 cpu.shares scale (2..262144); v2 maps it to cpu.weight
  int64_t pids = 0;
};

// The kubelet's conversions (pkg/kubelet/cm): CFS quota in microseconds per
// 100 ms period (at least 1 ms), shares 1024 per CPU (2 for none, the
// BestEffort weight), and the shares-to-weight mapping of cgroup v2.
inline constexpr int64_t kCfsPeriodUs = 100000;
int64_t CpuQuotaUs(int64_t millis);
int64_t CpuShares(int64_t request_millis);
int64_t CpuWeightFromShares(int64_t shares);

// "argonaut-<8 hex>" from a seed (the runtime's data dir): two runtimes on one
// host never share a parent, and a restarted one finds what it left.
std::string CgroupName(std::string_view seed);

// One hierarchy's directory for a group, and which of memory/cpu/pids it
// carries.
struct CgroupDir {
  std::string dir;
  std::vector<std::string> controllers;
  bool Has(std::string_view controller) const;
};

struct CgroupLayout {
  int version = 0;  // 1 or 2
  // Where the runtime's parent lives (name appended), one per hierarchy.
  std::vector<CgroupDir> parents;
  // v2: the runtime's own cgroup, whose subtree_control must enable the
  // controllers for the parent.
  std::string v2_own_dir;
};

// Pure: decides the layout from /proc/self/mountinfo, /proc/self/cgroup and
// the cgroup.controllers of v2 mounts (read_controllers(dir) returns the
// file's text or nullopt). NotFound when no hierarchy carries memory or pids.
absl::StatusOr<CgroupLayout> PlanCgroupLayout(
    std::string_view mountinfo, std::string_view proc_self_cgroup, std::string_view name,
    const std::function<std::optional<std::string>(const std::string&)>& read_controllers);

// Pure: the oom_kill count in memory.oom_control (v1) or memory.events (v2)
// text; 0 when absent.
int64_t ParseOomKillCount(std::string_view text);

class Cgroup {
 public:
  Cgroup(int version, std::vector<CgroupDir> dirs) : version_(version), dirs_(std::move(dirs)) {}
  ~Cgroup();  // closes descriptors; the directories stay (see Destroy)
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  // A child group (mkdir in every hierarchy) with `limits`. AlreadyExists is
  // not an error: a leftover of the same name is reused after its limits are
  // set again.
  absl::StatusOr<std::unique_ptr<Cgroup>> CreateChild(std::string_view name,
                                                      const CgroupLimits& limits);
  absl::Status SetLimits(const CgroupLimits& limits);

  // Open descriptors of cgroup.procs, one per hierarchy: a process writing
  // "0" to each joins the group (see ProcessSpec::cgroup_procs_fds).
  absl::StatusOr<std::vector<int>> ProcsFds();

  // OOM kills counted in this group so far (0 without a memory controller).
  int64_t OomKills() const;
  // Processes in this group and its children (host pids).
  std::vector<pid_t> Pids() const;
  // SIGKILLs every process in this group and its children until none is
  // left (bounded by `timeout`), then removes the directories, children
  // first. Idempotent.
  absl::Status Destroy(absl::Duration timeout);

  int version() const { return version_; }
  const std::vector<CgroupDir>& dirs() const { return dirs_; }

 private:
  const int version_;
  const std::vector<CgroupDir> dirs_;
  std::vector<int> procs_fds_;
};

struct CgroupManagerOptions {
  std::string name;  // CgroupName(seed)
  // For tests: where mountinfo and the process's cgroup are read from.
  std::string mountinfo_path = "/proc/self/mountinfo";
  std::string proc_cgroup_path = "/proc/self/cgroup";
};

// The runtime's parent group. Open removes what a crashed runtime of the
// same name left (killing its processes), then creates the parent.
class CgroupManager {
 public:
  // NotFound: no usable hierarchy; PermissionDenied: not allowed to create
  // groups (not root). Callers run pods without limits then (and say so).
  static absl::StatusOr<std::unique_ptr<CgroupManager>> Open(const CgroupManagerOptions& options);

  int version() const { return root_->version(); }
  Cgroup& root() { return *root_; }
  // A direct child of the parent (a pod).
  absl::StatusOr<std::unique_ptr<Cgroup>> CreateGroup(std::string_view name,
                                                      const CgroupLimits& limits) {
    return root_->CreateChild(name, limits);
  }
  // Kills and removes every child of the parent (a crashed run's pods).
  absl::Status CleanupStale(absl::Duration timeout);
  // The memory limit of the runtime's own cgroup (0: none, or no memory
  // controller).
  int64_t RuntimeMemoryLimit() const;

 private:
  explicit CgroupManager(std::unique_ptr<Cgroup> root) : root_(std::move(root)) {}
  std::unique_ptr<Cgroup> root_;
};

}  // namespace argonaut::cluster::sandbox
