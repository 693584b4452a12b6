// The caller's credentials on the current thread, for code that turns a REST
// request into in-process gRPC calls (Server::AuthenticatedInProcessChannel).
//
// The REST pre-routing handler authenticates nothing itself: it puts the
// request's `Authorization` value in scope, and the channel's interceptor
// sends it, so the gRPC proxy checks REST and gRPC callers with the same code.
//
//   {
//     auth::ScopedCallerToken scope("Bearer " + token);
//     stub->CreateWorkflow(&ctx, req, &resp);  // carries `authorization`
//   }
#pragma once

#include <optional>
#include <string>

namespace argonaut::auth {

// Sets the current thread's caller token for its lifetime, restoring the
// previous one (scopes nest). Not movable: it belongs to one thread's stack.
class ScopedCallerToken {
 public:
  // The full header value, e.g. "Bearer argn_...".
  explicit ScopedCallerToken(std::string bearer_header_value);
  ~ScopedCallerToken();
  ScopedCallerToken(const ScopedCallerToken&) = delete;
  ScopedCallerToken& operator=(const ScopedCallerToken&) = delete;

 private:
  std::optional<std::string> previous_;
};

// The innermost ScopedCallerToken's value on this thread, if any.
std::optional<std::string> CurrentCallerToken();

}  // namespace argonaut::auth
