#include "lib/cluster/kubelet/kubelet.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;

namespace wl = ::argonaut::cluster::workloads;

bool Terminal(const Object& pod) {
  const std::string phase = wl::PodPhase(pod);
  return phase == "Succeeded" || phase == "Failed";
}

absl::Duration GraceOf(const Object& pod) {
  const Object& meta = pod.value("metadata", Object::object());
  if (meta.is_object() && meta.contains("deletionGracePeriodSeconds") &&
      meta["deletionGracePeriodSeconds"].is_number_integer()) {
    return absl::Seconds(std::max<int64_t>(0, meta["deletionGracePeriodSeconds"].get<int64_t>()));
  }
  const Object& spec = pod.value("spec", Object::object());
  if (spec.is_object() && spec.contains("terminationGracePeriodSeconds") &&
      spec["terminationGracePeriodSeconds"].is_number_integer()) {
    return absl::Seconds(
        std::max<int64_t>(0, spec["terminationGracePeriodSeconds"].get<int64_t>()));
  }
  return absl::Seconds(30);
}

// MemTotal of /proc/meminfo in bytes (0 when unreadable).
int64_t NodeMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

// A container of a previous run had started (so its work may be half done).
bool AnyContainerStarted(const Object& pod) {
  const Object& status = pod.value("status", Object::object());
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.is_object() || !status.contains(list) || !status[list].is_array()) continue;
    for (const Object& cs : status[list]) {
      const Object& state = cs.value("state", Object::object());
      if (state.contains("running") || state.contains("terminated") ||
          cs.value("restartCount", 0) > 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

Kubelet::Kubelet(ApiCluster* cluster, KubeletOptions options)
    : cluster_(cluster), options_(std::move(options)) {}

Kubelet::~Kubelet() { Stop(absl::ZeroDuration()); }

void Kubelet::Start() {
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  std::error_code ec;
  fs::create_directories(options_.root_dir, ec);
  if (!options_.cgroup_name.empty()) {
    absl::StatusOr<std::unique_ptr<sandbox::CgroupManager>> m =
        sandbox::CgroupManager::Open({.name = options_.cgroup_name});
    if (m.ok()) {
      cgroups_ = *std::move(m);
      // Pods of a crashed run died with it; their groups may remain.
      if (absl::Status s = cgroups_->CleanupStale(absl::Seconds(10)); !s.ok()) {
        LogWarn("kubelet", "stale pod cgroups", {{"error", s.ToString()}});
      }
      // All pods together get the node's memory minus a reserve for the
      // runtime, as the kubelet's kubepods group: a pod without limits that
      // takes everything is OOM-killed there, not the runtime.
      const int64_t pods_memory =
          wl::PodsMemoryLimit(NodeMemoryBytes(), cgroups_->RuntimeMemoryLimit());
      if (pods_memory > 0) {
        if (absl::Status s = cgroups_->root().SetLimits({.memory_bytes = pods_memory}); !s.ok()) {
          LogWarn("kubelet", "pods memory limit", {{"error", s.ToString()}});
        }
      }
      LogInfo("kubelet", "pod cgroups",
              {{"version", std::to_string(cgroups_->version())},
               {"parent", cgroups_->root().dirs().front().dir},
               {"pod_pids_limit", std::to_string(options_.pod_pids_limit)},
               {"pods_memory_bytes", std::to_string(pods_memory)}});
    } else {
      LogWarn("kubelet", "no cgroups: pods run without memory, CPU and pids limits",
              {{"error", m.status().ToString()}});
    }
  }
  if (options_.max_log_bytes > 0) {
    absl::StatusOr<std::unique_ptr<LogCopier>> l = LogCopier::Start(options_.max_log_bytes);
    if (l.ok()) {
      logs_ = *std::move(l);
    } else {
      LogWarn("kubelet", "container logs are not capped", {{"error", l.status().ToString()}});
    }
  }
  informer_ = std::make_unique<Informer>(cluster_->api(), "Pod",
                                         [this](const WatchEvent& e) { OnEvent(e); });
  informer_->Start();
}

void Kubelet::Stop(absl::Duration max_grace) {
  if (informer_) informer_->Stop();
  std::map<std::string, std::unique_ptr<PodWorker>> workers;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !started_) return;
    stopping_ = true;
    workers.swap(workers_);
  }
  // Every pod gets its SIGTERM at once; then each is waited for.
  for (auto& [uid, w] : workers) w->Stop(max_grace);
  for (auto& [uid, w] : workers) w->Join();
  std::vector<std::pair<std::shared_ptr<PodWorker>, std::thread>> reapers;
  {
    absl::MutexLock lock(&mu_);
    reapers.swap(reapers_);
  }
  for (auto& [w, t] : reapers) {
    w->Stop(max_grace);
    t.join();
  }
  if (cgroups_) {
    if (absl::Status s = cgroups_->root().Destroy(absl::Seconds(10)); !s.ok()) {
      LogWarn("kubelet", "cgroup teardown", {{"error", s.ToString()}});
    }
  }
}

size_t Kubelet::running_pods() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [uid, w] : workers_) n += w->finished() ? 0 : 1;
  return n;
}

std::string Kubelet::PodDir(const Object& pod) const {
  return (fs::path(options_.root_dir) /
          absl::StrCat(NamespaceOf(pod), "_", NameOf(pod), "_", UidOf(pod)))
      .string();
}

void Kubelet::WriteStatus(const Object& pod) {
  absl::StatusOr<Object> out = cluster_->UpdateStatus(pod);
  if (!out.ok() && !absl::IsNotFound(out.status())) {
    LogWarn("kubelet", "status write failed",
            {{"pod", KeyOf(pod)}, {"error", out.status().ToString()}});
  }
}

void Kubelet::StartWorker(const Object& pod, bool adopted) {
  if (adopted && pod.value("spec", Object::object()).value("restartPolicy", "Always") == "Never" &&
      AnyContainerStarted(pod)) {
    Object failed = {{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", {{"name", NameOf(pod)}, {"namespace", NamespaceOf(pod)}}},
                     {"status", pod.value("status", Object::object())}};
    failed["status"]["phase"] = "Failed";
    failed["status"]["reason"] = "NodeRestarted";
    failed["status"]["message"] =
        "the local runtime restarted while the pod ran; restartPolicy Never forbids running it "
        "again";
    WriteStatus(failed);
    return;
  }
  PodWorkerEnv env{.images = options_.images,
                   .network = options_.network,
                   .isolate = options_.isolate,
                   .hidden_paths = options_.hidden_paths,
                   .host_path_allow = options_.host_path_allow,
                   .write_status = [this](const Object& p) { WriteStatus(p); },
                   .lookup = [this](const std::string& kind, const std::string& ns,
                                    const std::string& name) -> std::optional<Object> {
                     absl::StatusOr<Object> o = cluster_->Get(kind, ns, name);
                     if (!o.ok()) return std::nullopt;
                     return *o;
                   },
                   .cgroups = cgroups_.get(),
                   .pod_pids_limit = options_.pod_pids_limit,
                   .logs = logs_.get(),
                   .user_namespace_base = options_.user_namespace_base};
  auto worker = std::make_unique<PodWorker>(pod, PodDir(pod), std::move(env));
  worker->Start();
  absl::MutexLock lock(&mu_);
  workers_[UidOf(pod)] = std::move(worker);
}

void Kubelet::OnEvent(const WatchEvent& event) {
  const Object& pod = event.object;
  const std::string uid = UidOf(pod);
  if (uid.empty()) return;
  if (event.type == "DELETED" || wl::IsTerminating(pod)) {
    std::unique_ptr<PodWorker> worker;
    {
      absl::MutexLock lock(&mu_);
      auto it = workers_.find(uid);
      if (it != workers_.end() && event.type == "DELETED") {
        worker = std::move(it->second);
        workers_.erase(it);
        uid_by_key_.erase(KeyOf(pod));
      } else if (it != workers_.end()) {
        it->second->Stop(GraceOf(pod));
      }
    }
    if (worker == nullptr) {
      if (event.type == "DELETED") {
        std::error_code ec;
        fs::remove_all(PodDir(pod), ec);
      }
      return;
    }
    // The grace period runs on a thread of its own so that other pods'
    // events are not held up behind it.
    const std::string dir = PodDir(pod);
    auto shared = std::shared_ptr<PodWorker>(std::move(worker));
    auto reap = [shared, grace = GraceOf(pod), dir] {
      shared->Stop(grace);
      shared->Join();
      std::error_code ec;
      fs::remove_all(dir, ec);
    };
    std::thread reaper;
    try {
      reaper = std::thread(reap);
    } catch (const std::system_error& e) {
      // Out of threads: the grace period is waited for here, holding up
      // other pods' events, rather than ending the runtime.
      LogWarn("kubelet", "no thread for the deletion: waiting inline",
              {{"pod", KeyOf(pod)}, {"error", e.what()}});
      reap();
      return;
    }
    absl::MutexLock lock(&mu_);
    // Join reapers that are done so the list stays short.
    for (auto it = reapers_.begin(); it != reapers_.end();) {
      if (it->first->finished()) {
        it->second.join();
        it = reapers_.erase(it);
      } else {
        ++it;
      }
    }
    reapers_.emplace_back(std::move(shared), std::move(reaper));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || workers_.count(uid) > 0) return;
    uid_by_key_[KeyOf(pod)] = uid;
  }
  if (Terminal(pod)) return;
  // A pod with a start time but no worker ran under a previous runtime.
  const bool adopted = pod.value("status", Object::object()).contains("startTime");
  StartWorker(pod, adopted);
}

absl::Status Kubelet::Logs(std::string_view ns, std::string_view name, const LogOptions& options,
                           const LogSink& sink) {
  absl::StatusOr<Object> pod = cluster_->Get("Pod", ns, name);
  if (!pod.ok()) return pod.status();
  std::string container = options.container;
  const Object spec = pod->value("spec", Object::object());
  if (container.empty()) {
    if (spec.contains("containers") && spec["containers"].is_array() &&
        !spec["containers"].empty()) {
      container = spec["containers"][0].value("name", "");
    }
  } else {
    bool found = false;
    for (const char* list : {"containers", "initContainers"}) {
      if (!spec.contains(list) || !spec[list].is_array()) continue;
      for (const Object& c : spec[list]) found = found || c.value("name", "") == container;
    }
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("container ", container, " is not valid for pod ", NameOf(*pod)));
    }
  }
  const std::string path = (fs::path(PodDir(*pod)) / "logs" / (container + ".log")).string();
  auto active = [&] {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(UidOf(*pod));
    return it != workers_.end() && it->second->ContainerActive(container);
  };
  std::ifstream in;
  std::string buf(64 * 1024, '\0');
  absl::Time last_beat = absl::Now();
  while (true) {
    if (!in.is_open()) in.open(path, std::ios::binary);
    bool got = false;
    if (in.is_open()) {
      while (true) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const std::streamsize n = in.gcount();
        if (n <= 0) break;
        got = true;
        if (!sink(std::string_view(buf.data(), static_cast<size_t>(n)))) return absl::OkStatus();
      }
      in.clear();  // past EOF; more may be appended
    }
    if (!options.follow) return absl::OkStatus();
    // Check activity before the final read so that nothing written just
    // before the container ended is missed.
    if (!got && !active()) {
      if (in.is_open()) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) continue;
        in.clear();
      }
      return absl::OkStatus();
    }
    if (absl::Now() >= options.deadline) return absl::OkStatus();
    if (!got) {
      absl::SleepFor(absl::Milliseconds(100));
      if (absl::Now() - last_beat > absl::Seconds(1)) {
        last_beat = absl::Now();
        if (!sink("")) return absl::OkStatus();
      }
    }
  }
}

}  // namespace argonaut::cluster::kubelet
