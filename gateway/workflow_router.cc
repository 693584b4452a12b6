#include "gateway/workflow_router.h"

#include "gateway/stream_forward.h"

namespace argonaut::gateway {

namespace wf = ::argonaut::workflow::v1;

#define ARGONAUT_FORWARD(Method, Req, Resp)                                         \
  grpc::Status WorkflowRouter::Method(grpc::ServerContext* ctx, const wf::Req* req, \
                                      wf::Resp* resp) {                             \
    return ForwardUnary(ctx, stub_.get(), &Stub::Method, req, resp);                \
  }

ARGONAUT_FORWARD(CreateWorkflow, CreateWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(SubmitWorkflow, SubmitWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(GetWorkflow, GetWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(ListWorkflows, ListWorkflowsRequest, ListWorkflowsReply)
ARGONAUT_FORWARD(DeleteWorkflow, DeleteWorkflowRequest, DeleteWorkflowReply)
ARGONAUT_FORWARD(LintWorkflow, LintWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(ResubmitWorkflow, ResubmitWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(RetryWorkflow, RetryWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(ResumeWorkflow, ResumeWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(SuspendWorkflow, WorkflowNameRequest, WorkflowReply)
ARGONAUT_FORWARD(StopWorkflow, StopWorkflowRequest, WorkflowReply)
ARGONAUT_FORWARD(TerminateWorkflow, WorkflowNameRequest, WorkflowReply)
ARGONAUT_FORWARD(SetWorkflow, SetWorkflowRequest, WorkflowReply)

#undef ARGONAUT_FORWARD

grpc::Status WorkflowRouter::WatchWorkflows(grpc::ServerContext* ctx,
                                            const wf::WatchWorkflowsRequest* req,
                                            grpc::ServerWriter<wf::WorkflowWatchEvent>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::WatchWorkflows, *req, w);
}

grpc::Status WorkflowRouter::WorkflowLogs(grpc::ServerContext* ctx,
                                          const wf::WorkflowLogsRequest* req,
                                          grpc::ServerWriter<wf::LogEntry>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::WorkflowLogs, *req, w);
}

grpc::Status WorkflowRouter::GetArtifact(grpc::ServerContext* ctx,
                                         const wf::GetArtifactRequest* req,
                                         grpc::ServerWriter<wf::ArtifactChunk>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::GetArtifact, *req, w);
}

}  // namespace argonaut::gateway
