// WorkflowService: Argo Server's workflow API over the workflow store (a resource::ResourceApi)
// and the cluster (pods and their logs). Verbs are the pure actions of actions.h applied with a
// resourceVersion precondition and retried on conflict, since the controller writes the same
// object.
//
//   WorkflowGrpcService svc(&bundle.api(), &local_cluster);
//   server.AddService(&svc);
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "lib/cluster/cluster.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/workflow/api/artifact_download.h"

namespace argonaut::workflow::api {

// Splits a log byte stream into lines; a trailing partial line waits for more bytes.
class LineSplitter {
 public:
  // Complete lines in `chunk` (plus what was pending), without their '\n'.
  std::vector<std::string> Feed(std::string_view chunk);
  // The pending partial line, if any (end of stream).
  std::optional<std::string> Flush();

 private:
  std::string pending_;
};

// The pods of a workflow to read logs from, in creation order: labelled
// workflows.argoproj.io/workflow=<name>; `filter` (may be empty) keeps a pod whose name equals
// it or whose node (annotation workflows.argoproj.io/node-name) ends in "." + filter, so that
// `logs WF STEP` works with a step's name.
std::vector<nlohmann::json> SelectLogPods(std::vector<nlohmann::json> pods,
                                          const std::string& filter);

// Where one pod's log is read from: the live pod, or, once the pod is gone (pod GC, workflow
// deleted), its node's `main-logs` output artifact (archiveLogs).
struct LogSource {
  std::string pod;
  std::string sort_key;     // creation (pod) or start (node) time, RFC 3339
  nlohmann::json artifact;  // null: read the live pod
};

// The log sources of `wf` for a request naming `filter` (as SelectLogPods) and `container`:
// every pod of `pods` (the workflow's live pods) that `filter` selects, then each Pod node
// whose pod is not among them and which has a `main-logs` output artifact (main container
// only: archiveLogs keeps no other), ordered by time.
std::vector<LogSource> PlanLogSources(const nlohmann::json& wf, std::vector<nlohmann::json> pods,
                                      const std::string& filter, const std::string& container);

class WorkflowGrpcService final : public v1::WorkflowService::Service {
 public:
  // `workflows` serves Workflow and the template kinds; `cluster` may be null (no logs, no pod
  // cleanup). Both must outlive the service.
  WorkflowGrpcService(resource::ResourceApi* workflows, cluster::Cluster* cluster)
      : api_(workflows), cluster_(cluster) {}

  grpc::Status CreateWorkflow(grpc::ServerContext*, const v1::CreateWorkflowRequest* req,
                              v1::WorkflowReply* reply) override;
  grpc::Status SubmitWorkflow(grpc::ServerContext*, const v1::SubmitWorkflowRequest* req,
                              v1::WorkflowReply* reply) override;
  grpc::Status GetWorkflow(grpc::ServerContext*, const v1::GetWorkflowRequest* req,
                           v1::WorkflowReply* reply) override;
  grpc::Status ListWorkflows(grpc::ServerContext*, const v1::ListWorkflowsRequest* req,
                             v1::ListWorkflowsReply* reply) override;
  grpc::Status WatchWorkflows(grpc::ServerContext* ctx, const v1::WatchWorkflowsRequest* req,
                              grpc::ServerWriter<v1::WorkflowWatchEvent>* writer) override;
  grpc::Status DeleteWorkflow(grpc::ServerContext*, const v1::DeleteWorkflowRequest* req,
                              v1::DeleteWorkflowReply* reply) override;
  grpc::Status LintWorkflow(grpc::ServerContext*, const v1::LintWorkflowRequest* req,
                            v1::WorkflowReply* reply) override;
  grpc::Status ResubmitWorkflow(grpc::ServerContext*, const v1::ResubmitWorkflowRequest* req,
                                v1::WorkflowReply* reply) override;
  grpc::Status RetryWorkflow(grpc::ServerContext*, const v1::RetryWorkflowRequest* req,
                             v1::WorkflowReply* reply) override;
  grpc::Status ResumeWorkflow(grpc::ServerContext*, const v1::ResumeWorkflowRequest* req,
                              v1::WorkflowReply* reply) override;
  grpc::Status SuspendWorkflow(grpc::ServerContext*, const v1::WorkflowNameRequest* req,
                               v1::WorkflowReply* reply) override;
  grpc::Status StopWorkflow(grpc::ServerContext*, const v1::StopWorkflowRequest* req,
                            v1::WorkflowReply* reply) override;
  grpc::Status TerminateWorkflow(grpc::ServerContext*, const v1::WorkflowNameRequest* req,
                                 v1::WorkflowReply* reply) override;
  grpc::Status SetWorkflow(grpc::ServerContext*, const v1::SetWorkflowRequest* req,
                           v1::WorkflowReply* reply) override;
  grpc::Status WorkflowLogs(grpc::ServerContext* ctx, const v1::WorkflowLogsRequest* req,
                            grpc::ServerWriter<v1::LogEntry>* writer) override;
  grpc::Status GetArtifact(grpc::ServerContext* ctx, const v1::GetArtifactRequest* req,
                           grpc::ServerWriter<v1::ArtifactChunk>* writer) override {
    return ServeArtifact(api_, artifact_streamer_, ctx, *req, writer, archived_);
  }

  // How GetArtifact reads stored artifacts (the artifact drivers); unset: UNIMPLEMENTED. Set
  // before the server starts.
  void set_artifact_streamer(ArtifactStreamer streamer) {
    artifact_streamer_ = std::move(streamer);
  }
  // Where logs and artifacts of workflows deleted from the live store are found (the workflow
  // archive); unset: nowhere. Set before the server starts.
  void set_archived_lookup(ArchivedWorkflowLookup lookup) { archived_ = std::move(lookup); }

 private:
  // Get, change, Update with the read resourceVersion; on ABORTED (the controller wrote in
  // between) read again, a bounded number of times.
  absl::StatusOr<nlohmann::json> Mutate(const std::string& ns, const std::string& name,
                                        const std::function<absl::Status(nlohmann::json&)>& change);
  absl::StatusOr<nlohmann::json> Get(const std::string& kind, const std::string& ns,
                                     const std::string& name);
  absl::StatusOr<nlohmann::json> Create(nlohmann::json wf, const std::string& ns, bool dry_run);
  absl::Status DeletePods(const std::string& ns, const std::string& workflow,
                          const std::vector<std::string>& node_ids);

  resource::ResourceApi* const api_;
  cluster::Cluster* const cluster_;
  ArtifactStreamer artifact_streamer_;
  ArchivedWorkflowLookup archived_;
};

}  // namespace argonaut::workflow::api
