// Downloads of a workflow's artifacts (WorkflowService.GetArtifact, behind Argo Server's
// /artifact-files, /artifacts, /artifacts-by-uid, /input-artifacts and /input-artifacts-by-uid
// paths): finds the artifact in the workflow's status and streams its stored object through
// the artifact drivers.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::api {

// Streams the stored object of `artifact` (a node's artifact with its complete location) of a
// workflow in namespace `ns` to `sink`, in order (artifacts::Driver::OpenStream).
using ArtifactStreamer =
    std::function<absl::Status(const nlohmann::json& artifact, const std::string& ns,
                               const std::function<absl::Status(std::string_view chunk)>& sink)>;

// Finds a workflow in the workflow archive, for one deleted from the live store: by `uid` when
// set (and then in `ns` only when `ns` is set), else the most recently started one named `name`
// in `ns`. NotFound when the archive has none.
using ArchivedWorkflowLookup = std::function<absl::StatusOr<nlohmann::json>(
    const std::string& ns, const std::string& name, const std::string& uid)>;

// The artifact `name` of node `node_id` (its id; a node's name is accepted too) in `wf`'s
// status, inputs or outputs. NotFound names what is missing; FailedPrecondition when artifact GC
// deleted it; InvalidArgument when it has no stored location (a parameter-only artifact).
absl::StatusOr<nlohmann::json> FindNodeArtifact(const nlohmann::json& wf,
                                                const std::string& node_id, const std::string& name,
                                                bool input);

// The base name of the artifact's stored object ("hello-art.tgz"); its name when the location
// has no key.
std::string ArtifactFileName(const nlohmann::json& artifact);

// The content type Argo Server sends for a file of that name (by extension; unknown:
// application/octet-stream).
std::string ContentTypeFor(std::string_view file_name);

// The workflow a request names: by namespace/name, or by uid across namespaces; when the live
// store has none, from `archived` (may be null).
absl::StatusOr<nlohmann::json> WorkflowForArtifact(
    resource::ResourceApi* workflows, const v1::GetArtifactRequest& req,
    const ArchivedWorkflowLookup& archived = nullptr);

// The whole rpc: looks the artifact up and streams it as ArtifactChunks of at most 1 MiB, the
// first carrying file_name and content_type. An error before the first chunk is the rpc's
// status (so the gateway can still answer 404); `streamer` null: UNIMPLEMENTED.
grpc::Status ServeArtifact(resource::ResourceApi* workflows, const ArtifactStreamer& streamer,
                           grpc::ServerContext* ctx, const v1::GetArtifactRequest& req,
                           grpc::ServerWriterInterface<v1::ArtifactChunk>* writer,
                           const ArchivedWorkflowLookup& archived = nullptr);

}  // namespace argonaut::workflow::api
