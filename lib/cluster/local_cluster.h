// LocalCluster: the Cluster interface over the cluster service's store, with
// this machine as the only node. It runs the kubelet (pods as isolated
// processes), the ReplicaSet/Deployment/Job controllers, the Service proxies
// and the garbage collector, all driven by watches on the store, so objects
// written through the generic API (argonaut apply) take effect the same way.
//
//   ASSIGN_OR_RETURN(auto cluster, LocalCluster::Start(&bundle.api(), {.data_dir = dir}));
//   ASSIGN_OR_RETURN(Object pod, cluster->Apply(pod_manifest));
//   ...
//   cluster->Stop();  // every pod stopped, no process left behind
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/garbage_collector.h"
#include "lib/cluster/images/image_table.h"
#include "lib/cluster/kubelet/kubelet.h"
#include "lib/cluster/sandbox/network.h"
#include "lib/cluster/service_controller.h"
#include "lib/cluster/workload_controllers.h"

namespace argonaut::cluster {

struct LocalClusterOptions {
  // Pod directories live in data_dir/pods; the pod network's bridge name
  // and subnet derive from data_dir, so two runtimes never collide.
  std::string data_dir;
  // A user image table (YAML) extending the built-in one; may be empty.
  std::string image_table;
  // The program that runs built-in images; empty: this executable with
  // `__image` (the argonaut CLI).
  std::string builtin_binary;
  std::vector<std::string> builtin_prefix = {"__image"};
  // Built-in programs with a binary of their own (see ImageTableOptions).
  std::map<std::string, std::string> builtin_programs;
  enum class Isolation { kAuto, kNamespaces, kPlain };
  // kAuto: namespaces when this process may create them, else plain
  // processes (logged once).
  Isolation isolation = Isolation::kAuto;
  // Whether pods get their own network (a veth on the runtime's bridge).
  bool pod_network = true;
  // Where Services listen.
  std::string service_address = "127.0.0.1";
  // Host paths no pod may see: an empty read-only directory in the pod
  // (volumes below them still show). Empty: data_dir (the runtime's pod
  // directories); the platform passes its whole data directory (stores).
  std::vector<std::string> hidden_paths;
  // hostPath volumes must lie under one of these (also checked at
  // admission, KubernetesValidator). Empty: any path is allowed.
  std::vector<std::string> host_path_allow;
  // Pods' resources.limits (memory, cpu) become cgroup limits, with a pids
  // limit per pod (the kubelet's podPidsLimit; 0: none) even without
  // limits. Needs root and a cgroup hierarchy; otherwise pods run unlimited
  // (logged). false: no cgroups.
  bool cgroups = true;
  int64_t pod_pids_limit = 1024;
  // Cap of each container's log file (further output is dropped, with a
  // note): 50 MiB, what the kubelet keeps by default (5 files of 10 MiB).
  // 0: uncapped.
  int64_t max_log_bytes = int64_t{50} << 20;
  // Isolated pods run in a user namespace of their own, their root an
  // unprivileged host uid of a range derived from data_dir
  // (sandbox::UserNamespaceBase), unless privileged or hostUsers: true.
  bool user_namespaces = true;
};

class LocalCluster : public ApiCluster {
 public:
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(resource::ResourceApi* api,
                                                             const LocalClusterOptions& options);
  ~LocalCluster() override;

  // Stops controllers, then every pod (SIGTERM, SIGKILL after at most
  // `max_grace`), then the network. Idempotent.
  void Stop(absl::Duration max_grace = absl::Seconds(10));

  absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const LogSink& sink) override;

  bool isolated() const { return isolated_; }
  kubelet::Kubelet& kubelet() { return *kubelet_; }

 private:
  explicit LocalCluster(resource::ResourceApi* api) : ApiCluster(api) {}

  bool isolated_ = false;
  bool stopped_ = false;
  std::unique_ptr<ImageTable> images_;
  std::unique_ptr<sandbox::PodNetwork> network_;
  std::unique_ptr<kubelet::Kubelet> kubelet_;
  std::unique_ptr<WorkloadControllers> workloads_;
  std::unique_ptr<ServiceController> services_;
  std::unique_ptr<GarbageCollector> gc_;
};

}  // namespace argonaut::cluster
