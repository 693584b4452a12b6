#include "services/rollout/controller.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/service_endpoints.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/resource/label_selector.h"
#include "services/rollout/analysis/build.h"

namespace argonaut::rollout {
namespace {

using nlohmann::json;

constexpr char kLog[] = "rollout-controller";
constexpr char kArgoApiVersion[] = "argoproj.io/v1alpha1";
// Conflicting writers (a user's promote, the ReplicaSet controller's status)
// are retried this often inside one reconcile before the key is retried.
constexpr int kConflictRetries = 5;

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"default", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

const json& Field(const json& o, const char* key) {
  static const json* null = new json();
  if (!o.is_object()) return *null;
  auto it = o.find(key);
  return it == o.end() ? *null : *it;
}

std::string Str(const json& o, const char* key) {
  const json& v = Field(o, key);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t Int(const json& o, const char* key, int64_t fallback) {
  const json& v = Field(o, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  return fallback;
}

// The controller ownerReference of `o` when it names a Rollout.
const json* RolloutOwner(const json& o) {
  const json* ref = cluster::workloads::ControllerRef(o);
  if (ref == nullptr || Str(*ref, "kind") != "Rollout") return nullptr;
  return ref;
}

// The Services a rollout's strategy names.
std::set<std::string> ServiceNames(const json& spec) {
  std::set<std::string> names;
  const json& strategy = Field(spec, "strategy");
  const json& canary = Field(strategy, "canary");
  const json& bg = Field(strategy, "blueGreen");
  for (const char* key : {"canaryService", "stableService"}) {
    if (const std::string n = Str(canary, key); !n.empty()) names.insert(n);
  }
  const json& routing = Field(canary, "trafficRouting");
  if (const std::string n = Str(Field(routing, "smi"), "rootService"); !n.empty()) {
    names.insert(n);
  }
  for (const char* key : {"activeService", "previewService"}) {
    if (const std::string n = Str(bg, key); !n.empty()) names.insert(n);
  }
  return names;
}

json OwnerReference(const json& rollout) {
  const json& meta = Field(rollout, "metadata");
  return json{{"apiVersion", kArgoApiVersion}, {"kind", "Rollout"},  {"name", Str(meta, "name")},
              {"uid", Str(meta, "uid")},       {"controller", true}, {"blockOwnerDeletion", true}};
}

int Replicas(const json& o) { return static_cast<int>(Int(Field(o, "spec"), "replicas", 1)); }

bool PlainLabelText(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' &&
        ch != '.' && ch != '/') {
      return false;
    }
  }
  return true;
}

// The label selector for listing a rollout's ReplicaSets: the hash label and
// the rollout's matchLabels, so that a namespace of many rollouts is not read
// whole on every reconcile. Ownership is still decided by the ownerReference.
// Pods are read only when their ephemeral metadata may need a change: the strategy names some,
// or a ReplicaSet still carries some to take off.
bool UsesEphemeralMetadata(const json& spec, const std::vector<json>& replica_sets) {
  const json& strategy = Field(spec, "strategy");
  for (const char* s : {"canary", "blueGreen"}) {
    const json& st = Field(strategy, s);
    for (const char* f :
         {"canaryMetadata", "stableMetadata", "previewMetadata", "activeMetadata"}) {
      if (!Field(st, f).is_null()) return true;
    }
  }
  for (const json& rs : replica_sets) {
    if (Field(Field(rs, "metadata"), "annotations")
            .contains(engine::kEphemeralMetadataAnnotation)) {
      return true;
    }
  }
  return false;
}

std::string ReplicaSetSelector(const json& spec) {
  std::string selector = engine::kPodTemplateHashLabel;
  const json& match = Field(Field(spec, "selector"), "matchLabels");
  if (!match.is_object()) return selector;
  for (const auto& [key, value] : match.items()) {
    if (!value.is_string() || !PlainLabelText(key) || !PlainLabelText(value.get<std::string>())) {
      continue;
    }
    absl::StrAppend(&selector, ",", key, "=", value.get<std::string>());
  }
  return selector;
}

}  // namespace

RolloutController::RolloutController(resource::ResourceApi* rollouts, cluster::Cluster* cluster,
                                     RolloutControllerOptions options)
    : rollouts_(rollouts),
      cluster_(cluster),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : controller::RealClock::Get()) {}

RolloutController::~RolloutController() { Stop(); }

absl::Status RolloutController::Start() {
  if (options_.metrics != nullptr) {
    ASSIGN_OR_RETURN(metrics_, RolloutMetrics::Create(*options_.metrics));
  }
  controller::ControllerOptions copts{.name = "rollout",
                                      .workers = options_.workers,
                                      .list_keys =
                                          [this] {
                                            std::vector<std::string> keys;
                                            absl::StatusOr<std::vector<json>> listed =
                                                rollouts_->ListObjects("Rollout", "", "");
                                            if (!listed.ok()) return keys;
                                            for (const json& r : *listed)
                                              keys.push_back(cluster::KeyOf(r));
                                            return keys;
                                          },
                                      .resync_period = options_.resync_period};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());

  informers_.push_back(std::make_unique<cluster::Informer>(
      rollouts_, "Rollout", [this](const cluster::WatchEvent& e) {
        if (metrics_) metrics_->ObserveRollout(e.object, e.type == "DELETED");
        controller_->Enqueue(cluster::KeyOf(e.object));
      }));
  informers_.push_back(std::make_unique<cluster::Informer>(
      rollouts_, "AnalysisRun", [this](const cluster::WatchEvent& e) {
        if (const json* ref = RolloutOwner(e.object)) {
          controller_->Enqueue(
              absl::StrCat(cluster::NamespaceOf(e.object), "/", Str(*ref, "name")));
        }
      }));
  informers_.push_back(std::make_unique<cluster::Informer>(
      rollouts_, "Experiment", [this](const cluster::WatchEvent& e) {
        if (const json* ref = RolloutOwner(e.object)) {
          controller_->Enqueue(
              absl::StrCat(cluster::NamespaceOf(e.object), "/", Str(*ref, "name")));
        }
      }));
  informers_.push_back(std::make_unique<cluster::Informer>(
      "rollout replicasets",
      [this](const std::string& rv) {
        return cluster_->WatchObjects("ReplicaSet", "", engine::kPodTemplateHashLabel, rv);
      },
      [this](const cluster::WatchEvent& e) {
        // Before the enqueue, so that the reconcile it triggers finds the change.
        replica_sets_.Observe(e);
        if (const json* ref = RolloutOwner(e.object)) {
          controller_->Enqueue(
              absl::StrCat(cluster::NamespaceOf(e.object), "/", Str(*ref, "name")));
        }
      }));
  for (const char* kind : {"Service", "Deployment"}) {
    const std::string k = kind;
    informers_.push_back(std::make_unique<cluster::Informer>(
        absl::StrCat("rollout ", k, "s"),
        [this, k](const std::string& rv) { return cluster_->WatchObjects(k, "", "", rv); },
        [this, k](const cluster::WatchEvent& e) {
          EnqueueReferrers(absl::StrCat(k, "/", cluster::KeyOf(e.object)));
        }));
  }
  for (auto& informer : informers_) informer->Start();
  return absl::OkStatus();
}

void RolloutController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
}

void RolloutController::Enqueue(const std::string& key) {
  if (controller_) controller_->Enqueue(key);
}

void RolloutController::Index(const std::string& key, std::set<std::string> refs) {
  absl::MutexLock lock(&index_mu_);
  for (const std::string& old : refs_[key]) {
    auto it = referrers_.find(old);
    if (it == referrers_.end()) continue;
    it->second.erase(key);
    if (it->second.empty()) referrers_.erase(it);
  }
  for (const std::string& ref : refs) referrers_[ref].insert(key);
  if (refs.empty()) {
    refs_.erase(key);
  } else {
    refs_[key] = std::move(refs);
  }
}

absl::StatusOr<std::vector<json>> RolloutController::OwnedReplicaSets(const std::string& ns,
                                                                      const std::string& uid,
                                                                      const std::string& selector) {
  {
    absl::MutexLock lock(&replica_sets_mu_);
    if (!replica_sets_listed_) {
      ASSIGN_OR_RETURN(std::vector<json> all,
                       cluster_->List("ReplicaSet", "", engine::kPodTemplateHashLabel));
      for (const json& rs : all) replica_sets_.Add(rs);
      replica_sets_listed_ = true;
    }
  }
  ASSIGN_OR_RETURN(resource::LabelSelector match, resource::LabelSelector::Parse(selector));
  std::vector<json> out;
  for (const std::string& key : replica_sets_.KeysOwnedBy(ns, uid)) {
    absl::StatusOr<json> rs = cluster_->Get("ReplicaSet", ns, key.substr(key.find('/') + 1));
    if (absl::IsNotFound(rs.status())) continue;
    if (!rs.ok()) return rs.status();
    std::map<std::string, std::string> labels;
    const json& l = Field(Field(*rs, "metadata"), "labels");
    if (l.is_object()) {
      for (const auto& [k, v] : l.items()) {
        if (v.is_string()) labels[k] = v.get<std::string>();
      }
    }
    // The same filter the namespace list applied.
    if (match.Matches(labels)) out.push_back(*std::move(rs));
  }
  return out;
}

void RolloutController::EnqueueReferrers(const std::string& ref) {
  std::set<std::string> keys;
  {
    absl::MutexLock lock(&index_mu_);
    auto it = referrers_.find(ref);
    if (it == referrers_.end()) return;
    keys = it->second;
  }
  for (const std::string& key : keys) controller_->Enqueue(key);
}

absl::StatusOr<controller::Result> RolloutController::Reconcile(const std::string& key) {
  const absl::Time start = absl::Now();
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<controller::Result> result = ReconcileRollout(ns, name);
  if (metrics_) {
    metrics_->ObserveReconcile(ns, name, absl::Now() - start);
    if (!result.ok() && !absl::IsAborted(result.status())) metrics_->CountError(ns, name);
  }
  if (!result.ok() && !absl::IsAborted(result.status())) {
    LogWarn(kLog, "reconcile failed",
            {{"rollout", key}, {"error", std::string(result.status().message())}});
  }
  return result;
}

json RolloutController::AnalysisRunFor(const json& rollout,
                                       const engine::AnalysisRunRequest& request) {
  const std::string ns = cluster::NamespaceOf(rollout);
  analysis::RunSource source{.ns = ns,
                             .name = request.name,
                             .analysis = request.analysis,
                             .labels = request.labels,
                             .owner_reference = OwnerReference(rollout)};
  analysis::TemplateLookup lookup = [this](bool cluster_scope, std::string_view tns_view,
                                           std::string_view tname_view) -> absl::StatusOr<json> {
    // Debian's absl::string_view is not std::string_view: strings for StrCat.
    const std::string tns(cluster_scope ? "" : tns_view), tname(tname_view);
    const char* kind = cluster_scope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
    absl::StatusOr<json> t = rollouts_->GetObject(kind, tns, tname);
    if (absl::IsNotFound(t.status())) {
      return absl::NotFoundError(
          cluster_scope ? absl::StrCat("ClusterAnalysisTemplate \"", tname, "\" not found")
                        : absl::StrCat("AnalysisTemplate \"", tname, "\" not found in namespace \"",
                                       tns, "\""));
    }
    return t;
  };
  absl::StatusOr<json> run = analysis::BuildAnalysisRun(source, lookup);
  if (run.ok()) return *std::move(run);
  // Argo records a run it cannot build as an errored run: the rollout then
  // aborts with this message instead of retrying forever.
  json labels = request.labels.is_object() ? request.labels : json::object();
  return json{{"apiVersion", kArgoApiVersion},
              {"kind", "AnalysisRun"},
              {"metadata",
               {{"name", request.name},
                {"namespace", ns},
                {"labels", labels},
                {"ownerReferences", json::array({OwnerReference(rollout)})}}},
              {"spec", {{"metrics", json::array()}}},
              {"status", {{"phase", "Error"}, {"message", std::string(run.status().message())}}}};
}

absl::StatusOr<controller::Result> RolloutController::ReconcileRollout(const std::string& ns,
                                                                       const std::string& name) {
  const std::string key = absl::StrCat(ns, "/", name);
  absl::StatusOr<json> rollout = rollouts_->GetObject("Rollout", ns, name);
  if (absl::IsNotFound(rollout.status())) {
    Index(key, {});
    RETURN_IF_ERROR(DeleteOwned(ns, name));
    return controller::Result{};
  }
  if (!rollout.ok()) return rollout.status();
  const std::string uid = Str(Field(*rollout, "metadata"), "uid");
  const json& spec = Field(*rollout, "spec");

  engine::RolloutInput in;
  ASSIGN_OR_RETURN(std::vector<json> replica_sets,
                   OwnedReplicaSets(ns, uid, ReplicaSetSelector(spec)));
  for (json& rs : replica_sets) {
    const json* ref = RolloutOwner(rs);
    if (ref != nullptr && !uid.empty() && Str(*ref, "uid") == uid) {
      in.replica_sets.push_back(std::move(rs));
    }
  }
  std::set<std::string> refs;
  for (const std::string& svc : ServiceNames(spec)) {
    refs.insert(absl::StrCat("Service/", ns, "/", svc));
    absl::StatusOr<json> s = cluster_->Get("Service", ns, svc);
    if (s.ok()) {
      in.services[svc] = *std::move(s);
    } else if (!absl::IsNotFound(s.status())) {
      return s.status();
    }
  }
  const json& workload_ref = Field(spec, "workloadRef");
  if (workload_ref.is_object() && !Str(workload_ref, "name").empty()) {
    const std::string kind =
        Str(workload_ref, "kind").empty() ? "Deployment" : Str(workload_ref, "kind");
    refs.insert(absl::StrCat(kind, "/", ns, "/", Str(workload_ref, "name")));
    absl::StatusOr<json> w = cluster_->Get(kind, ns, Str(workload_ref, "name"));
    if (w.ok()) {
      in.workload = *std::move(w);
    } else if (!absl::IsNotFound(w.status())) {
      return w.status();
    }
  }
  Index(key, std::move(refs));
  ASSIGN_OR_RETURN(std::vector<json> runs, rollouts_->ListObjects("AnalysisRun", ns, ""));
  for (json& run : runs) {
    const json* ref = RolloutOwner(run);
    if (ref != nullptr && !uid.empty() && Str(*ref, "uid") == uid) {
      in.analysis_runs.push_back(std::move(run));
    }
  }
  ASSIGN_OR_RETURN(std::vector<json> experiments, rollouts_->ListObjects("Experiment", ns, ""));
  for (json& ex : experiments) {
    const json* ref = RolloutOwner(ex);
    if (ref != nullptr && !uid.empty() && Str(*ref, "uid") == uid) {
      in.experiments.push_back(std::move(ex));
    }
  }
  if (spec.contains("restartAt") || UsesEphemeralMetadata(spec, in.replica_sets)) {
    // Only a restart and ephemeral metadata need the pods: those controlled by the rollout's
    // ReplicaSets.
    std::set<std::string> rs_names;
    for (const json& rs : in.replica_sets) rs_names.insert(cluster::NameOf(rs));
    ASSIGN_OR_RETURN(std::vector<json> pods, cluster_->List("Pod", ns, ReplicaSetSelector(spec)));
    for (json& pod : pods) {
      const json* ref = cluster::workloads::ControllerRef(pod);
      if (ref != nullptr && Str(*ref, "kind") == "ReplicaSet" &&
          rs_names.contains(Str(*ref, "name"))) {
        in.pods.push_back(std::move(pod));
      }
    }
  }
  in.rollout = *rollout;
  in.now = clock_->Now();

  ASSIGN_OR_RETURN(engine::RolloutOutput out, engine::Reconcile(in));
  RETURN_IF_ERROR(Apply(*rollout, in, out));

  const json stored_status = Field(*rollout, "status");
  if (stored_status != out.status) {
    json updated = *rollout;
    updated["status"] = out.status;
    ASSIGN_OR_RETURN(const resource::KindInfo* kind, rollouts_->Resolve("Rollout"));
    // The resourceVersion read above is the precondition: a promote or abort
    // written meanwhile makes this ABORTED and the key is reconciled again
    // with it, never overwritten.
    absl::StatusOr<json> written = kind->status_subresource
                                       ? rollouts_->UpdateStatusObject("Rollout", updated)
                                       : rollouts_->UpdateObject("Rollout", updated);
    if (!written.ok()) return written.status();
    for (const engine::Event& e : out.events) {
      LogInfo(kLog, e.message, {{"rollout", key}, {"type", e.type}, {"reason", e.reason}});
      if (metrics_) metrics_->CountEvent(ns, name, e.type, e.reason);
    }
  }
  controller::Result result;
  if (out.requeue_after.has_value() && *out.requeue_after > absl::ZeroDuration()) {
    result.requeue_after = *out.requeue_after;
  }
  return result;
}

absl::Status RolloutController::Apply(const json& rollout, const engine::RolloutInput& in,
                                      const engine::RolloutOutput& out) {
  const std::string ns = cluster::NamespaceOf(rollout);
  std::map<std::string, const json*> observed;
  for (const json& rs : in.replica_sets) observed[cluster::NameOf(rs)] = &rs;

  // 1. New ReplicaSets. Their names are deterministic (<rollout>-<hash>), so
  //    one created before a crash is simply found again.
  for (const json& rs : out.replica_sets_to_create) {
    absl::StatusOr<json> created = cluster_->Create(rs);
    if (created.ok()) replica_sets_.Add(*created);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  }
  // 2. Scale-ups before traffic moves to them, scale-downs after.
  std::vector<const json*> ups, downs;
  for (const json& rs : out.replica_sets_to_update) {
    auto it = observed.find(cluster::NameOf(rs));
    const bool down = it != observed.end() && Replicas(rs) < Replicas(*it->second);
    (down ? downs : ups).push_back(&rs);
  }
  auto update = [&](const json& want) -> absl::Status {
    json rs = want;
    auto it = observed.find(cluster::NameOf(rs));
    if (it != observed.end() && Str(Field(rs, "metadata"), "resourceVersion").empty()) {
      rs["metadata"]["resourceVersion"] = Str(Field(*it->second, "metadata"), "resourceVersion");
    }
    absl::StatusOr<json> written = cluster_->Update(rs);
    if (absl::IsNotFound(written.status())) return absl::OkStatus();  // gone: next pass sees it
    return written.status();
  };
  for (const json* rs : ups) RETURN_IF_ERROR(update(*rs));
  // 3. Selectors: the hash each Service should select; the Service carrying
  //    a traffic split selects both versions (the split decides).
  for (const auto& [svc, hash] : out.service_selectors) {
    if (out.traffic.has_value() && out.traffic->service == svc) continue;
    RETURN_IF_ERROR(PatchSelector(ns, svc, &hash));
  }
  if (out.traffic.has_value()) {
    RETURN_IF_ERROR(PatchSelector(ns, out.traffic->service, nullptr));
    cluster::TrafficSplit split{.group_label = engine::kPodTemplateHashLabel,
                                .weights = out.traffic->weights};
    auto svc = in.services.find(out.traffic->service);
    const cluster::TrafficSplit current =
        svc == in.services.end() ? cluster::TrafficSplit{} : cluster::TrafficSplitOf(svc->second);
    if (svc == in.services.end() || current.group_label != split.group_label ||
        current.weights != split.weights) {
      RETURN_IF_ERROR(cluster_->SetTrafficSplit(ns, out.traffic->service, split));
    }
  }
  // 4. Analysis: runs to start (deterministic names again), to stop, to drop.
  for (const engine::AnalysisRunRequest& req : out.analysis_runs_to_create) {
    json run = AnalysisRunFor(rollout, req);
    json status = Field(run, "status");
    absl::StatusOr<json> created = rollouts_->CreateObject("AnalysisRun", run, false);
    if (absl::IsAlreadyExists(created.status())) continue;
    if (!created.ok()) return created.status();
    // A status subresource may drop the status on create: write it again.
    if (status.is_object() && Field(*created, "status") != status) {
      json with_status = *created;
      with_status["status"] = status;
      RETURN_IF_ERROR(rollouts_->UpdateStatusObject("AnalysisRun", with_status).status());
    }
  }
  for (const std::string& run : out.analysis_runs_to_terminate) {
    RETURN_IF_ERROR(TerminateRun(ns, run));
  }
  for (const std::string& run : out.analysis_runs_to_delete) {
    absl::Status s = rollouts_->Delete("AnalysisRun", ns, run, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  // Experiments (canary experiment steps): deterministic names again.
  for (const json& ex : out.experiments_to_create) {
    absl::StatusOr<json> created = rollouts_->CreateObject("Experiment", ex, false);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  }
  for (const std::string& ex : out.experiments_to_terminate) {
    RETURN_IF_ERROR(TerminateObject("Experiment", ns, ex));
  }
  for (const std::string& ex : out.experiments_to_delete) {
    absl::Status s = rollouts_->Delete("Experiment", ns, ex, "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  // 5. Scale-downs and old revisions.
  for (const json* rs : downs) RETURN_IF_ERROR(update(*rs));
  for (const std::string& rs : out.replica_sets_to_delete) {
    absl::Status s = cluster_->Delete("ReplicaSet", ns, rs);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  if (out.workload_replicas.has_value() && in.workload.has_value()) {
    RETURN_IF_ERROR(ScaleWorkload(ns, *in.workload, *out.workload_replicas));
  }
  // Ephemeral metadata: labels/annotations changed on running pods, never a restart. A pod
  //    written meanwhile (the kubelet's status) is read again and given the same metadata.
  for (const json& want : out.pods_to_update) {
    absl::StatusOr<json> written = cluster_->Update(want);
    if (absl::IsAborted(written.status())) {
      absl::StatusOr<json> fresh = cluster_->Get("Pod", ns, cluster::NameOf(want));
      if (absl::IsNotFound(fresh.status())) continue;
      if (!fresh.ok()) return fresh.status();
      json pod = *std::move(fresh);
      for (const char* kind : {"labels", "annotations"}) {
        const json& m = Field(Field(want, "metadata"), kind);
        if (m.is_object() && !m.empty()) {
          pod["metadata"][kind] = m;
        } else if (pod["metadata"].is_object()) {
          pod["metadata"].erase(kind);
        }
      }
      written = cluster_->Update(pod);
    }
    if (!written.ok() && !absl::IsNotFound(written.status())) return written.status();
  }
  // 6. restartAt: the engine keeps within maxUnavailable; the ReplicaSet
  //    controller replaces each evicted pod.
  for (const std::string& pod : out.pods_to_evict) {
    absl::Status s = cluster_->Delete("Pod", ns, pod);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

absl::Status RolloutController::PatchSelector(const std::string& ns, const std::string& service,
                                              const std::string* hash) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<json> svc = cluster_->Get("Service", ns, service);
    // A missing Service is the engine's to report (ServiceReferenceError).
    if (absl::IsNotFound(svc.status())) return absl::OkStatus();
    if (!svc.ok()) return svc.status();
    json& spec = (*svc)["spec"];
    if (!spec.is_object()) spec = json::object();
    json& selector = spec["selector"];
    if (!selector.is_object()) selector = json::object();
    if (hash == nullptr) {
      if (!selector.contains(engine::kPodTemplateHashLabel)) return absl::OkStatus();
      selector.erase(engine::kPodTemplateHashLabel);
    } else {
      if (Str(selector, engine::kPodTemplateHashLabel) == *hash) return absl::OkStatus();
      selector[engine::kPodTemplateHashLabel] = *hash;
    }
    absl::StatusOr<json> written = cluster_->Update(*svc);
    if (!absl::IsAborted(written.status()) || attempt >= kConflictRetries) {
      return written.status();
    }
  }
}

absl::Status RolloutController::TerminateRun(const std::string& ns, const std::string& run) {
  return TerminateObject("AnalysisRun", ns, run);
}

absl::Status RolloutController::TerminateObject(const std::string& kind, const std::string& ns,
                                                const std::string& name) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<json> r = rollouts_->GetObject(kind, ns, name);
    if (absl::IsNotFound(r.status())) return absl::OkStatus();
    if (!r.ok()) return r.status();
    if (Field(Field(*r, "spec"), "terminate") == json(true)) return absl::OkStatus();
    (*r)["spec"]["terminate"] = true;
    absl::StatusOr<json> written = rollouts_->UpdateObject(kind, *std::move(r));
    if (!absl::IsAborted(written.status()) || attempt >= kConflictRetries) {
      return written.status();
    }
  }
}

absl::Status RolloutController::ScaleWorkload(const std::string& ns, const json& workload,
                                              int replicas) {
  const std::string kind = cluster::KindOf(workload);
  const std::string name = cluster::NameOf(workload);
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<json> w = cluster_->Get(kind, ns, name);
    if (absl::IsNotFound(w.status())) return absl::OkStatus();
    if (!w.ok()) return w.status();
    if (Field(Field(*w, "spec"), "replicas") == json(replicas)) return absl::OkStatus();
    (*w)["spec"]["replicas"] = replicas;
    absl::StatusOr<json> written = cluster_->Update(*w);
    if (!absl::IsAborted(written.status()) || attempt >= kConflictRetries) {
      return written.status();
    }
  }
}

absl::Status RolloutController::DeleteOwned(const std::string& ns, const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<json> replica_sets,
                   cluster_->List("ReplicaSet", ns, engine::kPodTemplateHashLabel));
  for (const json& rs : replica_sets) {
    const json* ref = RolloutOwner(rs);
    if (ref == nullptr || Str(*ref, "name") != name) continue;
    absl::Status s = cluster_->Delete("ReplicaSet", ns, cluster::NameOf(rs));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  for (const char* kind : {"AnalysisRun", "Experiment"}) {
    ASSIGN_OR_RETURN(std::vector<json> owned, rollouts_->ListObjects(kind, ns, ""));
    for (const json& o : owned) {
      const json* ref = RolloutOwner(o);
      if (ref == nullptr || Str(*ref, "name") != name) continue;
      absl::Status s = rollouts_->Delete(kind, ns, cluster::NameOf(o), "");
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace argonaut::rollout
