// Argo CD's server API (argo-cd.swagger.json) for applications, repositories and projects, served
// by the gateway over the cd service's gRPC services:
//
//   GET    /api/v1/applications[?projects=&selector=&repo=&appNamespace=]   ApplicationList
//   POST   /api/v1/applications[?upsert=&validate=]          body Application
//   GET    /api/v1/applications/{name}[?refresh=normal|hard]
//   PUT    /api/v1/applications/{name}                       body Application
//   DELETE /api/v1/applications/{name}[?cascade=&propagationPolicy=]
//   POST   /api/v1/applications/{name}/sync                  body ApplicationSyncRequest
//   POST   /api/v1/applications/{name}/rollback              body {id, prune, dryRun}
//   GET    /api/v1/applications/{name}/manifests[?revision=]
//   GET    /api/v1/applications/{name}/managed-resources
//   GET    /api/v1/applications/{name}/resource-tree
//   DELETE /api/v1/applications/{name}/operation
//   PUT    /api/v1/applications/{name}/spec                  body ApplicationSpec
//   GET    /api/v1/stream/applications[?name=&projects=&selector=]   {"result": {type,
//   application}} lines GET    /api/v1/repositories, POST
//   /api/v1/repositories[?upsert=&skipValidation=] GET    /api/v1/repositories/{repo}, DELETE ...
//   (repo URL-escaped) POST
//   /api/v1/repositories/{repo}/validate[?username=&password=&sshPrivateKey=&insecure=] GET
//   /api/v1/projects, POST /api/v1/projects           body {project, upsert} GET|DELETE
//   /api/v1/projects/{name}, PUT /api/v1/projects/{name}   body {project} POST   /api/webhook a git
//   provider's push event
//
// Errors are grpc-gateway's {"error", "code", "message"}.
#pragma once

#include "argonaut/cd/v1/cd_service.grpc.pb.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

struct CdStubs {
  cd::v1::ApplicationService::StubInterface* applications = nullptr;
  cd::v1::RepositoryService::StubInterface* repositories = nullptr;
  cd::v1::ProjectService::StubInterface* projects = nullptr;
  // For /api/webhook, which git hosts call without a token (the cd service checks the HMAC
  // signature): a trusted stub. Null: `applications`.
  cd::v1::ApplicationService::StubInterface* webhook = nullptr;
};

// The stubs must outlive the server.
void RegisterCdRestRoutes(httplib::Server& http, CdStubs stubs);

}  // namespace argonaut::gateway
