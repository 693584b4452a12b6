// Argo Server's ArchivedWorkflowService in the gateway: the gRPC router (forwarding to the
// workflow service's channel) and the REST paths of argo-workflows.swagger.json:
//
//   GET    /api/v1/archived-workflows?listOptions.labelSelector=&listOptions.fieldSelector=
//          &listOptions.limit=&listOptions.continue=&namePrefix=&nameFilter=&namespace=
//   GET    /api/v1/archived-workflows/{uid}?namespace=&name=
//   DELETE /api/v1/archived-workflows/{uid}
//   PUT    /api/v1/archived-workflows/{uid}/resubmit   {namespace, name, memoized, parameters}
//   PUT    /api/v1/archived-workflows/{uid}/retry      {namespace, name, restartSuccessful,
//                                                      nodeFieldSelector, parameters}
//   GET    /api/v1/archived-workflows-label-keys?namespace=
//   GET    /api/v1/archived-workflows-label-values?listOptions.labelSelector=KEY&namespace=
//
// Lists answer Argo's WorkflowList ({"metadata": {"continue"?}, "items": [...]}), label calls
// {"items": [...]}, delete {}; errors are grpc-gateway error bodies.
#pragma once

#include <memory>

#include "argonaut/workflow/v1/archive_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

class ArchiveRouter final : public workflow::v1::ArchivedWorkflowService::Service {
 public:
  explicit ArchiveRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(workflow::v1::ArchivedWorkflowService::NewStub(std::move(channel))) {}

  using Stub = workflow::v1::ArchivedWorkflowService::Stub;

  grpc::Status ListArchivedWorkflows(grpc::ServerContext* ctx,
                                     const workflow::v1::ListArchivedWorkflowsRequest* req,
                                     workflow::v1::ListArchivedWorkflowsReply* reply) override;
  grpc::Status GetArchivedWorkflow(grpc::ServerContext* ctx,
                                   const workflow::v1::ArchivedWorkflowRequest* req,
                                   workflow::v1::ArchivedWorkflowReply* reply) override;
  grpc::Status DeleteArchivedWorkflow(grpc::ServerContext* ctx,
                                      const workflow::v1::ArchivedWorkflowRequest* req,
                                      workflow::v1::ArchivedWorkflowDeletedReply* reply) override;
  grpc::Status ListArchivedWorkflowLabelKeys(
      grpc::ServerContext* ctx, const workflow::v1::ArchivedWorkflowLabelKeysRequest* req,
      workflow::v1::ArchivedLabelsReply* reply) override;
  grpc::Status ListArchivedWorkflowLabelValues(
      grpc::ServerContext* ctx, const workflow::v1::ArchivedWorkflowLabelValuesRequest* req,
      workflow::v1::ArchivedLabelsReply* reply) override;
  grpc::Status ResubmitArchivedWorkflow(grpc::ServerContext* ctx,
                                        const workflow::v1::ResubmitArchivedWorkflowRequest* req,
                                        workflow::v1::ArchivedWorkflowReply* reply) override;
  grpc::Status RetryArchivedWorkflow(grpc::ServerContext* ctx,
                                     const workflow::v1::RetryArchivedWorkflowRequest* req,
                                     workflow::v1::ArchivedWorkflowReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

// `stub` must outlive the server. Register before the generic routes.
void RegisterArchiveRestRoutes(httplib::Server& http,
                               workflow::v1::ArchivedWorkflowService::StubInterface* stub);

}  // namespace argonaut::gateway
