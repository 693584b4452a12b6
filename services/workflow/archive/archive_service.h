// ArchivedWorkflowGrpcService: Argo Server's ArchivedWorkflowService over the WorkflowArchive, with
// resubmit and retry creating live workflows through the workflow store (and so through its
// validation). A request naming a namespace (or name) only sees an archived workflow in that
// namespace (with that name): the caller's permission was checked for it.
#pragma once

#include "argonaut/workflow/v1/archive_service.grpc.pb.h"
#include "lib/resource/resource_api.h"
#include "services/workflow/archive/archive.h"

namespace argonaut::workflow::archive {

class ArchivedWorkflowGrpcService final : public v1::ArchivedWorkflowService::Service {
 public:
  // Both must outlive the service.
  ArchivedWorkflowGrpcService(resource::ResourceApi* workflows, WorkflowArchive* archive)
      : workflows_(workflows), archive_(archive) {}

  grpc::Status ListArchivedWorkflows(grpc::ServerContext*,
                                     const v1::ListArchivedWorkflowsRequest* req,
                                     v1::ListArchivedWorkflowsReply* reply) override;
  grpc::Status GetArchivedWorkflow(grpc::ServerContext*, const v1::ArchivedWorkflowRequest* req,
                                   v1::ArchivedWorkflowReply* reply) override;
  grpc::Status DeleteArchivedWorkflow(grpc::ServerContext*, const v1::ArchivedWorkflowRequest* req,
                                      v1::ArchivedWorkflowDeletedReply* reply) override;
  grpc::Status ListArchivedWorkflowLabelKeys(grpc::ServerContext*,
                                             const v1::ArchivedWorkflowLabelKeysRequest* req,
                                             v1::ArchivedLabelsReply* reply) override;
  grpc::Status ListArchivedWorkflowLabelValues(grpc::ServerContext*,
                                               const v1::ArchivedWorkflowLabelValuesRequest* req,
                                               v1::ArchivedLabelsReply* reply) override;
  grpc::Status ResubmitArchivedWorkflow(grpc::ServerContext*,
                                        const v1::ResubmitArchivedWorkflowRequest* req,
                                        v1::ArchivedWorkflowReply* reply) override;
  grpc::Status RetryArchivedWorkflow(grpc::ServerContext*,
                                     const v1::RetryArchivedWorkflowRequest* req,
                                     v1::ArchivedWorkflowReply* reply) override;

 private:
  absl::StatusOr<nlohmann::json> Find(const std::string& uid, const std::string& ns,
                                      const std::string& name);

  resource::ResourceApi* const workflows_;
  WorkflowArchive* const archive_;
};

}  // namespace argonaut::workflow::archive
