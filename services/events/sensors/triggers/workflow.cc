// argoWorkflow: Argo runs the `argo` CLI; here the same operations go through
// the workflow service's gRPC API.
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sensors/triggers/util.h"

namespace argonaut::events::sensors {
namespace {

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

absl::StatusOr<std::string> ExecuteWorkflow(const FireRequest& request, const nlohmann::json& spec,
                                            const TriggerContext& ctx) {
  if (ctx.workflows == nullptr)
    return absl::FailedPreconditionError("argoWorkflow: no workflow service configured");
  auto wf = ResolveResource(request, spec, "argoWorkflow");
  if (!wf.ok()) return wf.status();
  std::string op = spec.value("operation", "submit");
  nlohmann::json meta = wf->value("metadata", nlohmann::json::object());
  std::string ns = meta.value("namespace", request.ns);
  std::string name = meta.value("name", "");
  if (op != "submit" && name.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("argoWorkflow.operation ", op, ": source.resource needs metadata.name"));
  workflow::v1::WorkflowReply reply;
  grpc::Status status;
  auto call = [&](auto method, const auto& req) {
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (ctx.workflows->*method)(&cc, req, &reply);
  };
  using Stub = workflow::v1::WorkflowService::StubInterface;
  if (op == "submit") {
    workflow::v1::CreateWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_json(wf->dump());
    status = call(&Stub::CreateWorkflow, req);
  } else if (op == "resubmit") {
    workflow::v1::ResubmitWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    status = call(&Stub::ResubmitWorkflow, req);
  } else if (op == "retry") {
    workflow::v1::RetryWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    status = call(&Stub::RetryWorkflow, req);
  } else if (op == "resume") {
    workflow::v1::ResumeWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    status = call(&Stub::ResumeWorkflow, req);
  } else if (op == "suspend" || op == "terminate") {
    workflow::v1::WorkflowNameRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    status = call(op == "suspend" ? &Stub::SuspendWorkflow : &Stub::TerminateWorkflow, req);
  } else if (op == "stop") {
    workflow::v1::StopWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_name(name);
    status = call(&Stub::StopWorkflow, req);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("argoWorkflow.operation \"", op,
                     "\" must be submit, resubmit, retry, resume, suspend, terminate or stop"));
  }
  if (absl::Status s = FromGrpc(status, absl::StrCat("argoWorkflow ", op)); !s.ok()) return s;
  nlohmann::json out = nlohmann::json::parse(reply.json(), nullptr, false);
  std::string got = name;
  if (out.is_object() && out.contains("metadata")) got = out["metadata"].value("name", name);
  absl::Status policy =
      WaitForK8sPolicy(request.trigger, ctx.clock, [&]() -> absl::StatusOr<nlohmann::json> {
        workflow::v1::GetWorkflowRequest req;
        req.set_namespace_(ns);
        req.set_name(got);
        workflow::v1::WorkflowReply r;
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::Status s = ctx.workflows->GetWorkflow(&cc, req, &r);
        if (!s.ok()) return FromGrpc(s, "get workflow");
        return nlohmann::json::parse(r.json(), nullptr, false);
      });
  if (!policy.ok()) return policy;
  return absl::StrCat("workflow ", ns, "/", got, " ", op == "submit" ? "submitted" : op);
}

}  // namespace argonaut::events::sensors
