// WorkloadControllers: ReplicaSet, Deployment and Job controllers of the
// local cluster. The decisions are //lib/cluster/workloads' pure functions;
// this file only feeds them the store's objects and carries out what they
// decide (create/delete pods, create/scale/delete ReplicaSets, write status).
#pragma once

#include <memory>
#include <vector>

#include "lib/cluster/api_cluster.h"
#include "lib/cluster/informer.h"
#include "lib/cluster/owner_index.h"
#include "lib/controller/controller.h"

namespace argonaut::cluster {

class WorkloadControllers {
 public:
  explicit WorkloadControllers(ApiCluster* cluster);
  ~WorkloadControllers();

  absl::Status Start();
  void Stop();

 private:
  class ReplicaSetReconciler;
  class DeploymentReconciler;
  class JobReconciler;

  // Enqueues the controller owner of `object` with the controller for its kind.
  void EnqueueOwner(const Object& object);

  ApiCluster* const cluster_;
  // Pods and ReplicaSets by controller owner, so that a reconcile reads its
  // own dependents rather than its whole namespace.
  OwnerIndex pod_index_, replica_set_index_;
  std::unique_ptr<controller::Reconciler> rs_reconciler_, deploy_reconciler_, job_reconciler_;
  std::unique_ptr<controller::Controller> rs_, deploy_, job_;
  std::vector<std::unique_ptr<Informer>> informers_;
};

}  // namespace argonaut::cluster
