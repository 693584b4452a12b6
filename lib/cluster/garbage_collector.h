// GarbageCollector: Kubernetes' background cascading deletion for the local
// cluster. When an owner (Deployment, ReplicaSet, Job) goes, the objects whose
// ownerReferences name its uid go too, and so on down the chain (a deleted
// Deployment takes its ReplicaSets, whose deletion takes their Pods).
#pragma once

#include <memory>
#include <vector>

#include "lib/cluster/api_cluster.h"
#include "lib/cluster/informer.h"

namespace argonaut::cluster {

class GarbageCollector {
 public:
  explicit GarbageCollector(ApiCluster* cluster) : cluster_(cluster) {}
  ~GarbageCollector() { Stop(); }

  // Sweeps dependents whose owner is already gone (deleted while we were
  // down), then follows deletions.
  void Start();
  void Stop();

  // Deletes the dependents of `owner` (its kind's dependent kinds, same
  // namespace, an ownerReference with its uid). Public for tests.
  void DeleteDependents(const Object& owner);

 private:
  void Sweep();

  ApiCluster* const cluster_;
  std::vector<std::unique_ptr<Informer>> informers_;
};

}  // namespace argonaut::cluster
