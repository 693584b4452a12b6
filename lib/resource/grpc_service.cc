#include "lib/resource/grpc_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/buildinfo/build_info.h"
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

grpc::Status ResourceGrpcService::Record(const char* method, const std::string& kind,
                                         absl::Time start, grpc::Status status) const {
  if (metrics_ != nullptr) {
    // Label by the canonical kind only: a caller must not be able to mint
    // label values (and so series) by sending made-up kind names.
    const KindInfo* info = FindKind(kind);
    metrics_->Observe(service_, method, info != nullptr ? info->kind : "unknown",
                      status.error_code(), absl::Now() - start);
  }
  return status;
}

grpc::Status ResourceGrpcService::Create(grpc::ServerContext*, const api::v1::CreateRequest* req,
                                         api::v1::Object* resp) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = api_->Create(req->kind(), req->json(), req->upsert());
  if (out.ok()) resp->set_json(std::move(*out));
  return Record("Create", req->kind(), start, ToGrpcStatus(out.status()));
}

grpc::Status ResourceGrpcService::Get(grpc::ServerContext*, const api::v1::GetRequest* req,
                                      api::v1::Object* resp) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = api_->Get(req->kind(), req->namespace_(), req->name());
  if (out.ok()) resp->set_json(std::move(*out));
  return Record("Get", req->kind(), start, ToGrpcStatus(out.status()));
}

grpc::Status ResourceGrpcService::List(grpc::ServerContext*, const api::v1::ListRequest* req,
                                       api::v1::ListResponse* resp) {
  const absl::Time start = absl::Now();
  auto out = api_->List(req->kind(), req->namespace_(), req->label_selector());
  if (out.ok()) {
    for (std::string& item : out->first) resp->add_items()->set_json(std::move(item));
    resp->set_resource_version(absl::StrCat(out->second));
  }
  return Record("List", req->kind(), start, ToGrpcStatus(out.status()));
}

grpc::Status ResourceGrpcService::Update(grpc::ServerContext*, const api::v1::UpdateRequest* req,
                                         api::v1::Object* resp) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> out;
  if (req->subresource().empty()) {
    out = api_->Update(req->kind(), req->json());
  } else if (req->subresource() == "status") {
    out = api_->UpdateStatus(req->kind(), req->json());
  } else {
    // Not echoed back: the caller's text stays out of the reply.
    out = absl::InvalidArgumentError("subresource: only \"status\" is supported");
  }
  if (out.ok()) resp->set_json(std::move(*out));
  return Record(req->subresource().empty() ? "Update" : "UpdateStatus", req->kind(), start,
                ToGrpcStatus(out.status()));
}

grpc::Status ResourceGrpcService::Delete(grpc::ServerContext*, const api::v1::DeleteRequest* req,
                                         api::v1::DeleteResponse*) {
  const absl::Time start = absl::Now();
  return Record("Delete", req->kind(), start,
                ToGrpcStatus(api_->Delete(req->kind(), req->namespace_(), req->name(),
                                          req->resource_version())));
}

grpc::Status ResourceGrpcService::Watch(grpc::ServerContext* ctx, const api::v1::WatchRequest* req,
                                        grpc::ServerWriter<api::v1::WatchEvent>* writer) {
  const absl::Time start = absl::Now();
  auto watcher =
      api_->Watch(req->kind(), req->namespace_(), req->label_selector(), req->resource_version());
  if (!watcher.ok()) return Record("Watch", req->kind(), start, ToGrpcStatus(watcher.status()));
  prometheus::Gauge* open =
      metrics_ != nullptr ? &metrics_->watchers.Add({{"service", service_}}) : nullptr;
  if (open != nullptr) open->Increment();
  grpc::Status result = grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    auto events = (*watcher)->Next(absl::Now() + absl::Seconds(1));
    if (!events.ok()) {
      result = ToGrpcStatus(events.status());
      break;
    }
    bool gone = false;
    for (auto& e : *events) {
      api::v1::WatchEvent out;
      out.set_type(e.type);
      out.mutable_object()->set_json(e.Json());
      out.set_resource_version(absl::StrCat(e.resource_version));
      if (!writer->Write(out)) {
        gone = true;  // client went away
        break;
      }
    }
    if (gone) break;
  }
  if (open != nullptr) open->Decrement();
  return Record("Watch", req->kind(), start, result);
}

grpc::Status ResourceGrpcService::ListKinds(grpc::ServerContext*, const api::v1::ListKindsRequest*,
                                            api::v1::ListKindsResponse* resp) {
  for (const KindInfo* k : KindsOfService(service_)) ToProto(*k, resp->add_kinds());
  return grpc::Status::OK;
}

grpc::Status ResourceGrpcService::Version(grpc::ServerContext*, const api::v1::VersionRequest*,
                                          api::v1::VersionResponse* resp) {
  resp->set_version(kArgonautVersion);
  resp->set_git_commit(buildinfo::Stamp().git_commit);
  resp->set_build_date(buildinfo::Stamp().build_date);
  return grpc::Status::OK;
}

}  // namespace argonaut::resource
