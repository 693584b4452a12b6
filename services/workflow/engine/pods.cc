// Leaf nodes: pods (POD CONTRACT in engine.h's design), their reconciliation from observed pod
// states, suspend and resource templates, daemons, deadlines and shutdown (Argo operator.go
// executeContainer/executeScript/executeSuspend/executeResource, podReconciliation,
// applyExecutionControl, killDaemonedChildren).
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/yaml.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

std::string TemplateKey(const json& node) {
  const std::string name = Str(node, "templateName");
  if (name.empty()) return "";
  return absl::StrCat(Str(node, "templateScope"), "/", name);
}

bool InExitHandler(const std::string& name) { return absl::StrContains(name, ".onExit"); }

// Output parameters as Argo records them: reported values, else valueFrom.default.
json PodOutputs(const PodState& pod, const json* tmpl) {
  json outputs = json::object();
  const json& rep = pod.outputs;
  if (rep.is_object() && rep.contains("result") && rep["result"].is_string()) {
    outputs["result"] = rep["result"];
  }
  if (rep.is_object() && rep.contains("exitCode")) {
    outputs["exitCode"] =
        rep["exitCode"].is_string() ? rep["exitCode"] : json(rep["exitCode"].dump());
  } else if (pod.exit_code.has_value()) {
    outputs["exitCode"] = std::to_string(*pod.exit_code);
  }
  json params = json::array();
  auto reported = [&](const std::string& name) -> const json* {
    if (!rep.is_object() || !rep.contains("parameters") || !rep["parameters"].is_array())
      return nullptr;
    for (const json& p : rep["parameters"]) {
      if (p.is_object() && Str(p, "name") == name && p.contains("value")) return &p["value"];
    }
    return nullptr;
  };
  if (tmpl != nullptr && tmpl->contains("outputs") && (*tmpl)["outputs"].is_object() &&
      (*tmpl)["outputs"].contains("parameters") && (*tmpl)["outputs"]["parameters"].is_array()) {
    for (const json& p : (*tmpl)["outputs"]["parameters"]) {
      if (!p.is_object()) continue;
      json out = {{"name", Str(p, "name")}};
      if (const json* v = reported(Str(p, "name")); v != nullptr) {
        out["value"] = v->is_string() ? *v : json(ItemText(*v));
      } else if (p.contains("valueFrom") && p["valueFrom"].is_object() &&
                 p["valueFrom"].contains("default")) {
        out["value"] = ItemText(p["valueFrom"]["default"]);
      } else {
        continue;
      }
      if (p.contains("globalName")) out["globalName"] = p["globalName"];
      params.push_back(std::move(out));
    }
  } else if (rep.is_object() && rep.contains("parameters") && rep["parameters"].is_array()) {
    for (const json& p : rep["parameters"]) {
      if (p.is_object() && p.contains("value")) {
        params.push_back({{"name", Str(p, "name")}, {"value", ItemText(p["value"])}});
      }
    }
  }
  if (!params.empty()) outputs["parameters"] = std::move(params);
  if (json artifacts = PodArtifactOutputs(rep, tmpl); !artifacts.empty()) {
    outputs["artifacts"] = std::move(artifacts);
  }
  return outputs;
}

}  // namespace

const json* Operator::StoredTemplate(const json& node) const {
  const std::string key = TemplateKey(node);
  if (key.empty() || !status_.contains("storedTemplates")) return nullptr;
  const json& st = status_["storedTemplates"];
  auto it = st.find(key);
  return it == st.end() ? nullptr : &*it;
}

void Operator::StoreTemplate(const json& node, const json& tmpl) {
  const std::string key = TemplateKey(node);
  if (key.empty()) return;
  json& st = status_["storedTemplates"];
  if (!st.is_object()) st = json::object();
  if (!st.contains(key)) st[key] = tmpl;
}

absl::StatusOr<json> Operator::BuildPod(const std::string& node_name, const std::string& pod_name,
                                        const std::string& template_name, const json& t) {
  const bool script = t.contains("script");
  json main = script ? t["script"] : t.value("container", json::object());
  if (!main.is_object()) main = json::object();
  json c = json::object();
  c["name"] = "main";
  c["image"] = main.value("image", json(""));
  c["command"] = json::array({"argoexec", "emissary"});
  json env = main.value("env", json::array());
  if (!env.is_array()) env = json::array();
  const std::string template_text = t.dump();  // the env and an annotation both carry it
  env.push_back({{"name", "ARGO_TEMPLATE"}, {"value", template_text}});
  env.push_back({{"name", "ARGO_NODE_ID"}, {"value", Id(node_name)}});
  env.push_back({{"name", "ARGO_WORKFLOW_NAME"}, {"value", wf_name_}});
  c["env"] = std::move(env);
  for (const char* k : {"workingDir", "volumeMounts", "ports", "readinessProbe", "resources",
                        "securityContext", "envFrom", "livenessProbe"}) {
    if (main.contains(k)) c[k] = main[k];
  }
  json containers = json::array({std::move(c)});
  if (t.contains("containerSet")) containers = ContainerSetContainers(node_name, t);
  if (t.contains("sidecars") && t["sidecars"].is_array()) {
    for (const json& s : t["sidecars"]) containers.push_back(s);
  }
  json labels = {{"workflows.argoproj.io/workflow", wf_name_},
                 {"workflows.argoproj.io/completed", "false"}};
  json annotations = {{"workflows.argoproj.io/node-id", Id(node_name)},
                      {"workflows.argoproj.io/node-name", node_name},
                      {"workflows.argoproj.io/template", template_text}};
  if (InExitHandler(node_name)) labels["workflows.argoproj.io/on-exit"] = "true";
  if (t.contains("metadata") && t["metadata"].is_object()) {
    for (const char* kind : {"labels", "annotations"}) {
      const json m = t["metadata"].value(kind, json::object());
      if (!m.is_object()) continue;
      json& dst = std::string(kind) == "labels" ? labels : annotations;
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (!dst.contains(it.key())) dst[it.key()] = it.value();
      }
    }
  }
  json pod_spec = {{"restartPolicy", "Never"}, {"containers", std::move(containers)}};
  if (auto ads = IntOrString(t.value("activeDeadlineSeconds", json(nullptr))); ads.has_value()) {
    pod_spec["activeDeadlineSeconds"] = *ads;
  }
  json volumes = json::array();
  for (const json* src : {spec_, &t}) {
    if (src->contains("volumes") && (*src)["volumes"].is_array()) {
      for (const json& v : (*src)["volumes"]) volumes.push_back(v);
    }
  }
  if (!volumes.empty()) pod_spec["volumes"] = std::move(volumes);
  if (t.contains("initContainers")) pod_spec["initContainers"] = t["initContainers"];
  const std::string sa = Str(t, "serviceAccountName").empty() ? Str(*spec_, "serviceAccountName")
                                                              : Str(t, "serviceAccountName");
  if (!sa.empty()) pod_spec["serviceAccountName"] = sa;
  RETURN_IF_ERROR(AttachArtifactRepository(pod_spec, t));
  (void)template_name;
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", pod_name},
                {"namespace", ns_},
                {"labels", std::move(labels)},
                {"annotations", std::move(annotations)}}},
              {"spec", std::move(pod_spec)}};
}

json* Operator::ExecutePod(const std::string& name, const Resolved& r, const json& t,
                           const ExecOpts& opts, int retries) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "Pod", "", opts.boundary_id, "Pending", "", &r);
    if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty()) {
      (*node)["inputs"] = t["inputs"];
    }
    StoreTemplate(*node, r.tmpl);
  }
  const std::string pod_name = PodName(wf_name_, name, Str(*node, "templateName"));
  // Template timeout counts from node start, Pending included.
  if (auto tmo = ParseArgoDuration(Str(t, "timeout")); tmo.has_value()) {
    const absl::Time deadline = ParseTimestamp((*node)["startedAt"]) + *tmo;
    if (in_.now >= deadline) {
      MarkPhase(*node, "Failed",
                absl::StrCat("Step exceeded its deadline (timeout ", Str(t, "timeout"), ")"));
      out_.pods_to_delete.push_back(pod_name);
      return node;
    }
    Requeue(deadline - in_.now);
  }
  auto pod = in_.pods.find(pod_name);
  const bool exists = pod != in_.pods.end() && !pod->second.phase.empty();
  if (exists && t.value("daemon", false) && pod->second.phase == "Running" && pod->second.ready &&
      !node->value("daemoned", false)) {
    (*node)["daemoned"] = true;
    has_daemons_ = true;
    if (!pod->second.pod_ip.empty()) (*node)["podIP"] = pod->second.pod_ip;
  }
  if (Str(*node, "phase") != "Pending" || exists || pods_created_.count(pod_name)) return node;
  if (t.contains("containerSet")) {
    if (absl::Status valid = ValidateContainerSet(t["containerSet"]); !valid.ok()) {
      MarkPhase(*node, "Error", std::string(valid.message()));
      return node;
    }
  }
  tmpl::Scope local;
  local.Set("pod.name", pod_name);
  local.Set("node.name", name);
  local.Set("retries", std::to_string(retries));
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  absl::StatusOr<json> final_t = tmpl::RenderJson(t, local, leave);
  if (!final_t.ok()) {
    MarkPhase(*node, "Error", std::string(final_t.status().message()));
    return node;
  }
  absl::StatusOr<json> built = json(nullptr);
  if (absl::Status located = SetArchiveLocation(*final_t, pod_name); !located.ok()) {
    built = located;
  } else {
    built = BuildPod(name, pod_name, Str(*node, "templateName"), *final_t);
  }
  if (!built.ok()) {
    MarkPhase(*node, "Error", std::string(built.status().message()));
    return node;
  }
  out_.pods_to_create.push_back(*std::move(built));
  pods_created_.insert(pod_name);
  if (t.contains("containerSet")) {
    InitContainerNodes(name, r, t);
    node = NodeByName(name);  // InitNode may have moved it
  }
  return node;
}

void Operator::ReconcilePods() {
  for (json* open : open_pods_) {
    json& node = *open;
    if (Str(node, "type") != "Pod" || PhaseCompleted(Str(node, "phase"))) continue;
    const std::string pod_name = PodName(wf_name_, Str(node, "name"), Str(node, "templateName"));
    auto pit = in_.pods.find(pod_name);
    const PodState* pod = pit == in_.pods.end() ? nullptr : &pit->second;
    const std::string pphase = pod == nullptr ? "" : pod->phase;
    const std::string nphase = Str(node, "phase");
    const json* tmpl = StoredTemplate(node);
    if (tmpl != nullptr && tmpl->contains("resource")) continue;
    const bool container_set = tmpl != nullptr && tmpl->contains("containerSet");
    if (container_set) ReconcileContainerNodes(node, pod);
    if (pphase.empty()) {
      // The engine only deletes the pod of a node that is not completed once the stored status
      // already says Pending (RestartInterruptedPod), so a Running node without its pod was
      // deleted by someone else: Argo's "pod deleted".
      if (nphase == "Running") {
        MarkPhase(node, "Error", "pod deleted");
      }
      continue;
    }
    if (pphase == "Failed" && absl::StrContains(pod->message, kNodeRestarted)) {
      RestartInterruptedPod(node, pod_name);
      continue;
    }
    if (pod->pod_ip.size() > 0) node["podIP"] = pod->pod_ip;
    if (pphase == "Pending") continue;
    if (pphase == "Running") {
      if (nphase == "Pending") {
        MarkPhase(node, "Running");
        if (Str(node, "message") == kRestartMessage) node.erase("message");
      }
      if (tmpl != nullptr && tmpl->value("daemon", false) && pod->ready &&
          !node.value("daemoned", false)) {
        node["daemoned"] = true;
        has_daemons_ = true;
      }
      continue;
    }
    json outputs = PodOutputs(*pod, tmpl);
    if (!outputs.empty()) node["outputs"] = outputs;
    if (pod->finished_at != absl::InfinitePast())
      node["finishedAt"] = FormatTimestamp(pod->finished_at);
    if (pphase == "Succeeded") {
      node.erase("daemoned");
      MarkPhase(node, "Succeeded", "");
      PublishGlobalOutputs(outputs);
    } else {
      std::string message = pod->message;
      if (message.empty() && pod->exit_code.has_value()) {
        message = absl::StrCat("Error (exit code ", *pod->exit_code, ")");
      }
      bool failed = pod->exit_code.has_value() || absl::StrContains(message, "DeadlineExceeded");
      // argoexec could not load or save an artifact: a system error, as in Argo.
      if (pod->outputs.is_object() && Str(pod->outputs, "errorPhase") == "Error") failed = false;
      if (container_set && (!pod->exit_code.has_value() || *pod->exit_code == 0)) {
        // A container other than `main` failed the pod: Argo names it as the reason.
        if (std::optional<std::string> why = ContainerSetFailure(*pod, (*tmpl)["containerSet"]);
            why.has_value()) {
          failed = true;
          message = *why;
        }
      }
      node.erase("daemoned");
      MarkPhase(node, failed ? "Failed" : "Error", message.empty() ? "pod failed" : message);
    }
  }
}

void Operator::RestartInterruptedPod(json& node, const std::string& pod_name) {
  // A daemon's scope may already have moved on, so nothing would start it again: it ends with
  // the restart instead of hanging in Pending.
  if (node.value("daemoned", false)) {
    node.erase("daemoned");
    MarkPhase(node, "Failed", kRestartMessage);
    return;
  }
  node.erase("podIP");
  if (Str(node, "phase") == "Pending") {
    // The stored status already says Pending: the dead pod can go, and once it is gone
    // ExecutePod creates it again under the same name.
    out_.pods_to_delete.push_back(pod_name);
    return;
  }
  // Two steps so that a controller crash between deleting the pod and writing the status never
  // leaves a Running node without a pod (which reads as "pod deleted"): this call only puts the
  // node back to Pending; the next one, seeing Pending stored, deletes the pod.
  node["failedPodRestarts"] = node.value("failedPodRestarts", 0) + 1;
  MarkPhase(node, "Pending", kRestartMessage);
  Event(absl::StrCat("node ", Str(node, "name"), ": pod interrupted by a runtime restart"));
  Requeue(absl::Seconds(1));
}

void Operator::KillDaemonedChildren(const std::string& boundary_id) {
  if (!has_daemons_ && !completed_daemons_checked_) {
    // Run() only looked for daemons among unfinished nodes; a finished node still marked
    // daemoned (not something the engine writes) is found here, once per call.
    completed_daemons_checked_ = true;
    for (auto it = nodes_->begin(); it != nodes_->end() && !has_daemons_; ++it) {
      if (it->value("daemoned", false)) has_daemons_ = true;
    }
  }
  if (!has_daemons_) return;
  for (auto it = nodes_->begin(); it != nodes_->end(); ++it) {
    json& node = *it;
    if (!node.value("daemoned", false)) continue;
    if (!boundary_id.empty() && Str(node, "boundaryID") != boundary_id) continue;
    out_.pods_to_delete.push_back(PodName(wf_name_, Str(node, "name"), Str(node, "templateName")));
    node.erase("daemoned");
    MarkPhase(node, "Succeeded");
  }
}

void Operator::ApplyDeadlinesAndShutdown() {
  if (shutdown_.empty() && !deadline_exceeded_) return;
  for (auto it = nodes_->begin(); it != nodes_->end(); ++it) {
    json& node = *it;
    const std::string type = Str(node, "type");
    if (type != "Pod" && type != "Suspend" && type != "HTTP") continue;
    if (PhaseCompleted(Str(node, "phase"))) continue;
    const bool on_exit = InExitHandler(Str(node, "name"));
    std::string message;
    if (!shutdown_.empty() && ShutdownBlocks(on_exit)) {
      message = ShutdownMessage();
    } else if (deadline_exceeded_ && !on_exit) {
      message = "Step exceeded its deadline";
    } else {
      continue;
    }
    if (type == "Pod") {
      out_.pods_to_delete.push_back(
          PodName(wf_name_, Str(node, "name"), Str(node, "templateName")));
    }
    node.erase("daemoned");
    MarkPhase(node, "Failed", message);
  }
}

json* Operator::ExecuteSuspend(const std::string& name, const Resolved& r, const json& t,
                               const ExecOpts& opts) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "Suspend", "", opts.boundary_id, "Pending", "", &r);
    if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty())
      (*node)["inputs"] = t["inputs"];
    if (t.contains("outputs") && t["outputs"].is_object() && t["outputs"].contains("parameters")) {
      (*node)["outputs"] = {{"parameters", t["outputs"]["parameters"]}};
    }
  }
  const json& suspend = t["suspend"];
  const std::string duration =
      suspend.is_object() && suspend.contains("duration") ? ItemText(suspend["duration"]) : "";
  if (!duration.empty()) {
    std::optional<absl::Duration> d = ParseArgoDuration(duration);
    if (!d.has_value()) {
      MarkPhase(*node, "Error",
                absl::StrCat("suspend.duration: invalid duration \"", duration, "\""));
      return node;
    }
    const absl::Time deadline = ParseTimestamp((*node)["startedAt"]) + *d;
    if (in_.now >= deadline) {
      // Resuming by time: supplied outputs without a value take their default (Argo
      // OverrideOutputParametersWithDefault).
      if (node->contains("outputs") && (*node)["outputs"].contains("parameters")) {
        for (json& p : (*node)["outputs"]["parameters"]) {
          if (p.contains("value")) continue;
          if (p.contains("valueFrom") && p["valueFrom"].contains("default")) {
            p["value"] = ItemText(p["valueFrom"]["default"]);
          }
        }
      }
      MarkPhase(*node, "Succeeded");
      return node;
    }
    Requeue(deadline - in_.now);
  }
  MarkPhase(*node, "Running");
  return node;
}

json* Operator::ExecuteResource(const std::string& name, const Resolved& r, const json& t,
                                const ExecOpts& opts) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "Pod", "", opts.boundary_id, "Pending", "", &r);
    StoreTemplate(*node, r.tmpl);
  }
  const std::string id = Str(*node, "id");
  auto st = in_.resources.find(id);
  if (st != in_.resources.end() &&
      (st->second.phase == "Succeeded" || st->second.phase == "Failed")) {
    if (st->second.phase == "Succeeded") {
      if (!st->second.object.is_null()) {
        (*node)["outputs"] = {{"result", st->second.object.dump()}};
      }
      MarkPhase(*node, "Succeeded", st->second.message);
    } else {
      MarkPhase(*node, "Failed",
                st->second.message.empty() ? "resource action failed" : st->second.message);
    }
    return node;
  }
  if (st != in_.resources.end() && Str(*node, "phase") == "Pending") MarkPhase(*node, "Running");
  const json& res = t["resource"];
  if (!res.is_object()) {
    MarkPhase(*node, "Error", "resource: not an object");
    return node;
  }
  const std::string action = Str(res, "action");
  if (action.empty()) {
    MarkPhase(*node, "Error", "resource.action is required");
    return node;
  }
  json manifest;
  if (res.contains("manifest") && res["manifest"].is_string()) {
    absl::StatusOr<std::vector<json>> docs =
        manifest::ParseDocuments(res["manifest"].get<std::string>());
    if (!docs.ok() || docs->size() != 1) {
      MarkPhase(
          *node, "Error",
          absl::StrCat("resource.manifest: ", docs.ok() ? "expected exactly one document"
                                                        : std::string(docs.status().message())));
      return node;
    }
    manifest = (*docs)[0];
  } else if (action != "delete" || !res.contains("flags")) {
    MarkPhase(*node, "Error", "resource.manifest is required");
    return node;
  }
  json act = {{"action", action}, {"manifest", manifest}};
  for (const char* k :
       {"successCondition", "failureCondition", "mergeStrategy", "flags", "setOwnerReference"}) {
    if (res.contains(k)) act[k] = res[k];
  }
  out_.resource_actions[id] = std::move(act);
  return node;
}

}  // namespace argonaut::workflow::engine::internal
