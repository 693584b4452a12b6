// WorkflowController: the I/O half of the workflow controller. For each
// Workflow it reads the object and its pods, asks the pure engine
// (services/workflow/engine) what to do, creates and deletes pods through the
// Cluster interface and writes the new status back with the resourceVersion
// as precondition. Level-triggered: driven by watches on Workflows and on
// pods labelled workflows.argoproj.io/workflow, plus the engine's timers.
//
// State lives only in the store (status.nodes) and the cluster (pods), so
// after a restart, even a SIGKILL, every running workflow simply continues:
// finished nodes are in the status and never run again; a pod that finished
// while the controller was down is read back from the cluster.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "services/workflow/artifact_collector.h"
#include "services/workflow/engine/engine.h"
#include "services/workflow/http_runner.h"
#include "services/workflow/metrics.h"
#include "services/workflow/pacing.h"
#include "services/workflow/resources.h"
#include "services/workflow/sync.h"

namespace argonaut::workflow {

inline constexpr char kWorkflowLabel[] = "workflows.argoproj.io/workflow";
inline constexpr char kCompletedLabel[] = "workflows.argoproj.io/completed";
inline constexpr char kPhaseLabel[] = "workflows.argoproj.io/phase";

struct WorkflowControllerOptions {
  int workers = 4;
  // May be null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // Host directory of the local artifact repository (created by the caller); empty: none.
  std::string artifact_repository;
  // Where workflow-controller-configmap (the default artifact repository) and the fallback
  // artifact-repositories ConfigMap live; empty: "argo", as Argo installs.
  std::string controller_namespace;
  // Deletes one artifact for artifact GC (through the artifact drivers); empty: no artifact GC
  // (no finalizer is added).
  std::function<absl::Status(const nlohmann::json& artifact, const std::string& ns)>
      delete_artifact;
  // Every instant the controller uses (the engine's now, requeues, pacing, resync, artifact GC)
  // comes from here. Not owned; null: the real clock.
  controller::Clock* clock = nullptr;
};

class WorkflowController : public controller::Reconciler {
 public:
  WorkflowController(resource::ResourceApi* workflows, cluster::Cluster* cluster,
                     WorkflowControllerOptions options = {});
  ~WorkflowController() override;

  absl::Status Start();
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // The engine's view of a pod, from the pod object (exposed for tests).
  static engine::PodState ObservePod(const nlohmann::json& pod);

  // Synchronization locks (null before Start).
  LockManager* locks() { return locks_.get(); }

 private:
  // Reconcile without the pacing bookkeeping; `written_version` gets the
  // version of the status it wrote, if any, and `finished` whether the
  // workflow is done or gone.
  absl::StatusOr<controller::Result> ReconcileOnce(const std::string& key,
                                                   uint64_t& written_version, bool& finished);
  absl::Status DeletePods(const std::string& ns, const std::string& workflow);
  void ForgetRefusedPods(const std::string& key);
  std::optional<nlohmann::json> LookupTemplate(const std::string& ns, std::string_view kind,
                                               std::string_view name);

  resource::ResourceApi* const workflows_;
  cluster::Cluster* const cluster_;
  const WorkflowControllerOptions options_;
  controller::Clock* const clock_;
  // Declared before the controller, which reports to it until destroyed.
  std::unique_ptr<WorkflowMetrics> metrics_;
  ResourceRunner resources_;
  ReconcilePacing pacing_;
  // Declared before the controller: a release wakes workflows through it.
  std::unique_ptr<LockManager> locks_;
  // Null without options_.delete_artifact.
  std::unique_ptr<ArtifactCollector> artifact_gc_;
  std::unique_ptr<controller::Controller> controller_;
  // HTTP templates (null before Start). Declared after the controller: its workers enqueue
  // through it until they are joined.
  std::unique_ptr<HttpRunner> http_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
  // Pods the cluster refused to admit (InvalidArgument: the spec itself is
  // wrong), by workflow key then pod name, with the reason. Fed to the engine
  // as failed pods, so the node ends in Error saying why instead of the create
  // being retried forever while the workflow sits Pending. Kept in memory only:
  // after a restart the create is tried once more and refused again.
  absl::Mutex refused_mu_;
  std::map<std::string, std::map<std::string, std::string>> refused_pods_
      ABSL_GUARDED_BY(refused_mu_);
};

}  // namespace argonaut::workflow
