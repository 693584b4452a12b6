// DAG templates (Argo workflow/controller/dag.go): tasks run when their `depends` (or legacy
// `dependencies`) are satisfied; a task whose condition can no longer hold is Omitted. Tasks are
// visited in topological order instead of Argo's recursion so deep graphs cannot exhaust the stack.
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/strings.h"
#include "lib/expr/depends.h"
#include "lib/expr/govaluate.h"
#include "services/workflow/engine/dag_graph.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

expr::NodePhase ToDependsPhase(const std::string& p) {
  if (p == "Succeeded") return expr::NodePhase::kSucceeded;
  if (p == "Failed") return expr::NodePhase::kFailed;
  if (p == "Error") return expr::NodePhase::kErrored;
  if (p == "Skipped") return expr::NodePhase::kSkipped;
  if (p == "Omitted") return expr::NodePhase::kOmitted;
  if (p == "Running") return expr::NodePhase::kRunning;
  return expr::NodePhase::kPending;
}

}  // namespace

absl::StatusOr<json*> Operator::ExecuteDag(const std::string& name, const Resolved& r,
                                           const json& t, const ExecOpts& opts, int depth) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "DAG", "", opts.boundary_id, "Running", "", &r);
    if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty())
      (*node)["inputs"] = t["inputs"];
  }
  const std::string id = Str(*node, "id");
  if (auto p = IntOrString(t.value("parallelism", json(nullptr))); p.has_value()) {
    boundary_parallelism_[id] = *p;
  }
  if (t.value("failFast", json(false)) == true) fail_fast_boundaries_.insert(id);
  static const json kNoBody;
  const json& dag = r.body != nullptr ? *r.body : kNoBody;
  if (!dag.is_object() || !dag.contains("tasks") || !dag["tasks"].is_array()) {
    MarkPhase(*node, "Error", "dag.tasks: not a list");
    return node;
  }
  const json& specs = dag["tasks"];
  // Names, conditions and the topological order come from the shared compiled graph; only the
  // nodes are looked at per call.
  const std::shared_ptr<const CompiledDag> graph = DagCache::Global().Get(specs);
  const CompiledDag& g = *graph;
  if (!g.error.empty()) {
    MarkPhase(*node, "Error", g.error);
    return node;
  }
  const size_t n = g.tasks.size();
  // Targets: dag.target, else the tasks nothing depends on.
  std::vector<uint32_t> targets;
  // The dag body is set aside before the template is rendered, so its target (Argo renders it
  // with the rest of the template) is rendered here.
  std::string target = Str(dag, "target");
  if (absl::StrContains(target, "{{")) {
    absl::StatusOr<std::string> rendered = tmpl::RenderString(target, TemplateScope(t));
    if (!rendered.ok()) {
      MarkPhase(*node, "Error", absl::StrCat("dag.target: ", rendered.status().message()));
      return node;
    }
    target = *std::move(rendered);
  }
  if (!target.empty()) {
    for (absl::string_view tn : absl::StrSplit(target, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
      std::optional<uint32_t> found = g.Find(std::string_view(tn.data(), tn.size()));
      if (!found.has_value()) {
        MarkPhase(*node, "Error",
                  absl::StrCat("dag.target: unknown task \"", std::string(tn), "\""));
        return node;
      }
      targets.push_back(*found);
    }
  } else {
    for (uint32_t i = 0; i < n; ++i) {
      if (g.tasks[i].sink) targets.push_back(i);
    }
  }
  std::vector<bool> needed(n, false);
  {
    std::vector<uint32_t> stack = targets;
    while (!stack.empty()) {
      uint32_t i = stack.back();
      stack.pop_back();
      if (needed[i]) continue;
      needed[i] = true;
      for (uint32_t d : g.Deps(g.tasks[i])) stack.push_back(d);
    }
  }

  // Task nodes by task index. Their ids continue the FNV hash of "<dag>." with the task name, so
  // neither the node name nor the id is built per task; a found node stays put (nodes are never
  // removed, and a new one gets a new slot), so it is looked up once.
  std::string id_buf = absl::StrCat(wf_name_, "-");
  const size_t id_prefix = id_buf.size();
  const uint32_t name_hash = Fnv32a(".", Fnv32a(name));
  std::vector<int64_t> task_slots(n, -1);
  auto task_entry = [&](size_t i) -> const IndexedNode* {
    if (task_slots[i] < 0) {
      id_buf.resize(id_prefix);
      absl::StrAppend(&id_buf, Fnv32a(g.tasks[i].name, name_hash));
      task_slots[i] = SlotOf(id_buf);
    }
    return task_slots[i] < 0 ? nullptr : &node_slots_[task_slots[i]];
  };
  auto task_node = [&](size_t i) -> json* {
    const IndexedNode* e = task_entry(i);
    return e == nullptr ? nullptr : e->node;
  };

  tmpl::Scope scope = TemplateScope(t);
  // Tasks with started lifecycle hooks still running: their dependents wait for them.
  std::vector<bool> hooks_pending(n, false);
  bool any_hooks_pending = false;
  std::string hook_error;
  auto note_hooks = [&](size_t i, const HookState& h) {
    if (h.pending) {
      hooks_pending[i] = true;
      any_hooks_pending = true;
    }
    if (!h.error.empty() && hook_error.empty()) hook_error = h.error;
  };
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  auto task_node_name = [&](size_t i) { return absl::StrCat(name, ".", g.tasks[i].name); };
  // Publishing every finished task's outputs costs a few map inserts per task per call; a DAG
  // whose tasks and outputs never mention `tasks.` does not need them.
  const bool refs_tasks = g.refs_tasks || Mentions(t.value("outputs", json(nullptr)), "tasks.");
  auto add_to_scope = [&](size_t i) {
    if (!refs_tasks) return;
    const json* tn = task_node(i);
    if (tn == nullptr) return;
    const std::string prefix = "tasks." + g.tasks[i].name;
    if (Str(*tn, "type") == "TaskGroup") {
      std::vector<const json*> children;
      for (const json& c : tn->value("children", json::array())) {
        const json* cn = NodeById(c.get<std::string>());
        if (cn != nullptr && Str(*cn, "type") != "Skipped") children.push_back(cn);
      }
      AddAggregateToScope(scope, prefix, children);
      scope.Set(prefix + ".status", Str(*tn, "phase"));
      scope.Set(prefix + ".id", Str(*tn, "id"));
    } else {
      AddNodeToScope(scope, prefix, *tn);
    }
  };
  auto connect = [&](const DagTask& task, const std::string& child_name) {
    if (task.deps_begin == task.deps_end) {
      AddChild(name, child_name);
      return;
    }
    for (uint32_t d : g.Deps(task)) {
      const json* dn = task_node(d);
      if (dn == nullptr) continue;
      for (const std::string& o : OutboundNodes(Str(*dn, "id"))) {
        if (const json* on = NodeById(o); on != nullptr) AddChild(Str(*on, "name"), child_name);
      }
    }
  };
  // What a `depends` expression sees of task d.
  auto task_status = [&](size_t d) -> std::optional<expr::TaskStatus> {
    const json* tn = task_node(d);
    if (tn == nullptr) return std::nullopt;
    expr::TaskStatus st;
    st.phase = hooks_pending[d] ? expr::NodePhase::kRunning : ToDependsPhase(Str(*tn, "phase"));
    st.daemoned = tn->value("daemoned", false);
    if (Str(*tn, "type") == "TaskGroup") {
      st.expanded = true;
      for (const json& c : tn->value("children", json::array())) {
        if (const json* cn = NodeById(c.get<std::string>()); cn != nullptr) {
          st.children_phases.push_back(ToDependsPhase(Str(*cn, "phase")));
        }
      }
    }
    return st;
  };
  std::vector<DepState> dep_states;  // DependsNative's view, filled for a task's deps only
  auto decide = [&](const DagTask& task) -> absl::StatusOr<expr::DependsDecision> {
    if (task.program >= 0) {
      return g.programs[task.program].Decide(
          [&](std::string_view dep) -> std::optional<expr::TaskStatus> {
            for (uint32_t d : g.Deps(task)) {
              if (g.tasks[d].name == dep) return task_status(d);
            }
            std::optional<uint32_t> d = g.Find(dep);
            return d.has_value() ? task_status(*d) : std::nullopt;
          });
    }
    if (dep_states.empty()) dep_states.resize(n);
    for (uint32_t d : g.Deps(task)) {
      const json* tn = task_node(d);
      DepState& st = dep_states[d];
      st.exists = tn != nullptr;
      if (tn == nullptr) continue;
      st.phase = hooks_pending[d] ? expr::NodePhase::kRunning : ToDependsPhase(Str(*tn, "phase"));
      st.daemoned = tn->value("daemoned", false);
    }
    return DependsNative(g, task, dep_states);
  };

  for (uint32_t i : g.order) {
    if (!needed[i]) continue;
    const DagTask& task = g.tasks[i];
    const json& spec = specs[i];
    const IndexedNode* entry = task_entry(i);
    json* tnode = entry == nullptr ? nullptr : entry->node;
    if (entry != nullptr && Fulfilled(*entry)) {
      if (!task.has_hooks) {
        add_to_scope(i);
        continue;
      }
      if (Str(*tnode, "type") != "TaskGroup") {
        absl::StatusOr<HookState> h =
            RunNodeLifecycleHooks(spec, *tnode, "tasks", scope, id, r.ctx, depth + 1);
        if (!h.ok()) return h.status();
        note_hooks(i, *h);
      }
      // A task's exit hook starts once the lifecycle hooks it started have finished.
      if (PhaseCompleted(Str(*tnode, "phase")) && !hooks_pending[i]) {
        absl::StatusOr<std::pair<bool, json*>> h =
            RunNodeExitHandler(spec, *tnode, id, r.ctx, depth + 1);
        if (!h.ok()) return h.status();
      }
      add_to_scope(i);
      continue;
    }
    const std::string tn = task_node_name(i);
    const bool is_group = tnode != nullptr && Str(*tnode, "type") == "TaskGroup";
    if (tnode == nullptr) {
      if (task.error >= 0) {
        InitNode(tn, "Skipped", "", id, "Error", g.errors[task.error], nullptr);
        connect(task, tn);
        continue;
      }
      if (task.has_condition) {
        absl::StatusOr<expr::DependsDecision> d = decide(task);
        if (!d.ok()) {
          InitNode(tn, "Skipped", "", id, "Error", std::string(d.status().message()), nullptr);
          connect(task, tn);
          continue;
        }
        if (!d->ready) continue;
        if (!d->execute) {
          InitNode(tn, "Skipped", "", id, "Omitted", "omitted: depends condition not met", nullptr);
          connect(task, tn);
          continue;
        }
      }
    }
    absl::StatusOr<json> resolved = tmpl::RenderJson(spec, scope, leave);
    if (resolved.ok()) resolved = ResolveArgumentExpressions(*resolved, scope);
    absl::StatusOr<std::vector<json>> expanded =
        resolved.ok() ? ExpandLoop(*this, *resolved)
                      : absl::StatusOr<std::vector<json>>(resolved.status());
    if (!expanded.ok()) {
      if (tnode == nullptr) {
        InitNode(tn, "Skipped", "", id, "Error", std::string(expanded.status().message()), nullptr);
        connect(task, tn);
      } else {
        MarkPhase(*tnode, "Error", std::string(expanded.status().message()));
      }
      continue;
    }
    const bool loop =
        spec.contains("withItems") || spec.contains("withParam") || spec.contains("withSequence");
    if (loop && !is_group && tnode == nullptr) {
      connect(task, tn);
      InitNode(tn, "TaskGroup", "", id, "Running", "", nullptr);
    }
    ExecOpts o;
    o.boundary_id = id;
    o.on_exit = opts.on_exit;
    bool group_done = true;
    std::string group_phase = "Succeeded";
    for (json& e : *expanded) {
      const std::string cn = loop ? absl::StrCat(name, ".", Str(e, "name")) : tn;
      json* child = NodeByName(cn);
      if (child == nullptr) {
        const std::string when = e.contains("when") ? ItemText(e["when"]) : "";
        absl::StatusOr<bool> run = expr::ShouldExecute(when);
        if (!run.ok() || !*run) {
          if (!loop) connect(task, cn);
          json& s = run.ok() ? InitNode(cn, "Skipped", "", id, "Skipped",
                                        absl::StrCat("when '", when, "' evaluated false"), nullptr)
                             : InitNode(cn, "Skipped", "", id, "Error",
                                        std::string(run.status().message()), nullptr);
          if (!Str(e, "template").empty()) s["templateName"] = Str(e, "template");
          if (loop) AddChild(tn, cn);
          if (!run.ok()) group_phase = "Error";
          continue;
        }
      }
      absl::StatusOr<json*> c =
          ExecuteTemplate(cn, e, r.ctx, e.value("arguments", json::object()), o, depth + 1);
      if (!c.ok()) return c.status();
      if (*c == nullptr) {
        group_done = false;
        continue;
      }
      if (child == nullptr) {
        if (loop) {
          AddChild(tn, cn);
        } else {
          connect(task, cn);
        }
      }
      absl::StatusOr<HookState> h =
          RunNodeLifecycleHooks(e, **c, "tasks", scope, id, r.ctx, depth + 1);
      if (!h.ok()) return h.status();
      note_hooks(i, *h);
      if (h->pending) group_done = false;
      if (!NodeFulfilled(**c)) {
        group_done = false;
      } else if (PhaseFailedOrError(Str(**c, "phase"))) {
        group_phase = Str(**c, "phase");
      }
    }
    if (loop && group_done) {
      if (json* gn = task_node(i); gn != nullptr && !NodeFulfilled(*gn)) {
        MarkPhase(*gn, group_phase);
      }
    }
    if (json* tnn = task_node(i); tnn != nullptr && NodeFulfilled(*tnn)) add_to_scope(i);
  }

  // Phase of the DAG (Argo assessDAGPhase): any unfinished node keeps it Running; a target that
  // has no node yet takes the phase of the branch that reached it.
  node = NodeByName(name);
  // The walk below visits every finished node; while a task is still going the answer is
  // Running anyway, so it only runs when the last task finishes.
  if (any_hooks_pending) return node;
  for (uint32_t i : g.order) {
    if (!needed[i]) continue;
    const IndexedNode* e = task_entry(i);
    if (e != nullptr && !Fulfilled(*e)) return node;
  }
  std::map<std::string, std::string> target_phase;
  for (size_t ti : targets) target_phase[Id(task_node_name(ti))] = "";
  std::unordered_map<std::string, size_t> task_by_id;
  task_by_id.reserve(n);
  for (size_t i = 0; i < n; ++i) task_by_id[Id(task_node_name(i))] = i;
  std::deque<std::pair<std::string, std::string>> queue;
  std::set<std::string> seen;
  for (const json& c : node->value("children", json::array()))
    queue.emplace_back(c.get<std::string>(), "Succeeded");
  bool running = false;
  while (!queue.empty() && !running) {
    auto [cid, branch] = queue.front();
    queue.pop_front();
    if (!seen.insert(cid + "|" + branch).second) continue;
    const json* n = NodeById(cid);
    if (n == nullptr) continue;
    if (!NodeFulfilled(*n)) {
      running = true;
      break;
    }
    const std::string phase = Str(*n, "phase");
    if (PhaseFailedOrError(phase)) {
      // A failure the task continues on does not fail the branch behind it.
      auto ti = task_by_id.find(cid);
      branch =
          ti != task_by_id.end() && StepContinuesOn(specs[ti->second], phase) ? "Succeeded" : phase;
    } else if (phase == "Omitted" && PhaseFailedOrError(branch)) {
      // A task omitted because of an unhandled failure carries that failure to the target.
    } else if (PhaseCompleted(phase)) {
      branch = phase;
    }
    if (auto it = target_phase.find(cid);
        it != target_phase.end() && !PhaseFailedOrError(it->second)) {
      it->second = branch;
    }
    if (Str(*n, "type") == "Retry") {
      const json ch = n->value("children", json::array());
      if (!ch.empty()) {
        if (const json* last = NodeById(ch.back().get<std::string>()); last != nullptr) {
          for (const json& c : last->value("children", json::array()))
            queue.emplace_back(c.get<std::string>(), branch);
        }
      }
    } else {
      for (const json& c : n->value("children", json::array()))
        queue.emplace_back(c.get<std::string>(), branch);
    }
  }
  if (running) return node;
  const json fail_fast_v = dag.value("failFast", json(true));
  const bool fail_fast = !fail_fast_v.is_boolean() || fail_fast_v.get<bool>();
  std::string result = "Succeeded";
  for (size_t ti : targets) {
    const std::string& bp = target_phase[Id(task_node_name(ti))];
    if (bp.empty()) {
      result = "Running";
      if (!fail_fast) break;
    } else if (PhaseFailedOrError(bp)) {
      if (StepContinuesOn(specs[ti], bp)) continue;
      result = bp;
      if (fail_fast) break;
    }
  }
  if (result == "Running") return node;
  std::optional<std::string> message;
  if (!hook_error.empty()) {
    // continueOn does not cover a hook that could not run.
    result = "Failed";
    message = hook_error;
  }
  if (PhaseFailedOrError(result) && !message.has_value()) {
    // Name the first failing target so the workflow message says what went wrong.
    for (size_t ti : targets) {
      const json* tnode = task_node(ti);
      if (tnode == nullptr || !PhaseFailedOrError(Str(*tnode, "phase"))) continue;
      message = absl::StrCat("task '", Str(*tnode, "name"), "' ",
                             Str(*tnode, "phase") == "Error" ? "errored" : "failed",
                             Str(*tnode, "message").empty() ? "" : ": ", Str(*tnode, "message"));
      break;
    }
  }
  json outbound = json::array();
  for (size_t ti : targets) {
    if (const json* tnode = task_node(ti); tnode != nullptr) {
      for (const std::string& o : OutboundNodes(Str(*tnode, "id"))) outbound.push_back(o);
    }
  }
  if (!outbound.empty()) (*node)["outboundNodes"] = outbound;
  // The DAG is finished: its graph is not needed again (see DagCache::Forget).
  DagCache::Global().Forget(g);
  if (result == "Succeeded") {
    absl::StatusOr<json> outputs = OutputsFromScope(t, scope);
    if (!outputs.ok()) {
      MarkPhase(*node, "Error", std::string(outputs.status().message()));
      KillDaemonedChildren(id);
      return node;
    }
    if (!outputs->is_null()) {
      (*node)["outputs"] = *outputs;
      PublishGlobalOutputs(*outputs);
    }
  }
  MarkPhase(*node, result, message);
  KillDaemonedChildren(id);
  return node;
}

}  // namespace argonaut::workflow::engine::internal
