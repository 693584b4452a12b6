#include "services/rollout/engine/test_sim.h"

#include <utility>

#include "gtest/gtest.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/manifest/yaml.h"

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
  last_ = *out;
  return *std::move(out);
}

void Sim::Kubelet() {
  for (auto& [name, rs] : rss_) {
    const int n = rs["spec"].value("replicas", 0);
    rs["status"] = {{"replicas", n}, {"readyReplicas", n}, {"availableReplicas", n}};
  }
}

RolloutOutput Sim::Settle(int max) {
  RolloutOutput out;
  for (int i = 0; i < max; ++i) {
    const Json before_status = rollout_["status"];
    const auto before_rss = rss_;
    out = Reconcile();
    Kubelet();
    if (rss_ == before_rss && rollout_["status"] == before_status &&
        out.analysis_runs_to_create.empty()) {
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
