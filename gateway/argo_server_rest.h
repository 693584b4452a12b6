// Argo Server's InfoService and SyncService paths, and the CronWorkflow suspend/resume paths,
// over the generic ResourceService (so a REST caller is judged by the same RBAC as a gRPC
// caller using ResourceService on the same objects):
//
//   GET    /api/v1/info                   InfoResponse (links, columns, navColor, modals), read
//                                         from the controller's ConfigMap at each request
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

#include "absl/status/statusor.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// Argo's InfoResponse from the workflow controller's ConfigMap (`workflow-controller-configmap`:
// keys `links`, `columns` and `navColor`, or the same under a `config` YAML document, as Argo's
// config): each link {name, scope, url, target}, each column {name, type: label|annotation,
// key}. A null `configmap` (none stored) gives the empty answer; a malformed key is
// INVALID_ARGUMENT naming it.
absl::StatusOr<nlohmann::json> ArgoInfoBody(const nlohmann::json& configmap);

// Argo's Version object: every field it requires, ours filled honestly: the commit, tree state,
// tag and date the build stamped (lib/buildinfo; "unknown" when it stamped nothing).
nlohmann::json ArgoVersionBody(const api::v1::VersionResponse& version);

// `api` must outlive the server. `config_api` (null: `api`) reads the controller's ConfigMap
// for /api/v1/info on the server's own behalf, as Argo Server reads its configuration, so that
// any authenticated caller gets the links and columns; it must outlive the server too.
void RegisterArgoServerRestRoutes(httplib::Server& http,
                                  api::v1::ResourceService::StubInterface* api,
                                  api::v1::ResourceService::StubInterface* config_api = nullptr);

}  // namespace argonaut::gateway
