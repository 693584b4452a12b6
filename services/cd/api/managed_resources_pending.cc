// Until the cd engine's Compare (services/cd/engine/compare.h) is in the tree: the API builds and
// answers everything else. Replaced by managed_resources.cc in BUILD.bazel when it lands.
#include "lib/server/grpc_status.h"
#include "services/cd/api/cd_api.h"

namespace argonaut::cd::api {

grpc::Status ApplicationGrpcService::ManagedResources(grpc::ServerContext*,
                                                      const v1::ResourcesQuery*,
                                                      v1::ManagedResourcesReply*) {
  return ToGrpcStatus(absl::UnimplementedError("managed resources need the cd engine's Compare"));
}

}  // namespace argonaut::cd::api
