// CronWorkflowController: the I/O half of CronWorkflow support. Watches
// CronWorkflows and the Workflows labelled workflows.argoproj.io/cron-workflow,
// hands each CronWorkflow with its children to the pure Decide() (decide.h),
// then terminates (Replace), creates, and deletes Workflows through the
// workflow service's ResourceApi and writes the CronWorkflow's status and
// metadata back with its resourceVersion as precondition. Each key is
// requeued for its next fire time.
//
// The armed schedule entries live in memory only: after a restart every
// CronWorkflow is armed afresh and the latest missed run is caught up if it
// is within spec.startingDeadlineSeconds (Argo's behaviour).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/resource/resource_api.h"
#include "services/workflow/cron/decide.h"

namespace argonaut::workflow::cron {

struct CronControllerOptions {
  int workers = 2;
  // Zone of schedules without spec.timezone; Argo uses the controller's.
  absl::TimeZone default_zone = absl::LocalTimeZone();
  // Re-reads every CronWorkflow this often, in case an event was missed.
  absl::Duration resync_period = absl::Minutes(1);
  // Fire times are judged and waited for on this clock. Not owned; null: the real clock.
  controller::Clock* clock = nullptr;
};

class CronWorkflowController : public controller::Reconciler {
 public:
  // `workflows` (the workflow service's ResourceApi) must outlive the controller.
  explicit CronWorkflowController(resource::ResourceApi* workflows,
                                  CronControllerOptions options = {});
  ~CronWorkflowController() override;

  absl::Status Start();
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // Asks for `key` ("namespace/name") to be reconciled soon, as a watch event does.
  void Enqueue(const std::string& key);
  // The clock's time at the start of the latest finished reconcile of `key`
  // (InfinitePast before the first). A test that advanced a fake clock to T,
  // then Enqueue()d, waits for this to reach T instead of sleeping.
  absl::Time LastReconciled(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::StatusOr<controller::Result> ReconcileAt(const std::string& key, absl::Time now);
  absl::Status WriteCron(const nlohmann::json& cron, const CronDecision& d);

  resource::ResourceApi* const workflows_;
  const CronControllerOptions options_;
  controller::Clock* const clock_;
  absl::Mutex mu_;
  std::map<std::string, ArmedSchedules> armed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_reconciled_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
};

}  // namespace argonaut::workflow::cron
