// Argo Server's InfoService and SyncService paths, and the CronWorkflow suspend/resume paths,
// over the generic ResourceService (so a REST caller is judged by the same RBAC as a gRPC
// caller using ResourceService on the same objects):
//
//   GET    /api/v1/info                   InfoResponse (links, columns, navColor, modals)
//   POST   /api/v1/tracking/event         {} (Argo's UI telemetry; nothing is collected)
//   POST   /api/v1/sync/{namespace}       body CreateSyncLimitRequest
//   GET    /api/v1/sync/{namespace}/{key}?cmName=...[&type=CONFIGMAP]
//   PUT    /api/v1/sync/{namespace}/{key} body UpdateSyncLimitRequest
//   DELETE /api/v1/sync/{namespace}/{key}?cmName=...
//   PUT    /api/v1/cron-workflows/{namespace}/{name}/suspend|resume
//
// Sync limits are the semaphore limits the workflow controller reads (data[key] of the
// ConfigMap `cmName` in the namespace), as Argo's ConfigMap-type sync limits; the DATABASE
// type is refused (no synchronization database). Register before RegisterRestRoutes: the first
// matching route wins.
#pragma once

#include <string>

#include "argonaut/api/v1/resource.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// Argo's Version object: every field it requires, ours filled honestly ("unknown" for what the
// build does not stamp).
nlohmann::json ArgoVersionBody(const api::v1::VersionResponse& version);

// `api` must outlive the server.
void RegisterArgoServerRestRoutes(httplib::Server& http,
                                  api::v1::ResourceService::StubInterface* api);

}  // namespace argonaut::gateway
