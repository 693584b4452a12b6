#include "lib/cluster/routed_cluster.h"

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/resource/kinds.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cluster {
namespace {

constexpr char kArgoGroupPrefix[] = "argoproj.io/";
// A watch's buffer between the stream and a slow consumer.
constexpr size_t kMaxBufferedEvents = 10000;

std::string StringField(const Object& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string VersionOf(const Object& o) {
  if (!o.is_object()) return "";
  auto meta = o.find("metadata");
  if (meta == o.end()) return "";
  return StringField(*meta, "resourceVersion");
}

// Never throws: invalid UTF-8 inside a string is replaced, not fatal.
std::string Dump(const Object& o) {
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<Object> ParseReply(const std::string& json, const char* what) {
  absl::StatusOr<Object> o = manifest::ParseJsonText(json);
  if (!o.ok()) {
    return absl::InternalError(
        absl::StrCat(what, ": resource service sent invalid JSON: ", o.status().message()));
  }
  return o;
}

uint64_t ParseVersion(const std::string& v) {
  uint64_t out = 0;
  if (!absl::SimpleAtoi(v, &out)) return 0;
  return out;
}

// Follows one ResourceService watch stream from a version; ends (UNAVAILABLE)
// when the stream does, so that the consumer re-lists.
class StubWatch : public Watch {
 public:
  StubWatch(api::v1::ResourceService::StubInterface* stub, api::v1::WatchRequest request,
            std::vector<WatchEvent> initial)
      : queue_(std::make_move_iterator(initial.begin()), std::make_move_iterator(initial.end())) {
    reader_ = stub->Watch(&ctx_, request);
    thread_ = std::thread([this] { Run(); });
  }

  ~StubWatch() override {
    Cancel();
    thread_.join();
  }

  absl::StatusOr<std::vector<WatchEvent>> Next(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    while (queue_.empty() && !ended_ && !cancelled_) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) break;
    }
    if (!queue_.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
      queue_.clear();
      cv_.SignalAll();
      return out;
    }
    if (cancelled_) return absl::CancelledError("watch cancelled");
    if (ended_) return final_;
    return std::vector<WatchEvent>{};
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    ctx_.TryCancel();
    cv_.SignalAll();
  }

 private:
  void Run() {
    api::v1::WatchEvent proto;
    absl::Status bad;
    while (reader_->Read(&proto)) {
      WatchEvent e{.type = proto.type()};
      absl::StatusOr<Object> o = ParseReply(proto.object().json(), "watch event");
      if (!o.ok()) {
        bad = o.status();
        ctx_.TryCancel();
        break;
      }
      e.object = std::move(*o);
      e.resource_version = ParseVersion(proto.resource_version());
      absl::MutexLock lock(&mu_);
      while (queue_.size() >= kMaxBufferedEvents && !cancelled_) cv_.Wait(&mu_);
      if (cancelled_) break;
      queue_.push_back(std::move(e));
      cv_.SignalAll();
    }
    while (reader_->Read(&proto)) {
    }
    const absl::Status status = FromGrpcStatus(reader_->Finish());
    absl::MutexLock lock(&mu_);
    ended_ = true;
    if (!bad.ok()) {
      final_ = bad;
    } else if (status.ok() || absl::IsCancelled(status)) {
      final_ = absl::UnavailableError("resource service watch stream ended");
    } else {
      final_ = status;
    }
    cv_.SignalAll();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderInterface<api::v1::WatchEvent>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<WatchEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

RoutedCluster::RoutedCluster(Cluster* base, api::v1::ResourceService::StubInterface* resources,
                             RoutedClusterOptions options)
    : base_(base), resources_(resources), options_(options) {}

bool RoutedCluster::IsArgoKind(std::string_view kind) {
  const resource::KindInfo* info = resource::FindKind(kind);
  return info != nullptr && absl::StartsWith(info->api_version, kArgoGroupPrefix);
}

absl::StatusOr<bool> RoutedCluster::Routed(const Object& object) const {
  const std::string kind = StringField(object, "kind");
  if (kind.empty()) return absl::InvalidArgumentError("kind: required");
  const std::string api_version = StringField(object, "apiVersion");
  if (!api_version.empty()) return absl::StartsWith(api_version, kArgoGroupPrefix);
  return IsArgoKind(kind);
}

absl::Status RoutedCluster::NeedResources(std::string_view kind) const {
  if (resources_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(kind),
                   ": argoproj.io kinds go to their service's resource API, and none is "
                   "configured"));
}

absl::StatusOr<Object> RoutedCluster::Write(const Object& object, bool create, bool upsert,
                                            const char* subresource) {
  const std::string kind = StringField(object, "kind");
  RETURN_IF_ERROR(NeedResources(kind));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  api::v1::Object reply;
  grpc::Status status;
  if (create) {
    api::v1::CreateRequest req;
    req.set_kind(kind);
    req.set_json(Dump(object));
    req.set_upsert(upsert);
    status = resources_->Create(&ctx, req, &reply);
  } else {
    api::v1::UpdateRequest req;
    req.set_kind(kind);
    req.set_json(Dump(object));
    req.set_subresource(subresource);
    status = resources_->Update(&ctx, req, &reply);
  }
  RETURN_IF_ERROR(FromGrpcStatus(status));
  return ParseReply(reply.json(), create ? "create" : "update");
}

absl::StatusOr<Object> RoutedCluster::Apply(const Object& object) {
  ASSIGN_OR_RETURN(bool routed, Routed(object));
  if (!routed) return base_->Apply(object);
  return Write(object, /*create=*/true, /*upsert=*/true, "");
}

absl::StatusOr<Object> RoutedCluster::Create(const Object& object) {
  ASSIGN_OR_RETURN(bool routed, Routed(object));
  if (!routed) return base_->Create(object);
  return Write(object, /*create=*/true, /*upsert=*/false, "");
}

absl::StatusOr<Object> RoutedCluster::Update(const Object& object) {
  ASSIGN_OR_RETURN(bool routed, Routed(object));
  if (!routed) return base_->Update(object);
  return Write(object, /*create=*/false, /*upsert=*/false, "");
}

absl::StatusOr<Object> RoutedCluster::UpdateStatus(const Object& object) {
  ASSIGN_OR_RETURN(bool routed, Routed(object));
  if (!routed) return base_->UpdateStatus(object);
  return Write(object, /*create=*/false, /*upsert=*/false, "status");
}

absl::StatusOr<Object> RoutedCluster::Get(std::string_view kind, std::string_view ns,
                                          std::string_view name) {
  if (!IsArgoKind(kind)) return base_->Get(kind, ns, name);
  RETURN_IF_ERROR(NeedResources(kind));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  api::v1::GetRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_name(std::string(name));
  api::v1::Object reply;
  RETURN_IF_ERROR(FromGrpcStatus(resources_->Get(&ctx, req, &reply)));
  return ParseReply(reply.json(), "get");
}

absl::StatusOr<std::vector<Object>> RoutedCluster::List(std::string_view kind, std::string_view ns,
                                                        std::string_view selector) {
  if (!IsArgoKind(kind)) return base_->List(kind, ns, selector);
  RETURN_IF_ERROR(NeedResources(kind));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  api::v1::ListRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_label_selector(std::string(selector));
  api::v1::ListResponse reply;
  RETURN_IF_ERROR(FromGrpcStatus(resources_->List(&ctx, req, &reply)));
  std::vector<Object> out;
  out.reserve(reply.items_size());
  for (const api::v1::Object& item : reply.items()) {
    ASSIGN_OR_RETURN(Object o, ParseReply(item.json(), "list"));
    out.push_back(std::move(o));
  }
  return out;
}

absl::Status RoutedCluster::Delete(std::string_view kind, std::string_view ns,
                                   std::string_view name) {
  if (!IsArgoKind(kind)) return base_->Delete(kind, ns, name);
  RETURN_IF_ERROR(NeedResources(kind));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  api::v1::DeleteRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_name(std::string(name));
  api::v1::DeleteResponse reply;
  return FromGrpcStatus(resources_->Delete(&ctx, req, &reply));
}

absl::StatusOr<std::unique_ptr<Watch>> RoutedCluster::WatchObjects(
    std::string_view kind, std::string_view ns, std::string_view selector,
    std::string_view resource_version) {
  if (!IsArgoKind(kind)) return base_->WatchObjects(kind, ns, selector, resource_version);
  RETURN_IF_ERROR(NeedResources(kind));
  api::v1::WatchRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_label_selector(std::string(selector));
  std::vector<WatchEvent> initial;
  if (resource_version.empty() || resource_version == "0") {
    // List, then follow from the list's version, so that the resume point
    // covers every listed object.
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    api::v1::ListRequest list;
    list.set_kind(req.kind());
    list.set_namespace_(req.namespace_());
    list.set_label_selector(req.label_selector());
    api::v1::ListResponse reply;
    RETURN_IF_ERROR(FromGrpcStatus(resources_->List(&ctx, list, &reply)));
    for (const api::v1::Object& item : reply.items()) {
      WatchEvent e{.type = "ADDED"};
      ASSIGN_OR_RETURN(e.object, ParseReply(item.json(), "list"));
      e.resource_version = ParseVersion(VersionOf(e.object));
      initial.push_back(std::move(e));
    }
    req.set_resource_version(reply.resource_version());
  } else {
    req.set_resource_version(std::string(resource_version));
  }
  return std::unique_ptr<Watch>(new StubWatch(resources_, std::move(req), std::move(initial)));
}

absl::Status RoutedCluster::Logs(std::string_view ns, std::string_view pod,
                                 const LogOptions& options, const LogSink& sink) {
  return base_->Logs(ns, pod, options, sink);
}

absl::Status RoutedCluster::SetTrafficSplit(std::string_view ns, std::string_view service,
                                            const TrafficSplit& split) {
  return base_->SetTrafficSplit(ns, service, split);
}

}  // namespace argonaut::cluster
