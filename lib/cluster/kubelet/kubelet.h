// Kubelet: the node agent of the local cluster. Follows every Pod in the
// store and keeps one PodWorker per pod that should run; reports status
// through the status subresource; serves container logs.
//
// Pods found non-terminal at start belonged to a previous run of the runtime
// whose processes died with it (every pod process is tied to the runtime's
// life): they are started afresh, counting a restart for containers that had
// run. A pod with restartPolicy Never whose containers had already started is
// marked Failed instead, as Kubernetes does for pods of a lost node, so that
// a step never runs twice behind a workflow's back.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/images/image_table.h"
#include "lib/cluster/informer.h"
#include "lib/cluster/kubelet/log_copier.h"
#include "lib/cluster/kubelet/pod_worker.h"
#include "lib/cluster/sandbox/cgroup.h"
#include "lib/cluster/sandbox/network.h"

namespace argonaut::cluster::kubelet {

struct KubeletOptions {
  // Pod directories (logs, volumes, private /tmp) go under it.
  std::string root_dir;
  bool isolate = true;
  sandbox::PodNetwork* network = nullptr;
  const ImageTable* images = nullptr;
  std::string image_table_file;  // the user's table, if any
  // Host paths no pod may see (SandboxOptions::hidden_paths).
  std::vector<std::string> hidden_paths;
  // hostPath volumes resolve below these (VolumeOptions::host_path_allow);
  // empty: any host path.
  std::vector<std::string> host_path_allow;
  // Pod cgroups under "<own cgroup>/<cgroup_name>" (CgroupName(data dir));
  // empty: none. Without the rights or a usable hierarchy pods run without
  // limits (logged once).
  std::string cgroup_name;
  // pids.max of every pod, limits or not (the kubelet's podPidsLimit); 0: none.
  int64_t pod_pids_limit = 0;
  // Cap of each container's log file; 0: uncapped (direct writes).
  int64_t max_log_bytes = 0;
  // PodWorkerEnv::user_namespace_base.
  std::optional<uint32_t> user_namespace_base;
};

class Kubelet {
 public:
  Kubelet(ApiCluster* cluster, KubeletOptions options);
  ~Kubelet();

  void Start();
  // Stops every pod (SIGTERM, then SIGKILL after each pod's grace, at most
  // `max_grace`) and waits for them.
  void Stop(absl::Duration max_grace);

  absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const LogSink& sink);

  // Pods with a live worker, for tests and metrics.
  size_t running_pods() const;

 private:
  void OnEvent(const WatchEvent& event);
  void StartWorker(const Object& pod, bool adopted);
  std::string PodDir(const Object& pod) const;
  void WriteStatus(const Object& pod);

  ApiCluster* const cluster_;
  const KubeletOptions options_;
  // Before the workers: they use both until they are gone.
  std::unique_ptr<sandbox::CgroupManager> cgroups_;
  std::unique_ptr<LogCopier> logs_;
  std::unique_ptr<Informer> informer_;
  mutable absl::Mutex mu_;
  // By pod uid, so that a re-created pod of the same name is a new pod.
  std::map<std::string, std::unique_ptr<PodWorker>> workers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> uid_by_key_ ABSL_GUARDED_BY(mu_);
  // Deleted pods still within their grace period, each with its thread.
  std::vector<std::pair<std::shared_ptr<PodWorker>, std::thread>> reapers_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace argonaut::cluster::kubelet
