// Exit handlers and lifecycle hooks (Argo operator.go runOnExitNode, hooks.go,
// docs/lifecyclehook.md): spec.onExit / spec.hooks.exit run after the main part; step/task
// `hooks.exit` (or legacy `onExit`) run after that node completes, as `<node>.onExit`; the other
// `hooks` keys run once, as `<node>.hooks.<key>`, when their expression first holds.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {

json Operator::FailuresJson() const {
  json failures = json::array();
  for (auto it = nodes_->begin(); it != nodes_->end(); ++it) {
    const std::string phase = Str(*it, "phase");
    if (!PhaseFailedOrError(phase)) continue;
    failures.push_back({{"displayName", Str(*it, "displayName")},
                        {"message", Str(*it, "message")},
                        {"templateName", Str(*it, "templateName")},
                        {"phase", phase},
                        {"podName", Str(*it, "id")},
                        {"finishedAt", Str(*it, "finishedAt")}});
  }
  return failures;
}

absl::StatusOr<std::pair<bool, json*>> Operator::RunNodeExitHandler(const json& step,
                                                                    const json& node,
                                                                    const std::string& boundary_id,
                                                                    const TmplCtx& ctx, int depth) {
  json holder;
  if (step.contains("hooks") && step["hooks"].is_object() && step["hooks"].contains("exit") &&
      step["hooks"]["exit"].is_object()) {
    holder = step["hooks"]["exit"];
  } else if (step.contains("onExit") && step["onExit"].is_string() &&
             !step["onExit"].get<std::string>().empty()) {
    holder = {{"template", step["onExit"]}};
  } else {
    return std::make_pair(false, static_cast<json*>(nullptr));
  }
  const std::string parent_name = Str(node, "name");
  const std::string name = parent_name + ".onExit";
  const bool existed = NodeByName(name) != nullptr;
  // The handler sees the hooked node's outputs and status, as Argo's exit hooks do.
  tmpl::Scope scope = globals_;
  AddNodeToScope(scope, "steps." + Str(step, "name"), node);
  AddNodeToScope(scope, "tasks." + Str(step, "name"), node);
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  absl::StatusOr<json> h = tmpl::RenderJson(holder, scope, leave);
  if (!h.ok()) return h.status();
  ExecOpts o;
  o.boundary_id = boundary_id;
  o.on_exit = true;
  absl::StatusOr<json*> n =
      ExecuteTemplate(name, *h, ctx, h->value("arguments", json::object()), o, depth);
  if (!n.ok()) return n.status();
  if (!existed && *n != nullptr) AddChild(parent_name, name);
  return std::make_pair(true, *n);
}

absl::StatusOr<Operator::HookState> Operator::RunLifecycleHooks(const json& hooks,
                                                                const std::string& parent_name,
                                                                const tmpl::Scope& scope,
                                                                const std::string& boundary_id,
                                                                const TmplCtx& ctx, int depth) {
  HookState state;
  if (!hooks.is_object()) return state;
  std::optional<json> env;
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  for (auto it = hooks.begin(); it != hooks.end(); ++it) {
    if (it.key() == "exit") continue;
    const std::string name = absl::StrCat(parent_name, ".hooks.", it.key());
    const json& hook = it.value();
    const bool started = NodeByName(name) != nullptr;
    if (!started) {
      const std::string expression = hook.is_object() ? Str(hook, "expression") : "";
      if (expression.empty()) {
        state.error = absl::StrCat("hooks.", it.key(), ".expression: required");
        continue;
      }
      if (!env.has_value()) env = scope.ToEnv();
      absl::StatusOr<expr::ExprProgram> prog = expr::ExprProgram::Compile(expression);
      absl::StatusOr<bool> fire =
          prog.ok() ? prog->EvalBool(*env) : absl::StatusOr<bool>(prog.status());
      if (!fire.ok()) {
        state.error = absl::StrCat("hooks.", it.key(), ".expression: ", fire.status().message());
        continue;
      }
      if (!*fire) continue;
    }
    absl::StatusOr<json> h = tmpl::RenderJson(hook, scope, leave);
    if (!h.ok()) {
      state.error = absl::StrCat("hooks.", it.key(), ": ", h.status().message());
      continue;
    }
    ExecOpts o;
    o.boundary_id = boundary_id;
    absl::StatusOr<json*> n =
        ExecuteTemplate(name, *h, ctx, h->value("arguments", json::object()), o, depth);
    if (!n.ok()) return n.status();
    if (*n == nullptr) {
      // Could not start yet (parallelism, suspend): it is due, so the scope waits for it.
      state.pending = true;
      continue;
    }
    if (!started) AddChild(parent_name, name);
    if (!NodeFulfilled(**n)) {
      state.pending = true;
    } else if (Str(**n, "phase") == "Error") {
      // Failed hooks are ignored; one that could not run at all fails its scope.
      state.error = absl::StrCat("hook ", Str(**n, "name"), " errored: ", Str(**n, "message"));
    }
  }
  return state;
}

absl::StatusOr<Operator::HookState> Operator::RunNodeLifecycleHooks(
    const json& step, const json& node, const std::string& prefix, const tmpl::Scope& scope,
    const std::string& boundary_id, const TmplCtx& ctx, int depth) {
  if (!step.contains("hooks") || !step["hooks"].is_object()) return HookState{};
  const json& hooks = step["hooks"];
  if (hooks.size() == 1 && hooks.contains("exit")) return HookState{};
  tmpl::Scope local = scope;
  AddNodeToScope(local, absl::StrCat(prefix, ".", Str(node, "displayName")), node);
  return RunLifecycleHooks(hooks, Str(node, "name"), local, boundary_id, ctx, depth);
}

}  // namespace argonaut::workflow::engine::internal
