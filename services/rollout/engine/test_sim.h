// A small simulated cluster for the engine's scenario tests: it applies each RolloutOutput the
// way the controller does (ReplicaSets, Service selectors, AnalysisRuns, status) and plays the
// kubelet (every ReplicaSet's pods become ready and available on the next tick).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/rollout/engine/engine.h"

namespace argonaut::rollout::engine::testing {

using Json = nlohmann::json;

Json ParseYaml(const std::string& yaml);

class Sim {
 public:
  // `rollout` is a Rollout manifest; Services named in it are created empty.
  explicit Sim(Json rollout, absl::Time now = absl::FromUnixSeconds(1767225600));

  // One reconcile; applies the output. Fails the test on an engine error.
  RolloutOutput Reconcile();
  // Pods of every ReplicaSet catch up with spec.replicas (ready and available).
  void Kubelet();
  // Reconcile + Kubelet until nothing changes any more (at most `max` rounds).
  RolloutOutput Settle(int max = 60);
  void Advance(absl::Duration d) { now_ += d; }

  // Edits as the API would make them.
  void SetImage(const std::string& image);
  void Promote();      // status.pauseConditions removed
  void PromoteFull();  // status.promoteFull = true
  void Abort();        // status.abort = true
  void Retry();        // status.abort = false
  void SkipStep();     // status.currentStepIndex + 1 (promote in the middle of a step)
  void SetRunPhase(const std::string& name, const std::string& phase,
                   const std::string& message = "");
  // AnalysisRuns of the experiments (the sim runs every Experiment through
  // experiment::ReconcileExperiment after each rollout reconcile).
  void SetExperimentRunPhase(const std::string& name, const std::string& phase,
                             const std::string& message = "");
  void TerminateExperiment(const std::string& name);

  const Json& rollout() const { return rollout_; }
  const Json& status() const { return rollout_["status"]; }
  Json& spec() { return rollout_["spec"]; }
  std::string Phase() const;
  std::string Message() const;
  // spec.replicas of the ReplicaSet with this pod-template hash (0 if none).
  int Replicas(const std::string& hash) const;
  int Available(const std::string& hash) const;
  const Json* ReplicaSet(const std::string& hash) const;
  std::vector<std::string> Hashes() const;  // every ReplicaSet's hash
  std::string SelectorOf(const std::string& service) const;
  const std::map<std::string, Json>& runs() const { return runs_; }
  const std::map<std::string, Json>& replica_sets() const { return rss_; }
  const std::map<std::string, Json>& experiments() const { return experiments_; }
  const std::map<std::string, Json>& experiment_replica_sets() const { return exp_rss_; }
  const std::map<std::string, Json>& experiment_runs() const { return exp_runs_; }
  absl::Time now() const { return now_; }
  const RolloutOutput& last() const { return last_; }
  std::vector<std::string> terminated;  // runs the engine asked to terminate, in order
  std::optional<Json> workload;         // the workloadRef Deployment, if any

 private:
  void RunExperiments();

  Json rollout_;
  std::map<std::string, Json> rss_;
  std::map<std::string, Json> services_;
  std::map<std::string, Json> runs_;
  std::map<std::string, Json> experiments_, exp_rss_, exp_services_, exp_runs_;
  absl::Time now_;
  RolloutOutput last_;
  int generation_ = 1;
};

}  // namespace argonaut::rollout::engine::testing
