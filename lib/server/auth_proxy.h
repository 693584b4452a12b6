// AuthProxy: the authenticating edge of a Server that has an Authorizer.
//
// The listening gRPC port hosts only this generic service. For every call it
// authenticates the `authorization` metadata, decodes the first request
// message with the generated descriptor pool, asks auth::RequiredPermission
// what the method needs and checks it, then relays the call byte-for-byte to
// the internal server (which hosts the real services and has no ports):
// metadata, deadline, cancellation both ways, every message in both
// directions, the response's initial and trailing metadata and the status.
// Streaming calls are relayed without knowing their shape: each direction is
// a chain of one outstanding read and one outstanding write, so nothing is
// buffered beyond one message per direction. Methods the descriptor pool
// knows to be unary take a shorter path (one unary backend call, the
// response written with the status), which saves several thread hand-offs.
//
// Answers: UNAUTHENTICATED (missing/invalid/expired token; the message never
// contains the token), PERMISSION_DENIED (naming resource, action, object; also
// for a method the permission table does not cover), UNIMPLEMENTED for a method
// that is not in the descriptor pool (as gRPC answers an unknown method),
// INVALID_ARGUMENT when the first message does not parse as the method's input.
// Public methods (grpc.health.v1, reflection) need no token.
//
// The relayed call carries `x-argonaut-account: <account>` (any value the
// caller sent is dropped), so handlers can tell who called. `authorization` is
// relayed too: routers that forward calls to other services pass it on.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace argonaut::auth {
class Authorizer;
}

namespace argonaut::server {

// Metadata key the proxy sets to the authenticated account.
inline constexpr char kAccountMetadataKey[] = "x-argonaut-account";

class AuthProxy final : public grpc::CallbackGenericService {
 public:
  // `authorizer` must outlive the proxy. `backend`: a channel to the internal
  // server (its InProcessChannel).
  AuthProxy(auth::Authorizer* authorizer, std::shared_ptr<grpc::Channel> backend);
  ~AuthProxy() override;

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

  // Admission of one call, without I/O: which account it runs as ("" for a
  // public method called without a token), or the error to answer.
  // `first_message`: the serialized first request; nullptr when the caller
  // closed its side without sending one.
  absl::StatusOr<std::string> Admit(std::string_view method, std::string_view authorization,
                                    const grpc::ByteBuffer* first_message) const;

 private:
  friend class ProxyCall;
  auth::Authorizer* const authorizer_;
  std::shared_ptr<grpc::Channel> backend_;
  grpc::GenericStub stub_;
};

// A client interceptor factory that attaches `authorization` from
// auth::CurrentCallerToken() (read on the thread that creates the call) to
// every call; nothing when no token is in scope.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeCallerTokenInterceptorFactory();

}  // namespace argonaut::server
