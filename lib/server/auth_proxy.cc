#include "lib/server/auth_proxy.h"

#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "lib/auth/authorizer.h"
#include "lib/auth/caller_token.h"
#include "lib/auth/permissions.h"
#include "lib/server/grpc_status.h"

namespace argonaut::server {
namespace {

using google::protobuf::Message;

constexpr char kAuthorizationKey[] = "authorization";

// The descriptor of "/pkg.Service/Method", or nullptr when the method is not
// in the generated pool (not linked into the binary).
const google::protobuf::MethodDescriptor* FindMethod(std::string_view method) {
  if (method.size() < 3 || method[0] != '/') return nullptr;
  std::string full(method.substr(1));
  const size_t slash = full.rfind('/');
  if (slash == std::string::npos) return nullptr;
  full[slash] = '.';
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
}

// What is known before the first message arrives.
struct Precheck {
  const Message* prototype = nullptr;  // nullptr: public method outside the pool
  bool unary = false;                  // known to be unary (from the pool)
  std::optional<auth::Subject> subject;
};

absl::StatusOr<Precheck> CheckBeforeMessage(const auth::Authorizer& authorizer,
                                            std::string_view method,
                                            std::string_view authorization) {
  Precheck pre;
  if (const google::protobuf::MethodDescriptor* desc = FindMethod(method); desc != nullptr) {
    pre.prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc->input_type());
    pre.unary = !desc->client_streaming() && !desc->server_streaming();
  }
  // Whether a method is public does not depend on its message: asking with
  // the default instance lets a caller without a token be refused before it
  // sends anything, and keeps public calls out of the unauthenticated metric.
  absl::StatusOr<auth::Requirement> need = auth::RequiredPermission(
      method,
      pre.prototype != nullptr ? *pre.prototype : google::protobuf::Empty::default_instance());
  const bool is_public = need.ok() && need->access == auth::Access::kPublic;
  if (pre.prototype == nullptr && !is_public) {
    return absl::UnimplementedError(absl::StrCat("unknown method ", std::string(method)));
  }
  if (!is_public) {
    absl::StatusOr<auth::Subject> subject = authorizer.Authenticate(authorization);
    if (!subject.ok()) return subject.status();
    pre.subject = *std::move(subject);
  }
  return pre;
}

absl::StatusOr<std::string> CheckWithMessage(const auth::Authorizer& authorizer,
                                             std::string_view method,
                                             std::string_view authorization, Precheck pre,
                                             const grpc::ByteBuffer* first) {
  std::unique_ptr<Message> request;
  if (pre.prototype != nullptr) {
    request.reset(pre.prototype->New());
    if (first != nullptr) {
      grpc::ByteBuffer copy(*first);  // shares the slices
      grpc::ProtoBufferReader reader(&copy);
      if (!request->ParseFromZeroCopyStream(&reader)) {
        return absl::InvalidArgumentError(
            absl::StrCat("request is not a valid ", pre.prototype->GetDescriptor()->full_name()));
      }
    }
  } else {
    request = std::make_unique<google::protobuf::Empty>();
  }
  absl::StatusOr<auth::Requirement> need = auth::RequiredPermission(method, *request);
  if (absl::IsNotFound(need.status())) {
    return absl::PermissionDeniedError(
        absl::StrCat("method ", std::string(method), " has no entry in the permission table"));
  }
  if (!need.ok()) return need.status();
  if (need->access == auth::Access::kPublic) {
    return pre.subject ? pre.subject->account : std::string();
  }
  if (!pre.subject) {
    absl::StatusOr<auth::Subject> subject = authorizer.Authenticate(authorization);
    if (!subject.ok()) return subject.status();
    pre.subject = *std::move(subject);
  }
  if (need->access == auth::Access::kAuthorized) {
    absl::Status allowed = authorizer.Authorize(*pre.subject, need->permission);
    if (!allowed.ok()) return allowed;
  }
  return pre.subject->account;
}

// Metadata the proxy must not copy onto the relayed call: transport headers
// gRPC sets itself, and the account header only the proxy may set.
bool IsRelayedRequestKey(std::string_view key) {
  return !key.empty() && key[0] != ':' && !key.starts_with("grpc-") && key != "user-agent" &&
         key != "te" && key != "content-type" && key != "host" && key != kAccountMetadataKey;
}

bool IsRelayedResponseKey(std::string_view key) {
  return !key.empty() && key[0] != ':' && !key.starts_with("grpc-") && key != "content-type";
}

std::string_view View(grpc::string_ref s) { return std::string_view(s.data(), s.size()); }

class CallerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallerTokenInterceptor(std::string token) : token_(std::move(token)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthorizationKey, token_);
    }
    methods->Proceed();
  }

 private:
  const std::string token_;
};

class CallerTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    // Runs on the thread that creates the call, where the scope is.
    std::optional<std::string> token = auth::CurrentCallerToken();
    if (!token) return nullptr;
    return new CallerTokenInterceptor(*std::move(token));
  }
};

}  // namespace

// One relayed call: the caller side (a server reactor on the proxy) and the
// backend side (a client reactor on the internal channel). Deleted when both
// sides are done.
//
// Request direction: caller read -> backend write -> caller read ...
// Response direction: backend read -> caller write -> backend read ...
// The backend reactor holds two holds (one per direction) so that it stays
// alive while a caller-side reaction may still start an operation on it; both
// are released when their direction ends. The caller reactor is finished only
// from the backend's OnDone (or before the backend starts), so it is alive
// whenever a backend reaction touches it.
class ProxyCall {
 public:
  ProxyCall(AuthProxy* proxy, grpc::GenericCallbackServerContext* ctx)
      : proxy_(proxy), ctx_(ctx), caller_(this), backend_(this), unary_backend_(this) {
    for (const auto& [key, value] : ctx_->client_metadata()) {
      if (View(key) == kAuthorizationKey) authorization_ = std::string(View(value));
    }
    absl::StatusOr<Precheck> pre =
        CheckBeforeMessage(*proxy_->authorizer_, ctx_->method(), authorization_);
    if (!pre.ok()) {
      finished_ = true;
      caller_.Finish(ToGrpcStatus(pre.status()));
      return;
    }
    precheck_ = *std::move(pre);
    caller_.StartRead(&request_);
  }

  grpc::ServerGenericBidiReactor* reactor() { return &caller_; }

 private:
  class Caller final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Caller(ProxyCall* call) : call_(call) {}
    void OnReadDone(bool ok) override { call_->OnCallerReadDone(ok); }
    void OnWriteDone(bool ok) override { call_->OnCallerWriteDone(ok); }
    void OnCancel() override { call_->OnCallerCancel(); }
    void OnDone() override { call_->Unref(); }

   private:
    ProxyCall* const call_;
  };

  class Backend final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Backend(ProxyCall* call) : call_(call) {}
    void OnReadInitialMetadataDone(bool ok) override { call_->OnBackendInitialMetadata(ok); }
    void OnReadDone(bool ok) override { call_->OnBackendReadDone(ok); }
    void OnWriteDone(bool ok) override { call_->OnBackendWriteDone(ok); }
    void OnDone(const grpc::Status& status) override { call_->OnBackendDone(status); }

   private:
    ProxyCall* const call_;
  };

  // Unary methods take a shorter path (fewer reactions, so less latency):
  // one request, a unary backend call, and the response written together
  // with the status.
  class UnaryBackend final : public grpc::ClientUnaryReactor {
   public:
    explicit UnaryBackend(ProxyCall* call) : call_(call) {}
    void OnDone(const grpc::Status& status) override { call_->OnUnaryBackendDone(status); }

   private:
    ProxyCall* const call_;
  };

  void OnUnaryBackendDone(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      backend_done_ = true;
      for (const auto& [key, value] : backend_context_->GetServerInitialMetadata()) {
        if (IsRelayedResponseKey(View(key))) {
          ctx_->AddInitialMetadata(std::string(View(key)), std::string(View(value)));
        }
      }
      for (const auto& [key, value] : backend_context_->GetServerTrailingMetadata()) {
        if (IsRelayedResponseKey(View(key))) {
          ctx_->AddTrailingMetadata(std::string(View(key)), std::string(View(value)));
        }
      }
      ReleaseBackend();
      finished_ = true;
      if (status.ok()) {
        caller_.StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
      } else {
        caller_.Finish(status);
      }
    }
    Unref();
  }

  void OnCallerReadDone(bool ok) {
    absl::MutexLock lock(&mu_);
    if (!backend_started_) {
      StartBackend(ok);
      return;
    }
    if (!request_open_) return;
    if (ok) {
      backend_.StartWrite(&request_);
    } else {
      backend_.StartWritesDone();
      CloseRequest();
    }
  }

  void OnBackendWriteDone(bool ok) {
    absl::MutexLock lock(&mu_);
    if (!request_open_) return;
    if (ok) {
      caller_.StartRead(&request_);
    } else {
      CloseRequest();  // the backend stopped reading; it will finish the call
    }
  }

  void OnBackendInitialMetadata(bool ok) {
    absl::MutexLock lock(&mu_);
    if (ok) {
      for (const auto& [key, value] : backend_context_->GetServerInitialMetadata()) {
        if (IsRelayedResponseKey(View(key))) {
          ctx_->AddInitialMetadata(std::string(View(key)), std::string(View(value)));
        }
      }
      caller_.StartSendInitialMetadata();
    }
    initial_metadata_relayed_ = true;
    if (response_waiting_) {
      response_waiting_ = false;
      caller_.StartWrite(&response_);
    }
  }

  void OnBackendReadDone(bool ok) {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      // The backend's stream ended: nothing more to relay either way.
      CloseResponse();
      CloseRequest();
      return;
    }
    // The first message may overtake the initial metadata's reaction; the
    // metadata must reach the caller first.
    if (!initial_metadata_relayed_) {
      response_waiting_ = true;
      return;
    }
    caller_.StartWrite(&response_);
  }

  void OnCallerWriteDone(bool ok) {
    absl::MutexLock lock(&mu_);
    if (!response_open_) return;
    if (ok) {
      backend_.StartRead(&response_);
    } else {
      backend_context_->TryCancel();  // the caller is gone
      CloseResponse();
    }
  }

  void OnCallerCancel() {
    absl::MutexLock lock(&mu_);
    caller_cancelled_ = true;
    if (backend_started_ && !backend_done_) backend_context_->TryCancel();
  }

  void OnBackendDone(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      backend_done_ = true;
      for (const auto& [key, value] : backend_context_->GetServerTrailingMetadata()) {
        if (IsRelayedResponseKey(View(key))) {
          ctx_->AddTrailingMetadata(std::string(View(key)), std::string(View(value)));
        }
      }
      ReleaseBackend();
      finished_ = true;
      caller_.Finish(status);
    }
    Unref();
  }

  void StartBackend(bool have_message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool unary_path = have_message && precheck_.unary;
    if (caller_cancelled_ || ctx_->IsCancelled()) {
      finished_ = true;
      caller_.Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller"));
      return;
    }
    absl::StatusOr<std::string> account =
        CheckWithMessage(*proxy_->authorizer_, ctx_->method(), authorization_, std::move(precheck_),
                         have_message ? &request_ : nullptr);
    if (!account.ok()) {
      finished_ = true;
      caller_.Finish(ToGrpcStatus(account.status()));
      return;
    }
    // Deadline and cancellation follow the caller's call.
    backend_context_ = grpc::ClientContext::FromCallbackServerContext(*ctx_);
    for (const auto& [key, value] : ctx_->client_metadata()) {
      if (IsRelayedRequestKey(View(key))) {
        backend_context_->AddMetadata(std::string(View(key)), std::string(View(value)));
      }
    }
    if (!account->empty()) backend_context_->AddMetadata(kAccountMetadataKey, *account);
    backend_channel_ = proxy_->backend_;
    if (unary_path) {
      proxy_->stub_.PrepareUnaryCall(backend_context_.get(), ctx_->method(), grpc::StubOptions(),
                                     &request_, &response_, &unary_backend_);
      backend_started_ = true;
      ++refs_;
      unary_backend_.StartCall();
      return;
    }
    proxy_->stub_.PrepareBidiStreamingCall(backend_context_.get(), ctx_->method(),
                                           grpc::StubOptions(), &backend_);
    backend_started_ = true;
    ++refs_;
    backend_.AddMultipleHolds(2);
    request_open_ = true;
    response_open_ = true;
    if (have_message) {
      backend_.StartWrite(&request_);
    } else {
      backend_.StartWritesDone();
    }
    backend_.StartRead(&response_);
    backend_.StartCall();
    if (!have_message) CloseRequest();
  }

  // The backend call holds a reference to the caller's call (deadline and
  // cancellation propagation). Dropping it before the caller's call finishes
  // means nothing of this relay outlives the proxy server's Shutdown/Wait.
  void ReleaseBackend() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    backend_context_.reset();
    backend_channel_.reset();
  }

  void CloseRequest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_open_) return;
    request_open_ = false;
    backend_.RemoveHold();
  }

  void CloseResponse() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!response_open_) return;
    response_open_ = false;
    backend_.RemoveHold();
  }

  void Unref() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  AuthProxy* const proxy_;
  grpc::GenericCallbackServerContext* const ctx_;
  std::string authorization_;
  Precheck precheck_;
  Caller caller_;
  Backend backend_;
  UnaryBackend unary_backend_;
  // Keeps the internal channel alive until the relayed call is gone.
  std::shared_ptr<grpc::Channel> backend_channel_;
  std::unique_ptr<grpc::ClientContext> backend_context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;

  absl::Mutex mu_;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // the caller side; +1 for the backend side
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool backend_started_ ABSL_GUARDED_BY(mu_) = false;
  bool backend_done_ ABSL_GUARDED_BY(mu_) = false;
  bool caller_cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool request_open_ ABSL_GUARDED_BY(mu_) = false;
  bool response_open_ ABSL_GUARDED_BY(mu_) = false;
  bool initial_metadata_relayed_ ABSL_GUARDED_BY(mu_) = false;
  bool response_waiting_ ABSL_GUARDED_BY(mu_) = false;
};

AuthProxy::AuthProxy(auth::Authorizer* authorizer, std::shared_ptr<grpc::Channel> backend)
    : authorizer_(authorizer), backend_(std::move(backend)), stub_(backend_) {}

AuthProxy::~AuthProxy() = default;

grpc::ServerGenericBidiReactor* AuthProxy::CreateReactor(grpc::GenericCallbackServerContext* ctx) {
  return (new ProxyCall(this, ctx))->reactor();
}

absl::StatusOr<std::string> AuthProxy::Admit(std::string_view method,
                                             std::string_view authorization,
                                             const grpc::ByteBuffer* first_message) const {
  absl::StatusOr<Precheck> pre = CheckBeforeMessage(*authorizer_, method, authorization);
  if (!pre.ok()) return pre.status();
  return CheckWithMessage(*authorizer_, method, authorization, *std::move(pre), first_message);
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeCallerTokenInterceptorFactory() {
  return std::make_unique<CallerTokenInterceptorFactory>();
}

}  // namespace argonaut::server
