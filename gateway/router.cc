#include "gateway/router.h"

#include "absl/strings/str_cat.h"
#include "gateway/stream_forward.h"
#include "lib/buildinfo/build_info.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/kinds.h"

namespace argonaut::gateway {
ResourceRouter::ResourceRouter(std::map<std::string, std::shared_ptr<grpc::Channel>> channels) {
  for (auto& [name, channel] : channels) stubs_[name] = api::v1::ResourceService::NewStub(channel);
}

grpc::Status ResourceRouter::Route(const std::string& kind, api::v1::ResourceService::Stub** stub) {
  const resource::KindInfo* info = resource::FindKind(kind);
  if (info == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("the server doesn't have a resource type \"", kind, "\""));
  }
  auto it = stubs_.find(info->service);
  if (it == stubs_.end()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("the ", info->service, " service is not connected"));
  }
  *stub = it->second.get();
  return grpc::Status::OK;
}

#define ARGONAUT_FORWARD(Method, Request, Response)                                 \
  grpc::Status ResourceRouter::Method(grpc::ServerContext* ctx, const Request* req, \
                                      Response* resp) {                             \
    api::v1::ResourceService::Stub* stub = nullptr;                                 \
    if (grpc::Status s = Route(req->kind(), &stub); !s.ok()) return s;              \
    /* The downstream call inherits the caller's deadline, cancellation, token. */  \
    auto client = ForwardingContext(*ctx);                                          \
    return stub->Method(client.get(), *req, resp);                                  \
  }

ARGONAUT_FORWARD(Create, api::v1::CreateRequest, api::v1::Object)
ARGONAUT_FORWARD(Get, api::v1::GetRequest, api::v1::Object)
ARGONAUT_FORWARD(List, api::v1::ListRequest, api::v1::ListResponse)
ARGONAUT_FORWARD(Update, api::v1::UpdateRequest, api::v1::Object)
ARGONAUT_FORWARD(Delete, api::v1::DeleteRequest, api::v1::DeleteResponse)

#undef ARGONAUT_FORWARD

grpc::Status ResourceRouter::Watch(grpc::ServerContext* ctx, const api::v1::WatchRequest* req,
                                   grpc::ServerWriter<api::v1::WatchEvent>* writer) {
  api::v1::ResourceService::Stub* stub = nullptr;
  if (grpc::Status s = Route(req->kind(), &stub); !s.ok()) return s;
  return ForwardStream(ctx, stub, &api::v1::ResourceService::Stub::Watch, *req, writer);
}

grpc::Status ResourceRouter::ListKinds(grpc::ServerContext*, const api::v1::ListKindsRequest*,
                                       api::v1::ListKindsResponse* resp) {
  for (const resource::KindInfo& k : resource::AllKinds()) {
    resource::ToProto(k, resp->add_kinds());
  }
  return grpc::Status::OK;
}

grpc::Status ResourceRouter::Version(grpc::ServerContext*, const api::v1::VersionRequest*,
                                     api::v1::VersionResponse* resp) {
  resp->set_version(resource::kArgonautVersion);
  resp->set_git_commit(buildinfo::Stamp().git_commit);
  resp->set_build_date(buildinfo::Stamp().build_date);
  return grpc::Status::OK;
}

}  // namespace argonaut::gateway
