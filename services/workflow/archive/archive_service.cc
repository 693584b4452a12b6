#include "services/workflow/archive/archive_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/workflow/api/actions.h"

namespace argonaut::workflow::archive {
namespace {

using ::argonaut::ToGrpcStatus;
using nlohmann::json;

// A live workflow made from an archived copy: a new object for the store.
void ForCreate(json& wf) {
  json& meta = wf["metadata"];
  for (const char* key : {"uid", "resourceVersion", "creationTimestamp", "generation",
                          "managedFields", "deletionTimestamp"}) {
    meta.erase(key);
  }
  if (meta.contains("labels") && meta["labels"].is_object()) {
    meta["labels"].erase("workflows.argoproj.io/workflow-archiving-status");
  }
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Params(
    const google::protobuf::RepeatedPtrField<std::string>& raw) {
  return api::ParseParameterArgs(std::vector<std::string>(raw.begin(), raw.end()));
}

}  // namespace

absl::StatusOr<json> ArchivedWorkflowGrpcService::Find(const std::string& uid,
                                                       const std::string& ns,
                                                       const std::string& name) {
  if (uid.empty()) return absl::InvalidArgumentError("uid: required");
  absl::StatusOr<json> wf = archive_->Get(uid);
  if (!wf.ok()) return wf.status();
  const json meta = wf->value("metadata", json::object());
  // Answered as absent, not as forbidden: the caller's permission covers only that namespace.
  if ((!ns.empty() && meta.value("namespace", "") != ns) ||
      (!name.empty() && meta.value("name", "") != name)) {
    return absl::NotFoundError(absl::StrCat("archived workflow \"", uid, "\" not found"));
  }
  return wf;
}

grpc::Status ArchivedWorkflowGrpcService::ListArchivedWorkflows(
    grpc::ServerContext*, const v1::ListArchivedWorkflowsRequest* req,
    v1::ListArchivedWorkflowsReply* reply) {
  absl::StatusOr<ArchiveListResult> page =
      archive_->List({.ns = req->namespace_(),
                      .label_selector = req->label_selector(),
                      .field_selector = req->field_selector(),
                      .name_prefix = req->name_prefix(),
                      .name_filter = req->name_filter(),
                      .limit = req->limit(),
                      .continue_token = req->continue_token()});
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const json& item : page->items) reply->add_items(manifest::ToJsonText(item, false));
  reply->set_continue_token(page->continue_token);
  return grpc::Status::OK;
}

grpc::Status ArchivedWorkflowGrpcService::GetArchivedWorkflow(
    grpc::ServerContext*, const v1::ArchivedWorkflowRequest* req,
    v1::ArchivedWorkflowReply* reply) {
  absl::StatusOr<json> wf = Find(req->uid(), req->namespace_(), req->name());
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  reply->set_json(manifest::ToJsonText(*wf, false));
  return grpc::Status::OK;
}

grpc::Status ArchivedWorkflowGrpcService::DeleteArchivedWorkflow(
    grpc::ServerContext*, const v1::ArchivedWorkflowRequest* req,
    v1::ArchivedWorkflowDeletedReply*) {
  absl::StatusOr<json> wf = Find(req->uid(), req->namespace_(), req->name());
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  return ToGrpcStatus(archive_->Delete(req->uid()));
}

grpc::Status ArchivedWorkflowGrpcService::ListArchivedWorkflowLabelKeys(
    grpc::ServerContext*, const v1::ArchivedWorkflowLabelKeysRequest* req,
    v1::ArchivedLabelsReply* reply) {
  absl::StatusOr<std::vector<std::string>> keys = archive_->LabelKeys(req->namespace_());
  if (!keys.ok()) return ToGrpcStatus(keys.status());
  for (const std::string& k : *keys) reply->add_items(k);
  return grpc::Status::OK;
}

grpc::Status ArchivedWorkflowGrpcService::ListArchivedWorkflowLabelValues(
    grpc::ServerContext*, const v1::ArchivedWorkflowLabelValuesRequest* req,
    v1::ArchivedLabelsReply* reply) {
  // Argo takes the label key from a selector holding exactly one key.
  std::string key(absl::StripAsciiWhitespace(req->label_selector()));
  if (key.empty() || key.find_first_of("=!,() ") != std::string::npos) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("listOptions.labelSelector: want exactly one label key, got \"",
                     req->label_selector(), "\"")));
  }
  absl::StatusOr<std::vector<std::string>> values = archive_->LabelValues(key, req->namespace_());
  if (!values.ok()) return ToGrpcStatus(values.status());
  for (const std::string& v : *values) reply->add_items(v);
  return grpc::Status::OK;
}

grpc::Status ArchivedWorkflowGrpcService::ResubmitArchivedWorkflow(
    grpc::ServerContext*, const v1::ResubmitArchivedWorkflowRequest* req,
    v1::ArchivedWorkflowReply* reply) {
  absl::StatusOr<json> wf = Find(req->uid(), req->namespace_(), req->name());
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  auto params = Params(req->parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  absl::StatusOr<json> fresh = api::Resubmit(*wf, *params);
  if (!fresh.ok()) return ToGrpcStatus(fresh.status());
  ForCreate(*fresh);
  absl::StatusOr<json> created = workflows_->CreateObject("Workflow", *std::move(fresh), false);
  if (!created.ok()) return ToGrpcStatus(created.status());
  reply->set_json(manifest::ToJsonText(*created, false));
  return grpc::Status::OK;
}

grpc::Status ArchivedWorkflowGrpcService::RetryArchivedWorkflow(
    grpc::ServerContext*, const v1::RetryArchivedWorkflowRequest* req,
    v1::ArchivedWorkflowReply* reply) {
  absl::StatusOr<json> wf = Find(req->uid(), req->namespace_(), req->name());
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  const json meta = wf->value("metadata", json::object());
  const std::string ns = meta.value("namespace", "default");
  const std::string name = meta.value("name", "");
  // As Argo: the live workflow, while it exists, is retried by `retry`, not from the archive.
  if (workflows_->GetObject("Workflow", ns, name).ok()) {
    return ToGrpcStatus(absl::AlreadyExistsError(
        absl::StrCat("workflow \"", name, "\" already exists in namespace \"", ns,
                     "\": retry the live workflow instead of the archived copy")));
  }
  auto params = Params(req->parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  absl::StatusOr<api::RetryResult> retried =
      api::Retry(*wf,
                 api::RetryOptions{.restart_successful = req->restart_successful(),
                                   .node_field_selector = req->node_field_selector(),
                                   .parameters = *std::move(params)},
                 absl::Now());
  if (!retried.ok()) return ToGrpcStatus(retried.status());
  json fresh = std::move(retried->workflow);
  ForCreate(fresh);
  absl::StatusOr<json> created = workflows_->CreateObject("Workflow", std::move(fresh), false);
  if (!created.ok()) return ToGrpcStatus(created.status());
  reply->set_json(manifest::ToJsonText(*created, false));
  return grpc::Status::OK;
}

}  // namespace argonaut::workflow::archive
