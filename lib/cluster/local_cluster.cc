#include "lib/cluster/local_cluster.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/sandbox/cgroup.h"
#include "lib/cluster/sandbox/sandbox.h"

namespace argonaut::cluster {

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    resource::ResourceApi* api, const LocalClusterOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: required");
  auto c = std::unique_ptr<LocalCluster>(new LocalCluster(api));
  ASSIGN_OR_RETURN(
      ImageTable table,
      ImageTable::Load(options.image_table, {.builtin_binary = options.builtin_binary,
                                             .builtin_prefix = options.builtin_prefix,
                                             .builtin_programs = options.builtin_programs}));
  c->images_ = std::make_unique<ImageTable>(std::move(table));

  using Isolation = LocalClusterOptions::Isolation;
  const bool can = sandbox::Sandbox::CanIsolate();
  if (options.isolation == Isolation::kNamespaces && !can) {
    return absl::PermissionDeniedError(
        "pod isolation needs CAP_SYS_ADMIN (run as root) or isolation=plain");
  }
  c->isolated_ = options.isolation != Isolation::kPlain && can;
  if (!c->isolated_ && options.isolation == Isolation::kAuto) {
    LogWarn("cluster",
            "no privileges for namespaces: pods run as plain processes sharing the host network");
  }
  if (c->isolated_ && options.pod_network) {
    // A crashed previous run with the same data dir may have left its bridge.
    (void)sandbox::Sandbox::CleanupStale(options.data_dir);
    ASSIGN_OR_RETURN(c->network_, sandbox::PodNetwork::Create({.seed = options.data_dir}));
    LogInfo("cluster", "pod network up",
            {{"bridge", c->network_->bridge_name()}, {"gateway", c->network_->gateway_ip()}});
  }
  c->kubelet_ = std::make_unique<kubelet::Kubelet>(
      c.get(),
      kubelet::KubeletOptions{
          .root_dir = absl::StrCat(options.data_dir, "/pods"),
          .isolate = c->isolated_,
          .network = c->network_.get(),
          .images = c->images_.get(),
          .image_table_file = options.image_table,
          .hidden_paths = options.hidden_paths.empty() ? std::vector<std::string>{options.data_dir}
                                                       : options.hidden_paths,
          .host_path_allow = options.host_path_allow,
          .cgroup_name =
              options.cgroups && geteuid() == 0 ? sandbox::CgroupName(options.data_dir) : "",
          .pod_pids_limit = options.pod_pids_limit,
          .max_log_bytes = options.max_log_bytes,
          .user_namespace_base =
              options.user_namespaces
                  ? std::optional<uint32_t>(sandbox::UserNamespaceBase(options.data_dir))
                  : std::nullopt});
  c->gc_ = std::make_unique<GarbageCollector>(c.get());
  c->workloads_ = std::make_unique<WorkloadControllers>(c.get());
  c->services_ = std::make_unique<ServiceController>(c.get(), options.service_address);
  c->gc_->Start();
  c->kubelet_->Start();
  RETURN_IF_ERROR(c->workloads_->Start());
  RETURN_IF_ERROR(c->services_->Start());
  return c;
}

LocalCluster::~LocalCluster() { Stop(); }

void LocalCluster::Stop(absl::Duration max_grace) {
  if (stopped_) return;
  stopped_ = true;
  // Controllers first, so nothing replaces the pods being stopped.
  if (workloads_) workloads_->Stop();
  if (gc_) gc_->Stop();
  if (services_) services_->Stop();
  if (kubelet_) kubelet_->Stop(max_grace);
  if (network_) {
    if (absl::Status s = network_->Destroy(); !s.ok()) {
      LogWarn("cluster", "network teardown", {{"error", s.ToString()}});
    }
  }
}

absl::Status LocalCluster::Logs(std::string_view ns, std::string_view pod,
                                const LogOptions& options, const LogSink& sink) {
  return kubelet_->Logs(ns, pod, options, sink);
}

}  // namespace argonaut::cluster
