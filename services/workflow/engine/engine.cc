// Orchestration of one Operate() call (Argo operator.go operate / executeTemplate) and the node
// bookkeeping every other part uses.
#include "services/workflow/engine/engine.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine {
namespace internal {
namespace {

constexpr char kDisplayNameAnnotation[] = "workflows.argoproj.io/display-name";

const json* DisplayNameAnnotation(const json& t) {
  auto a = t.find("annotations");
  if (a == t.end() || !a->is_object()) return nullptr;
  auto v = a->find(kDisplayNameAnnotation);
  if (v == a->end() || !v->is_string() || v->get_ref<const std::string&>().empty()) return nullptr;
  return &*v;
}

// Str(node, "type"), cheaper: no other field of a node sorts after "type", so it is the last
// member (which the map reaches in one step) unless the node is unusual.
const std::string& NodeType(const json& node) {
  if (node.is_object() && !node.empty()) {
    const auto& last = *node.get_ref<const json::object_t&>().rbegin();
    if (last.first == "type" && last.second.is_string()) {
      return last.second.get_ref<const std::string&>();
    }
  }
  return Str(node, "type");
}

bool ActiveType(const std::string& type) {
  return type == "Pod" || type == "Steps" || type == "DAG";
}
bool ActivePhase(const std::string& phase) { return phase == "Pending" || phase == "Running"; }

std::string TypeOf(const json& t) {
  if (t.contains("steps")) return "Steps";
  if (t.contains("dag")) return "DAG";
  if (t.contains("suspend")) return "Suspend";
  if (t.contains("container") || t.contains("script") || t.contains("resource") ||
      t.contains("containerSet") || t.contains("data")) {
    return "Pod";
  }
  // Argo's node types for the templates its agent runs.
  if (t.contains("http")) return "HTTP";
  if (t.contains("plugin")) return "Plugin";
  return "";
}

std::string PluginMessage(const std::string& template_name) {
  return absl::StrCat("executor plugins are not supported: template ", template_name);
}

std::string WorkflowPhaseOf(const std::string& root_phase) {
  return root_phase == "Failed" ? "Failed" : root_phase == "Error" ? "Error" : "Succeeded";
}

// Argo's display name: the node name without its boundary node's name and the "[i]." or "."
// that follows it; the whole name when there is no boundary ("wf[0].step(1:a)" -> "step(1:a)",
// "wf.task.hooks.h" -> "task.hooks.h", "wf.onExit" -> "wf.onExit").
std::string DisplayName(const std::string& name, const std::string& boundary_name) {
  if (boundary_name.empty() || name.size() <= boundary_name.size() ||
      name.compare(0, boundary_name.size(), boundary_name) != 0) {
    return name;
  }
  std::string rest = name.substr(boundary_name.size());
  size_t i = 0;
  if (rest[0] == '[') {
    size_t j = 1;
    while (j < rest.size() && rest[j] >= '0' && rest[j] <= '9') ++j;
    if (j > 1 && j + 1 < rest.size() && rest[j] == ']' && rest[j + 1] == '.') i = j + 2;
  } else if (rest[0] == '.') {
    i = 1;
  }
  return rest.substr(i);
}

// Merges a WorkflowTemplate's spec under the workflow's own: the workflow's fields win and its
// arguments.parameters override the template's by name (Argo JoinWorkflowSpec).
json MergeWorkflowSpec(const json& base, const json& own) {
  json merged = base.is_object() ? base : json::object();
  for (auto it = own.begin(); it != own.end(); ++it) {
    if (it.key() == "workflowTemplateRef" || it.key() == "arguments") continue;
    merged[it.key()] = it.value();
  }
  json params = json::array();
  if (merged.contains("arguments") && merged["arguments"].is_object() &&
      merged["arguments"].contains("parameters") && merged["arguments"]["parameters"].is_array()) {
    params = merged["arguments"]["parameters"];
  }
  if (own.contains("arguments") && own["arguments"].is_object() &&
      own["arguments"].contains("parameters") && own["arguments"]["parameters"].is_array()) {
    for (const json& p : own["arguments"]["parameters"]) {
      bool replaced = false;
      for (json& q : params) {
        if (Str(q, "name") == Str(p, "name")) {
          for (auto f = p.begin(); f != p.end(); ++f) q[f.key()] = f.value();
          replaced = true;
        }
      }
      if (!replaced) params.push_back(p);
    }
  }
  if (!params.empty()) merged["arguments"]["parameters"] = params;
  return merged;
}

}  // namespace

Operator::Operator(const EngineInput& in, json* status)
    : in_(in), status_in_(status), now_text_(FormatTimestamp(in.now)) {}

json* Operator::NodeById(const std::string& id) {
  const int64_t slot = SlotOf(id);
  return slot < 0 ? nullptr : node_slots_[slot].node;
}

json* Operator::NodeByName(const std::string& name) { return NodeById(Id(name)); }

json& Operator::InitNode(const std::string& name, const std::string& type,
                         const std::string& display_override, const std::string& boundary_id,
                         const std::string& phase, const std::string& message, const Resolved* r) {
  const std::string id = Id(name);
  std::string display = display_override;
  if (display.empty()) {
    const json* boundary = boundary_id.empty() ? nullptr : NodeById(boundary_id);
    display = DisplayName(name, boundary == nullptr ? "" : Str(*boundary, "name"));
  }
  json node = {{"id", id},     {"name", name},   {"displayName", display},
               {"type", type}, {"phase", phase}, {"startedAt", now_text_}};
  if (!boundary_id.empty()) node["boundaryID"] = boundary_id;
  if (!message.empty()) node["message"] = message;
  if (r != nullptr) {
    if (!r->template_name.empty()) node["templateName"] = r->template_name;
    if (!r->template_ref.is_null()) node["templateRef"] = r->template_ref;
    if (!r->ctx.kind.empty()) {
      node["templateScope"] = absl::StrCat(
          r->ctx.kind == "ClusterWorkflowTemplate" ? "cluster" : "namespaced", "/", r->ctx.name);
    } else {
      node["templateScope"] = absl::StrCat("local/", wf_name_);
    }
  }
  if (PhaseCompleted(phase)) node["finishedAt"] = now_text_;
  Tally(node, phase, 1);
  auto [it, fresh] = nodes_->get_ref<json::object_t&>().try_emplace(id);
  if (!fresh) Tally(it->second, Str(it->second, "phase"), -1);  // the node it replaces
  it->second = std::move(node);
  const IndexedNode entry{&it->second, PhaseCompleted(phase)};
  if (fresh) {
    node_index_.emplace(std::string_view(it->first), static_cast<uint32_t>(node_slots_.size()));
    node_slots_.push_back(entry);
  } else if (const int64_t slot = SlotOf(it->first); slot >= 0) {
    node_slots_[slot] = entry;
  }
  return it->second;
}

void Operator::Tally(const json& node, const std::string& phase, int delta) {
  Tally(node, Str(node, "type"), phase, delta);
}

void Operator::Tally(const json& node, const std::string& type, const std::string& phase,
                     int delta) {
  if (!ActiveType(type)) return;
  if (type == "Pod") {
    pods_total_ += delta;
    if (phase == "Succeeded") pods_succeeded_ += delta;
    if (phase == "Running") pods_running_ += delta;
  }
  if (ActivePhase(phase)) {
    const std::string& boundary = Str(node, "boundaryID");
    active_children_[boundary] += delta;
    if (type == "Pod") {
      active_pods_ += delta;
      active_boundary_pods_[boundary] += delta;
    }
  } else if (PhaseFailedOrError(phase)) {
    failed_children_[Str(node, "boundaryID")] += delta;
  }
}

bool Operator::FailFastHalts(json& boundary) {
  const std::string id = Str(boundary, "id");
  auto failed = failed_children_.find(id);
  if (failed == failed_children_.end() || failed->second <= 0) return false;
  auto pods = active_boundary_pods_.find(id);
  if (NodeFulfilled(boundary) || (pods != active_boundary_pods_.end() && pods->second > 0)) {
    return true;
  }
  if (Str(boundary, "type") == "Steps") {
    // The step group that was running when the failure came in fails with its template; groups
    // are created in order, so it is the last one that exists.
    json* last = nullptr;
    const std::string name = Str(boundary, "name");
    for (size_t i = 0; i < nodes_->size(); ++i) {
      json* sg = NodeByName(absl::StrCat(name, "[", i, "]"));
      if (sg == nullptr) break;
      last = sg;
    }
    if (last != nullptr && !NodeFulfilled(*last)) MarkPhase(*last, "Failed", kFailFastMessage);
  }
  MarkPhase(boundary, "Failed", kFailFastMessage);
  KillDaemonedChildren(id);
  return true;
}

void Operator::AddChild(const std::string& parent_name, const std::string& child_name) {
  const std::string parent_id = Id(parent_name);
  json* parent = NodeById(parent_id);
  if (parent == nullptr) return;
  json& children = (*parent)["children"];
  if (!children.is_array()) children = json::array();
  const std::string id = Id(child_name);
  // Wide fan-outs would make a scan per insert quadratic: index a parent's children once per
  // call, on its first new child.
  auto [it, fresh] = child_index_.try_emplace(parent_id);
  if (fresh) {
    for (const json& c : children) {
      if (c.is_string()) it->second.insert(c.get<std::string>());
    }
  }
  if (!it->second.insert(id).second) return;
  // Most nodes get a handful of children: growing those one by one keeps them exact (doubling
  // left a quarter of every DAG task's list empty); long lists still double.
  auto& list = children.get_ref<json::array_t&>();
  if (list.size() == list.capacity() && list.size() < 8) list.reserve(list.size() + 1);
  list.push_back(id);
}

void Operator::MarkPhase(json& node, const std::string& phase,
                         const std::optional<std::string>& message) {
  const std::string old = Str(node, "phase");
  if (old != phase) {
    Tally(node, old, -1);
    Tally(node, phase, 1);
    node["phase"] = phase;
    const int64_t slot = SlotOf(Str(node, "id"));
    if (slot >= 0 && node_slots_[slot].node == &node) {
      node_slots_[slot].completed = PhaseCompleted(phase);
    } else {
      completed_mirror_ok_ = false;
    }
  }
  if (message.has_value()) {
    if (message->empty()) {
      node.erase("message");
    } else {
      node["message"] = *message;
    }
  }
  if (PhaseCompleted(phase) && !node.contains("finishedAt")) node["finishedAt"] = now_text_;
}

std::vector<std::string> Operator::OutboundNodes(const std::string& id, int depth) {
  const json* node = NodeById(id);
  if (node == nullptr || depth > 2 * kMaxDepth) return {id};
  const std::string type = Str(*node, "type");
  static const json kNone = json::array();
  auto ch = node->find("children");
  const json& children = ch != node->end() && ch->is_array() ? *ch : kNone;
  // A containerSet pod ends with its last containers (Argo getOutboundNodes): the Container
  // nodes with no dependent container. Its first child is a Container of its own boundary.
  const json* first = children.empty() ? nullptr : NodeById(children[0].get<std::string>());
  const bool container_set = type == "Pod" && first != nullptr &&
                             Str(*first, "type") == "Container" && Str(*first, "boundaryID") == id;
  if (container_set || type == "Container") {
    std::vector<std::string> out;
    for (const json& c : children) {
      const json* cn = NodeById(c.get<std::string>());
      if (cn == nullptr) continue;
      if (Str(*cn, "type") != "Container" ||
          Str(*cn, "boundaryID") != (type == "Container" ? Str(*node, "boundaryID") : id)) {
        if (type == "Container" && std::find(out.begin(), out.end(), id) == out.end()) {
          out.push_back(id);
        }
        continue;
      }
      for (std::string& o : OutboundNodes(Str(*cn, "id"), depth + 1)) {
        if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(std::move(o));
      }
    }
    if (out.empty()) out.push_back(id);
    return out;
  }
  if (type == "Pod" || type == "Skipped" || type == "Suspend") return {id};
  if (type == "TaskGroup") {
    if (children.empty()) return {id};
    std::vector<std::string> out;
    for (const json& c : children) {
      for (std::string& o : OutboundNodes(c.get<std::string>(), depth + 1))
        out.push_back(std::move(o));
    }
    return out;
  }
  if (type == "Retry") {
    if (!children.empty()) return {children.back().get<std::string>()};
    return {id};
  }
  std::vector<std::string> out;
  auto ob = node->find("outboundNodes");
  for (const json& o : ob != node->end() && ob->is_array() ? *ob : kNone) {
    for (std::string& x : OutboundNodes(o.get<std::string>(), depth + 1))
      out.push_back(std::move(x));
  }
  if (out.empty()) out.push_back(id);
  return out;
}

void Operator::Requeue(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  if (!out_.requeue_after.has_value() || d < *out_.requeue_after) out_.requeue_after = d;
}

bool Operator::ShutdownBlocks(bool on_exit) const {
  if (shutdown_.empty()) return false;
  if (shutdown_ == "Stop") return !on_exit;
  return true;
}

std::string Operator::ShutdownMessage() const {
  return absl::StrCat("Stopped with strategy '", shutdown_, "'");
}

absl::StatusOr<json*> Operator::ExecuteTemplate(const std::string& node_name, const json& holder,
                                                const TmplCtx& ctx, const json& args,
                                                const ExecOpts& opts, int depth) {
  json* node = NodeByName(node_name);
  if (node != nullptr && NodeFulfilled(*node)) return node;
  auto fail = [&](const std::string& type, const std::string& message) -> json* {
    if (node == nullptr) {
      node = &InitNode(node_name, type, "", opts.boundary_id, "Error", message, nullptr);
    } else {
      MarkPhase(*node, "Error", message);
    }
    return node;
  };
  if (depth > kMaxDepth) {
    return fail("Skipped", absl::StrCat("Maximum recursion depth exceeded (", kMaxDepth, ")"));
  }
  absl::StatusOr<Resolved> r = Resolve(holder, ctx);
  if (!r.ok()) return fail("Skipped", std::string(r.status().message()));
  // A steps/dag body is rendered step by step (or task by task) with the full scope later, so
  // Resolve set it aside (r->body) instead of it being copied and rendered whole on every call.
  const std::string type = r->body_key == nullptr                     ? TypeOf(r->tmpl)
                           : std::string_view(r->body_key) == "steps" ? "Steps"
                                                                      : "DAG";
  if (type.empty()) {
    return fail("Skipped", absl::StrCat("template \"", r->template_name, "\" has no known type"));
  }
  if (type == "Plugin") return fail(type, PluginMessage(r->template_name));
  // argoexec has no `data` command: say so rather than start a pod without an image.
  if (r->tmpl.contains("data")) {
    return fail(type,
                absl::StrCat("data templates are not supported: template ", r->template_name));
  }
  absl::StatusOr<json> processed = ProcessInputs(r->tmpl, args);
  if (!processed.ok()) return fail(type, std::string(processed.status().message()));
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  // Without inputs or outputs the template scope is the globals: no copy of them per node.
  const bool own_scope = processed->contains("inputs") || processed->contains("outputs");
  absl::StatusOr<json> t =
      tmpl::RenderJson(*processed, own_scope ? TemplateScope(*processed) : globals_, leave);
  if (!t.ok()) return fail(type, std::string(t.status().message()));

  if (node != nullptr && (type == "Steps" || type == "DAG") && Str(*node, "type") == type &&
      t->value("failFast", json(false)) == true) {
    fail_fast_boundaries_.insert(Str(*node, "id"));
    if (FailFastHalts(*node)) return node;
  }
  if (node == nullptr) {
    if (ShutdownBlocks(opts.on_exit)) {
      return &InitNode(node_name, type, "", opts.boundary_id, "Failed", ShutdownMessage(), &*r);
    }
    if (deadline_exceeded_ && !opts.on_exit) {
      return &InitNode(node_name, type, "", opts.boundary_id, "Failed",
                       "Step exceeded its deadline", &*r);
    }
    if ((type == "Pod" || type == "HTTP") && suspended_) return nullptr;
    const int64_t wf_par = IntOrString(spec_->value("parallelism", json(nullptr))).value_or(0);
    if (type == "Pod" && wf_par > 0 && active_pods_ >= wf_par) return nullptr;
    if (!opts.boundary_id.empty()) {
      if (fail_fast_boundaries_.count(opts.boundary_id)) {
        if (json* b = NodeById(opts.boundary_id); b != nullptr && FailFastHalts(*b)) return nullptr;
      }
      auto lim = boundary_parallelism_.find(opts.boundary_id);
      if (lim != boundary_parallelism_.end() && lim->second > 0 &&
          active_children_[opts.boundary_id] >= lim->second) {
        return nullptr;
      }
    }
  }
  {
    // Template-level locks are taken before the node (a retry node, when retrying) starts.
    auto own = t->find("retryStrategy");
    auto wide = spec_->find("retryStrategy");
    const bool retried =
        own != t->end() ? own->is_object() : wide != spec_->end() && wide->is_object();
    if (json* waiting = SynchronizeNode(node_name, node, *r, *t, retried ? "Retry" : type, opts);
        waiting != nullptr) {
      return waiting;
    }
  }

  std::string name = node_name;
  std::string retry_parent;
  int retries = 0;
  const json* strategy = nullptr;
  if (auto rs = t->find("retryStrategy"); rs != t->end()) {
    strategy = &*rs;
  } else if (auto ws = spec_->find("retryStrategy"); ws != spec_->end()) {
    strategy = &*ws;
  }
  if (strategy != nullptr && strategy->is_object()) {
    if (node == nullptr) node = &InitNode(name, "Retry", "", opts.boundary_id, "Running", "", &*r);
    if (!ProcessRetries(*node, *strategy)) return node;
    if (NodeFulfilled(*node)) return node;
    const json children = node->value("children", json::array());
    const json* last = children.empty() ? nullptr : NodeById(children.back().get<std::string>());
    retry_parent = name;
    if (last != nullptr && !NodeFulfilled(*last)) {
      name = Str(*last, "name");
      retries = static_cast<int>(children.size()) - 1;
    } else {
      retries = static_cast<int>(children.size());
      name = absl::StrCat(retry_parent, "(", retries, ")");
    }
    node = NodeByName(name);
  }
  const bool created = node == nullptr;
  ExecOpts child_opts = opts;
  absl::StatusOr<json*> result = nullptr;
  if (type == "Steps") {
    result = ExecuteSteps(name, *r, *t, child_opts, depth);
  } else if (type == "DAG") {
    result = ExecuteDag(name, *r, *t, child_opts, depth);
  } else if (type == "Suspend") {
    result = ExecuteSuspend(name, *r, *t, child_opts);
  } else if (t->contains("resource")) {
    result = ExecuteResource(name, *r, *t, child_opts);
  } else if (type == "HTTP") {
    result = ExecuteHttp(name, *r, *t, child_opts);
  } else {
    result = ExecutePod(name, *r, *t, child_opts, retries);
  }
  if (!result.ok()) return result.status();
  json* n = *result;
  // Argo's template display-name annotation (rendered with the inputs) replaces only the
  // displayName; the node name, and so its id and pod name, stay as they are.
  if (const json* shown = DisplayNameAnnotation(*t); shown != nullptr) {
    if (json* named = NodeByName(node_name); named != nullptr) (*named)["displayName"] = *shown;
  }
  if (retry_parent.empty()) return n;
  if (created && n != nullptr) AddChild(retry_parent, name);
  json* parent = NodeByName(retry_parent);
  if (n != nullptr && NodeFulfilled(*n) && !NodeFulfilled(*parent)) {
    return ExecuteTemplate(retry_parent, holder, ctx, args, opts, depth + 1);
  }
  return parent;
}

absl::StatusOr<EngineOutput> Operator::Run() {
  if (!in_.workflow.is_object()) return absl::InvalidArgumentError("workflow is not an object");
  // One copy of the status (the output is built in it) and of the spec; the rest is read in
  // place.
  const json& wf = in_.workflow;
  const json meta = wf.value("metadata", json::object());
  wf_name_ = Str(meta, "name");
  ns_ = Str(meta, "namespace");
  if (wf_name_.empty()) return absl::InvalidArgumentError("workflow metadata.name is empty");
  static const json kEmptySpec = json::object();
  auto spec_it = wf.find("spec");
  spec_ = spec_it != wf.end() ? &*spec_it : &kEmptySpec;
  if (status_in_ != nullptr) {
    status_ = std::move(*status_in_);
  } else {
    status_ = wf.value("status", json::object());
  }
  if (!status_.is_object()) status_ = json::object();
  if (!status_["nodes"].is_object()) status_["nodes"] = json::object();
  nodes_ = &status_["nodes"];
  // Who waits for what is decided afresh by this call's lock requests.
  ClearLockWaiting(status_);
  const std::string phase0 = Str(status_, "phase");
  if (phase0 == "Succeeded" || phase0 == "Failed" || phase0 == "Error") {
    out_.status = std::move(status_);
    return std::move(out_);
  }
  // The one pass over all nodes per call: index, counters, pods to reconcile.
  node_index_.reserve(nodes_->size());
  node_slots_.reserve(nodes_->size());
  for (auto& [id, node] : nodes_->get_ref<json::object_t&>()) {
    const std::string& type = NodeType(node);
    const std::string& phase = Str(node, "phase");
    node_index_.emplace(std::string_view(id), static_cast<uint32_t>(node_slots_.size()));
    node_slots_.push_back(IndexedNode{&node, PhaseCompleted(phase)});
    // Completed nodes are not asked (KillDaemonedChildren looks at them if it must).
    if (!PhaseCompleted(phase) && node.value("daemoned", false)) has_daemons_ = true;
    if (type == "Container") has_container_sets_ = true;
    if (type == "Pod" && !PhaseCompleted(phase)) open_pods_.push_back(&node);
    Tally(node, type, phase, 1);
  }
  auto finish = [&](const std::string& phase, const std::string& message) {
    status_["phase"] = phase;
    if (!message.empty()) status_["message"] = message;
    if (!status_.contains("startedAt")) status_["startedAt"] = now_text_;
    status_["finishedAt"] = now_text_;
  };
  if (phase0.empty() || phase0 == "Pending") {
    status_["phase"] = "Running";
    status_["startedAt"] = now_text_;
  }
  if (spec_->contains("workflowTemplateRef") && (*spec_)["workflowTemplateRef"].is_object()) {
    const json& ref = (*spec_)["workflowTemplateRef"];
    const std::string kind =
        ref.value("clusterScope", false) ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
    std::optional<json> obj;
    if (in_.lookup) obj = in_.lookup(kind, Str(ref, "name"));
    if (!obj.has_value() || !obj->is_object()) {
      finish("Error", absl::StrCat("spec.workflowTemplateRef: ", kind, " \"", Str(ref, "name"),
                                   "\" not found"));
    } else {
      merged_spec_ = MergeWorkflowSpec(obj->value("spec", json::object()), *spec_);
      spec_ = &merged_spec_;
    }
  }
  if (Str(status_, "phase") == "Running" && wf_name_.size() > kMaxWorkflowNameLength) {
    finish("Error", absl::StrCat("workflow name \"", wf_name_, "\" must not be more than ",
                                 kMaxWorkflowNameLength, " characters long (currently ",
                                 wf_name_.size(), "): its pods carry it as a label value"));
  }
  if (Str(status_, "phase") == "Running" && Str(*spec_, "entrypoint").empty()) {
    finish("Error", "spec.entrypoint: entrypoint is required");
  }
  // No executor plugins run here: the workflow ends at once rather than waiting on one (a
  // plugin template met through a templateRef fails its node the same way).
  if (auto ts = spec_->find("templates");
      Str(status_, "phase") == "Running" && ts != spec_->end() && ts->is_array()) {
    for (const json& t : *ts) {
      if (t.is_object() && t.contains("plugin")) {
        finish("Error", PluginMessage(Str(t, "name")));
        break;
      }
    }
  }
  // The repository is resolved once (by the controller) and kept in the status, so a changed
  // ConfigMap never moves a running workflow's artifacts.
  if (Str(status_, "phase") == "Running" && !status_.contains("artifactRepositoryRef")) {
    if (!in_.artifact_repository_error.empty()) {
      finish("Error", absl::StrCat("failed to resolve artifact repository: ",
                                   in_.artifact_repository_error));
    } else if (in_.artifact_repository_ref.is_object()) {
      status_["artifactRepositoryRef"] = in_.artifact_repository_ref;
    }
  }
  if (auto ref = status_.find("artifactRepositoryRef"); ref != status_.end() && ref->is_object()) {
    if (auto repo = ref->find("artifactRepository"); repo != ref->end() && repo->is_object()) {
      repository_ = *repo;
    }
  }
  // Globals.
  SetGlobal("workflow.name", wf_name_);
  SetGlobal("workflow.namespace", ns_);
  SetGlobal("workflow.uid", Str(meta, "uid"));
  SetGlobal("workflow.mainEntrypoint", Str(*spec_, "entrypoint"));
  SetGlobal("workflow.serviceAccountName", Str(*spec_, "serviceAccountName"));
  SetGlobal("workflow.priority",
            std::to_string(IntOrString(spec_->value("priority", json(0))).value_or(0)));
  const absl::Time created = ParseTimestamp(meta.value("creationTimestamp", json(nullptr)));
  const absl::Time created_at = created == absl::InfinitePast() ? in_.now : created;
  SetGlobal("workflow.creationTimestamp", FormatTimestamp(created_at));
  SetGlobal("workflow.creationTimestamp.RFC3339", FormatTimestamp(created_at));
  for (const char c : std::string("YmdHMSyjbBaAeIpZz")) {
    SetGlobal(
        absl::StrCat("workflow.creationTimestamp.", std::string(1, c)),
        absl::FormatTime(absl::StrCat("%", std::string(1, c)), created_at, absl::UTCTimeZone()));
  }
  // A workflow a CronWorkflow submitted knows the time it was scheduled for.
  if (const json* ann = meta.contains("annotations") ? &meta["annotations"] : nullptr;
      ann != nullptr && ann->is_object()) {
    auto it = ann->find("workflows.argoproj.io/scheduled-time");
    if (it != ann->end() && it->is_string()) {
      SetGlobal("workflow.scheduledTime", it->get<std::string>());
    }
  }
  for (const char* kind : {"labels", "annotations"}) {
    const json m = meta.value(kind, json::object());
    if (!m.is_object()) continue;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.value().is_string())
        SetGlobal(absl::StrCat("workflow.", kind, ".", it.key()), it.value().get<std::string>());
    }
    SetGlobal(absl::StrCat("workflow.", kind, ".json"), m.dump());
  }
  const absl::Time started = ParseTimestamp(status_.value("startedAt", json(nullptr)));
  SetGlobal("workflow.duration",
            absl::StrCat(absl::ToDoubleSeconds(
                in_.now - (started == absl::InfinitePast() ? in_.now : started))));
  SetGlobal("workflow.status", Str(status_, "phase"));
  json wf_args = spec_->value("arguments", json::object());
  json all_params = json::array();
  if (wf_args.is_object() && wf_args.contains("parameters") && wf_args["parameters"].is_array()) {
    size_t i = 0;
    for (json& p : wf_args["parameters"]) {
      const std::string pname = Str(p, "name");
      json v = p.value("value", p.value("default", json(nullptr)));
      const json* cm = nullptr;
      if (auto vf = p.find("valueFrom"); vf != p.end() && vf->is_object()) {
        if (auto r = vf->find("configMapKeyRef"); r != vf->end() && !r->is_null()) cm = &*r;
      }
      if (p.contains("value") && !p["value"].is_null()) cm = nullptr;  // a value wins (Argo)
      if (cm != nullptr) {
        std::optional<std::string> fallback;
        if (const json& vf = p["valueFrom"]; vf.contains("default") && !vf["default"].is_null()) {
          fallback = ItemText(vf["default"]);
        } else if (p.contains("default") && !p["default"].is_null()) {
          fallback = ItemText(p["default"]);
        }
        absl::StatusOr<std::string> got = ConfigMapParameter(*cm, fallback);
        if (!got.ok()) {
          if (Str(status_, "phase") == "Running") {
            finish("Error", absl::StrCat("spec.arguments.parameters[", i, "] (", pname,
                                         "): failed to set global parameter from configMapKeyRef: ",
                                         got.status().message()));
          }
          ++i;
          continue;
        }
        v = *std::move(got);
      }
      if (v.is_null()) {
        if (Str(status_, "phase") == "Running") {
          finish("Error", absl::StrCat("spec.arguments.parameters[", i, "] (", pname,
                                       "): value is required"));
        }
        ++i;
        continue;
      }
      std::string value = v.is_boolean() ? (v.get<bool>() ? "true" : "false") : ItemText(v);
      if (p.contains("enum") && p["enum"].is_array() && !p["enum"].empty()) {
        bool ok = false;
        for (const json& e : p["enum"]) ok = ok || ItemText(e) == value;
        if (!ok && Str(status_, "phase") == "Running") {
          finish("Error", absl::StrCat("spec.arguments.parameters[", i, "] (", pname, "): value '",
                                       value, "' is not in enum ", p["enum"].dump()));
        }
      }
      p["value"] = value;
      SetGlobal("workflow.parameters." + pname, value);
      all_params.push_back({{"name", pname}, {"value", value}});
      ++i;
    }
  }
  SetGlobal("workflow.parameters", all_params.dump());
  SetGlobal("workflow.parameters.json", all_params.dump());
  if (status_.contains("outputs") && status_["outputs"].is_object()) {
    for (const json& p : status_["outputs"].value("parameters", json::array())) {
      if (p.contains("value"))
        SetGlobal("workflow.outputs.parameters." + Str(p, "name"), ItemText(p["value"]));
    }
  }
  RestoreGlobalArtifacts();
  if (Str(status_, "phase") != "Running") {
    SettleLocks(PhaseCompleted(Str(status_, "phase")));
    out_.status = std::move(status_);
    return std::move(out_);
  }
  if (auto sy = spec_->find("synchronization"); sy != spec_->end() && !sy->is_null()) {
    tmpl::RenderOptions leave;
    leave.unresolved = tmpl::Unresolved::kLeave;
    absl::StatusOr<json> rendered = tmpl::RenderJson(*sy, globals_, leave);
    if (!SynchronizeWorkflow(phase0, rendered.ok() ? *rendered : *sy)) {
      SettleLocks(PhaseCompleted(Str(status_, "phase")));
      if (status_["nodes"].empty()) status_.erase("nodes");
      out_.status = std::move(status_);
      return std::move(out_);
    }
  }

  suspended_ = spec_->value("suspend", false) == true;
  shutdown_ = Str(*spec_, "shutdown");
  if (auto ads = IntOrString(spec_->value("activeDeadlineSeconds", json(nullptr)));
      ads.has_value()) {
    const absl::Time deadline = ParseTimestamp(status_["startedAt"]) + absl::Seconds(*ads);
    if (in_.now >= deadline) {
      deadline_exceeded_ = true;
    } else {
      Requeue(deadline - in_.now);
    }
  }
  ReconcilePods();
  ApplyDeadlinesAndShutdown();

  const json entry = {{"template", Str(*spec_, "entrypoint")}};
  absl::StatusOr<json*> root_or =
      ExecuteTemplate(wf_name_, entry, TmplCtx{}, wf_args, ExecOpts{}, 0);
  if (!root_or.ok()) return root_or.status();
  json* root = *root_or;
  const bool root_done = root != nullptr && NodeFulfilled(*root) && !root->value("daemoned", false);
  bool hooks_pending = false;
  if (spec_->contains("hooks") && (*spec_)["hooks"].is_object()) {
    // Workflow-level hooks see `workflow.status`: Running, then the outcome of the main part.
    if (root_done) SetGlobal("workflow.status", WorkflowPhaseOf(Str(*root, "phase")));
    absl::StatusOr<HookState> hooks =
        RunLifecycleHooks((*spec_)["hooks"], wf_name_, globals_, "", TmplCtx{}, 0);
    if (!hooks.ok()) return hooks.status();
    hooks_pending = hooks->pending;
    if (!hooks->error.empty()) Event(absl::StrCat("spec.", hooks->error));
  }
  if (root_done && !hooks_pending) {
    const std::string rp = Str(*root, "phase");
    std::string wf_phase = WorkflowPhaseOf(rp);
    json exit_holder;
    if (spec_->contains("hooks") && (*spec_)["hooks"].is_object() &&
        (*spec_)["hooks"].contains("exit")) {
      exit_holder = (*spec_)["hooks"]["exit"];
    } else if (!Str(*spec_, "onExit").empty()) {
      exit_holder = {{"template", Str(*spec_, "onExit")}};
    }
    bool done = true;
    json* exit_node = nullptr;
    if (exit_holder.is_object()) {
      SetGlobal("workflow.status", wf_phase);
      SetGlobal("workflow.failures", FailuresJson().dump());
      ExecOpts eo;
      eo.on_exit = true;
      const json exit_args = exit_holder.value("arguments", wf_args);
      absl::StatusOr<json*> en =
          ExecuteTemplate(wf_name_ + ".onExit", exit_holder, TmplCtx{}, exit_args, eo, 0);
      if (!en.ok()) return en.status();
      exit_node = *en;
      done = exit_node != nullptr && NodeFulfilled(*exit_node);
    }
    if (done) {
      std::string message = Str(*root, "message");
      if (PhaseFailedOrError(rp) && !shutdown_.empty()) message = ShutdownMessage();
      if (wf_phase == "Succeeded" && exit_node != nullptr &&
          PhaseFailedOrError(Str(*exit_node, "phase"))) {
        wf_phase = Str(*exit_node, "phase");
        message = Str(*exit_node, "message");
      }
      if (wf_phase == "Succeeded") message.clear();
      finish(wf_phase, message);
      // Daemons still up when the workflow ends are stopped with it.
      KillDaemonedChildren("");
    }
  }

  FinishContainerNodes();
  SettleLocks(PhaseCompleted(Str(status_, "phase")));
  // Progress, conditions.
  // Tally keeps the pod counts, so no pass over all nodes is needed here.
  const bool pod_running = pods_running_ > 0;
  status_["progress"] = absl::StrCat(pods_succeeded_, "/", pods_total_);
  json conditions = json::array();
  conditions.push_back({{"type", "PodRunning"}, {"status", pod_running ? "True" : "False"}});
  const std::string final_phase = Str(status_, "phase");
  if (final_phase == "Succeeded" || final_phase == "Failed" || final_phase == "Error") {
    conditions.push_back({{"type", "Completed"}, {"status", "True"}});
    out_.requeue_after.reset();
  }
  status_["conditions"] = conditions;
  if (status_["nodes"].empty()) status_.erase("nodes");
  out_.status = std::move(status_);
  return std::move(out_);
}

}  // namespace internal

absl::StatusOr<EngineOutput> Operate(const EngineInput& in) {
  internal::Operator op(in);
  return op.Run();
}

absl::StatusOr<EngineOutput> OperateConsumingStatus(EngineInput& in) {
  nlohmann::json status = nlohmann::json::object();
  if (in.workflow.is_object()) {
    if (auto it = in.workflow.find("status"); it != in.workflow.end()) {
      status = std::move(*it);
      in.workflow.erase(it);
    }
  }
  internal::Operator op(in, &status);
  return op.Run();
}

}  // namespace argonaut::workflow::engine
