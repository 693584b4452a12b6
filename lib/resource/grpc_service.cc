#include "lib/resource/grpc_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/server/grpc_status.h"

namespace argonaut::resource {

void ToProto(const KindInfo& k, api::v1::KindInfo* out) {
  out->set_kind(k.kind);
  out->set_api_version(k.api_version);
  out->set_plural(k.plural);
  out->set_singular(k.singular);
  for (const auto& s : k.short_names) out->add_short_names(s);
  out->set_namespaced(k.namespaced);
  out->set_service(k.service);
}

grpc::Status ResourceGrpcService::Create(grpc::ServerContext*, const api::v1::CreateRequest* req,
                                         api::v1::Object* resp) {
  absl::StatusOr<std::string> out = api_->Create(req->kind(), req->json(), req->upsert());
  if (!out.ok()) return ToGrpcStatus(out.status());
  resp->set_json(std::move(*out));
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::Get(grpc::ServerContext*, const api::v1::GetRequest* req,
                                      api::v1::Object* resp) {
  absl::StatusOr<std::string> out = api_->Get(req->kind(), req->namespace_(), req->name());
  if (!out.ok()) return ToGrpcStatus(out.status());
  resp->set_json(std::move(*out));
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::List(grpc::ServerContext*, const api::v1::ListRequest* req,
                                       api::v1::ListResponse* resp) {
  auto out = api_->List(req->kind(), req->namespace_(), req->label_selector());
  if (!out.ok()) return ToGrpcStatus(out.status());
  for (std::string& item : out->first) resp->add_items()->set_json(std::move(item));
  resp->set_resource_version(absl::StrCat(out->second));
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::Update(grpc::ServerContext*, const api::v1::UpdateRequest* req,
                                         api::v1::Object* resp) {
  absl::StatusOr<std::string> out = api_->Update(req->kind(), req->json());
  if (!out.ok()) return ToGrpcStatus(out.status());
  resp->set_json(std::move(*out));
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::Delete(grpc::ServerContext*, const api::v1::DeleteRequest* req,
                                         api::v1::DeleteResponse*) {
  return ToGrpcStatus(
      api_->Delete(req->kind(), req->namespace_(), req->name(), req->resource_version()));
}

grpc::Status ResourceGrpcService::Watch(grpc::ServerContext* ctx,
                                        const api::v1::WatchRequest* req,
                                        grpc::ServerWriter<api::v1::WatchEvent>* writer) {
  auto watcher =
      api_->Watch(req->kind(), req->namespace_(), req->label_selector(), req->resource_version());
  if (!watcher.ok()) return ToGrpcStatus(watcher.status());
  while (!ctx->IsCancelled()) {
    auto events = (*watcher)->Next(absl::Now() + absl::Seconds(1));
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (auto& e : *events) {
      api::v1::WatchEvent out;
      out.set_type(e.type);
      out.mutable_object()->set_json(std::move(e.json));
      out.set_resource_version(absl::StrCat(e.resource_version));
      if (!writer->Write(out)) return grpc::Status::OK;  // client went away
    }
  }
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::ListKinds(grpc::ServerContext*,
                                            const api::v1::ListKindsRequest*,
                                            api::v1::ListKindsResponse* resp) {
  for (const KindInfo* k : KindsOfService(service_)) ToProto(*k, resp->add_kinds());
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::Version(grpc::ServerContext*, const api::v1::VersionRequest*,
                                          api::v1::VersionResponse* resp) {
  resp->set_version(kArgonautVersion);
  return grpc::Status::OK;
}

}  // namespace argonaut::resource
