// Argo Server's artifact download paths, served by the gateway over WorkflowService.GetArtifact
// (a server stream, so an artifact is never held whole in memory):
//
//   GET
//   /artifact-files/{ns}/{workflow|archived-workflows}/{name|uid}/{nodeId}/{outputs|inputs}/{artifact}
//   GET /artifacts/{ns}/{name}/{nodeId}/{artifact}
//   GET /artifacts-by-uid/{uid}/{nodeId}/{artifact}
//   GET /input-artifacts/{ns}/{name}/{nodeId}/{artifact}
//   GET /input-artifacts-by-uid/{uid}/{nodeId}/{artifact}
//
// As Argo Server: 200 with the stored object's bytes, Content-Type by the object's extension,
// `Content-Disposition: filename="<base name of the key>"`; errors are the HTTP status with its
// status text as a plain-text body (404 for an unknown workflow, node or artifact). The rest
// guard covers these paths (bearer token), and the call is authorised as a get of the workflow.
#pragma once

#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// `stub` must outlive the server. RegisterWorkflowRestRoutes calls it.
void RegisterArtifactRestRoutes(httplib::Server& http,
                                workflow::v1::WorkflowService::StubInterface* stub);

}  // namespace argonaut::gateway
