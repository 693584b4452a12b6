#include "services/rollout/experiment/experiment_controller.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/analysis/build.h"

namespace argonaut::rollout::experiment {
namespace {

using nlohmann::json;
namespace wl = ::argonaut::cluster::workloads;

constexpr char kLog[] = "experiment-controller";
constexpr char kArgoApiVersion[] = "argoproj.io/v1alpha1";
constexpr int kConflictRetries = 5;

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"default", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::string MetaStr(const json& o, const char* key) {
  const json* m = wl::Field(o, "metadata");
  return m == nullptr ? "" : wl::StrOr(*m, key);
}

// The controller ownerReference of `o` when it names an Experiment.
const json* ExperimentOwner(const json& o) {
  const json* ref = wl::ControllerRef(o);
  if (ref == nullptr || wl::StrOr(*ref, "kind") != "Experiment") return nullptr;
  return ref;
}

bool OwnedBy(const json& o, const std::string& uid) {
  const json* ref = ExperimentOwner(o);
  return ref != nullptr && !uid.empty() && wl::StrOr(*ref, "uid") == uid;
}

json OwnerReference(const json& ex) {
  return json{
      {"apiVersion", kArgoApiVersion}, {"kind", "Experiment"}, {"name", MetaStr(ex, "name")},
      {"uid", MetaStr(ex, "uid")},     {"controller", true},   {"blockOwnerDeletion", true}};
}

}  // namespace

ExperimentController::ExperimentController(resource::ResourceApi* store, cluster::Cluster* cluster,
                                           ExperimentControllerOptions options)
    : store_(store),
      cluster_(cluster),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : controller::RealClock::Get()) {}

ExperimentController::~ExperimentController() { Stop(); }

absl::Status ExperimentController::Start() {
  controller::ControllerOptions copts{.name = "experiment",
                                      .workers = options_.workers,
                                      .list_keys =
                                          [this] {
                                            std::vector<std::string> keys;
                                            absl::StatusOr<std::vector<json>> listed =
                                                store_->ListObjects("Experiment", "", "");
                                            if (!listed.ok()) return keys;
                                            for (const json& e : *listed)
                                              keys.push_back(cluster::KeyOf(e));
                                            return keys;
                                          },
                                      .resync_period = options_.resync_period};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());
  auto enqueue_owner = [this](const cluster::WatchEvent& e) {
    if (const json* ref = ExperimentOwner(e.object)) {
      controller_->Enqueue(
          absl::StrCat(cluster::NamespaceOf(e.object), "/", wl::StrOr(*ref, "name")));
    }
  };
  informers_.push_back(std::make_unique<cluster::Informer>(
      store_, "Experiment",
      [this](const cluster::WatchEvent& e) { controller_->Enqueue(cluster::KeyOf(e.object)); }));
  informers_.push_back(std::make_unique<cluster::Informer>(store_, "AnalysisRun", enqueue_owner));
  informers_.push_back(std::make_unique<cluster::Informer>(
      "experiment replicasets",
      [this](const std::string& rv) {
        return cluster_->WatchObjects("ReplicaSet", "", engine::kPodTemplateHashLabel, rv);
      },
      enqueue_owner));
  for (auto& informer : informers_) informer->Start();
  return absl::OkStatus();
}

void ExperimentController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
}

void ExperimentController::Enqueue(const std::string& key) {
  if (controller_) controller_->Enqueue(key);
}

json ExperimentController::AnalysisRunFor(const json& ex, const ExperimentRunRequest& request) {
  const std::string ns = cluster::NamespaceOf(ex);
  analysis::RunSource source{.ns = ns,
                             .name = request.name,
                             .analysis = request.spec,
                             .labels = json::object(),
                             .owner_reference = OwnerReference(ex)};
  analysis::TemplateLookup lookup = [this](bool cluster_scope, std::string_view tns_view,
                                           std::string_view tname_view) -> absl::StatusOr<json> {
    const std::string tns(cluster_scope ? "" : tns_view), tname(tname_view);
    const char* kind = cluster_scope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
    absl::StatusOr<json> t = store_->GetObject(kind, tns, tname);
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
  return json{
      {"apiVersion", kArgoApiVersion},
      {"kind", "AnalysisRun"},
      {"metadata",
       {{"name", request.name},
        {"namespace", ns},
        {"ownerReferences", json::array({OwnerReference(ex)})}}},
      {"spec", {{"metrics", json::array()}}},
      {"status",
       {{"phase", "Error"},
        {"message", absl::StrCat("Failed to create AnalysisRun for analysis '", request.analysis,
                                 "': ", std::string(run.status().message()))}}}};
}

absl::StatusOr<controller::Result> ExperimentController::Reconcile(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<json> ex = store_->GetObject("Experiment", ns, name);
  if (absl::IsNotFound(ex.status())) {
    RETURN_IF_ERROR(DeleteOwned(ns, name));
    return controller::Result{};
  }
  if (!ex.ok()) return ex.status();
  const std::string uid = MetaStr(*ex, "uid");
  ExperimentInput in;
  ASSIGN_OR_RETURN(std::vector<json> rss,
                   cluster_->List("ReplicaSet", ns, engine::kPodTemplateHashLabel));
  for (json& rs : rss) {
    if (OwnedBy(rs, uid)) in.replica_sets.push_back(std::move(rs));
  }
  ASSIGN_OR_RETURN(std::vector<json> svcs, cluster_->List("Service", ns, ""));
  for (json& svc : svcs) {
    if (OwnedBy(svc, uid)) in.services.push_back(std::move(svc));
  }
  ASSIGN_OR_RETURN(std::vector<json> runs, store_->ListObjects("AnalysisRun", ns, ""));
  for (json& run : runs) {
    if (OwnedBy(run, uid)) in.analysis_runs.push_back(std::move(run));
  }
  in.experiment = *ex;
  in.now = clock_->Now();
  absl::StatusOr<ExperimentOutput> out = ReconcileExperiment(in);
  if (!out.ok()) {
    LogWarn(kLog, "reconcile failed", {{"experiment", key}, {"error", out.status().ToString()}});
    return out.status();
  }
  RETURN_IF_ERROR(Apply(*ex, in, *out));
  if (wl::Field(*ex, "status") == nullptr || (*ex)["status"] != out->status) {
    json updated = *ex;
    updated["status"] = out->status;
    ASSIGN_OR_RETURN(const resource::KindInfo* kind, store_->Resolve("Experiment"));
    absl::StatusOr<json> written = kind->status_subresource
                                       ? store_->UpdateStatusObject("Experiment", updated)
                                       : store_->UpdateObject("Experiment", updated);
    if (!written.ok()) return written.status();
    for (const engine::Event& e : out->events) {
      LogInfo(kLog, e.message, {{"experiment", key}, {"type", e.type}, {"reason", e.reason}});
    }
  }
  controller::Result result;
  if (out->requeue_after.has_value()) {
    result.requeue_after = std::max(*out->requeue_after, absl::Milliseconds(100));
  }
  return result;
}

absl::Status ExperimentController::Apply(const json& ex, const ExperimentInput& in,
                                         const ExperimentOutput& out) {
  const std::string ns = cluster::NamespaceOf(ex);
  std::map<std::string, const json*> observed;
  for (const json& rs : in.replica_sets) observed[cluster::NameOf(rs)] = &rs;
  for (const json& rs : out.replica_sets_to_create) {
    absl::StatusOr<json> created = cluster_->Create(rs);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  }
  for (const json& want : out.replica_sets_to_update) {
    json rs = want;
    auto it = observed.find(cluster::NameOf(rs));
    if (it != observed.end()) {
      rs["metadata"]["resourceVersion"] = MetaStr(*it->second, "resourceVersion");
    }
    absl::StatusOr<json> written = cluster_->Update(rs);
    if (!written.ok() && !absl::IsNotFound(written.status())) return written.status();
  }
  for (const json& svc : out.services_to_create) {
    absl::StatusOr<json> created = cluster_->Create(svc);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  }
  for (const std::string& svc : out.services_to_delete) {
    absl::Status s = cluster_->Delete("Service", ns, svc);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  for (const ExperimentRunRequest& req : out.analysis_runs_to_create) {
    json run = AnalysisRunFor(ex, req);
    json status = run.contains("status") ? run["status"] : json();
    absl::StatusOr<json> created = store_->CreateObject("AnalysisRun", run, false);
    if (absl::IsAlreadyExists(created.status())) continue;
    if (!created.ok()) return created.status();
    if (status.is_object() && (!created->contains("status") || (*created)["status"] != status)) {
      json with_status = *created;
      with_status["status"] = status;
      RETURN_IF_ERROR(store_->UpdateStatusObject("AnalysisRun", with_status).status());
    }
  }
  for (const std::string& name : out.analysis_runs_to_terminate) {
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<json> r = store_->GetObject("AnalysisRun", ns, name);
      if (absl::IsNotFound(r.status())) break;
      if (!r.ok()) return r.status();
      (*r)["spec"]["terminate"] = true;
      absl::StatusOr<json> written = store_->UpdateObject("AnalysisRun", *std::move(r));
      if (written.ok()) break;
      if (!absl::IsAborted(written.status()) || attempt >= kConflictRetries) {
        return written.status();
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ExperimentController::DeleteOwned(const std::string& ns, const std::string& name) {
  auto mine = [&](const json& o) {
    const json* ref = ExperimentOwner(o);
    return ref != nullptr && wl::StrOr(*ref, "name") == name;
  };
  ASSIGN_OR_RETURN(std::vector<json> rss,
                   cluster_->List("ReplicaSet", ns, engine::kPodTemplateHashLabel));
  for (const json& rs : rss) {
    if (!mine(rs)) continue;
    absl::Status s = cluster_->Delete("ReplicaSet", ns, cluster::NameOf(rs));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  ASSIGN_OR_RETURN(std::vector<json> svcs, cluster_->List("Service", ns, ""));
  for (const json& svc : svcs) {
    if (!mine(svc)) continue;
    absl::Status s = cluster_->Delete("Service", ns, cluster::NameOf(svc));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  ASSIGN_OR_RETURN(std::vector<json> runs, store_->ListObjects("AnalysisRun", ns, ""));
  for (const json& run : runs) {
    if (!mine(run)) continue;
    absl::Status s = store_->Delete("AnalysisRun", ns, cluster::NameOf(run), "");
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

}  // namespace argonaut::rollout::experiment
