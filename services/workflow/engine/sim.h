// Test-only simulated kubelet: drives Operate() repeatedly, moving the pods it asks for through
// Pending -> Running -> Succeeded/Failed with outputs chosen per pod by a behaviour function.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow::engine {

struct PodRun {
  int exit_code = 0;
  std::string result;                                       // stdout
  std::vector<std::pair<std::string, std::string>> params;  // reported output parameters
  nlohmann::json artifacts = nlohmann::json::array();       // reported saved artifacts
  int running_ticks = 1;                                    // Operate calls the pod stays Running
  bool daemon_ready = true;
  std::string message;
};

// Decides how a pod runs from its node name and resolved template (ARGO_TEMPLATE).
using PodBehaviour =
    std::function<PodRun(const std::string& node_name, const nlohmann::json& tmpl)>;

// Default: exit 0; `exit N` in the command/args/source fails with N; echo/cowsay print their
// words; python's random coin flip prints "heads".
PodRun DefaultBehaviour(const std::string& node_name, const nlohmann::json& tmpl);

class Sim {
 public:
  explicit Sim(nlohmann::json workflow, PodBehaviour behaviour = DefaultBehaviour);

  absl::Status Step();  // one Operate() and one kubelet tick
  // The local runtime restarts: every pod that had started reports Failed with reason
  // NodeRestarted, as lib/cluster/kubelet does for adopted restartPolicy Never pods.
  void RestartRuntime();
  // Steps until the workflow phase is terminal; fails after max_steps.
  absl::Status Run(int max_steps = 300);

  nlohmann::json& workflow() { return wf_; }
  const std::string& phase() const;
  const nlohmann::json* Node(const std::string& name) const;  // by node name

  std::map<std::string, nlohmann::json> templates;  // "kind/name" -> object, for lookup
  std::vector<std::vector<std::string>> created;    // pod node names created per Operate call
  std::vector<std::string> deleted;
  std::vector<std::optional<absl::Duration>> requeues;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  int operate_calls = 0;
  // The controller dies after acting on pods but before its status write of the next Step.
  bool drop_next_status = false;
  LockArbiter locks;                  // handed to every Operate call
  std::vector<LockRelease> releases;  // every lock release Operate reported

 private:
  struct Live {
    std::string node_name;
    PodRun run;
    int ticks = 0;
  };
  nlohmann::json wf_;
  PodBehaviour behaviour_;
  std::map<std::string, PodState> pods_;
  std::map<std::string, Live> live_;
};

}  // namespace argonaut::workflow::engine
