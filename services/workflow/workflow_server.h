// WorkflowServer: everything the workflow service runs beside its resource
// API — the WorkflowService gRPC API, the workflow controller and the
// CronWorkflow controller — wired once, so that `argonaut up`
// (gateway/platform.cc) and the standalone binary (main.cc) run the same
// parts. The caller owns the store and the gRPC server.
//
//   WorkflowServer wf(&bundle.api(), {.cluster = cluster, .metrics = &registry});
//   server.AddService(wf.grpc_service());
//   RETURN_IF_ERROR(wf.Start());   // controllers
//   ...
//   wf.Stop();
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "lib/store/store.h"
#include "services/workflow/api/workflow_service.h"
#include "services/workflow/archive/archive.h"
#include "services/workflow/archive/archive_service.h"
#include "services/workflow/controller.h"
#include "services/workflow/cron/cron_controller.h"
#include "services/workflow/gc.h"
#include "services/workflow/gc_controller.h"

namespace argonaut::workflow {

struct WorkflowServerOptions {
  // Where step pods run: the LocalCluster in process, or a RemoteCluster.
  // Null: no workflow controller (workflows are stored but never run) and no
  // pod logs; CronWorkflows still submit.
  cluster::Cluster* cluster = nullptr;
  // Host directory of the local artifact repository, as the cluster's pods
  // see it; created by Start. Empty: none.
  std::string artifact_repository;
  // May be null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // The workflow store, opened with archive::kArchiveFamily: the workflow archive lives there.
  // Null: no archive (and no ArchivedWorkflowService).
  store::Store* store = nullptr;
  // Archive, ttlStrategy and podGC defaults, overridden by the controller ConfigMap
  // (workflow-controller-configmap in controller_namespace); applied with a cluster only.
  gc::RetentionConfig retention;
  std::string controller_namespace = "argo";
  // The workflow, cron and retention controllers' time. Not owned; null: the real clock.
  controller::Clock* clock = nullptr;
};

class WorkflowServer {
 public:
  // `workflows` (the workflow store's API) and the options' cluster and
  // metrics must outlive the server.
  WorkflowServer(resource::ResourceApi* workflows, WorkflowServerOptions options);
  ~WorkflowServer();

  // Add to the service's gRPC server before it starts.
  grpc::Service* grpc_service() { return &grpc_; }
  // Starts the controllers; the workflow controller only with a cluster.
  absl::Status Start();
  // Stops the controllers. Idempotent.
  void Stop();

  bool runs_controller() const { return controller_ != nullptr; }

  // Argo's ArchivedWorkflowService; null without a store. Add it before the server starts.
  grpc::Service* archive_grpc_service();

 private:
  resource::ResourceApi* const workflows_;
  const WorkflowServerOptions options_;
  api::WorkflowGrpcService grpc_;
  std::unique_ptr<WorkflowController> controller_;
  std::unique_ptr<cron::CronWorkflowController> cron_;
  std::unique_ptr<archive::WorkflowArchive> archive_;
  std::unique_ptr<archive::ArchivedWorkflowGrpcService> archive_grpc_;
  std::unique_ptr<RetentionController> retention_;
};

}  // namespace argonaut::workflow
