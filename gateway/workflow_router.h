// WorkflowRouter: forwards WorkflowService calls from the gateway's gRPC server to the workflow
// service's channel; streams (watch, logs) are relayed and cancelled like ClusterRouter's.
#pragma once

#include <memory>

#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

class WorkflowRouter final : public workflow::v1::WorkflowService::Service {
 public:
  explicit WorkflowRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(workflow::v1::WorkflowService::NewStub(std::move(channel))) {}

  using Stub = workflow::v1::WorkflowService::Stub;
  using Reply = workflow::v1::WorkflowReply;

  grpc::Status CreateWorkflow(grpc::ServerContext* ctx,
                              const workflow::v1::CreateWorkflowRequest* req,
                              Reply* reply) override;
  grpc::Status SubmitWorkflow(grpc::ServerContext* ctx,
                              const workflow::v1::SubmitWorkflowRequest* req,
                              Reply* reply) override;
  grpc::Status GetWorkflow(grpc::ServerContext* ctx, const workflow::v1::GetWorkflowRequest* req,
                           Reply* reply) override;
  grpc::Status ListWorkflows(grpc::ServerContext* ctx,
                             const workflow::v1::ListWorkflowsRequest* req,
                             workflow::v1::ListWorkflowsReply* reply) override;
  grpc::Status WatchWorkflows(grpc::ServerContext* ctx,
                              const workflow::v1::WatchWorkflowsRequest* req,
                              grpc::ServerWriter<workflow::v1::WorkflowWatchEvent>* w) override;
  grpc::Status DeleteWorkflow(grpc::ServerContext* ctx,
                              const workflow::v1::DeleteWorkflowRequest* req,
                              workflow::v1::DeleteWorkflowReply* reply) override;
  grpc::Status LintWorkflow(grpc::ServerContext* ctx, const workflow::v1::LintWorkflowRequest* req,
                            Reply* reply) override;
  grpc::Status ResubmitWorkflow(grpc::ServerContext* ctx,
                                const workflow::v1::ResubmitWorkflowRequest* req,
                                Reply* reply) override;
  grpc::Status RetryWorkflow(grpc::ServerContext* ctx,
                             const workflow::v1::RetryWorkflowRequest* req, Reply* reply) override;
  grpc::Status ResumeWorkflow(grpc::ServerContext* ctx,
                              const workflow::v1::ResumeWorkflowRequest* req,
                              Reply* reply) override;
  grpc::Status SuspendWorkflow(grpc::ServerContext* ctx,
                               const workflow::v1::WorkflowNameRequest* req, Reply* reply) override;
  grpc::Status StopWorkflow(grpc::ServerContext* ctx, const workflow::v1::StopWorkflowRequest* req,
                            Reply* reply) override;
  grpc::Status TerminateWorkflow(grpc::ServerContext* ctx,
                                 const workflow::v1::WorkflowNameRequest* req,
                                 Reply* reply) override;
  grpc::Status SetWorkflow(grpc::ServerContext* ctx, const workflow::v1::SetWorkflowRequest* req,
                           Reply* reply) override;
  grpc::Status WorkflowLogs(grpc::ServerContext* ctx, const workflow::v1::WorkflowLogsRequest* req,
                            grpc::ServerWriter<workflow::v1::LogEntry>* w) override;
  grpc::Status GetArtifact(grpc::ServerContext* ctx, const workflow::v1::GetArtifactRequest* req,
                           grpc::ServerWriter<workflow::v1::ArtifactChunk>* w) override;

 private:
  std::unique_ptr<Stub> stub_;
};

}  // namespace argonaut::gateway
