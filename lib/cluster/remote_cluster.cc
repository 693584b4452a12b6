#include "lib/cluster/remote_cluster.h"

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/auth/channel.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/manifest/json_text.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cluster {
namespace {

constexpr char kComponent[] = "remote-cluster";
// Replies carry whole pod lists; gRPC's 4 MB default is too small for a big
// namespace.
constexpr int kMaxMessageBytes = 64 << 20;
// Bytes of a followed log held between the stream and a slow sink.
constexpr size_t kMaxBufferedLogBytes = 4 << 20;

absl::StatusOr<std::string> KindField(const Object& o) {
  if (!o.is_object()) return absl::InvalidArgumentError("object must be a JSON object");
  auto it = o.find("kind");
  if (it == o.end() || !it->is_string()) return absl::InvalidArgumentError("kind: required");
  return it->get<std::string>();
}

absl::StatusOr<Object> ParseReply(const std::string& json, const char* what) {
  absl::StatusOr<Object> o = manifest::ParseJsonText(json);
  if (!o.ok()) {
    return absl::InternalError(
        absl::StrCat(what, ": cluster service sent invalid JSON: ", o.status().message()));
  }
  return o;
}

// Never throws: invalid UTF-8 in a string (a log line in a status message)
// is replaced rather than failing the whole write.
std::string Dump(const Object& o) {
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string VersionOf(const Object& o) {
  if (!o.is_object()) return "";
  auto meta = o.find("metadata");
  if (meta == o.end() || !meta->is_object()) return "";
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : "";
}

absl::StatusOr<uint64_t> ParseVersion(const std::string& v, const char* what) {
  uint64_t out = 0;
  if (!v.empty() && !absl::SimpleAtoi(v, &out)) {
    return absl::InternalError(absl::StrCat(what, ": bad resourceVersion \"", v.substr(0, 32),
                                            "\" from the cluster service"));
  }
  return out;
}

absl::StatusOr<WatchEvent> FromProto(const api::v1::WatchEvent& e) {
  WatchEvent out;
  out.type = e.type();
  ASSIGN_OR_RETURN(out.object, ParseReply(e.object().json(), "watch event"));
  ASSIGN_OR_RETURN(out.resource_version, ParseVersion(e.resource_version(), "watch event"));
  return out;
}

// Codes after which reopening the stream cannot help; everything else
// (UNAVAILABLE, a server restart's CANCELLED, a clean end of the stream) is
// a dropped connection.
bool Permanent(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

class RemoteWatch : public Watch {
 public:
  RemoteWatch(api::v1::ResourceService::Stub* stub, api::v1::WatchRequest request,
              std::vector<WatchEvent> initial, const RemoteClusterOptions& options)
      : stub_(stub), request_(std::move(request)), options_(options) {
    queue_.insert(queue_.end(), std::make_move_iterator(initial.begin()),
                  std::make_move_iterator(initial.end()));
    thread_ = std::thread([this] { Run(); });
  }

  ~RemoteWatch() override {
    Cancel();
    thread_.join();
  }

  absl::StatusOr<std::vector<WatchEvent>> Next(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    while (queue_.empty() && final_.ok() && !cancelled_) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) break;
    }
    if (!queue_.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
      queue_.clear();
      cv_.SignalAll();  // room for the stream again
      return out;
    }
    if (!final_.ok()) return final_;
    if (cancelled_) return absl::CancelledError("watch cancelled");
    return std::vector<WatchEvent>{};
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
    cv_.SignalAll();
  }

 private:
  void Run() {
    absl::Duration backoff = options_.reconnect_initial;
    while (true) {
      grpc::ClientContext* ctx;
      api::v1::WatchRequest request = request_;
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_) return;
        ctx_ = std::make_unique<grpc::ClientContext>();
        ctx = ctx_.get();
        request.set_resource_version(from_.empty() ? request_.resource_version() : from_);
      }
      std::unique_ptr<grpc::ClientReader<api::v1::WatchEvent>> reader = stub_->Watch(ctx, request);
      api::v1::WatchEvent proto;
      absl::Status bad_event;
      bool left_early = false;
      while (reader->Read(&proto)) {
        absl::StatusOr<WatchEvent> e = FromProto(proto);
        if (!e.ok()) {
          bad_event = e.status();
          ctx->TryCancel();
          left_early = true;
          break;
        }
        absl::MutexLock lock(&mu_);
        while (queue_.size() >= options_.max_buffered_events && !cancelled_) cv_.Wait(&mu_);
        if (cancelled_) {
          left_early = true;
          break;
        }
        from_ = absl::StrCat(e->resource_version);
        queue_.push_back(std::move(*e));
        cv_.SignalAll();
        backoff = options_.reconnect_initial;
      }
      // Drains the rest of a cancelled stream so Finish does not block.
      while (left_early && reader->Read(&proto)) {
      }
      const absl::Status status = FromGrpcStatus(reader->Finish());
      absl::MutexLock lock(&mu_);
      ctx_.reset();
      if (cancelled_) return;
      if (!bad_event.ok() || Permanent(status)) {
        final_ = !bad_event.ok() ? bad_event : status;
        cv_.SignalAll();
        return;
      }
      LogWarn(kComponent, "watch stream dropped, reopening",
              {{"kind", request_.kind()},
               {"from", from_},
               {"error", status.ok() ? "stream ended" : status.ToString()},
               {"retry_in", absl::FormatDuration(backoff)}});
      const absl::Time wake = absl::Now() + backoff;
      while (!cancelled_ && !cv_.WaitWithDeadline(&mu_, wake)) {
      }
      if (cancelled_) return;
      backoff = std::min(backoff * 2, options_.reconnect_max);
    }
  }

  api::v1::ResourceService::Stub* const stub_;
  const api::v1::WatchRequest request_;
  const RemoteClusterOptions options_;
  std::thread thread_;

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<WatchEvent> queue_ ABSL_GUARDED_BY(mu_);
  // The version after the last delivered event: where a new stream resumes.
  std::string from_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);
  absl::Status final_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::unique_ptr<RemoteCluster> RemoteCluster::Connect(const std::string& address,
                                                      RemoteClusterOptions options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // gRPC's default reconnect backoff grows to two minutes; a restarted
  // cluster service should be found again within seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // The process' service identity (service token, TLS) set by service_main.
  return std::make_unique<RemoteCluster>(auth::ServiceChannel(address, args), options);
}

RemoteCluster::RemoteCluster(std::shared_ptr<grpc::Channel> channel, RemoteClusterOptions options)
    : channel_(std::move(channel)),
      options_(options),
      resources_(api::v1::ResourceService::NewStub(channel_)),
      logs_(v1::ClusterService::NewStub(channel_)) {}

void RemoteCluster::Prepare(grpc::ClientContext& ctx) const {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
}

absl::StatusOr<Object> RemoteCluster::Write(const Object& object, bool create, bool upsert,
                                            const char* subresource) {
  ASSIGN_OR_RETURN(std::string kind, KindField(object));
  grpc::ClientContext ctx;
  Prepare(ctx);
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

absl::StatusOr<Object> RemoteCluster::Apply(const Object& object) {
  return Write(object, /*create=*/true, /*upsert=*/true, "");
}

absl::StatusOr<Object> RemoteCluster::Create(const Object& object) {
  return Write(object, /*create=*/true, /*upsert=*/false, "");
}

absl::StatusOr<Object> RemoteCluster::Update(const Object& object) {
  return Write(object, /*create=*/false, /*upsert=*/false, "");
}

absl::StatusOr<Object> RemoteCluster::UpdateStatus(const Object& object) {
  return Write(object, /*create=*/false, /*upsert=*/false, "status");
}

absl::StatusOr<Object> RemoteCluster::Get(std::string_view kind, std::string_view ns,
                                          std::string_view name) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  api::v1::GetRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_name(std::string(name));
  api::v1::Object reply;
  RETURN_IF_ERROR(FromGrpcStatus(resources_->Get(&ctx, req, &reply)));
  return ParseReply(reply.json(), "get");
}

absl::StatusOr<std::vector<Object>> RemoteCluster::List(std::string_view kind, std::string_view ns,
                                                        std::string_view selector) {
  grpc::ClientContext ctx;
  Prepare(ctx);
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

absl::Status RemoteCluster::Delete(std::string_view kind, std::string_view ns,
                                   std::string_view name) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  api::v1::DeleteRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_name(std::string(name));
  api::v1::DeleteResponse reply;
  return FromGrpcStatus(resources_->Delete(&ctx, req, &reply));
}

absl::StatusOr<std::unique_ptr<Watch>> RemoteCluster::WatchObjects(
    std::string_view kind, std::string_view ns, std::string_view selector,
    std::string_view resource_version) {
  api::v1::WatchRequest req;
  req.set_kind(std::string(kind));
  req.set_namespace_(std::string(ns));
  req.set_label_selector(std::string(selector));
  std::vector<WatchEvent> initial;
  if (resource_version.empty() || resource_version == "0") {
    // List, then follow from the list's version: unlike a replay on the
    // stream, this gives a resume point that covers every listed object.
    grpc::ClientContext ctx;
    Prepare(ctx);
    api::v1::ListRequest list;
    list.set_kind(req.kind());
    list.set_namespace_(req.namespace_());
    list.set_label_selector(req.label_selector());
    api::v1::ListResponse reply;
    RETURN_IF_ERROR(FromGrpcStatus(resources_->List(&ctx, list, &reply)));
    for (const api::v1::Object& item : reply.items()) {
      WatchEvent e{.type = "ADDED"};
      ASSIGN_OR_RETURN(e.object, ParseReply(item.json(), "list"));
      ASSIGN_OR_RETURN(e.resource_version, ParseVersion(VersionOf(e.object), "list"));
      initial.push_back(std::move(e));
    }
    req.set_resource_version(reply.resource_version());
  } else {
    req.set_resource_version(std::string(resource_version));
  }
  return std::unique_ptr<Watch>(
      new RemoteWatch(resources_.get(), std::move(req), std::move(initial), options_));
}

absl::Status RemoteCluster::Logs(std::string_view ns, std::string_view pod,
                                 const LogOptions& options, const LogSink& sink) {
  v1::PodLogsRequest req;
  req.set_namespace_(std::string(ns));
  req.set_name(std::string(pod));
  req.set_container(options.container);
  req.set_follow(options.follow);
  grpc::ClientContext ctx;
  v1::LogChunk chunk;
  if (!options.follow) {
    ctx.set_deadline(
        absl::ToChronoTime(std::min(options.deadline, absl::Now() + options_.call_timeout)));
    auto reader = logs_->PodLogs(&ctx, req);
    bool stopped = false;
    while (!stopped && reader->Read(&chunk)) {
      if (!sink(chunk.data())) {
        stopped = true;
        ctx.TryCancel();
      }
    }
    while (stopped && reader->Read(&chunk)) {
    }
    const absl::Status s = FromGrpcStatus(reader->Finish());
    return stopped ? absl::OkStatus() : s;
  }
  // Following: a reader thread feeds a bounded buffer, so this thread can
  // give the sink its heartbeat while the container is quiet.
  auto reader = logs_->PodLogs(&ctx, req);
  absl::Mutex mu;
  absl::CondVar cv;
  std::deque<std::string> buffer;
  size_t buffered = 0;
  bool done = false, stop = false;
  std::thread feeder([&] {
    v1::LogChunk c;
    while (reader->Read(&c)) {
      absl::MutexLock lock(&mu);
      while (buffered >= kMaxBufferedLogBytes && !stop) cv.Wait(&mu);
      if (stop) continue;  // drain what the cancelled stream still holds
      buffered += c.data().size();
      buffer.push_back(std::move(*c.mutable_data()));
      cv.SignalAll();
    }
    absl::MutexLock lock(&mu);
    done = true;
    cv.SignalAll();
  });
  bool sink_stopped = false;
  bool finished = false;
  while (true) {
    std::deque<std::string> take;
    {
      absl::MutexLock lock(&mu);
      const absl::Time wake = std::min(options.deadline, absl::Now() + absl::Seconds(1));
      while (buffer.empty() && !done && !cv.WaitWithDeadline(&mu, wake)) {
      }
      take.swap(buffer);
      buffered = 0;
      finished = done;
      cv.SignalAll();
    }
    bool go_on = true;
    if (take.empty() && !finished) go_on = sink("");  // heartbeat
    for (const std::string& c : take) {
      if (go_on) go_on = sink(c);
    }
    if (!go_on) sink_stopped = true;
    if (!go_on || finished || absl::Now() >= options.deadline) break;
  }
  {
    absl::MutexLock lock(&mu);
    stop = true;
    cv.SignalAll();
  }
  if (!finished) ctx.TryCancel();
  feeder.join();
  const absl::Status s = FromGrpcStatus(reader->Finish());
  // Stopped by the caller or by its deadline: the stream's CANCELLED is ours.
  if (sink_stopped || absl::Now() >= options.deadline) return absl::OkStatus();
  return s;
}

absl::Status RemoteCluster::SetTrafficSplit(std::string_view ns, std::string_view service,
                                            const TrafficSplit& split) {
  return WriteTrafficSplit(*this, ns, service, split);
}

}  // namespace argonaut::cluster
