// Steps templates: outer list sequential, inner list parallel (Argo workflow/controller/steps.go).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/expr/govaluate.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

bool ContinuesOn(const json& step, const std::string& phase) {
  if (!step.is_object()) return false;
  auto c = step.find("continueOn");
  if (c == step.end() || !c->is_object()) return false;
  // Only a boolean true counts; anything else (a hostile "yes") is false, not an exception.
  auto flag = c->find(phase == "Failed" ? "failed" : phase == "Error" ? "error" : "");
  return flag != c->end() && flag->is_boolean() && flag->get<bool>();
}

json WithoutLoop(json step) {
  step.erase("withItems");
  step.erase("withParam");
  step.erase("withSequence");
  return step;
}

}  // namespace

bool StepContinuesOn(const json& step, const std::string& phase) {
  return ContinuesOn(step, phase);
}

// Expands a step or task's loop into one entry per item, named `name(i:desc)`, with {{item}}
// substituted. Non-looped entries come back as themselves.
absl::StatusOr<std::vector<json>> ExpandLoop(Operator& op, const json& step) {
  std::vector<json> out;
  if (!step.contains("withItems") && !step.contains("withParam") &&
      !step.contains("withSequence")) {
    out.push_back(step);
    return out;
  }
  absl::StatusOr<std::vector<json>> items = op.LoopItems(step);
  if (!items.ok()) return items.status();
  const json base = WithoutLoop(step);
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  for (size_t k = 0; k < items->size(); ++k) {
    const json& item = (*items)[k];
    tmpl::Scope scope;
    if (item.is_object() || item.is_array()) {
      scope.SetJson("item", item);
    } else {
      scope.Set("item", ItemText(item));
    }
    absl::StatusOr<json> e = tmpl::RenderJson(base, scope, leave);
    if (!e.ok()) return e.status();
    (*e)["name"] = absl::StrCat(Str(step, "name"), "(", k, ":", ItemDescription(item), ")");
    out.push_back(std::move(*e));
  }
  return out;
}

absl::StatusOr<json*> Operator::ExecuteSteps(const std::string& name, const Resolved& r,
                                             const json& t, const ExecOpts& opts, int depth) {
  json* node = NodeByName(name);
  if (node == nullptr) {
    node = &InitNode(name, "Steps", "", opts.boundary_id, "Running", "", &r);
    if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty())
      (*node)["inputs"] = t["inputs"];
  }
  const std::string id = Str(*node, "id");
  if (auto p = IntOrString(t.value("parallelism", json(nullptr))); p.has_value()) {
    boundary_parallelism_[id] = *p;
  }
  if (t.value("failFast", json(false)) == true) fail_fast_boundaries_.insert(id);
  static const json kNoBody;
  const json& groups = r.body != nullptr ? *r.body : kNoBody;
  if (!groups.is_array()) {
    MarkPhase(*node, "Error", "steps: not a list of step groups");
    return node;
  }
  tmpl::Scope scope = TemplateScope(t);
  tmpl::RenderOptions leave;
  leave.unresolved = tmpl::Unresolved::kLeave;
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string sg_name = absl::StrCat(name, "[", i, "]");
    json* sg = NodeByName(sg_name);
    if (sg == nullptr) {
      sg = &InitNode(sg_name, "StepGroup", "", id, "Running", "", &r);
      if (i == 0) {
        AddChild(name, sg_name);
      } else if (json* prev = NodeByName(absl::StrCat(name, "[", i - 1, "]")); prev != nullptr) {
        for (const json& c : prev->value("children", json::array())) {
          for (const std::string& o : OutboundNodes(c.get<std::string>())) {
            if (const json* on = NodeById(o); on != nullptr) AddChild(Str(*on, "name"), sg_name);
          }
        }
      }
    }
    const json& group = groups[i];
    std::vector<std::pair<std::string, json>> children;  // node name, expanded step
    if (!NodeFulfilled(*sg)) {
      if (!group.is_array()) {
        MarkPhase(*sg, "Error", absl::StrCat("steps[", i, "]: not a list of steps"));
      } else {
        std::string error;
        for (const json& step : group) {
          absl::StatusOr<json> resolved = tmpl::RenderJson(step, scope, leave);
          if (!resolved.ok()) {
            error = std::string(resolved.status().message());
            break;
          }
          absl::StatusOr<std::vector<json>> expanded = ExpandLoop(*this, *resolved);
          if (!expanded.ok()) {
            error = absl::StrCat("steps.", Str(step, "name"), ": ", expanded.status().message());
            break;
          }
          for (json& e : *expanded) {
            std::string child = absl::StrCat(sg_name, ".", Str(e, "name"));
            children.emplace_back(std::move(child), std::move(e));
          }
        }
        if (!error.empty()) MarkPhase(*sg, "Error", error);
      }
      if (!NodeFulfilled(*sg)) {
        bool all_done = true;
        std::string hook_error;
        for (auto& [child_name, step] : children) {
          json* child = NodeByName(child_name);
          if (child == nullptr) {
            std::string when = step.contains("when") ? ItemText(step["when"]) : "";
            absl::StatusOr<bool> run = expr::ShouldExecute(when);
            if (!run.ok()) {
              MarkPhase(*sg, "Error", absl::StrCat(child_name, ": ", run.status().message()));
              all_done = false;
              break;
            }
            if (!*run) {
              json& skipped = InitNode(child_name, "Skipped", "", id, "Skipped",
                                       absl::StrCat("when '", when, "' evaluated false"), nullptr);
              if (!Str(step, "template").empty()) skipped["templateName"] = Str(step, "template");
              AddChild(sg_name, child_name);
              continue;
            }
            absl::StatusOr<json> with_args = ResolveArgumentExpressions(step, scope);
            if (!with_args.ok()) {
              InitNode(child_name, "Skipped", "", id, "Error",
                       std::string(with_args.status().message()), nullptr);
              AddChild(sg_name, child_name);
              continue;
            }
            step = std::move(*with_args);
          }
          ExecOpts o;
          o.boundary_id = id;
          o.on_exit = opts.on_exit;
          absl::StatusOr<json*> c_or = ExecuteTemplate(
              child_name, step, r.ctx, step.value("arguments", json::object()), o, depth + 1);
          if (!c_or.ok()) return c_or.status();
          json* c = *c_or;
          if (c == nullptr) {
            all_done = false;
            continue;
          }
          if (child == nullptr) AddChild(sg_name, child_name);
          absl::StatusOr<HookState> hooks =
              RunNodeLifecycleHooks(step, *c, "steps", scope, id, r.ctx, depth + 1);
          if (!hooks.ok()) return hooks.status();
          if (!hooks->error.empty() && hook_error.empty()) hook_error = hooks->error;
          if (hooks->pending) all_done = false;
          if (!NodeFulfilled(*c)) {
            all_done = false;
            continue;
          }
          // A node's exit hook starts once the lifecycle hooks it started have finished.
          if (hooks->pending) continue;
          if (PhaseCompleted(Str(*c, "phase"))) {
            absl::StatusOr<std::pair<bool, json*>> handler_or =
                RunNodeExitHandler(step, *c, id, r.ctx, depth + 1);
            if (!handler_or.ok()) return handler_or.status();
            const auto& handler = *handler_or;
            if (handler.first && (handler.second == nullptr || !NodeFulfilled(*handler.second))) {
              all_done = false;
            }
          }
        }
        sg = NodeByName(sg_name);
        if (!NodeFulfilled(*sg) && all_done) {
          std::string failed;
          for (auto& [child_name, step] : children) {
            const json* c = NodeByName(child_name);
            if (c == nullptr || !PhaseFailedOrError(Str(*c, "phase"))) continue;
            if (ContinuesOn(step, Str(*c, "phase"))) continue;
            failed = Str(*c, "id");
            break;
          }
          if (!hook_error.empty()) {
            // continueOn does not cover a hook that could not run.
            MarkPhase(*sg, "Failed", hook_error);
          } else if (failed.empty()) {
            MarkPhase(*sg, "Succeeded");
          } else {
            MarkPhase(*sg, "Failed", absl::StrCat("child '", failed, "' failed"));
          }
        }
      }
    }
    node = NodeByName(name);
    if (!NodeFulfilled(*sg)) return node;
    if (PhaseFailedOrError(Str(*sg, "phase"))) {
      MarkPhase(
          *node, "Failed",
          absl::StrCat("step group ", Str(*sg, "id"), " was unsuccessful: ", Str(*sg, "message")));
      KillDaemonedChildren(id);
      return node;
    }
    // Outputs of this group become visible to the next ones.
    if (group.is_array()) {
      for (const json& step : group) {
        const std::string step_name = Str(step, "name");
        const std::string prefix = "steps." + step_name;
        if (const json* c = NodeByName(absl::StrCat(sg_name, ".", step_name)); c != nullptr) {
          AddNodeToScope(scope, prefix, *c);
          continue;
        }
        std::vector<const json*> expanded;
        const std::string want = absl::StrCat(sg_name, ".", step_name, "(");
        for (const json& cid : sg->value("children", json::array())) {
          const json* c = NodeById(cid.get<std::string>());
          if (c != nullptr && Str(*c, "type") != "Skipped" &&
              absl::StartsWith(Str(*c, "name"), want)) {
            expanded.push_back(c);
          }
        }
        AddAggregateToScope(scope, prefix, expanded);
      }
    }
  }
  node = NodeByName(name);
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
  json outbound = json::array();
  if (!groups.empty()) {
    if (const json* last = NodeByName(absl::StrCat(name, "[", groups.size() - 1, "]"));
        last != nullptr) {
      for (const json& c : last->value("children", json::array())) {
        for (const std::string& o : OutboundNodes(c.get<std::string>())) outbound.push_back(o);
      }
    }
  }
  if (!outbound.empty()) (*node)["outboundNodes"] = outbound;
  MarkPhase(*node, "Succeeded");
  KillDaemonedChildren(id);
  return node;
}

}  // namespace argonaut::workflow::engine::internal
