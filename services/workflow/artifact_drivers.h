// The workflow service's side of the artifact drivers (lib/artifacts): deletes for artifact GC
// and streams for downloads, in this process, with Secrets read from the cluster in the
// workflow's namespace and the platform's local folder repository as `local` artifacts' root.
#pragma once

#include <string>

#include "services/workflow/api/artifact_download.h"
#include "services/workflow/controller.h"

namespace argonaut::workflow {

// For WorkflowControllerOptions::delete_artifact. `cluster` (may be null: no Secrets) must
// outlive the function.
std::function<absl::Status(const nlohmann::json& artifact, const std::string& ns)> DriverDeleter(
    cluster::Cluster* cluster, std::string local_root);

// For WorkflowGrpcService::set_artifact_streamer.
api::ArtifactStreamer DriverStreamer(cluster::Cluster* cluster, std::string local_root);

}  // namespace argonaut::workflow
