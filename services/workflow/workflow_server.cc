#include "services/workflow/workflow_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "services/workflow/artifact_drivers.h"

namespace argonaut::workflow {

WorkflowServer::WorkflowServer(resource::ResourceApi* workflows, WorkflowServerOptions options)
    : workflows_(workflows), options_(std::move(options)), grpc_(workflows, options_.cluster) {
  grpc_.set_artifact_streamer(DriverStreamer(options_.cluster, options_.artifact_repository));
}

WorkflowServer::~WorkflowServer() { Stop(); }

absl::Status WorkflowServer::Start() {
  if (!options_.artifact_repository.empty()) {
    // Step pods bind-mount it, so it must exist before the first one starts.
    // It outlives the workflows: only artifact GC deletes from it.
    std::error_code ec;
    std::filesystem::create_directories(options_.artifact_repository, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("artifact repository ", options_.artifact_repository, ": ", ec.message()));
    }
  }
  if (options_.cluster != nullptr) {
    controller_ = std::make_unique<WorkflowController>(
        workflows_, options_.cluster,
        WorkflowControllerOptions{
            .metrics = options_.metrics,
            .artifact_repository = options_.artifact_repository,
            .delete_artifact = DriverDeleter(options_.cluster, options_.artifact_repository),
            .clock = options_.clock});
    RETURN_IF_ERROR(controller_->Start());
  } else {
    LogWarn("workflow",
            "no cluster: the workflow controller does not run; workflows are stored but never "
            "start, and pod logs are unavailable");
  }
  if (options_.cluster != nullptr) {
    archive_grpc_service();  // makes the archive
    retention_ = std::make_unique<RetentionController>(
        workflows_, options_.cluster, archive_.get(),
        RetentionControllerOptions{.defaults = options_.retention,
                                   .config_namespace = options_.controller_namespace,
                                   .clock = options_.clock});
    RETURN_IF_ERROR(retention_->Start());
  }
  // CronWorkflows submit through the same store the workflow controller watches.
  cron_ = std::make_unique<cron::CronWorkflowController>(
      workflows_, cron::CronControllerOptions{.clock = options_.clock});
  return cron_->Start();
}

grpc::Service* WorkflowServer::archive_grpc_service() {
  if (options_.store == nullptr) return nullptr;
  if (!archive_) {
    archive_ = std::make_unique<archive::WorkflowArchive>(options_.store);
    archive_grpc_ =
        std::make_unique<archive::ArchivedWorkflowGrpcService>(workflows_, archive_.get());
  }
  return archive_grpc_.get();
}

void WorkflowServer::Stop() {
  if (retention_) retention_->Stop();
  if (cron_) cron_->Stop();
  if (controller_) controller_->Stop();
}

}  // namespace argonaut::workflow
