#include "services/workflow/workflow_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "services/workflow/artifact_drivers.h"

namespace argonaut::workflow {
namespace {

absl::StatusOr<nlohmann::json> FindArchived(archive::WorkflowArchive* archive,
                                            const std::string& ns, const std::string& name,
                                            const std::string& uid) {
  std::string id = uid;
  if (id.empty()) {
    // Newest first: a name reused by a later run finds that run.
    ASSIGN_OR_RETURN(
        archive::ArchiveListResult page,
        archive->List(
            {.ns = ns, .field_selector = absl::StrCat("metadata.name=", name), .limit = 1}));
    if (page.items.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no archived workflow named \"", name, "\" in namespace ", ns));
    }
    id = page.items[0].value("metadata", nlohmann::json::object()).value("uid", "");
  }
  ASSIGN_OR_RETURN(nlohmann::json wf, archive->Get(id));
  // Answered as absent: the caller's permission covers only that namespace.
  if (!ns.empty() && wf.value("metadata", nlohmann::json::object()).value("namespace", "") != ns) {
    return absl::NotFoundError(absl::StrCat("archived workflow \"", id, "\" not found"));
  }
  return wf;
}

}  // namespace

WorkflowServer::WorkflowServer(resource::ResourceApi* workflows, WorkflowServerOptions options)
    : workflows_(workflows), options_(std::move(options)), grpc_(workflows, options_.cluster) {
  grpc_.set_artifact_streamer(DriverStreamer(options_.cluster, options_.artifact_repository));
  // Made now, before any rpc thread can ask for it.
  if (archive_grpc_service() != nullptr) {
    grpc_.set_archived_lookup([archive = archive_.get()](const std::string& ns,
                                                         const std::string& name,
                                                         const std::string& uid) {
      return FindArchived(archive, ns, name, uid);
    });
  }
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
