// k8s: create/update/patch/delete any object. Argo kinds go to their owning
// service (Workflows, Rollouts); the rest through the cluster interface.
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sensors/triggers/util.h"

namespace argonaut::events::sensors {
namespace {

void MergePatch(nlohmann::json& target, const nlohmann::json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = nlohmann::json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      target.erase(it.key());
    } else {
      MergePatch(target[it.key()], *it);
    }
  }
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

absl::StatusOr<std::string> ExecuteK8s(const FireRequest& request, const nlohmann::json& spec,
                                       const TriggerContext& ctx) {
  auto obj = ResolveResource(request, spec, "k8s");
  if (!obj.ok()) return obj.status();
  std::string op = spec.value("operation", "create");
  std::string kind = obj->value("kind", "");
  std::string api = obj->value("apiVersion", "");
  if (kind.empty()) return absl::InvalidArgumentError("k8s.source.resource: kind is required");
  nlohmann::json& meta = (*obj)["metadata"];
  if (!meta.is_object()) meta = nlohmann::json::object();
  if (!meta.contains("namespace")) meta["namespace"] = request.ns;
  std::string ns = meta["namespace"];
  std::string name = meta.value("name", "");
  if (op == "create") {
    // Argo labels what a sensor created.
    meta["labels"]["events.argoproj.io/sensor"] = request.sensor;
    meta["labels"]["events.argoproj.io/trigger"] = request.trigger["template"].value("name", "");
    absl::Time now = ctx.clock ? ctx.clock->Now() : absl::Now();
    meta["labels"]["events.argoproj.io/action-timestamp"] = absl::StrCat(absl::ToUnixMillis(now));
  } else if (op != "update" && op != "patch" && op != "delete") {
    return absl::InvalidArgumentError(
        absl::StrCat("k8s.operation \"", op, "\" must be create, update, patch or delete"));
  }
  if (op != "create" && name.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("k8s.operation ", op, ": source.resource needs metadata.name"));

  std::string result_name = name;
  std::function<absl::StatusOr<nlohmann::json>()> get;
  if (absl::StartsWith(api, "argoproj.io/") && kind == "Workflow") {
    if (ctx.workflows == nullptr)
      return absl::FailedPreconditionError("k8s Workflow: no workflow service configured");
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (op == "create") {
      workflow::v1::CreateWorkflowRequest req;
      req.set_namespace_(ns);
      req.set_json(obj->dump());
      workflow::v1::WorkflowReply reply;
      if (absl::Status s =
              FromGrpc(ctx.workflows->CreateWorkflow(&cc, req, &reply), "create Workflow");
          !s.ok())
        return s;
      nlohmann::json out = nlohmann::json::parse(reply.json(), nullptr, false);
      if (out.is_object()) result_name = out["metadata"].value("name", name);
    } else if (op == "delete") {
      workflow::v1::DeleteWorkflowRequest req;
      req.set_namespace_(ns);
      req.set_name(name);
      workflow::v1::DeleteWorkflowReply reply;
      grpc::Status s = ctx.workflows->DeleteWorkflow(&cc, req, &reply);
      if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND)
        return FromGrpc(s, "delete Workflow");
    } else {
      return absl::UnimplementedError(
          absl::StrCat("k8s ", op, " of a Workflow is not supported (use argoWorkflow)"));
    }
    get = [&]() -> absl::StatusOr<nlohmann::json> {
      workflow::v1::GetWorkflowRequest req;
      req.set_namespace_(ns);
      req.set_name(result_name);
      workflow::v1::WorkflowReply r;
      grpc::ClientContext c2;
      c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status s = ctx.workflows->GetWorkflow(&c2, req, &r);
      if (!s.ok()) return FromGrpc(s, "get Workflow");
      return nlohmann::json::parse(r.json(), nullptr, false);
    };
  } else if (absl::StartsWith(api, "argoproj.io/") && kind == "Rollout") {
    if (ctx.rollouts == nullptr)
      return absl::FailedPreconditionError("k8s Rollout: no rollout service configured");
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (op == "delete") {
      rollout::v1::RolloutNameRequest req;
      req.set_namespace_(ns);
      req.set_name(name);
      rollout::v1::DeleteRolloutReply reply;
      grpc::Status s = ctx.rollouts->DeleteRollout(&cc, req, &reply);
      if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND)
        return FromGrpc(s, "delete Rollout");
    } else if (op == "patch") {
      return absl::UnimplementedError("k8s patch of a Rollout is not supported (use update)");
    } else {
      rollout::v1::CreateRolloutRequest req;
      req.set_namespace_(ns);
      req.set_json(obj->dump());
      req.set_upsert(op == "update");
      rollout::v1::RolloutReply reply;
      if (absl::Status s = FromGrpc(ctx.rollouts->CreateRollout(&cc, req, &reply), "apply Rollout");
          !s.ok())
        return s;
    }
  } else if (absl::StartsWith(api, "argoproj.io/")) {
    return absl::UnimplementedError(
        absl::StrCat("k8s trigger on ", kind, " (", api, ") is not supported"));
  } else {
    if (ctx.cluster == nullptr) return absl::FailedPreconditionError("k8s: no cluster configured");
    cluster::Cluster& c = *ctx.cluster;
    absl::StatusOr<nlohmann::json> out;
    if (op == "create") {
      out = c.Create(*obj);
    } else if (op == "delete") {
      absl::Status s = c.Delete(kind, ns, name);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      out = *obj;
    } else {
      // update/patch create the object when it is missing, as Argo's do.
      auto live = c.Get(kind, ns, name);
      if (absl::IsNotFound(live.status())) {
        out = c.Create(*obj);
      } else if (!live.ok()) {
        return live.status();
      } else {
        nlohmann::json merged = *live;
        if (op == "update") {
          for (auto it = obj->begin(); it != obj->end(); ++it)
            if (it.key() != "metadata" && it.key() != "status") merged[it.key()] = *it;
          MergePatch(
              merged["metadata"],
              nlohmann::json{{"labels", meta.value("labels", nlohmann::json::object())},
                             {"annotations", meta.value("annotations", nlohmann::json::object())}});
        } else {
          nlohmann::json patch = *obj;
          patch.erase("status");
          MergePatch(merged, patch);
        }
        out = c.Update(merged);
      }
    }
    if (!out.ok()) return out.status();
    if (out->contains("metadata")) result_name = (*out)["metadata"].value("name", name);
    get = [&]() { return c.Get(kind, ns, result_name); };
  }
  if (get) {
    if (absl::Status s = WaitForK8sPolicy(request.trigger, ctx.clock, get); !s.ok()) return s;
  }
  return absl::StrCat(kind, " ", ns, "/", result_name, " ",
                      op == "create"   ? "created"
                      : op == "delete" ? "deleted"
                      : op == "update" ? "updated"
                                       : "patched");
}

}  // namespace argonaut::events::sensors
