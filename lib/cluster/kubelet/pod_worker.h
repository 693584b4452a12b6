// PodWorker: runs one pod on this machine, from its own thread: prepares
// volumes, creates the sandbox (namespaces and network), runs init
// containers in order and then the containers, restarts them as the
// restartPolicy says with CrashLoopBackOff delays, runs probes, enforces
// activeDeadlineSeconds, and reports every change as the pod's status.
//
// Stop() ends the pod the way a deletion does: SIGTERM to every container,
// SIGKILL after the grace period, sandbox torn down.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/images/image_table.h"
#include "lib/cluster/kubelet/log_copier.h"
#include "lib/cluster/kubelet/volumes.h"
#include "lib/cluster/sandbox/cgroup.h"
#include "lib/cluster/sandbox/network.h"
#include "lib/cluster/sandbox/process.h"
#include "lib/cluster/sandbox/sandbox.h"
#include "lib/cluster/workloads/kubelet_policy.h"

namespace argonaut::cluster::kubelet {

struct PodWorkerEnv {
  const ImageTable* images = nullptr;
  sandbox::PodNetwork* network = nullptr;  // null: no pod network
  bool isolate = true;
  // The user's image table file, passed on to containers (the workflow
  // executor resolves images with it); empty when none.
  std::string image_table_file;
  std::vector<std::string> hidden_paths;     // SandboxOptions::hidden_paths
  std::vector<std::string> host_path_allow;  // VolumeOptions::host_path_allow
  // Writes the pod's status (the status subresource).
  std::function<void(const Object& pod)> write_status;
  // ConfigMaps and Secrets of the pod's namespace.
  std::function<std::optional<Object>(const std::string& kind, const std::string& ns,
                                      const std::string& name)>
      lookup;
  // The runtime's pod cgroups (limits, OOM kills); null: none.
  sandbox::CgroupManager* cgroups = nullptr;
  int64_t pod_pids_limit = 0;  // 0: unlimited
  // Copies container output into capped log files; null: containers write
  // their log files directly (uncapped).
  LogCopier* logs = nullptr;
  // Isolated pods get a user namespace whose root is this host uid (see
  // sandbox::SandboxOptions), unless they use the host's
  // (sandbox::UsesHostUserNamespace). Unset: every pod uses the host's.
  std::optional<uint32_t> user_namespace_base;
};

class PodWorker {
 public:
  // `pod_dir` holds the pod's logs, volumes and private /tmp.
  PodWorker(Object pod, std::string pod_dir, PodWorkerEnv env);
  ~PodWorker();

  void Start();
  // Asks the pod to stop with `grace` (SIGTERM, then SIGKILL); returns at once.
  void Stop(absl::Duration grace);
  // Waits for the worker thread to end (after Stop, or a finished pod).
  void Join();
  bool finished() const { return finished_.load(); }

  // The log file of a container ("" when the pod has no such container).
  std::string LogPath(const std::string& container) const;
  // True while the container may still write to its log (running, or about
  // to be restarted).
  bool ContainerActive(const std::string& container) const;

 private:
  struct Container;

  void Run();
  void RunPod();
  // Tears the sandbox down and reports the final status.
  void Finish();
  void Fail(const std::string& reason, const std::string& message);
  bool StartContainer(Container& c);
  void HandleExit(Container& c, const sandbox::ExitStatus& status);
  std::string TerminationMessage(const Container& c) const;
  void ScheduleRestart(Container& c);
  bool Reap(std::vector<std::unique_ptr<Container>>& list);
  void RunProbes(absl::Time now);
  absl::Status Probe(Container& c, const Object& probe);
  Object BuildStatus() const;
  void Publish();
  // Sleeps until a container exits, `timeout` passes or Stop() is called;
  // true when stopping.
  bool Wait(absl::Duration timeout);
  void KillAll(absl::Duration grace);
  bool stopping();
  absl::Duration grace();
  absl::Duration TerminationGrace() const;

  const std::string pod_dir_;
  const PodWorkerEnv env_;
  Object pod_;
  workloads::RestartPolicy restart_policy_ = workloads::RestartPolicy::kAlways;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Container>> init_;
  std::vector<std::unique_ptr<Container>> containers_;
  std::string phase_ = "Pending";
  std::string reason_;
  std::string message_;
  std::string pod_ip_ ABSL_GUARDED_BY(mu_);
  absl::Time start_time_;
  bool initialized_ ABSL_GUARDED_BY(mu_) = false;

  // Created before the sandbox: a failure here fails the pod before any
  // process exists.
  bool CreateCgroups();
  void RemoveCgroups();

  std::unique_ptr<sandbox::Cgroup> pod_cgroup_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  int stop_fd_ = -1;  // eventfd that wakes Wait() on Stop()
  std::thread thread_;
  std::atomic<bool> finished_{false};
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  absl::Duration grace_ ABSL_GUARDED_BY(stop_mu_) = absl::Seconds(30);
  Object last_published_;
};

}  // namespace argonaut::cluster::kubelet
