// RetentionController: the I/O half of gc.h. Beside the workflow controller it watches Workflows
// and their pods and, as the pure DecideRetention says, copies finished workflows into the
// archive (then labels them workflows.argoproj.io/workflow-archiving-status=Archived), deletes
// workflows whose ttlStrategy expired and deletes pods as podGC says. It is requeued for exactly
// the instant the next deletion is due, on the injected clock. A key of its own sweeps the
// archive of copies older than archiveTTL every minute.
//
// Configuration: the server's defaults (flags), overridden by the controller ConfigMap
// `workflow-controller-configmap` in `config_namespace` when it exists (keys `persistence`,
// `workflowDefaults`; see gc::ParseControllerConfigMap). It is read again at most every 10 s.
//
//   RetentionController gc(&api, cluster, &archive, {.defaults = {.archive = true}});
//   RETURN_IF_ERROR(gc.Start());
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/resource/resource_api.h"
#include "services/workflow/archive/archive.h"
#include "services/workflow/gc.h"

namespace argonaut::workflow {

inline constexpr char kControllerConfigMap[] = "workflow-controller-configmap";
// The work-queue key of the archiveTTL sweep (no workflow key starts with '!').
inline constexpr char kArchiveSweepKey[] = "!archive-ttl";

struct RetentionControllerOptions {
  gc::RetentionConfig defaults;
  std::string config_namespace = "argo";
  // Not owned; null: the real clock.
  controller::Clock* clock = nullptr;
  int workers = 2;
  absl::Duration resync_period = absl::Minutes(5);
};

class RetentionController : public controller::Reconciler {
 public:
  // `archive` may be null (no archive, whatever the configuration says). All must outlive the
  // controller.
  RetentionController(resource::ResourceApi* workflows, cluster::Cluster* cluster,
                      archive::WorkflowArchive* archive, RetentionControllerOptions options);
  ~RetentionController() override;

  absl::Status Start();
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // The configuration in force (defaults + ConfigMap).
  gc::RetentionConfig Config();

 private:
  absl::StatusOr<controller::Result> SweepArchive();

  resource::ResourceApi* const workflows_;
  cluster::Cluster* const cluster_;
  archive::WorkflowArchive* const archive_;
  const RetentionControllerOptions options_;
  controller::Clock* const clock_;

  absl::Mutex config_mu_;
  std::optional<gc::RetentionConfig> config_ ABSL_GUARDED_BY(config_mu_);
  absl::Time config_read_ ABSL_GUARDED_BY(config_mu_) = absl::InfinitePast();

  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
};

}  // namespace argonaut::workflow
