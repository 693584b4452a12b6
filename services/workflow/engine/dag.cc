// DAG templates (Argo workflow/controller/dag.go): tasks run when their `depends` (or legacy
// `dependencies`) are satisfied; a task whose condition can no longer hold is Omitted. Tasks are
// visited in topological order instead of Argo's recursion so deep graphs cannot exhaust the stack.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/strings.h"
#include "lib/expr/depends.h"
#include "lib/expr/govaluate.h"
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

// Whether any string inside `v` mentions `needle` (bounded depth: specs are parsed input).
bool Mentions(const json& v, std::string_view needle, int depth = 0) {
  if (depth > 64) return true;
  if (v.is_string()) return absl::StrContains(v.get_ref<const std::string&>(), AbslView(needle));
  if (v.is_object() || v.is_array()) {
    for (const json& e : v) {
      if (Mentions(e, needle, depth + 1)) return true;
    }
  }
  return false;
}

struct Task {
  const json* spec = nullptr;
  std::string name;
  std::optional<expr::DependsProgram> depends;
  std::string depends_error;
  std::vector<size_t> deps;
};

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
  const json& dag = t["dag"];
  if (!dag.is_object() || !dag.contains("tasks") || !dag["tasks"].is_array()) {
    MarkPhase(*node, "Error", "dag.tasks: not a list");
    return node;
  }
  // Index tasks and compile their conditions.
  std::vector<Task> tasks;
  std::map<std::string, size_t> index;
  for (const json& ts : dag["tasks"]) {
    Task task;
    task.spec = &ts;
    task.name = Str(ts, "name");
    if (task.name.empty() || index.count(task.name)) {
      MarkPhase(*node, "Error",
                absl::StrCat("dag.tasks: ", task.name.empty()
                                                ? "a task has no name"
                                                : "duplicate task name \"" + task.name + "\""));
      return node;
    }
    index[task.name] = tasks.size();
    tasks.push_back(std::move(task));
  }
  for (Task& task : tasks) {
    const json& ts = *task.spec;
    std::string src;
    if (ts.contains("depends") && ts["depends"].is_string()) {
      src = ts["depends"].get<std::string>();
    } else if (ts.contains("dependencies") && ts["dependencies"].is_array()) {
      std::vector<std::string> deps;
      for (const json& d : ts["dependencies"]) {
        if (d.is_string()) deps.push_back(d.get<std::string>());
      }
      src = expr::DependenciesToDepends(deps, [&](std::string_view dep) {
        expr::ContinueOn c;
        auto it = index.find(std::string(dep));
        if (it != index.end()) {
          const json& spec = *tasks[it->second].spec;
          c.failed = StepContinuesOn(spec, "Failed");
          c.error = StepContinuesOn(spec, "Error");
        }
        return c;
      });
    }
    if (src.empty()) continue;
    absl::StatusOr<expr::DependsProgram> prog = expr::DependsProgram::Compile(src);
    if (!prog.ok()) {
      task.depends_error =
          absl::StrCat("dag.tasks.", task.name, ".depends: ", prog.status().message());
      continue;
    }
    for (const std::string& d : prog->Tasks()) {
      auto it = index.find(d);
      if (it == index.end()) {
        task.depends_error =
            absl::StrCat("dag.tasks.", task.name, ".depends: unknown task \"", d, "\"");
        break;
      }
      task.deps.push_back(it->second);
    }
    task.depends = std::move(*prog);
  }
  // Topological order (Kahn); a cycle is a spec error.
  std::vector<size_t> indeg(tasks.size(), 0);
  std::vector<std::vector<size_t>> dependents(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    for (size_t d : tasks[i].deps) {
      ++indeg[i];
      dependents[d].push_back(i);
    }
  }
  std::vector<size_t> order;
  std::deque<size_t> ready;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (indeg[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    size_t i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (size_t j : dependents[i]) {
      if (--indeg[j] == 0) ready.push_back(j);
    }
  }
  if (order.size() != tasks.size()) {
    MarkPhase(*node, "Error", "dag.tasks: dependency cycle");
    return node;
  }
  // Targets: dag.target, else the tasks nothing depends on.
  std::vector<size_t> targets;
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
      auto it = index.find(std::string(tn));
      if (it == index.end()) {
        MarkPhase(*node, "Error",
                  absl::StrCat("dag.target: unknown task \"", std::string(tn), "\""));
        return node;
      }
      targets.push_back(it->second);
    }
  } else {
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (dependents[i].empty()) targets.push_back(i);
    }
  }
  std::vector<bool> needed(tasks.size(), false);
  {
    std::vector<size_t> stack = targets;
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      if (needed[i]) continue;
      needed[i] = true;
      for (size_t d : tasks[i].deps) stack.push_back(d);
    }
  }

  tmpl::Scope scope = TemplateScope(t);
  // Tasks with started lifecycle hooks still running: their dependents wait for them.
  std::set<std::string> hooks_pending;
  std::string hook_error;
  auto note_hooks = [&](const Task& task, const HookState& h) {
    if (h.pending) hooks_pending.insert(task.name);
    if (!h.error.empty() && hook_error.empty()) hook_error = h.error;
  };
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  auto task_node_name = [&](const std::string& task) { return absl::StrCat(name, ".", task); };
  // Publishing every finished task's outputs costs a few map inserts per task per call; a DAG
  // whose tasks and outputs never mention `tasks.` does not need them.
  const bool refs_tasks =
      Mentions(dag["tasks"], "tasks.") || Mentions(t.value("outputs", json(nullptr)), "tasks.");
  auto add_to_scope = [&](const Task& task) {
    if (!refs_tasks) return;
    const json* n = NodeByName(task_node_name(task.name));
    if (n == nullptr) return;
    const std::string prefix = "tasks." + task.name;
    if (Str(*n, "type") == "TaskGroup") {
      std::vector<const json*> children;
      for (const json& c : n->value("children", json::array())) {
        const json* cn = NodeById(c.get<std::string>());
        if (cn != nullptr && Str(*cn, "type") != "Skipped") children.push_back(cn);
      }
      AddAggregateToScope(scope, prefix, children);
      scope.Set(prefix + ".status", Str(*n, "phase"));
      scope.Set(prefix + ".id", Str(*n, "id"));
    } else {
      AddNodeToScope(scope, prefix, *n);
    }
  };
  auto connect = [&](const Task& task, const std::string& child_name) {
    if (task.deps.empty()) {
      AddChild(name, child_name);
      return;
    }
    for (size_t d : task.deps) {
      const json* dn = NodeByName(task_node_name(tasks[d].name));
      if (dn == nullptr) continue;
      for (const std::string& o : OutboundNodes(Str(*dn, "id"))) {
        if (const json* on = NodeById(o); on != nullptr) AddChild(Str(*on, "name"), child_name);
      }
    }
  };
  auto lookup = [&](const Task& task) {
    return [&, task_ptr = &task](std::string_view dep) -> std::optional<expr::TaskStatus> {
      (void)task_ptr;
      const json* n = NodeByName(task_node_name(std::string(dep)));
      if (n == nullptr) return std::nullopt;
      expr::TaskStatus st;
      st.phase = hooks_pending.count(std::string(dep)) ? expr::NodePhase::kRunning
                                                       : ToDependsPhase(Str(*n, "phase"));
      st.daemoned = n->value("daemoned", false);
      if (Str(*n, "type") == "TaskGroup") {
        st.expanded = true;
        for (const json& c : n->value("children", json::array())) {
          if (const json* cn = NodeById(c.get<std::string>()); cn != nullptr) {
            st.children_phases.push_back(ToDependsPhase(Str(*cn, "phase")));
          }
        }
      }
      return st;
    };
  };

  for (size_t i : order) {
    if (!needed[i]) continue;
    const Task& task = tasks[i];
    const std::string tn = task_node_name(task.name);
    json* tnode = NodeByName(tn);
    if (tnode != nullptr && NodeFulfilled(*tnode)) {
      if (Str(*tnode, "type") != "TaskGroup") {
        absl::StatusOr<HookState> h =
            RunNodeLifecycleHooks(*task.spec, *tnode, "tasks", scope, id, r.ctx, depth + 1);
        if (!h.ok()) return h.status();
        note_hooks(task, *h);
      }
      // A task's exit hook starts once the lifecycle hooks it started have finished.
      if (PhaseCompleted(Str(*tnode, "phase")) && !hooks_pending.count(task.name)) {
        absl::StatusOr<std::pair<bool, json*>> h =
            RunNodeExitHandler(*task.spec, *tnode, id, r.ctx, depth + 1);
        if (!h.ok()) return h.status();
      }
      add_to_scope(task);
      continue;
    }
    const bool is_group = tnode != nullptr && Str(*tnode, "type") == "TaskGroup";
    if (tnode == nullptr) {
      if (!task.depends_error.empty()) {
        InitNode(tn, "Skipped", "", id, "Error", task.depends_error, nullptr);
        connect(task, tn);
        continue;
      }
      if (task.depends.has_value()) {
        absl::StatusOr<expr::DependsDecision> d = task.depends->Decide(lookup(task));
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
    absl::StatusOr<json> resolved = tmpl::RenderJson(*task.spec, scope, leave);
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
    const bool loop = task.spec->contains("withItems") || task.spec->contains("withParam") ||
                      task.spec->contains("withSequence");
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
      note_hooks(task, *h);
      if (h->pending) group_done = false;
      if (!NodeFulfilled(**c)) {
        group_done = false;
      } else if (PhaseFailedOrError(Str(**c, "phase"))) {
        group_phase = Str(**c, "phase");
      }
    }
    if (loop && group_done) {
      if (json* g = NodeByName(tn); g != nullptr && !NodeFulfilled(*g)) MarkPhase(*g, group_phase);
    }
    if (json* n = NodeByName(tn); n != nullptr && NodeFulfilled(*n)) add_to_scope(task);
  }

  // Phase of the DAG (Argo assessDAGPhase): any unfinished node keeps it Running; a target that
  // has no node yet takes the phase of the branch that reached it.
  node = NodeByName(name);
  // The walk below visits every finished node; while a task is still going the answer is
  // Running anyway, so it only runs when the last task finishes.
  if (!hooks_pending.empty()) return node;
  for (size_t i : order) {
    if (!needed[i]) continue;
    const json* n = NodeByName(task_node_name(tasks[i].name));
    if (n != nullptr && !NodeFulfilled(*n)) return node;
  }
  std::map<std::string, std::string> target_phase;
  for (size_t ti : targets) target_phase[Id(task_node_name(tasks[ti].name))] = "";
  std::map<std::string, size_t> task_by_id;
  for (size_t i = 0; i < tasks.size(); ++i) task_by_id[Id(task_node_name(tasks[i].name))] = i;
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
      branch = ti != task_by_id.end() && StepContinuesOn(*tasks[ti->second].spec, phase)
                   ? "Succeeded"
                   : phase;
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
    const std::string& bp = target_phase[Id(task_node_name(tasks[ti].name))];
    if (bp.empty()) {
      result = "Running";
      if (!fail_fast) break;
    } else if (PhaseFailedOrError(bp)) {
      if (StepContinuesOn(*tasks[ti].spec, bp)) continue;
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
      const json* tnode = NodeByName(task_node_name(tasks[ti].name));
      if (tnode == nullptr || !PhaseFailedOrError(Str(*tnode, "phase"))) continue;
      message = absl::StrCat("task '", Str(*tnode, "name"), "' ",
                             Str(*tnode, "phase") == "Error" ? "errored" : "failed",
                             Str(*tnode, "message").empty() ? "" : ": ", Str(*tnode, "message"));
      break;
    }
  }
  json outbound = json::array();
  for (size_t ti : targets) {
    if (const json* tnode = NodeByName(task_node_name(tasks[ti].name)); tnode != nullptr) {
      for (const std::string& o : OutboundNodes(Str(*tnode, "id"))) outbound.push_back(o);
    }
  }
  if (!outbound.empty()) (*node)["outboundNodes"] = outbound;
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
