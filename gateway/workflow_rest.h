// Argo Server's workflow-specific REST paths, served by the gateway over WorkflowService:
//
//   POST /api/v1/workflows/{ns}/lint                  lint
//   POST /api/v1/workflows/{ns}/submit                submit --from {resourceKind, resourceName,
//                                                     submitOptions}
//   PUT  /api/v1/workflows/{ns}/{name}/{resume|suspend|stop|terminate|retry|resubmit|set}
//   GET  /api/v1/workflows/{ns}/{name}/log?podName=&logOptions.container=&logOptions.follow=&grep=
//   GET  /api/v1/workflows/{ns}/{name}/{podName}/log
//   GET  /api/v1/workflow-events/{ns}?listOptions.fieldSelector=metadata.name=NAME
//
// Streams are newline-delimited {"result": {...}} lines, as grpc-gateway writes them. Register
// these before RegisterRestRoutes: httplib takes the first matching route, and the generic
// routes would otherwise answer POST /api/v1/workflows/{ns}/lint as an object path. Create, get,
// list, delete and watch stay on the generic routes (the store's validator checks the spec).
#pragma once

#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// `stub` must outlive the server.
void RegisterWorkflowRestRoutes(httplib::Server& http,
                                workflow::v1::WorkflowService::StubInterface* stub);

}  // namespace argonaut::gateway
