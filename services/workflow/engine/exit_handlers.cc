// Exit handlers and lifecycle hooks (Argo operator.go runOnExitNode, hooks.go):
// spec.onExit / spec.hooks.exit run after the main part; step/task `hooks.exit` (or legacy
// `onExit`) run after that node completes, as `<node>.onExit`.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
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

}  // namespace argonaut::workflow::engine::internal
