#include "lib/cluster/workloads/kubelet_policy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/workloads/container_env.h"

namespace argonaut::cluster::workloads {

absl::StatusOr<RestartPolicy> ParseRestartPolicy(std::string_view value, std::string_view path) {
  if (value.empty() || value == "Always") return RestartPolicy::kAlways;
  if (value == "OnFailure") return RestartPolicy::kOnFailure;
  if (value == "Never") return RestartPolicy::kNever;
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(path), ": unsupported value \"", AbslView(value),
                   "\": supported values: \"Always\", \"OnFailure\", \"Never\""));
}

bool PolicyRestarts(RestartPolicy policy, int exit_code) {
  switch (policy) {
    case RestartPolicy::kAlways:
      return true;
    case RestartPolicy::kOnFailure:
      return exit_code != 0;
    case RestartPolicy::kNever:
      return false;
  }
  return false;
}

std::string TerminatedReason(int exit_code, bool oom_killed) {
  if (oom_killed) return "OOMKilled";
  return exit_code == 0 ? "Completed" : "Error";
}

bool ContainerOomKilled(int exit_code, int64_t oom_kills_at_start, int64_t oom_kills_at_exit) {
  return exit_code != 0 && oom_kills_at_exit > oom_kills_at_start;
}

absl::StatusOr<ContainerResources> ParseContainerResources(const Json& container,
                                                           std::string_view path) {
  ContainerResources r;
  if (!container.is_object() || !container.contains("resources")) return r;
  const Json& res = container["resources"];
  if (!res.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(path), ".resources: must be an object"));
  }
  auto read = [&](const char* kind, const char* name,
                  long double scale) -> absl::StatusOr<int64_t> {
    if (!res.contains(kind) || !res[kind].is_object() || !res[kind].contains(name)) return 0;
    const Json& q = res[kind][name];
    const std::string field = absl::StrCat(AbslView(path), ".resources.", kind, ".", name);
    if (!q.is_string() && !q.is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": must be a quantity"));
    }
    ASSIGN_OR_RETURN(long double v,
                     ParseQuantity(q.is_string() ? q.get<std::string>() : q.dump(), field));
    // Round up as Kubernetes does, without float noise turning 100.0000001 into 101.
    v *= scale;
    const long double nearest = std::round(v);
    v = std::fabs(v - nearest) < 1e-9L * std::max(1.0L, nearest) ? nearest : std::ceil(v);
    if (v > 9.0e18L) return absl::InvalidArgumentError(absl::StrCat(field, ": value out of range"));
    return static_cast<int64_t>(v);
  };
  ASSIGN_OR_RETURN(r.memory_limit_bytes, read("limits", "memory", 1.0L));
  ASSIGN_OR_RETURN(r.cpu_limit_millis, read("limits", "cpu", 1000.0L));
  ASSIGN_OR_RETURN(r.cpu_request_millis, read("requests", "cpu", 1000.0L));
  if (r.cpu_request_millis == 0) r.cpu_request_millis = r.cpu_limit_millis;
  return r;
}

int64_t PodsMemoryLimit(int64_t node_memory_bytes, int64_t runtime_cgroup_limit_bytes) {
  int64_t total = node_memory_bytes;
  if (runtime_cgroup_limit_bytes > 0 && (total <= 0 || runtime_cgroup_limit_bytes < total)) {
    total = runtime_cgroup_limit_bytes;
  }
  if (total <= 0) return 0;
  const int64_t reserve = std::clamp<int64_t>(total / 10, int64_t{256} << 20, int64_t{2} << 30);
  return total > reserve ? total - reserve : 0;
}

bool CrashLoopBackoff::Expired(absl::Time finished_at) const {
  return finished_at - last_update_ > 2 * kCrashLoopMaxDelay;
}

bool CrashLoopBackoff::InBackoff(absl::Time finished_at, absl::Time now) const {
  if (delay_ == absl::ZeroDuration() || Expired(finished_at)) return false;
  return now - finished_at < delay_;
}

absl::Duration CrashLoopBackoff::Remaining(absl::Time finished_at, absl::Time now) const {
  if (!InBackoff(finished_at, now)) return absl::ZeroDuration();
  return delay_ - (now - finished_at);
}

void CrashLoopBackoff::RecordRestart(absl::Time finished_at, absl::Time now) {
  if (delay_ == absl::ZeroDuration() || Expired(finished_at)) {
    delay_ = kCrashLoopInitialDelay;
  } else {
    delay_ = std::min(delay_ * 2, kCrashLoopMaxDelay);
  }
  last_update_ = now;
}

RestartDecision DecideRestart(RestartPolicy policy, std::string_view container_name,
                              const ContainerExit& exit, const CrashLoopBackoff& backoff,
                              absl::Time now) {
  RestartDecision d;
  d.reason = TerminatedReason(exit.exit_code, exit.oom_killed);
  if (!PolicyRestarts(policy, exit.exit_code)) return d;
  if (backoff.InBackoff(exit.finished_at, now)) {
    d.action = RestartDecision::Action::kWaitBackoff;
    d.wait = backoff.Remaining(exit.finished_at, now);
    d.reason = "CrashLoopBackOff";
    d.message = absl::StrCat("back-off ", absl::FormatDuration(backoff.delay()),
                             " restarting failed container=", AbslView(container_name));
    return d;
  }
  d.action = RestartDecision::Action::kRestartNow;
  return d;
}

namespace {

struct Counts {
  int pending_init = 0, failed_init = 0;
  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  std::vector<std::string> incomplete_init, unready;
};

std::map<std::string, const Json*> StatusesByName(const Json& pod, const char* key) {
  std::map<std::string, const Json*> out;
  const Json* statuses = FieldPath(pod, {"status", key});
  if (statuses == nullptr || !statuses->is_array()) return out;
  for (const Json& s : *statuses) out[StrOr(s, "name")] = &s;
  return out;
}

absl::StatusOr<std::vector<std::string>> ContainerNames(const Json& pod, const char* key) {
  std::vector<std::string> names;
  const Json* list = FieldPath(pod, {"spec", key});
  if (list == nullptr) return names;
  if (!list->is_array())
    return absl::InvalidArgumentError(absl::StrCat("spec.", key, ": expected array"));
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(std::string name, StringField((*list)[i], "name", "",
                                                   absl::StrCat("spec.", key, "[", i, "].name")));
    names.push_back(std::move(name));
  }
  return names;
}

int64_t ExitCode(const Json& terminated) { return IntOr(terminated, "exitCode", 0); }

absl::StatusOr<Counts> Count(const Json& pod) {
  Counts c;
  ASSIGN_OR_RETURN(std::vector<std::string> inits, ContainerNames(pod, "initContainers"));
  ASSIGN_OR_RETURN(std::vector<std::string> containers, ContainerNames(pod, "containers"));
  const auto init_status = StatusesByName(pod, "initContainerStatuses");
  const auto status = StatusesByName(pod, "containerStatuses");
  for (const std::string& name : inits) {
    auto it = init_status.find(name);
    const Json* state = it == init_status.end() ? nullptr : Field(*it->second, "state");
    const Json* term = state ? Field(*state, "terminated") : nullptr;
    const Json* last_term =
        it == init_status.end() ? nullptr : FieldPath(*it->second, {"lastState", "terminated"});
    if (term != nullptr && ExitCode(*term) == 0) continue;
    c.incomplete_init.push_back(name);
    if (term != nullptr) {
      ++c.failed_init;
    } else if (state && Field(*state, "waiting") && last_term && ExitCode(*last_term) != 0) {
      ++c.failed_init;
    } else {
      ++c.pending_init;
    }
  }
  for (const std::string& name : containers) {
    auto it = status.find(name);
    if (it == status.end()) {
      ++c.unknown;
      c.unready.push_back(name);
      continue;
    }
    const Json& s = *it->second;
    const Json* state = Field(s, "state");
    if (!(Field(s, "ready") && s["ready"].is_boolean() && s["ready"].get<bool>())) {
      c.unready.push_back(name);
    }
    if (state && Field(*state, "running")) {
      ++c.running;
    } else if (const Json* term = state ? Field(*state, "terminated") : nullptr) {
      ++c.stopped;
      if (ExitCode(*term) == 0) ++c.succeeded;
    } else if (state && Field(*state, "waiting")) {
      if (FieldPath(s, {"lastState", "terminated"})) {
        ++c.stopped;
      } else {
        ++c.waiting;
      }
    } else {
      ++c.unknown;
    }
  }
  return c;
}

}  // namespace

absl::StatusOr<std::string> ComputePodPhase(const Json& pod) {
  const Json* spec = Field(pod, "spec");
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  ASSIGN_OR_RETURN(const std::string policy_s,
                   StringField(*spec, "restartPolicy", "Always", "spec.restartPolicy"));
  ASSIGN_OR_RETURN(const RestartPolicy policy, ParseRestartPolicy(policy_s, "spec.restartPolicy"));
  ASSIGN_OR_RETURN(const Counts c, Count(pod));
  if (c.failed_init > 0 && policy == RestartPolicy::kNever) return std::string("Failed");
  // Regular containers have not run while initialisation is incomplete.
  const bool regular_started = c.running + c.stopped > 0;
  if ((c.pending_init > 0 || c.failed_init > 0) && !regular_started) return std::string("Pending");
  if (c.waiting > 0) return std::string("Pending");
  if (c.running > 0 && c.unknown == 0) return std::string("Running");
  if (c.running == 0 && c.stopped > 0 && c.unknown == 0) {
    if (policy == RestartPolicy::kAlways) return std::string("Running");
    if (c.stopped == c.succeeded) return std::string("Succeeded");
    if (policy == RestartPolicy::kNever) return std::string("Failed");
    return std::string("Running");  // OnFailure: failed containers are being restarted
  }
  return std::string("Pending");
}

Json ComputePodConditions(const Json& pod, std::string_view phase, absl::Time now) {
  const Json* old = FieldPath(pod, {"status", "conditions"});
  Json conds = old != nullptr && old->is_array() ? *old : Json::array();
  const absl::StatusOr<Counts> counted = Count(pod);
  const Counts c = counted.ok() ? *counted : Counts{};
  const Json* node = FieldPath(pod, {"spec", "nodeName"});
  const bool scheduled = node != nullptr && node->is_string() && !node->get<std::string>().empty();
  SetCondition(conds, "PodScheduled", scheduled ? "True" : "False",
               scheduled ? "" : "Unschedulable", "", now);
  if (c.incomplete_init.empty()) {
    SetCondition(conds, "Initialized", "True", "", "", now);
  } else {
    SetCondition(conds, "Initialized", "False", "ContainersNotInitialized",
                 absl::StrCat("containers with incomplete status: ", NameList(c.incomplete_init)),
                 now);
  }
  if (phase == "Succeeded" || phase == "Failed") {
    SetCondition(conds, "ContainersReady", "False", "PodCompleted", "", now);
    SetCondition(conds, "Ready", "False", "PodCompleted", "", now);
  } else if (!c.incomplete_init.empty() || !c.unready.empty()) {
    const std::string msg =
        c.incomplete_init.empty()
            ? absl::StrCat("containers with unready status: ", NameList(c.unready))
            : absl::StrCat("containers with incomplete status: ", NameList(c.incomplete_init));
    const char* reason =
        c.incomplete_init.empty() ? "ContainersNotReady" : "ContainersNotInitialized";
    SetCondition(conds, "ContainersReady", "False", reason, msg, now);
    SetCondition(conds, "Ready", "False", reason, msg, now);
  } else {
    SetCondition(conds, "ContainersReady", "True", "", "", now);
    SetCondition(conds, "Ready", "True", "", "", now);
  }
  return conds;
}

absl::StatusOr<DeadlineCheck> CheckActiveDeadline(const Json& pod, absl::Time now) {
  DeadlineCheck out;
  const Json* spec = Field(pod, "spec");
  if (spec == nullptr) return out;
  ASSIGN_OR_RETURN(
      const std::optional<int64_t> deadline,
      OptionalInt64Field(*spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds"));
  if (!deadline) return out;
  if (*deadline <= 0) {
    return absl::InvalidArgumentError("spec.activeDeadlineSeconds: must be greater than 0");
  }
  const Json* status = Field(pod, "status");
  std::optional<absl::Time> start = status ? TimeField(*status, "startTime") : std::nullopt;
  if (!start) return out;  // not started on a node yet
  const absl::Duration allowed = absl::Seconds(*deadline);
  if (now - *start >= allowed) {
    out.exceeded = true;
    out.remaining = absl::ZeroDuration();
    out.reason = "DeadlineExceeded";
    out.message = absl::StrCat("Pod was active on the node longer than the specified deadline");
  } else {
    out.remaining = *start + allowed - now;
  }
  return out;
}

}  // namespace argonaut::cluster::workloads
