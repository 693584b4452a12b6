// RolloutController: the I/O half of the rollout controller. For each Rollout
// it reads the object and what it owns or names — its ReplicaSets (controller
// ownerReference uid), the Services of its strategy, its AnalysisRuns, the
// workloadRef Deployment — asks the pure engine (services/rollout/engine)
// what to do, carries that out through the Cluster interface and the
// rollout store, and then writes the engine's status with the
// resourceVersion as precondition.
//
// Level-triggered: driven by watches on Rollouts and AnalysisRuns (store) and
// on ReplicaSets, Services and Deployments (cluster), Experiments (store), plus the engine's
// timers. Every action is idempotent and every object it creates has a
// deterministic name (<rollout>-<hash>, the engine's run names), so after a
// restart, even a SIGKILL between an action and the status write, the next
// reconcile sees the world as it is and continues: nothing is created twice
// and no step runs again.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/informer.h"
#include "lib/cluster/owner_index.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/rollout/engine/engine.h"
#include "services/rollout/metrics.h"

namespace argonaut::rollout {

struct RolloutControllerOptions {
  int workers = 4;
  // The engine's "now" (pauses, delays, deadlines). The work queue's own
  // timers (retries, resync, requeue-after) run on real time: a test that
  // advances a FakeClock calls Enqueue() afterwards. Null: the real clock.
  controller::Clock* clock = nullptr;
  // May be null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  absl::Duration resync_period = absl::Minutes(1);
};

class RolloutController : public controller::Reconciler {
 public:
  // `rollouts` is the rollout service's store (Rollouts, AnalysisRuns, the
  // templates); both must outlive the controller.
  RolloutController(resource::ResourceApi* rollouts, cluster::Cluster* cluster,
                    RolloutControllerOptions options = {});
  ~RolloutController() override;

  absl::Status Start();
  // Idempotent.
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // Asks for the rollout "namespace/name" to be reconciled (after a test
  // advances its clock).
  void Enqueue(const std::string& key);

  // The AnalysisRun the controller creates for an engine request: the
  // analysis package's run from the rollout's templates or, when that cannot
  // be built (a missing template, a missing argument), a run already in phase
  // Error whose message says why, so the engine aborts with that message.
  // Exposed for tests.
  nlohmann::json AnalysisRunFor(const nlohmann::json& rollout,
                                const engine::AnalysisRunRequest& request);

 private:
  absl::StatusOr<controller::Result> ReconcileRollout(const std::string& ns,
                                                      const std::string& name);
  // Carries out the engine's output, in the order that keeps traffic safe:
  // new ReplicaSets first, selectors and weights, then scale-downs and
  // deletions. ABORTED when an object changed under it (the key is retried).
  absl::Status Apply(const nlohmann::json& rollout, const engine::RolloutInput& in,
                     const engine::RolloutOutput& out);
  absl::Status PatchSelector(const std::string& ns, const std::string& service,
                             const std::string* hash);
  absl::Status TerminateRun(const std::string& ns, const std::string& run);
  // spec.terminate=true on an AnalysisRun or Experiment of the store.
  absl::Status TerminateObject(const std::string& kind, const std::string& ns,
                               const std::string& name);
  absl::Status ScaleWorkload(const std::string& ns, const nlohmann::json& workload, int replicas);
  // A deleted rollout takes its ReplicaSets and AnalysisRuns with it.
  absl::Status DeleteOwned(const std::string& ns, const std::string& name);
  // Remembers which Services/Deployments a rollout names, so that their
  // events reach it.
  void Index(const std::string& key, std::set<std::string> refs);
  void EnqueueReferrers(const std::string& ref);
  // The ReplicaSets in `ns` that the rollout with `uid` controls and
  // `selector` matches, read one by one through replica_sets_ (listing the
  // namespace made each reconcile cost every ReplicaSet there).
  absl::StatusOr<std::vector<nlohmann::json>> OwnedReplicaSets(const std::string& ns,
                                                               const std::string& uid,
                                                               const std::string& selector);

  resource::ResourceApi* const rollouts_;
  cluster::Cluster* const cluster_;
  const RolloutControllerOptions options_;
  controller::Clock* const clock_;
  std::unique_ptr<RolloutMetrics> metrics_;

  absl::Mutex index_mu_;
  // "<Kind>/<ns>/<name>" -> rollout keys naming it, and the reverse.
  std::map<std::string, std::set<std::string>> referrers_ ABSL_GUARDED_BY(index_mu_);
  std::map<std::string, std::set<std::string>> refs_ ABSL_GUARDED_BY(index_mu_);

  // Rollout ReplicaSets by controller uid: the informer feeds it, Apply adds
  // what it creates, and the first reconcile fills it with one list (retried
  // while the cluster cannot answer, as that reconcile's own list was).
  cluster::OwnerIndex replica_sets_;
  absl::Mutex replica_sets_mu_;
  bool replica_sets_listed_ ABSL_GUARDED_BY(replica_sets_mu_) = false;

  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
};

}  // namespace argonaut::rollout
