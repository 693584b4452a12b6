#include "lib/auth/authorizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/strings.h"

namespace argonaut::auth {
namespace {

constexpr char kDeniedName[] = "argonaut_auth_denied_total";
constexpr char kUnauthenticatedName[] = "argonaut_auth_unauthenticated_total";

// Label values come from requests (a ResourceService kind can be anything):
// map unknown ones to "other" so that callers cannot grow the series count.
std::string BoundedLabel(const std::string& value, const std::vector<std::string>& known) {
  return std::find(known.begin(), known.end(), value) != known.end() ? value : "other";
}

const std::vector<std::string>& KnownActions() {
  static const auto* actions =
      new std::vector<std::string>{"get", "create", "update", "delete", "sync", "override"};
  return *actions;
}

}  // namespace

Authorizer::Authorizer(TokenStore* tokens, Policy policy, controller::Clock* clock,
                       metrics::MetricsRegistry* registry)
    : tokens_(tokens), clock_(clock), policy_(std::make_shared<const Policy>(std::move(policy))) {
  if (registry == nullptr) return;
  // The names are constants, so declaring can only fail if another part of
  // the process declared them with another type: run without the metric then.
  auto denied = registry->AddCounter(kDeniedName, "Calls refused by the RBAC policy.");
  if (denied.ok()) {
    denied_ = *denied;
  } else {
    LogError("auth", "metrics unavailable", {{"error", denied.status().ToString()}});
  }
  auto unauthenticated = registry->AddCounter(
      kUnauthenticatedName, "Calls refused for a missing, invalid or expired token.");
  if (unauthenticated.ok()) {
    unauthenticated_ = *unauthenticated;
  } else {
    LogError("auth", "metrics unavailable", {{"error", unauthenticated.status().ToString()}});
  }
}

absl::StatusOr<Subject> Authorizer::Authenticate(std::string_view authorization_header) const {
  absl::string_view header = absl::StripAsciiWhitespace(AbslView(authorization_header));
  constexpr absl::string_view kScheme = "bearer ";
  absl::StatusOr<Subject> subject = absl::UnauthenticatedError("missing bearer token");
  if (header.size() > kScheme.size() && absl::StartsWithIgnoreCase(header, kScheme)) {
    absl::string_view token = absl::StripLeadingAsciiWhitespace(header.substr(kScheme.size()));
    if (!token.empty()) {
      subject = tokens_->Authenticate(std::string_view(token.data(), token.size()), clock_->Now());
    }
  }
  if (!subject.ok() && absl::IsUnauthenticated(subject.status()) && unauthenticated_ != nullptr) {
    unauthenticated_->Add({}).Increment();
  }
  return subject;
}

absl::Status Authorizer::Authorize(const Subject& subject, const Permission& permission) const {
  if (Can(subject, permission)) return absl::OkStatus();
  if (denied_ != nullptr) {
    denied_
        ->Add({{"resource", BoundedLabel(permission.resource, KnownResources())},
               {"action", BoundedLabel(permission.action, KnownActions())}})
        .Increment();
  }
  return absl::PermissionDeniedError(absl::StrCat("account \"", subject.account, "\" may not ",
                                                  permission.action, " ", permission.resource,
                                                  " \"", permission.object, "\""));
}

bool Authorizer::Can(const Subject& subject, const Permission& permission) const {
  return CurrentPolicy()->Enforce(subject.account, permission.resource, permission.action,
                                  permission.object);
}

void Authorizer::SetPolicy(Policy policy) {
  auto next = std::make_shared<const Policy>(std::move(policy));
  absl::MutexLock lock(&mu_);
  policy_ = std::move(next);
}

Policy Authorizer::policy() const { return *CurrentPolicy(); }

std::shared_ptr<const Policy> Authorizer::CurrentPolicy() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

}  // namespace argonaut::auth
