// Argo CD's RBAC model over one policy.csv for every area of Argonaut.
//
//   p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]   (effect defaults to allow)
//   g, SUBJECT, ROLE                                       (SUBJECT is an account or a role)
//
// RESOURCE, ACTION and OBJECT are globs: `*` matches any run of characters
// (including `/`), `?` one character. A request is allowed when some rule of
// the account, of a role it reaches through g lines (transitively), or of the
// default role allows it, and none of those denies it: deny wins.
//
// Built in, always present: role:admin may do everything; role:readonly may
// `get` every resource except `secrets`; `g, admin, role:admin`;
// `g, system:service, role:admin`.
//
//   ASSIGN_OR_RETURN(Policy policy, Policy::Parse(csv, "role:readonly"));
//   policy.Enforce("alice", "workflows", "create", "default/hello");
//
// A Policy is immutable after Parse; const methods may be called from any
// thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::auth {

inline constexpr char kRoleAdmin[] = "role:admin";
inline constexpr char kRoleReadonly[] = "role:readonly";

// Every RBAC resource name, lowercase plural (see permissions.h).
const std::vector<std::string>& KnownResources();

class Policy {
 public:
  enum class Effect { kAllow, kDeny };
  struct Rule {
    std::string subject, resource, action, object;
    Effect effect = Effect::kAllow;
  };

  // The built-ins plus the lines of `csv`. Blank lines, `#` comments and
  // whitespace around fields are ignored. INVALID_ARGUMENT
  // "policy.csv line N: ..." naming the bad field. `default_role` (may be
  // empty) applies to every authenticated account.
  static absl::StatusOr<Policy> Parse(std::string_view csv, std::string default_role = "");
  // Only the built-ins, no default role.
  static Policy BuiltIn();

  bool Enforce(std::string_view account, std::string_view resource, std::string_view action,
               std::string_view object) const;

  // The roles `account` has, directly, through inheritance and the default
  // role, sorted.
  std::vector<std::string> RolesOf(std::string_view account) const;

  const std::string& default_role() const { return default_role_; }
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  Policy() = default;
  // `subject` and everything it reaches through g lines.
  void Closure(const std::string& subject, std::set<std::string>* out) const;

  std::vector<Rule> rules_;
  std::map<std::string, std::vector<std::string>> groups_;  // subject -> roles
  std::string default_role_;
};

// Glob match used by the policy: `*` any run (also empty, also `/`), `?` one
// character, everything else literal.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace argonaut::auth
