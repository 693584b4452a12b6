#include "lib/cluster/workload_controllers.h"

#include <set>

#include "absl/random/random.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/deployment.h"
#include "lib/cluster/workloads/job.h"
#include "lib/cluster/workloads/replicaset.h"

namespace argonaut::cluster {
namespace {

namespace wl = ::argonaut::cluster::workloads;

wl::RandomSource Random() {
  auto gen = std::make_shared<absl::BitGen>();
  auto mu = std::make_shared<absl::Mutex>();
  return [gen, mu]() {
    absl::MutexLock lock(mu.get());
    return absl::Uniform<uint32_t>(*gen);
  };
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

controller::Result Requeue(const std::optional<absl::Duration>& after) {
  controller::Result r;
  if (after.has_value() && *after > absl::ZeroDuration()) r.requeue_after = *after;
  return r;
}

// Writes `status` unless it is what the object already reports.
absl::Status WriteStatus(ApiCluster* cluster, const Object& object, const Object& status) {
  if (object.value("status", Object()) == status) return absl::OkStatus();
  Object out = {{"apiVersion", object.value("apiVersion", "")},
                {"kind", KindOf(object)},
                {"metadata", {{"name", NameOf(object)}, {"namespace", NamespaceOf(object)}}},
                {"status", status}};
  absl::StatusOr<Object> written = cluster->UpdateStatus(out);
  if (absl::IsNotFound(written.status())) return absl::OkStatus();
  return written.status();
}

// Creates each object and records it in `index` at once, so that the next
// reconcile counts it even before the informer has delivered it.
absl::Status CreateAll(ApiCluster* cluster, const std::vector<Object>& objects, OwnerIndex* index) {
  for (const Object& o : objects) {
    absl::StatusOr<Object> created = cluster->Create(o);
    if (created.ok()) index->Add(*created);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  }
  return absl::OkStatus();
}

// The objects at `keys` ("namespace/name", in this order) as the store has them
// now; keys deleted meanwhile are skipped.
absl::StatusOr<std::vector<Object>> GetAll(ApiCluster* cluster, const char* kind,
                                           const std::vector<std::string>& keys) {
  std::vector<Object> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    auto [ns, name] = SplitKey(key);
    absl::StatusOr<Object> o = cluster->Get(kind, ns, name);
    if (absl::IsNotFound(o.status())) continue;
    if (!o.ok()) return o.status();
    out.push_back(*std::move(o));
  }
  return out;
}

absl::Status Bootstrap(ApiCluster* cluster, const char* kind, OwnerIndex* index) {
  ASSIGN_OR_RETURN(std::vector<Object> items, cluster->List(kind, "", ""));
  for (const Object& o : items) index->Add(o);
  return absl::OkStatus();
}

absl::Status DeleteAll(ApiCluster* cluster, const char* kind, const std::string& ns,
                       const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    absl::Status s = cluster->Delete(kind, ns, name);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

std::vector<std::string> Keys(ApiCluster* cluster, const char* kind) {
  std::vector<std::string> keys;
  absl::StatusOr<std::vector<Object>> items = cluster->List(kind, "", "");
  if (items.ok()) {
    for (const Object& o : *items) keys.push_back(KeyOf(o));
  }
  return keys;
}

}  // namespace

class WorkloadControllers::ReplicaSetReconciler : public controller::Reconciler {
 public:
  ReplicaSetReconciler(ApiCluster* cluster, OwnerIndex* pods)
      : cluster_(cluster), pods_(pods), rand_(Random()) {}
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override {
    auto [ns, name] = SplitKey(key);
    absl::StatusOr<Object> rs = cluster_->Get("ReplicaSet", ns, name);
    if (absl::IsNotFound(rs.status())) return controller::Result{};
    if (!rs.ok()) return rs.status();
    // Only pods it controls count for a ReplicaSet; reading just those keeps a
    // reconcile's cost independent of the number of pods in the namespace.
    ASSIGN_OR_RETURN(std::vector<Object> pods,
                     GetAll(cluster_, "Pod", pods_->KeysOwnedBy(ns, UidOf(*rs))));
    absl::StatusOr<wl::ReplicaSetDecision> d =
        wl::ReconcileReplicaSet(*rs, pods, absl::Now(), rand_);
    if (!d.ok()) {
      // A spec the controller cannot act on: report it and wait for a fix.
      LogWarn("replicaset-controller", "invalid spec",
              {{"replicaset", key}, {"error", d.status().ToString()}});
      return absl::FailedPreconditionError(d.status().message());
    }
    RETURN_IF_ERROR(CreateAll(cluster_, d->pods_to_create, pods_));
    RETURN_IF_ERROR(DeleteAll(cluster_, "Pod", ns, d->pods_to_delete));
    RETURN_IF_ERROR(WriteStatus(cluster_, *rs, d->status));
    return Requeue(d->requeue_after);
  }

 private:
  ApiCluster* const cluster_;
  OwnerIndex* const pods_;
  wl::RandomSource rand_;
};

class WorkloadControllers::DeploymentReconciler : public controller::Reconciler {
 public:
  DeploymentReconciler(ApiCluster* cluster, OwnerIndex* replica_sets, OwnerIndex* pods)
      : cluster_(cluster), replica_sets_(replica_sets), pods_(pods) {}
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override {
    auto [ns, name] = SplitKey(key);
    absl::StatusOr<Object> deploy = cluster_->Get("Deployment", ns, name);
    if (absl::IsNotFound(deploy.status())) return controller::Result{};
    if (!deploy.ok()) return deploy.status();
    // The decision reads the ReplicaSets it controls, the names of others that
    // its next ReplicaSet's name (NAME-HASH) could collide with, and only the
    // pods of its own ReplicaSets (Recreate waits for them).
    std::set<std::string> rs_keys;
    for (std::string& k : replica_sets_->KeysOwnedBy(ns, UidOf(*deploy))) {
      rs_keys.insert(std::move(k));
    }
    for (std::string& k : replica_sets_->KeysWithNamePrefix(ns, name + "-")) {
      rs_keys.insert(std::move(k));
    }
    ASSIGN_OR_RETURN(
        std::vector<Object> replica_sets,
        GetAll(cluster_, "ReplicaSet", std::vector<std::string>(rs_keys.begin(), rs_keys.end())));
    std::set<std::string> pod_keys;
    for (const Object& rs : replica_sets) {
      if (!wl::IsControlledBy(rs, *deploy)) continue;
      for (std::string& k : pods_->KeysOwnedBy(ns, UidOf(rs))) pod_keys.insert(std::move(k));
    }
    ASSIGN_OR_RETURN(
        std::vector<Object> pods,
        GetAll(cluster_, "Pod", std::vector<std::string>(pod_keys.begin(), pod_keys.end())));
    absl::StatusOr<wl::DeploymentDecision> d =
        wl::ReconcileDeployment(*deploy, replica_sets, pods, absl::Now());
    if (!d.ok()) {
      LogWarn("deployment-controller", "invalid spec",
              {{"deployment", key}, {"error", d.status().ToString()}});
      return absl::FailedPreconditionError(d.status().message());
    }
    for (Object rs : d->replica_sets_to_create) {
      if (auto it = d->scale.find(NameOf(rs)); it != d->scale.end()) {
        rs["spec"]["replicas"] = it->second;
      }
      absl::StatusOr<Object> created = cluster_->Create(rs);
      if (created.ok()) replica_sets_->Add(*created);
      if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
    }
    for (Object rs : d->replica_sets_to_update) {
      if (auto it = d->scale.find(NameOf(rs)); it != d->scale.end()) {
        rs["spec"]["replicas"] = it->second;
      }
      ASSIGN_OR_RETURN(Object updated, cluster_->Update(rs));
      (void)updated;
    }
    RETURN_IF_ERROR(DeleteAll(cluster_, "ReplicaSet", ns, d->replica_sets_to_delete));
    Object current = *deploy;
    const std::string revision = current.value("metadata", Object::object())
                                     .value("annotations", Object::object())
                                     .value(wl::kRevisionAnnotation, "");
    if (!d->revision.empty() && d->revision != revision) {
      current["metadata"]["annotations"][wl::kRevisionAnnotation] = d->revision;
      ASSIGN_OR_RETURN(current, cluster_->Update(current));
    }
    RETURN_IF_ERROR(WriteStatus(cluster_, current, d->status));
    return Requeue(d->requeue_after);
  }

 private:
  ApiCluster* const cluster_;
  OwnerIndex* const replica_sets_;
  OwnerIndex* const pods_;
};

class WorkloadControllers::JobReconciler : public controller::Reconciler {
 public:
  JobReconciler(ApiCluster* cluster, OwnerIndex* pods)
      : cluster_(cluster), pods_(pods), rand_(Random()) {}
  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override {
    auto [ns, name] = SplitKey(key);
    absl::StatusOr<Object> job = cluster_->Get("Job", ns, name);
    if (absl::IsNotFound(job.status())) return controller::Result{};
    if (!job.ok()) return job.status();
    if (!job->value("spec", Object::object()).contains("selector")) {
      // What the API server does on create in Kubernetes: label the
      // template and select on the job's uid.
      Object defaulted = *job;
      RETURN_IF_ERROR(wl::DefaultJob(defaulted));
      ASSIGN_OR_RETURN(job, cluster_->Update(defaulted));
    }
    ASSIGN_OR_RETURN(std::vector<Object> pods,
                     GetAll(cluster_, "Pod", pods_->KeysOwnedBy(ns, UidOf(*job))));
    absl::StatusOr<wl::JobDecision> d = wl::ReconcileJob(*job, pods, absl::Now(), rand_);
    if (!d.ok()) {
      LogWarn("job-controller", "invalid spec", {{"job", key}, {"error", d.status().ToString()}});
      return absl::FailedPreconditionError(d.status().message());
    }
    RETURN_IF_ERROR(CreateAll(cluster_, d->pods_to_create, pods_));
    RETURN_IF_ERROR(DeleteAll(cluster_, "Pod", ns, d->pods_to_delete));
    RETURN_IF_ERROR(WriteStatus(cluster_, *job, d->status));
    return Requeue(d->requeue_after);
  }

 private:
  ApiCluster* const cluster_;
  OwnerIndex* const pods_;
  wl::RandomSource rand_;
};

WorkloadControllers::WorkloadControllers(ApiCluster* cluster) : cluster_(cluster) {
  rs_reconciler_ = std::make_unique<ReplicaSetReconciler>(cluster, &pod_index_);
  deploy_reconciler_ =
      std::make_unique<DeploymentReconciler>(cluster, &replica_set_index_, &pod_index_);
  job_reconciler_ = std::make_unique<JobReconciler>(cluster, &pod_index_);
  auto options = [cluster](const char* name, const char* kind) {
    return controller::ControllerOptions{
        .name = name,
        .workers = 2,
        .list_keys = [cluster, kind] { return Keys(cluster, kind); },
        .resync_period = absl::Seconds(30)};
  };
  rs_ = std::make_unique<controller::Controller>(options("replicaset", "ReplicaSet"),
                                                 rs_reconciler_.get());
  deploy_ = std::make_unique<controller::Controller>(options("deployment", "Deployment"),
                                                     deploy_reconciler_.get());
  job_ = std::make_unique<controller::Controller>(options("job", "Job"), job_reconciler_.get());
}

WorkloadControllers::~WorkloadControllers() { Stop(); }

void WorkloadControllers::EnqueueOwner(const Object& object) {
  const Object* ref = wl::ControllerRef(object);
  if (ref == nullptr) return;
  const std::string kind = ref->value("kind", "");
  const std::string key = NamespaceOf(object) + "/" + ref->value("name", "");
  if (kind == "ReplicaSet") rs_->Enqueue(key);
  if (kind == "Job") job_->Enqueue(key);
  if (kind == "Deployment") deploy_->Enqueue(key);
}

absl::Status WorkloadControllers::Start() {
  // The indexes hold every existing object before the first reconcile, so a
  // controller never mistakes an object the informer has not delivered yet for
  // a missing one (and, say, creates pods a ReplicaSet already has). Objects
  // written between this list and the informers' own are delivered by them.
  RETURN_IF_ERROR(Bootstrap(cluster_, "Pod", &pod_index_));
  RETURN_IF_ERROR(Bootstrap(cluster_, "ReplicaSet", &replica_set_index_));
  RETURN_IF_ERROR(rs_->Start());
  RETURN_IF_ERROR(deploy_->Start());
  RETURN_IF_ERROR(job_->Start());
  auto add = [this](const char* kind, std::function<void(const WatchEvent&)> handler) {
    auto informer = std::make_unique<Informer>(cluster_->api(), kind, std::move(handler));
    informer->Start();
    informers_.push_back(std::move(informer));
  };
  // Each handler updates its index before enqueueing, so the reconcile it
  // triggers reads the change.
  add("Pod", [this](const WatchEvent& e) {
    pod_index_.Observe(e);
    EnqueueOwner(e.object);
  });
  add("ReplicaSet", [this](const WatchEvent& e) {
    replica_set_index_.Observe(e);
    if (e.type != "DELETED") rs_->Enqueue(KeyOf(e.object));
    EnqueueOwner(e.object);
  });
  add("Deployment", [this](const WatchEvent& e) {
    if (e.type != "DELETED") deploy_->Enqueue(KeyOf(e.object));
  });
  add("Job", [this](const WatchEvent& e) {
    if (e.type != "DELETED") job_->Enqueue(KeyOf(e.object));
  });
  return absl::OkStatus();
}

void WorkloadControllers::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (rs_) rs_->Stop();
  if (deploy_) deploy_->Stop();
  if (job_) job_->Stop();
}

}  // namespace argonaut::cluster
