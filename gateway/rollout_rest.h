// Argo Rollouts' own server API (its dashboard's REST paths, argo-rollouts.swagger.json), served
// by the gateway over RolloutService:
//
//   GET /api/v1/rollouts/{ns}/info                    rollout.RolloutInfoList
//   GET /api/v1/rollouts/{ns}/info/watch              stream of {"result": RolloutWatchEvent}
//   GET /api/v1/rollouts/{ns}/{name}/info             rollout.RolloutInfo
//   GET /api/v1/rollouts/{ns}/{name}/info/watch       stream of {"result": RolloutInfo}
//   PUT /api/v1/rollouts/{ns}/{name}/{promote|abort|retry|restart}     the Rollout
//   PUT /api/v1/rollouts/{ns}/{name}/pause            (Argonaut's; body {"paused": bool})
//   PUT /api/v1/rollouts/{ns}/{name}/undo/{revision}
//   PUT /api/v1/rollouts/{ns}/{name}/set/{container}/{image}/{tag}    (image may hold '/')
//   GET /api/v1/version                               {"rolloutsVersion", "version"}
//   GET /api/v1/namespace                             rollout.NamespaceInfo
//
// Register these before RegisterRestRoutes: httplib takes the first matching route, and the
// generic routes would otherwise take /api/v1/rollouts/{ns}/info for an object named "info".
// Errors are grpc-gateway's {"error", "code", "message"}.
#pragma once

#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// `stub` must outlive the server. /api/v1/version answers Argo Workflows' "version" (Argonaut's)
// and Argo Rollouts' "rolloutsVersion" in one body, since both servers use that path.
void RegisterRolloutRestRoutes(httplib::Server& http,
                               rollout::v1::RolloutService::StubInterface* stub);

}  // namespace argonaut::gateway
