#include "lib/cluster/kubelet/pod_worker.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/cluster/kubelet/container_config.h"
#include "lib/cluster/kubelet/probe.h"
#include "lib/cluster/sandbox/security_context.h"
#include "lib/cluster/workloads/kubelet_policy.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/probe.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;
namespace wl = ::argonaut::cluster::workloads;

// A pod that already has container statuses ran under a previous runtime:
// its count carries on, plus one for the restart this run makes.
int PreviousRestarts(const Object& pod, bool init, const std::string& name) {
  const Object status = pod.value("status", Object::object());
  const char* list = init ? "initContainerStatuses" : "containerStatuses";
  if (!status.is_object() || !status.contains(list) || !status[list].is_array()) return 0;
  for (const Object& cs : status[list]) {
    if (!cs.is_object() || cs.value("name", "") != name) continue;
    const Object state = cs.value("state", Object::object());
    const bool ran = state.contains("running") || state.contains("terminated");
    return wl::IntOr(cs, "restartCount", 0) + (ran ? 1 : 0);
  }
  return 0;
}

// Kubernetes caps termination messages at 4 KiB; workflow step results
// travel this way, so the local runtime allows what Argo allows a result.
constexpr size_t kMaxTerminationMessageBytes = 256 * 1024;
constexpr size_t kFallbackLogBytes = 2048;
// How long a started pod's Running status may wait for its containers to exit.
constexpr absl::Duration kCoalesceRunning = absl::Milliseconds(50);

std::string ReadCapped(const std::string& path, size_t cap) {
  if (path.empty()) return "";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string out(cap, '\0');
  in.read(out.data(), static_cast<std::streamsize>(cap));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::string TailOfFile(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(n));
  in.seekg(from);
  std::string out(static_cast<size_t>(size - from), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace

struct PodWorker::Container {
  Object spec;
  std::string name;
  std::string image;
  bool init = false;
  ContainerConfig config;
  sandbox::ContainerSecurity security;  // from its securityContext
  std::string log_path;
  // Kubernetes' termination message: the file the container may write
  // before exiting, as seen from the host and from inside the pod.
  std::string termination_host_path;
  std::string termination_pod_path;
  std::unique_ptr<sandbox::Process> proc;
  // The container's cgroup (its limits) and its cgroup.procs descriptors.
  std::unique_ptr<sandbox::Cgroup> cgroup;
  std::vector<int> cgroup_fds;
  int64_t oom_kills_at_start = 0;
  std::shared_ptr<LogStream> log;

  enum class State { kWaiting, kRunning, kTerminated } state = State::kWaiting;
  std::string waiting_reason = "ContainerCreating";
  std::string waiting_message;
  absl::Time started_at;
  absl::Time finished_at;
  int exit_code = 0;
  std::string term_reason;
  std::string term_message;
  Object last_state = Object::object();
  int restarts = 0;
  wl::CrashLoopBackoff backoff;
  absl::Time restart_at = absl::InfiniteFuture();
  bool ready = false;
  wl::ContainerProbes probes;

  // Will run again (now or after a back-off).
  bool Pending() const { return state == State::kWaiting; }
};

PodWorker::PodWorker(Object pod, std::string pod_dir, PodWorkerEnv env)
    : pod_dir_(std::move(pod_dir)), env_(std::move(env)), pod_(std::move(pod)) {
  const Object spec = pod_.value("spec", Object::object());
  // Validated by the API before the pod is stored; Always is the default.
  restart_policy_ = wl::ParseRestartPolicy(spec.value("restartPolicy", ""), "spec.restartPolicy")
                        .value_or(wl::RestartPolicy::kAlways);
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (const Object& c : spec[list]) {
      auto ct = std::make_unique<Container>();
      ct->spec = c;
      ct->name = c.value("name", "");
      ct->image = c.value("image", "");
      ct->init = std::string(list) == "initContainers";
      ct->log_path = (fs::path(pod_dir_) / "logs" / (ct->name + ".log")).string();
      ct->restarts = PreviousRestarts(pod_, ct->init, ct->name);
      (ct->init ? init_ : containers_).push_back(std::move(ct));
    }
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

PodWorker::~PodWorker() {
  Stop(absl::ZeroDuration());
  Join();
  if (stop_fd_ >= 0) close(stop_fd_);
}

void PodWorker::Start() {
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    // Out of threads (EAGAIN): this pod fails, the runtime goes on.
    Fail("RuntimeError", absl::StrCat("kubelet: cannot create the pod's thread: ", e.what()));
    Finish();
  }
}

void PodWorker::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stop_) return;
    stop_ = true;
    grace_ = grace;
  }
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
}

void PodWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

bool PodWorker::stopping() {
  absl::MutexLock lock(&stop_mu_);
  return stop_;
}

absl::Duration PodWorker::grace() {
  absl::MutexLock lock(&stop_mu_);
  return grace_;
}

std::string PodWorker::LogPath(const std::string& container) const {
  absl::MutexLock lock(&mu_);
  for (const auto* list : {&containers_, &init_}) {
    for (const auto& c : *list) {
      if (container.empty() || c->name == container) return c->log_path;
    }
  }
  return "";
}

bool PodWorker::ContainerActive(const std::string& container) const {
  if (finished_) return false;
  absl::MutexLock lock(&mu_);
  for (const auto* list : {&containers_, &init_}) {
    for (const auto& c : *list) {
      if (container.empty() || c->name == container) {
        return c->state != Container::State::kTerminated;
      }
    }
  }
  return false;
}

void PodWorker::Fail(const std::string& reason, const std::string& message) {
  {
    absl::MutexLock lock(&mu_);
    phase_ = "Failed";
    reason_ = reason;
    message_ = message;
    for (const auto* list : {&init_, &containers_}) {
      for (const auto& c : *list) {
        if (c->state == Container::State::kWaiting) {
          c->waiting_reason = reason;
          c->waiting_message = message;
          c->restart_at = absl::InfiniteFuture();
        }
      }
    }
  }
  LogWarn("kubelet", "pod failed", {{"pod", KeyOf(pod_)}, {"reason", reason}});
}

bool PodWorker::StartContainer(Container& c) {
  std::error_code ec;
  fs::create_directories(fs::path(c.log_path).parent_path(), ec);
  if (!c.termination_host_path.empty()) fs::remove(c.termination_host_path, ec);
  {
    absl::MutexLock lock(&mu_);
    c.term_message.clear();
  }
  sandbox::ProcessSpec spec{.argv = c.config.argv,
                            .env = c.config.env,
                            .working_dir = c.config.working_dir,
                            .log_path = c.log_path,
                            .cgroup_procs_fds = c.cgroup_fds};
  spec.security = c.security;
  // A previous instance's stream ends here (a child it left writing gets
  // EPIPE), so two instances never write the file at once.
  if (c.log != nullptr) env_.logs->Close(c.log);
  c.log.reset();
  if (env_.logs != nullptr) {
    absl::StatusOr<std::shared_ptr<LogStream>> log = env_.logs->Open(c.log_path);
    if (log.ok()) {
      c.log = *std::move(log);
      spec.output_fd = c.log->write_fd();
    } else {
      LogWarn("kubelet", "log copier: writing the log directly, uncapped",
              {{"pod", KeyOf(pod_)}, {"container", c.name}, {"error", log.status().ToString()}});
    }
  }
  if (c.cgroup != nullptr) c.oom_kills_at_start = c.cgroup->OomKills();
  absl::StatusOr<std::unique_ptr<sandbox::Process>> proc = sandbox_->Spawn(spec);
  if (c.log != nullptr) c.log->CloseWriteEnd();
  absl::MutexLock lock(&mu_);
  if (c.restart_at != absl::InfiniteFuture() && c.started_at != absl::Time()) {
    ++c.restarts;
    c.backoff.RecordRestart(c.finished_at, absl::Now());
  }
  c.restart_at = absl::InfiniteFuture();
  if (!proc.ok()) {
    // Kubernetes reports an exec failure as a container that ran and failed
    // with 128 (StartError); the restart policy then applies as usual.
    c.state = Container::State::kTerminated;
    c.exit_code = 128;
    c.term_reason = "StartError";
    c.term_message = std::string(proc.status().message());
    c.started_at = c.finished_at = absl::Now();
    return false;
  }
  c.proc = std::move(*proc);
  c.state = Container::State::kRunning;
  c.started_at = absl::Now();
  // A new container instance starts its probes over, as the kubelet does.
  for (auto* w : {&c.probes.startup, &c.probes.liveness, &c.probes.readiness}) {
    if (w->has_value()) (*w)->Reset();
  }
  c.ready = c.probes.Ready(/*running=*/true);
  return true;
}

std::string PodWorker::TerminationMessage(const Container& c) const {
  std::string msg = ReadCapped(c.termination_host_path, kMaxTerminationMessageBytes);
  if (msg.empty() && c.exit_code != 0 &&
      c.spec.value("terminationMessagePolicy", "File") == "FallbackToLogsOnError") {
    msg = TailOfFile(c.log_path, kFallbackLogBytes);
  }
  return msg;
}

void PodWorker::HandleExit(Container& c, const sandbox::ExitStatus& status) {
  // Everything it wrote is in the file before anyone sees it terminated.
  if (c.log != nullptr) env_.logs->Drain(*c.log);
  const int64_t oom_kills = c.cgroup != nullptr ? c.cgroup->OomKills() : 0;
  absl::MutexLock lock(&mu_);
  c.proc.reset();
  c.state = Container::State::kTerminated;
  c.exit_code = status.KubernetesExitCode();
  c.term_reason = wl::TerminatedReason(
      c.exit_code, wl::ContainerOomKilled(c.exit_code, c.oom_kills_at_start, oom_kills));
  c.term_message = TerminationMessage(c);
  c.finished_at = absl::Now();
  c.ready = false;
}

// Decides, after a container terminated, whether and when it runs again.
void PodWorker::ScheduleRestart(Container& c) {
  absl::MutexLock lock(&mu_);
  if (c.state != Container::State::kTerminated) return;
  const absl::Time now = absl::Now();
  const wl::RestartDecision d = wl::DecideRestart(restart_policy_, c.name,
                                                  {.exit_code = c.exit_code,
                                                   .oom_killed = c.term_reason == "OOMKilled",
                                                   .finished_at = c.finished_at},
                                                  c.backoff, now);
  if (d.action == wl::RestartDecision::Action::kLeaveTerminated) return;
  c.last_state = {{"terminated",
                   {{"exitCode", c.exit_code},
                    {"reason", c.term_reason},
                    {"startedAt", wl::FormatK8sTime(c.started_at)},
                    {"finishedAt", wl::FormatK8sTime(c.finished_at)}}}};
  c.state = Container::State::kWaiting;
  if (d.action == wl::RestartDecision::Action::kWaitBackoff) {
    c.waiting_reason = d.reason;
    c.waiting_message = d.message;
    c.restart_at = now + d.wait;
  } else {
    c.waiting_reason = "ContainerCreating";
    c.waiting_message.clear();
    c.restart_at = now;
  }
}

absl::Status PodWorker::Probe(Container& c, const Object& probe) {
  const absl::Duration timeout =
      absl::Seconds(std::max<int64_t>(1, wl::IntOr(probe, "timeoutSeconds", 1)));
  auto port_of = [&c](const Object& p) -> int {
    const Object& port = p.value("port", Object());
    if (port.is_number_integer()) return port.get<int>();
    if (port.is_string() && c.spec.contains("ports")) {
      for (const Object& cp : c.spec["ports"]) {
        if (cp.value("name", "") == port.get<std::string>()) return cp.value("containerPort", 0);
      }
    }
    return 0;
  };
  const std::string ip = pod_ip_.empty() ? "127.0.0.1" : pod_ip_;
  if (probe.contains("httpGet")) {
    return ProbeHttpGet(ip, port_of(probe["httpGet"]), probe["httpGet"].value("path", "/"),
                        timeout);
  }
  if (probe.contains("tcpSocket")) return ProbeTcp(ip, port_of(probe["tcpSocket"]), timeout);
  if (probe.contains("exec")) {
    std::vector<std::string> argv;
    for (const Object& a : probe["exec"].value("command", Object::array())) {
      if (a.is_string()) argv.push_back(a.get<std::string>());
    }
    if (argv.empty()) return absl::InvalidArgumentError("exec probe without a command");
    // In the container's cgroup, as the kubelet runs exec probes.
    sandbox::ProcessSpec spec{.argv = argv,
                              .env = c.config.env,
                              .working_dir = c.config.working_dir,
                              .cgroup_procs_fds = c.cgroup_fds};
    spec.security = c.security;
    absl::StatusOr<std::unique_ptr<sandbox::Process>> proc = sandbox_->Spawn(spec);
    if (!proc.ok()) return proc.status();
    absl::StatusOr<sandbox::ExitStatus> exit = (*proc)->Wait(timeout);
    if (!exit.ok()) {
      (void)(*proc)->Kill(absl::ZeroDuration());
      return absl::DeadlineExceededError("command timed out");
    }
    if (!exit->success()) return absl::UnavailableError(absl::StrCat("exit ", exit->ToString()));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("probe has no handler");
}

void PodWorker::RunProbes(absl::Time now) {
  static constexpr std::pair<wl::ProbeKind, const char*> kKinds[] = {
      {wl::ProbeKind::kStartup, "startupProbe"},
      {wl::ProbeKind::kLiveness, "livenessProbe"},
      {wl::ProbeKind::kReadiness, "readinessProbe"}};
  for (auto& cp : containers_) {
    Container& c = *cp;
    for (const auto& [kind, field] : kKinds) {
      if (c.state != Container::State::kRunning || !c.probes.Active(kind)) continue;
      std::optional<wl::ProbeWorker>& worker = kind == wl::ProbeKind::kStartup ? c.probes.startup
                                               : kind == wl::ProbeKind::kLiveness
                                                   ? c.probes.liveness
                                                   : c.probes.readiness;
      if (!worker.has_value() || !worker->Due(c.started_at, now)) continue;
      const bool ok = Probe(c, c.spec[field]).ok();
      wl::ProbeWorker::Outcome outcome;
      {
        absl::MutexLock lock(&mu_);
        outcome =
            worker->Record(ok ? wl::ProbeResult::kSuccess : wl::ProbeResult::kFailure, absl::Now());
        c.ready = c.probes.Ready(/*running=*/true);
      }
      if (outcome.kill_container && c.proc) {
        LogInfo("kubelet", "probe failed, restarting container",
                {{"pod", KeyOf(pod_)}, {"container", c.name}, {"probe", field}});
        absl::StatusOr<sandbox::ExitStatus> exit = c.proc->Kill(TerminationGrace());
        HandleExit(c, exit.ok() ? *exit : sandbox::ExitStatus{.code = 137});
        ScheduleRestart(c);
      }
    }
  }
}

absl::Duration PodWorker::TerminationGrace() const {
  const Object spec = pod_.value("spec", Object::object());
  return absl::Seconds(std::max<int64_t>(0, wl::IntOr(spec, "terminationGracePeriodSeconds", 30)));
}

Object PodWorker::BuildStatus() const {
  absl::MutexLock lock(&mu_);
  auto container_status = [](const Container& c) {
    Object state;
    if (c.state == Container::State::kRunning) {
      state = {{"running", {{"startedAt", wl::FormatK8sTime(c.started_at)}}}};
    } else if (c.state == Container::State::kTerminated) {
      Object t = {{"exitCode", c.exit_code},
                  {"reason", c.term_reason},
                  {"startedAt", wl::FormatK8sTime(c.started_at)},
                  {"finishedAt", wl::FormatK8sTime(c.finished_at)}};
      if (!c.term_message.empty()) t["message"] = c.term_message;
      state = {{"terminated", t}};
    } else {
      Object w = {{"reason", c.waiting_reason}};
      if (!c.waiting_message.empty()) w["message"] = c.waiting_message;
      state = {{"waiting", w}};
    }
    Object s = {{"name", c.name},
                {"image", c.image},
                {"imageID", ""},
                {"ready", c.ready},
                {"started", c.state == Container::State::kRunning},
                {"restartCount", c.restarts},
                {"state", state},
                {"lastState", c.last_state}};
    if (c.proc) s["containerID"] = absl::StrCat("argonaut://", c.proc->pid());
    return s;
  };
  Object status = {{"phase", phase_}, {"hostIP", "127.0.0.1"}, {"qosClass", "BestEffort"}};
  if (start_time_ != absl::Time()) status["startTime"] = wl::FormatK8sTime(start_time_);
  if (!pod_ip_.empty()) {
    status["podIP"] = pod_ip_;
    status["podIPs"] = Object::array({{{"ip", pod_ip_}}});
  }
  if (!reason_.empty()) status["reason"] = reason_;
  if (!message_.empty()) status["message"] = message_;
  Object init = Object::array(), main = Object::array();
  bool all_ready = !containers_.empty();
  for (const auto& c : init_) init.push_back(container_status(*c));
  for (const auto& c : containers_) {
    main.push_back(container_status(*c));
    all_ready = all_ready && c->ready;
  }
  if (!init.empty()) status["initContainerStatuses"] = init;
  status["containerStatuses"] = main;
  // Ready follows the containers only while the pod runs: a finished pod is
  // never ready, as in Kubernetes.
  const bool ready = all_ready && phase_ == "Running";
  auto cond = [](const char* type, bool ok, const char* reason = nullptr) {
    Object c = {{"type", type}, {"status", ok ? "True" : "False"}};
    if (reason != nullptr && !ok) c["reason"] = reason;
    return c;
  };
  status["conditions"] = Object::array(
      {cond("PodScheduled", true), cond("Initialized", initialized_, "ContainersNotInitialized"),
       cond("ContainersReady", ready, "ContainersNotReady"),
       cond("Ready", ready, "ContainersNotReady")});
  return status;
}

void PodWorker::Publish() {
  Object status = BuildStatus();
  // Timestamps of conditions are not tracked, so equal content means no change.
  if (status == last_published_) return;
  last_published_ = status;
  Object pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", NameOf(pod_)}, {"namespace", NamespaceOf(pod_)}}},
                {"status", std::move(status)}};
  if (env_.write_status) env_.write_status(pod);
}

bool PodWorker::Wait(absl::Duration timeout) {
  std::vector<pollfd> fds;
  fds.push_back({stop_fd_, POLLIN, 0});
  {
    absl::MutexLock lock(&mu_);
    for (const auto* list : {&init_, &containers_}) {
      for (const auto& c : *list) {
        if (c->proc) fds.push_back({c->proc->pidfd(), POLLIN, 0});
      }
    }
  }
  const int ms = static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 0, 1000));
  (void)poll(fds.data(), fds.size(), ms);
  return stopping();
}

void PodWorker::KillAll(absl::Duration grace) {
  std::vector<sandbox::Process*> procs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto* list : {&init_, &containers_}) {
      for (const auto& c : *list) {
        if (c->proc) procs.push_back(c->proc.get());
      }
    }
  }
  // One grace period for all: SIGTERM everyone first, then wait.
  for (sandbox::Process* p : procs) (void)p->Signal(SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  for (auto* list : {&init_, &containers_}) {
    for (auto& c : *list) {
      if (!c->proc) continue;
      absl::StatusOr<sandbox::ExitStatus> exit =
          c->proc->Wait(std::max(absl::ZeroDuration(), deadline - absl::Now()));
      if (!exit.ok()) exit = c->proc->Kill(absl::ZeroDuration());
      HandleExit(*c, exit.ok() ? *exit : sandbox::ExitStatus{.code = 137});
    }
  }
}

// Reaps whatever exited; true if any container changed state.
bool PodWorker::Reap(std::vector<std::unique_ptr<Container>>& list) {
  bool changed = false;
  for (auto& c : list) {
    if (!c->proc) continue;
    absl::StatusOr<std::optional<sandbox::ExitStatus>> exit = c->proc->TryWait();
    if (!exit.ok() || !exit->has_value()) continue;
    HandleExit(*c, **exit);
    changed = true;
  }
  return changed;
}

void PodWorker::Finish() {
  // Every process has been reaped by now, so the final status goes out
  // before the slower teardown (namespaces, veth, scratch directory).
  Publish();
  if (sandbox_) {
    absl::Status s = sandbox_->Destroy(absl::ZeroDuration());
    if (!s.ok()) LogWarn("kubelet", "sandbox teardown", {{"error", s.ToString()}});
    sandbox_.reset();
  }
  RemoveCgroups();
  finished_ = true;
}

bool PodWorker::CreateCgroups() {
  if (env_.cgroups == nullptr) return true;
  auto path_of = [](const Container& c, size_t i) {
    return absl::StrCat(c.init ? "spec.initContainers[" : "spec.containers[", i, "]");
  };
  // The pod's CPU weight is the sum of its containers' requests, as the
  // kubelet's pod cgroup: a BestEffort pod (a fork bomb among them) weighs 2
  // against the runtime's 1024, so the runtime keeps answering.
  int64_t pod_request_millis = 0;
  std::vector<std::pair<Container*, wl::ContainerResources>> planned;
  for (auto* list : {&init_, &containers_}) {
    for (size_t i = 0; i < list->size(); ++i) {
      Container& c = *(*list)[i];
      absl::StatusOr<wl::ContainerResources> r = wl::ParseContainerResources(c.spec, path_of(c, i));
      if (!r.ok()) {
        Fail("CreateContainerConfigError", std::string(r.status().message()));
        return false;
      }
      if (!c.init) pod_request_millis += r->cpu_request_millis;
      planned.emplace_back(&c, *r);
    }
  }
  absl::StatusOr<std::unique_ptr<sandbox::Cgroup>> pod = env_.cgroups->CreateGroup(
      absl::StrCat("pod-", UidOf(pod_)),
      {.cpu_shares = sandbox::CpuShares(pod_request_millis), .pids = env_.pod_pids_limit});
  if (!pod.ok()) {
    Fail("SandboxCreationFailed", absl::StrCat("pod cgroup: ", pod.status().message()));
    return false;
  }
  pod_cgroup_ = *std::move(pod);
  for (auto& [c, r] : planned) {
    absl::StatusOr<std::unique_ptr<sandbox::Cgroup>> cg =
        pod_cgroup_->CreateChild(c->name, {.memory_bytes = r.memory_limit_bytes,
                                           .cpu_quota_millis = r.cpu_limit_millis,
                                           .cpu_shares = sandbox::CpuShares(r.cpu_request_millis)});
    absl::StatusOr<std::vector<int>> fds =
        cg.ok() ? (*cg)->ProcsFds() : absl::StatusOr<std::vector<int>>(cg.status());
    if (!fds.ok()) {
      Fail("SandboxCreationFailed",
           absl::StrCat("cgroup of container ", c->name, ": ", fds.status().message()));
      return false;
    }
    c->cgroup = *std::move(cg);
    c->cgroup_fds = *std::move(fds);
  }
  return true;
}

void PodWorker::RemoveCgroups() {
  for (auto* list : {&init_, &containers_}) {
    for (auto& c : *list) {
      if (c->log != nullptr) env_.logs->Close(c->log);
      c->log.reset();
      c->cgroup_fds.clear();
      c->cgroup.reset();
    }
  }
  if (pod_cgroup_ == nullptr) return;
  // The sandbox is gone, and with it (isolated) every process of the pod;
  // in plain mode this kills what the containers left behind.
  if (absl::Status s = pod_cgroup_->Destroy(absl::Seconds(10)); !s.ok()) {
    LogWarn("kubelet", "pod cgroup teardown", {{"pod", KeyOf(pod_)}, {"error", s.ToString()}});
  }
  pod_cgroup_.reset();
}

void PodWorker::Run() {
  // The worker owns processes: whatever happens, it must end them and
  // report, never take the runtime down.
  try {
    RunPod();
  } catch (const std::exception& e) {
    KillAll(absl::ZeroDuration());
    Fail("RuntimeError", absl::StrCat("kubelet: ", e.what()));
    Finish();
  }
}

void PodWorker::RunPod() {
  {
    absl::MutexLock lock(&mu_);
    start_time_ = absl::Now();
  }
  // No status is written until the containers start (or the pod fails): a
  // status write costs every pod watcher a decode and the pod's owner a
  // reconcile, and the Pending status the pod was created with says it all.
  // Configuration: argv through the image table, environment, volumes.
  ObjectLookup lookup = [this](const std::string& kind, const std::string& name) {
    return env_.lookup ? env_.lookup(kind, NamespaceOf(pod_), name) : std::nullopt;
  };
  // hostPath volumes resolved now, below their allowed directories; the
  // sandbox opens the paths they resolved to without following symlinks.
  HostPathFds host_path_fds;
  absl::StatusOr<std::map<std::string, std::string>> volumes = PrepareVolumes(
      pod_, pod_dir_, lookup, {.host_path_allow = env_.host_path_allow}, &host_path_fds);
  if (!volumes.ok()) {
    Fail("CreateContainerConfigError", std::string(volumes.status().message()));
    return Finish();
  }
  auto path_of = [](const Container& c, size_t i) {
    return absl::StrCat(c.init ? "spec.initContainers[" : "spec.containers[", i, "]");
  };
  // One mount namespace per pod: the union of the containers' mounts.
  std::vector<sandbox::VolumeMount> mounts;
  for (auto* list : {&init_, &containers_}) {
    for (size_t i = 0; i < list->size(); ++i) {
      Container& c = *(*list)[i];
      absl::StatusOr<std::vector<VolumeMount>> cm =
          ContainerMounts(c.spec, *volumes, path_of(c, i), &host_path_fds);
      if (!cm.ok()) {
        Fail("CreateContainerConfigError", std::string(cm.status().message()));
        return Finish();
      }
      for (const VolumeMount& m : *cm) {
        bool seen = false;
        for (const auto& existing : mounts) seen = seen || existing.mount_path == m.mount_path;
        if (!seen) mounts.push_back({m.host_path, m.mount_path, m.read_only, m.open_path});
      }
    }
  }
  // Its own user namespace unless hostUsers or a privileged container asks
  // for the host's.
  absl::StatusOr<bool> host_users =
      sandbox::UsesHostUserNamespace(pod_.value("spec", Object::object()));
  if (!host_users.ok()) {
    Fail("CreateContainerConfigError", std::string(host_users.status().message()));
    return Finish();
  }
  if (!CreateCgroups()) return Finish();
  // The sandbox's directory (private /tmp, root overlay), the logs and the
  // volumes all stay until the pod is deleted, as a terminated container's
  // layer does in Kubernetes.
  absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sb = sandbox::Sandbox::Create(
      {.pod_name = PodHostname(NameOf(pod_)),
       .isolate = env_.isolate,
       .network = env_.network,
       .pod_dir = (fs::path(pod_dir_) / "sandbox").string(),
       // Removed with the pod, like its logs.
       .keep_pod_dir = true,
       .volumes = mounts,
       .hidden_paths = env_.hidden_paths,
       .user_namespace_base = *host_users ? std::nullopt : env_.user_namespace_base});
  if (!sb.ok()) {
    Fail("SandboxCreationFailed", std::string(sb.status().message()));
    return Finish();
  }
  sandbox_ = std::move(*sb);
  std::string ip;
  {
    absl::MutexLock lock(&mu_);
    ip = pod_ip_ = sandbox_->ip();
  }
  // After the sandbox, so that status.podIP references resolve.
  for (auto* list : {&init_, &containers_}) {
    for (size_t i = 0; i < list->size(); ++i) {
      Container& c = *(*list)[i];
      absl::StatusOr<ContainerConfig> config =
          BuildContainerConfig(pod_, c.init, i, *env_.images, lookup, ip);
      if (!config.ok()) {
        const bool image = absl::StrContains(config.status().message(), "ImageNotRunnableLocally");
        Fail(image ? "ImageNotRunnableLocally" : "CreateContainerConfigError",
             std::string(config.status().message()));
        return Finish();
      }
      c.config = std::move(*config);
      absl::StatusOr<sandbox::ContainerSecurity> security = sandbox::SecurityFromManifest(
          pod_.value("spec", Object::object()), c.spec, path_of(c, i));
      if (!security.ok()) {
        Fail("CreateContainerConfigError", std::string(security.status().message()));
        return Finish();
      }
      c.security = *std::move(security);
      // A file in the pod's /tmp, which the sandbox created: no directory of
      // its own (directories are the slow part of a pod's scratch space).
      const std::string file = ".argonaut-termination-" + c.name;
      c.termination_host_path = (fs::path(pod_dir_) / "sandbox" / "tmp" / file).string();
      c.termination_pod_path = sandbox_->isolated() ? "/tmp/" + file : c.termination_host_path;
      c.config.env.push_back("ARGONAUT_TERMINATION_MESSAGE_PATH=" + c.termination_pod_path);
      if (!env_.image_table_file.empty()) {
        c.config.env.push_back("ARGONAUT_IMAGE_TABLE=" + env_.image_table_file);
      }
      absl::StatusOr<wl::ContainerProbes> probes = wl::ProbesForContainer(c.spec, path_of(c, i));
      if (!probes.ok()) {
        Fail("CreateContainerConfigError", std::string(probes.status().message()));
        return Finish();
      }
      c.probes = std::move(*probes);
    }
  }
  if (!init_.empty()) Publish();

  const int64_t deadline_s =
      wl::IntOr(pod_.value("spec", Object::object()), "activeDeadlineSeconds", 0);
  const absl::Time deadline =
      deadline_s > 0 ? start_time_ + absl::Seconds(deadline_s) : absl::InfiniteFuture();

  // Init containers, one at a time, each to success.
  for (auto& c : init_) {
    StartContainer(*c);
    Publish();
    while (true) {
      if (Wait(std::min(absl::Seconds(1), deadline - absl::Now()))) {
        KillAll(grace());
        return Finish();
      }
      if (absl::Now() >= deadline) {
        KillAll(TerminationGrace());
        Fail("DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
        return Finish();
      }
      Reap(init_);
      if (c->state == Container::State::kRunning) continue;
      if (c->state == Container::State::kTerminated) {
        if (c->exit_code == 0) break;
        ScheduleRestart(*c);
        if (c->state == Container::State::kTerminated) {
          Fail("Init:Error",
               absl::StrCat("init container ", c->name, " failed with exit code ", c->exit_code));
          return Finish();
        }
        Publish();
      }
      if (c->state == Container::State::kWaiting && absl::Now() >= c->restart_at) {
        StartContainer(*c);
        Publish();
      }
    }
    Publish();
  }
  {
    absl::MutexLock lock(&mu_);
    initialized_ = true;
    phase_ = "Running";
  }
  for (auto& c : containers_) StartContainer(*c);
  // Running is reported after a short delay, like the kubelet's status
  // manager coalescing updates: a container that exits at once (a workflow
  // step running one command) is then reported once, finished.
  const absl::Time report_running = absl::Now() + kCoalesceRunning;
  bool reported_running = false;

  while (true) {
    // Probes are due at whole-second periods; half a second keeps them close.
    absl::Time wake = std::min(deadline, absl::Now() + absl::Milliseconds(500));
    if (!reported_running) wake = std::min(wake, report_running);
    for (const auto& c : containers_) wake = std::min(wake, c->restart_at);
    if (Wait(wake - absl::Now())) {
      KillAll(grace());
      return Finish();
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      KillAll(TerminationGrace());
      Fail("DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
      return Finish();
    }
    if (Reap(containers_)) {
      for (auto& c : containers_) ScheduleRestart(*c);
    }
    for (auto& c : containers_) {
      if (c->state == Container::State::kWaiting && now >= c->restart_at) StartContainer(*c);
    }
    RunProbes(now);
    bool all_done = true, all_ok = true;
    for (const auto& c : containers_) {
      all_done = all_done && c->state == Container::State::kTerminated;
      all_ok = all_ok && c->exit_code == 0;
    }
    if (all_done) {
      absl::MutexLock lock(&mu_);
      phase_ = all_ok ? "Succeeded" : "Failed";
    }
    if (all_done) return Finish();
    if (reported_running || now >= report_running) {
      Publish();
      reported_running = true;
    }
  }
}

}  // namespace argonaut::cluster::kubelet
