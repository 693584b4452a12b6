// Resource templates: carries out the engine's resource actions (create,
// apply, delete, get, ...) against the cluster and evaluates Argo's
// successCondition / failureCondition on the object.
//
// Conditions use Argo's syntax (Kubernetes label-requirement grammar over the
// object's fields): comma-separated requirements that must all hold, each
// `path op value` with op one of = == != > < in notin, or `path` (exists) /
// `!path` (absent); `path` is dotted (status.succeeded, metadata.labels.app),
// with [n] for list elements. Numbers compare numerically.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow {

// True when every requirement of `condition` holds on `object`. Errors name
// the requirement that does not parse.
absl::StatusOr<bool> EvaluateResourceCondition(std::string_view condition,
                                               const nlohmann::json& object);

class ResourceRunner {
 public:
  explicit ResourceRunner(cluster::Cluster* cluster) : cluster_(cluster) {}

  // Outcomes of the actions started for workflow `wf_key`, refreshed
  // (objects re-read and conditions re-evaluated), for EngineInput::resources.
  std::map<std::string, engine::ResourceState> Observe(const std::string& wf_key);
  // Starts the actions the engine asked for that have not been started yet.
  // Returns true while any action still waits on a condition (poll again).
  bool Run(const std::string& wf_key, const std::string& ns,
           const std::map<std::string, nlohmann::json>& actions);
  // Forgets a workflow (deleted or completed).
  void Forget(const std::string& wf_key);

 private:
  struct Started {
    nlohmann::json action;
    std::string kind, ns, name;
    engine::ResourceState state;  // terminal once Succeeded/Failed
  };
  engine::ResourceState Evaluate(Started& s);

  cluster::Cluster* const cluster_;
  absl::Mutex mu_;
  std::map<std::string, std::map<std::string, Started>> started_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::workflow
