#include "services/rollout/engine/test_sim.h"

#include <utility>

#include "gtest/gtest.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/manifest/yaml.h"
#include "services/rollout/experiment/experiment.h"

namespace argonaut::rollout::engine::testing {

namespace wl = ::argonaut::cluster::workloads;

Json ParseYaml(const std::string& yaml) {
  auto docs = manifest::ParseDocuments(yaml);
  EXPECT_TRUE(docs.ok()) << docs.status();
  if (!docs.ok() || docs->empty()) return Json();
  return (*docs)[0];
}

Sim::Sim(Json rollout, absl::Time now) : rollout_(std::move(rollout)), now_(now) {
  rollout_["metadata"]["uid"] = "uid-1";
  rollout_["metadata"]["generation"] = generation_;
  if (!rollout_["metadata"].contains("namespace")) rollout_["metadata"]["namespace"] = "default";
  const Json& strategy = rollout_["spec"]["strategy"];
  for (const char* path :
       {"/canary/canaryService", "/canary/stableService", "/blueGreen/activeService",
        "/blueGreen/previewService", "/canary/trafficRouting/smi/rootService"}) {
    const Json::json_pointer p(path);
    if (strategy.contains(p) && strategy[p].is_string()) {
      const std::string name = strategy[p].get<std::string>();
      services_[name] = {{"apiVersion", "v1"},
                         {"kind", "Service"},
                         {"metadata", {{"name", name}}},
                         {"spec", {{"selector", rollout_["spec"]["selector"]["matchLabels"]}}}};
    }
  }
}

RolloutOutput Sim::Reconcile() {
  RolloutInput in;
  in.rollout = rollout_;
  for (const auto& [name, rs] : rss_) in.replica_sets.push_back(rs);
  in.services = services_;
  for (const auto& [name, run] : runs_) in.analysis_runs.push_back(run);
  in.now = now_;
  in.workload = workload;
  for (const auto& [name, ex] : experiments_) in.experiments.push_back(ex);
  absl::StatusOr<RolloutOutput> out = engine::Reconcile(in);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return {};
  rollout_["status"] = out->status;
  for (const Json& rs : out->replica_sets_to_create) {
    Json obj = rs;
    obj["metadata"]["creationTimestamp"] = wl::FormatK8sTime(now_);
    obj["metadata"]["uid"] = "rs-" + obj["metadata"]["name"].get<std::string>();
    obj["status"] = {{"replicas", 0}};
    EXPECT_EQ(rss_.count(obj["metadata"]["name"]), 0u) << "created twice";
    rss_[obj["metadata"]["name"]] = obj;
  }
  for (const Json& rs : out->replica_sets_to_update) {
    const std::string name = rs["metadata"]["name"];
    EXPECT_EQ(rss_.count(name), 1u) << "update of a missing ReplicaSet " << name;
    Json obj = rs;
    obj["status"] = rss_[name]["status"];
    rss_[name] = obj;
  }
  for (const std::string& name : out->replica_sets_to_delete) rss_.erase(name);
  for (const auto& [svc, hash] : out->service_selectors) {
    if (services_.count(svc) == 0) continue;
    if (out->traffic.has_value() && out->traffic->service == svc) continue;
    services_[svc]["spec"]["selector"]["rollouts-pod-template-hash"] = hash;
  }
  for (const AnalysisRunRequest& req : out->analysis_runs_to_create) {
    EXPECT_EQ(runs_.count(req.name), 0u) << "run created twice: " << req.name;
    runs_[req.name] = {{"apiVersion", "argoproj.io/v1alpha1"},
                       {"kind", "AnalysisRun"},
                       {"metadata",
                        {{"name", req.name},
                         {"labels", req.labels},
                         {"creationTimestamp", wl::FormatK8sTime(now_)}}},
                       {"spec", {{"analysis", req.analysis}}},
                       {"status", {{"phase", "Running"}}}};
  }
  for (const std::string& name : out->analysis_runs_to_terminate) {
    terminated.push_back(name);
    if (runs_.count(name) > 0) runs_[name]["spec"]["terminate"] = true;
  }
  for (const std::string& name : out->analysis_runs_to_delete) runs_.erase(name);
  for (const Json& ex : out->experiments_to_create) {
    const std::string name = ex["metadata"]["name"];
    EXPECT_EQ(experiments_.count(name), 0u) << "experiment created twice: " << name;
    Json obj = ex;
    obj["metadata"]["creationTimestamp"] = wl::FormatK8sTime(now_);
    obj["metadata"]["uid"] = "ex-" + name;
    experiments_[name] = obj;
  }
  for (const std::string& name : out->experiments_to_terminate) TerminateExperiment(name);
  for (const std::string& name : out->experiments_to_delete) experiments_.erase(name);
  RunExperiments();
  last_ = *out;
  return *std::move(out);
}

void Sim::RunExperiments() {
  for (auto& [name, ex] : experiments_) {
    experiment::ExperimentInput in{.experiment = ex, .now = now_};
    const std::string uid = ex["metadata"]["uid"];
    auto owned = [&](const Json& o) {
      return o["metadata"]["ownerReferences"][0].value("uid", "") == uid;
    };
    for (const auto& [n, rs] : exp_rss_) {
      if (owned(rs)) in.replica_sets.push_back(rs);
    }
    for (const auto& [n, svc] : exp_services_) {
      if (owned(svc)) in.services.push_back(svc);
    }
    for (const auto& [n, run] : exp_runs_) {
      if (owned(run)) in.analysis_runs.push_back(run);
    }
    absl::StatusOr<experiment::ExperimentOutput> out = experiment::ReconcileExperiment(in);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) continue;
    for (const Json& rs : out->replica_sets_to_create) {
      Json obj = rs;
      obj["status"] = {{"replicas", 0}};
      exp_rss_[obj["metadata"]["name"]] = obj;
    }
    for (const Json& rs : out->replica_sets_to_update) {
      Json obj = rs;
      obj["status"] = exp_rss_[obj["metadata"]["name"].get<std::string>()]["status"];
      exp_rss_[obj["metadata"]["name"]] = obj;
    }
    for (const Json& svc : out->services_to_create) exp_services_[svc["metadata"]["name"]] = svc;
    for (const std::string& svc : out->services_to_delete) exp_services_.erase(svc);
    for (const experiment::ExperimentRunRequest& r : out->analysis_runs_to_create) {
      exp_runs_[r.name] = {
          {"metadata",
           {{"name", r.name},
            {"ownerReferences", Json::array({{{"kind", "Experiment"}, {"uid", uid}}})}}},
          {"spec", r.spec},
          {"status", {{"phase", "Running"}}}};
    }
    for (const std::string& r : out->analysis_runs_to_terminate) {
      exp_runs_[r]["spec"]["terminate"] = true;
    }
    ex["status"] = out->status;
  }
}

void Sim::SetExperimentRunPhase(const std::string& name, const std::string& phase,
                                const std::string& message) {
  ASSERT_EQ(exp_runs_.count(name), 1u) << "no experiment run " << name;
  exp_runs_[name]["status"] = {{"phase", phase}};
  if (!message.empty()) exp_runs_[name]["status"]["message"] = message;
}

void Sim::TerminateExperiment(const std::string& name) {
  terminated.push_back(name);
  if (experiments_.count(name) > 0) experiments_[name]["spec"]["terminate"] = true;
}

void Sim::Kubelet() {
  for (auto* m : {&rss_, &exp_rss_}) {
    for (auto& [name, rs] : *m) {
      const int n = rs["spec"].value("replicas", 0);
      rs["status"] = {{"replicas", n}, {"readyReplicas", n}, {"availableReplicas", n}};
    }
  }
}

RolloutOutput Sim::Settle(int max) {
  RolloutOutput out;
  for (int i = 0; i < max; ++i) {
    const Json before_status = rollout_["status"];
    const auto before_rss = rss_;
    const auto before_exs = experiments_;
    const auto before_exp_rss = exp_rss_;
    out = Reconcile();
    Kubelet();
    if (rss_ == before_rss && rollout_["status"] == before_status && experiments_ == before_exs &&
        exp_rss_ == before_exp_rss && out.analysis_runs_to_create.empty()) {
      return out;
    }
  }
  ADD_FAILURE() << "did not settle in " << max << " rounds";
  return out;
}

void Sim::SetImage(const std::string& image) {
  Json& target = workload.has_value() ? (*workload)["spec"] : rollout_["spec"];
  target["template"]["spec"]["containers"][0]["image"] = image;
  rollout_["metadata"]["generation"] = ++generation_;
}

void Sim::Promote() { rollout_["status"].erase("pauseConditions"); }
void Sim::PromoteFull() { rollout_["status"]["promoteFull"] = true; }
void Sim::Abort() { rollout_["status"]["abort"] = true; }
void Sim::Retry() { rollout_["status"]["abort"] = false; }
void Sim::SkipStep() {
  rollout_["status"]["currentStepIndex"] = rollout_["status"].value("currentStepIndex", 0) + 1;
}

void Sim::SetRunPhase(const std::string& name, const std::string& phase,
                      const std::string& message) {
  ASSERT_EQ(runs_.count(name), 1u) << "no run " << name;
  runs_[name]["status"] = {{"phase", phase}};
  if (!message.empty()) runs_[name]["status"]["message"] = message;
}

std::string Sim::Phase() const { return rollout_["status"].value("phase", ""); }
std::string Sim::Message() const { return rollout_["status"].value("message", ""); }

const Json* Sim::ReplicaSet(const std::string& hash) const {
  for (const auto& [name, rs] : rss_) {
    if (rs["metadata"]["labels"].value("rollouts-pod-template-hash", "") == hash) return &rs;
  }
  return nullptr;
}

int Sim::Replicas(const std::string& hash) const {
  const Json* rs = ReplicaSet(hash);
  return rs == nullptr ? 0 : (*rs)["spec"].value("replicas", 0);
}

int Sim::Available(const std::string& hash) const {
  const Json* rs = ReplicaSet(hash);
  return rs == nullptr ? 0 : (*rs)["status"].value("availableReplicas", 0);
}

std::vector<std::string> Sim::Hashes() const {
  std::vector<std::string> out;
  for (const auto& [name, rs] : rss_) {
    out.push_back(rs["metadata"]["labels"].value("rollouts-pod-template-hash", ""));
  }
  return out;
}

std::string Sim::SelectorOf(const std::string& service) const {
  auto it = services_.find(service);
  if (it == services_.end()) return "";
  return it->second["spec"]["selector"].value("rollouts-pod-template-hash", "");
}

}  // namespace argonaut::rollout::engine::testing
