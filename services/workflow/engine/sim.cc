#include "services/workflow/engine/sim.h"

#include <regex>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow::engine {

PodRun DefaultBehaviour(const std::string& node_name, const nlohmann::json& tmpl) {
  (void)node_name;
  PodRun run;
  const nlohmann::json c =
      tmpl.contains("script") ? tmpl["script"] : tmpl.value("container", nlohmann::json::object());
  std::string text;
  for (const char* k : {"command", "args"}) {
    if (c.contains(k) && c[k].is_array()) {
      for (const auto& a : c[k]) {
        if (a.is_string()) absl::StrAppend(&text, a.get<std::string>(), " ");
      }
    }
  }
  if (c.contains("source") && c["source"].is_string())
    absl::StrAppend(&text, c["source"].get<std::string>());
  std::smatch m;
  static const std::regex exit_re("exit\\(?\\s*([0-9]+)");
  if (std::regex_search(text, m, exit_re)) run.exit_code = std::stoi(m[1]);
  if (absl::StrContains(text, "random")) {
    run.result = "heads";
  } else if (c.contains("args") && c["args"].is_array() && !c["args"].empty() &&
             c["args"].back().is_string()) {
    std::string last = c["args"].back().get<std::string>();
    static const std::regex echo_re("^\\s*echo\\s+\"?([^\">|;&]*)\"?\\s*$");
    if (std::regex_search(last, m, echo_re)) {
      run.result = m[1];
    } else if (!absl::StrContains(last, " ")) {
      run.result = last;
    }
  }
  return run;
}

Sim::Sim(nlohmann::json workflow, PodBehaviour behaviour)
    : wf_(std::move(workflow)), behaviour_(std::move(behaviour)) {
  if (!wf_["metadata"].contains("name")) {
    wf_["metadata"]["name"] =
        absl::StrCat(wf_["metadata"].value("generateName", std::string("wf-")), "test");
  }
  if (!wf_["metadata"].contains("namespace")) wf_["metadata"]["namespace"] = "argo";
}

const std::string& Sim::phase() const {
  static const std::string kEmpty;
  if (!wf_.contains("status") || !wf_["status"].contains("phase")) return kEmpty;
  return wf_["status"]["phase"].get_ref<const std::string&>();
}

const nlohmann::json* Sim::Node(const std::string& name) const {
  if (!wf_.contains("status") || !wf_["status"].contains("nodes")) return nullptr;
  const std::string id = NodeId(wf_["metadata"]["name"].get<std::string>(), name);
  auto it = wf_["status"]["nodes"].find(id);
  return it == wf_["status"]["nodes"].end() ? nullptr : &*it;
}

absl::Status Sim::Step() {
  EngineInput in;
  in.workflow = wf_;
  in.pods = pods_;
  in.now = now;
  in.locks = locks;
  in.lookup = [this](std::string_view kind,
                     std::string_view name) -> std::optional<nlohmann::json> {
    auto it = templates.find(absl::StrCat(std::string(kind), "/", std::string(name)));
    if (it == templates.end()) return std::nullopt;
    return it->second;
  };
  absl::StatusOr<EngineOutput> out = Operate(in);
  ++operate_calls;
  if (!out.ok()) return out.status();
  if (drop_next_status) {
    drop_next_status = false;
  } else {
    wf_["status"] = out->status;
  }
  requeues.push_back(out->requeue_after);
  for (LockRelease& r : out->lock_releases) releases.push_back(std::move(r));
  std::vector<std::string> made;
  for (const nlohmann::json& pod : out->pods_to_create) {
    const std::string name = pod["metadata"]["name"];
    if (pods_.count(name)) return absl::InternalError(absl::StrCat("pod created twice: ", name));
    const std::string node_name = pod["metadata"]["annotations"]["workflows.argoproj.io/node-name"];
    const nlohmann::json tmpl = nlohmann::json::parse(
        pod["metadata"]["annotations"]["workflows.argoproj.io/template"].get<std::string>());
    pods_[name].phase = "Pending";
    live_[name] = Live{node_name, behaviour_(node_name, tmpl), 0};
    made.push_back(node_name);
  }
  created.push_back(made);
  for (const std::string& name : out->pods_to_delete) {
    deleted.push_back(name);
    pods_.erase(name);
    live_.erase(name);
  }
  // Kubelet tick.
  for (auto& [name, live] : live_) {
    PodState& p = pods_[name];
    if (p.phase == "Pending") {
      p.phase = "Running";
      p.started_at = now;
      p.pod_ip = "10.0.0.1";
      p.ready = live.run.daemon_ready;
    } else if (p.phase == "Running" && ++live.ticks >= live.run.running_ticks) {
      p.phase = live.run.exit_code == 0 ? "Succeeded" : "Failed";
      p.exit_code = live.run.exit_code;
      p.finished_at = now;
      p.message = live.run.message;
      nlohmann::json params = nlohmann::json::array();
      for (const auto& [k, v] : live.run.params) params.push_back({{"name", k}, {"value", v}});
      p.outputs = {{"result", live.run.result},
                   {"exitCode", std::to_string(live.run.exit_code)},
                   {"parameters", params}};
      if (!live.run.artifacts.empty()) p.outputs["artifacts"] = live.run.artifacts;
    }
  }
  bool busy = false;
  for (const auto& [name, p] : pods_) busy = busy || p.phase == "Pending" || p.phase == "Running";
  // Jump to the next timer only when no pod is moving, so pod progress stays one tick per call.
  now += !busy && out->requeue_after.has_value() && *out->requeue_after > absl::Seconds(1)
             ? *out->requeue_after
             : absl::Seconds(1);
  return absl::OkStatus();
}

void Sim::RestartRuntime() {
  for (auto it = live_.begin(); it != live_.end();) {
    PodState& p = pods_[it->first];
    if (p.phase != "Running") {
      ++it;
      continue;
    }
    p.phase = "Failed";
    p.exit_code.reset();
    p.ready = false;
    p.message =
        "NodeRestarted: the local runtime restarted while the pod ran; restartPolicy Never "
        "forbids running it again";
    it = live_.erase(it);
  }
}

absl::Status Sim::Run(int max_steps) {
  for (int i = 0; i < max_steps; ++i) {
    if (absl::Status s = Step(); !s.ok()) return s;
    const std::string& p = phase();
    if (p == "Succeeded" || p == "Failed" || p == "Error") return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("workflow not finished after ", max_steps, " steps; phase ", phase()));
}

}  // namespace argonaut::workflow::engine
