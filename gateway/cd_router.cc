#include "gateway/cd_router.h"

#include "gateway/stream_forward.h"

namespace argonaut::gateway {

namespace cd1 = ::argonaut::cd::v1;

#define ARGONAUT_FORWARD(Router, Method, Req, Resp)                                             \
  grpc::Status Router::Method(grpc::ServerContext* ctx, const cd1::Req* req, cd1::Resp* resp) { \
    return ForwardUnary(ctx, stub_.get(), &Stub::Method, req, resp);                            \
  }

ARGONAUT_FORWARD(CdApplicationRouter, Create, ApplicationCreateRequest, ApplicationReply)
ARGONAUT_FORWARD(CdApplicationRouter, Get, ApplicationQuery, ApplicationReply)
ARGONAUT_FORWARD(CdApplicationRouter, List, ApplicationQuery, ApplicationListReply)
ARGONAUT_FORWARD(CdApplicationRouter, Update, ApplicationUpdateRequest, ApplicationReply)
ARGONAUT_FORWARD(CdApplicationRouter, UpdateSpec, ApplicationUpdateSpecRequest,
                 ApplicationSpecReply)
ARGONAUT_FORWARD(CdApplicationRouter, Delete, ApplicationDeleteRequest, ApplicationDeleteReply)
ARGONAUT_FORWARD(CdApplicationRouter, Sync, ApplicationSyncRequest, ApplicationReply)
ARGONAUT_FORWARD(CdApplicationRouter, Rollback, ApplicationRollbackRequest, ApplicationReply)
ARGONAUT_FORWARD(CdApplicationRouter, TerminateOperation, ApplicationName, OperationTerminateReply)
ARGONAUT_FORWARD(CdApplicationRouter, ManagedResources, ResourcesQuery, ManagedResourcesReply)
ARGONAUT_FORWARD(CdApplicationRouter, ResourceTree, ResourcesQuery, ResourceTreeReply)
ARGONAUT_FORWARD(CdApplicationRouter, GetManifests, ApplicationManifestQuery, ManifestReply)
ARGONAUT_FORWARD(CdApplicationRouter, Webhook, WebhookRequest, WebhookReply)

ARGONAUT_FORWARD(CdRepositoryRouter, Create, RepoCreateRequest, RepositoryReply)
ARGONAUT_FORWARD(CdRepositoryRouter, List, RepoQuery, RepositoryListReply)
ARGONAUT_FORWARD(CdRepositoryRouter, Get, RepoQuery, RepositoryReply)
ARGONAUT_FORWARD(CdRepositoryRouter, Delete, RepoQuery, RepoDeleteReply)
ARGONAUT_FORWARD(CdRepositoryRouter, ValidateAccess, RepoAccessQuery, RepoValidateReply)

ARGONAUT_FORWARD(CdProjectRouter, Create, ProjectCreateRequest, ProjectReply)
ARGONAUT_FORWARD(CdProjectRouter, Get, ProjectQuery, ProjectReply)
ARGONAUT_FORWARD(CdProjectRouter, List, ProjectQuery, ProjectListReply)
ARGONAUT_FORWARD(CdProjectRouter, Update, ProjectUpdateRequest, ProjectReply)
ARGONAUT_FORWARD(CdProjectRouter, Delete, ProjectQuery, ProjectDeleteReply)

#undef ARGONAUT_FORWARD

grpc::Status CdApplicationRouter::Watch(grpc::ServerContext* ctx, const cd1::ApplicationQuery* req,
                                        grpc::ServerWriter<cd1::ApplicationWatchEvent>* w) {
  return ForwardStream(ctx, stub_.get(), &Stub::Watch, *req, w);
}

}  // namespace argonaut::gateway
