// The single place a call is authenticated and authorized: the gRPC proxy of
// lib/server (and through it every REST handler) calls Authenticate, then
// Authorize with RequiredPermission's answer.
//
//   Authorizer authz(tokens.get(), std::move(policy), RealClock::Get(), &metrics);
//   ASSIGN_OR_RETURN(Subject who, authz.Authenticate(authorization_header));
//   RETURN_IF_ERROR(authz.Authorize(who, need.permission));
//
// Metrics (when a registry is given): argonaut_auth_denied_total{resource,
// action} counts PERMISSION_DENIED answers, argonaut_auth_unauthenticated_total
// counts UNAUTHENTICATED ones. Label values outside the known resources and
// actions are reported as "other", so callers cannot grow the label set.
//
// Thread safety: every method may be called from any thread; SetPolicy swaps
// the policy atomically for calls that start afterwards.
#pragma once

#include <memory>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/auth/permissions.h"
#include "lib/auth/policy.h"
#include "lib/auth/token_store.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"

namespace argonaut::auth {

class Authorizer {
 public:
  // `tokens` and `clock` must outlive the Authorizer; `registry` may be null
  // (no metrics).
  Authorizer(TokenStore* tokens, Policy policy, controller::Clock* clock,
             metrics::MetricsRegistry* registry);

  // `authorization_header`: the value of `authorization` ("Bearer <token>",
  // scheme case-insensitive). UNAUTHENTICATED "missing bearer token" when
  // empty or not a bearer header, else TokenStore::Authenticate's answer.
  absl::StatusOr<Subject> Authenticate(std::string_view authorization_header) const;

  // PERMISSION_DENIED `account "alice" may not create workflows "default/hello"`.
  absl::Status Authorize(const Subject& subject, const Permission& permission) const;

  // Replaces the policy (e.g. after the policy file was edited).
  void SetPolicy(Policy policy) ABSL_LOCKS_EXCLUDED(mu_);

  // Whether the policy allows it; counts nothing (for can-i).
  bool Can(const Subject& subject, const Permission& permission) const;

  TokenStore& tokens() { return *tokens_; }
  // A copy of the current policy.
  Policy policy() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::shared_ptr<const Policy> CurrentPolicy() const ABSL_LOCKS_EXCLUDED(mu_);

  TokenStore* const tokens_;
  controller::Clock* const clock_;
  metrics::CounterFamily* denied_ = nullptr;
  metrics::CounterFamily* unauthenticated_ = nullptr;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::auth
