// Authentication of a process serving the API in distributed mode (a
// standalone service or the standalone gateway), from its flags: the token
// store and policy its Server's Authorizer checks callers against, and the
// identity (service token, TLS) of the calls it makes to other services.
//
//   ASSIGN_OR_RETURN(auto auth, AuthSetup::Create(config, &registry));
//   Server server({..., .authorizer = auth->authorizer()});
//   auto cluster = cluster::RemoteCluster::Connect(address);  // sends the service token
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/auth/authorizer.h"
#include "lib/auth/token_store.h"
#include "lib/metrics/metrics.h"

namespace argonaut::server {

struct AuthConfig {
  // "client": every call needs a bearer token (Argo Server's --auth-mode
  // client); "server": no authentication, the process acts with its own
  // identity (Argo Server's --auth-mode server).
  std::string mode = "client";
  // The TokenStore file, shared by every process of a deployment.
  std::string auth_file;
  // Argo CD's policy.csv; empty: the built-in policy only.
  std::string rbac_policy;
  // Role of every authenticated account (e.g. role:readonly); empty: none.
  std::string rbac_default_role;
  // The token (of account system:service) this process sends to other
  // services; empty: its calls carry no token.
  std::string service_token_file;
  // Outgoing calls to other services use TLS, verified with this CA file ...
  std::string tls_ca;
  // ... or not verified at all (an explicit choice).
  bool insecure_skip_tls_verify = false;
  // Whether outgoing calls carry the service token. A gateway in client
  // mode must not: its calls relay the caller's token, and a call that lost
  // it must fail rather than run as the service.
  bool send_service_token = true;
};

class AuthSetup {
 public:
  // Checks the config (errors name the flag), opens the token store and the
  // policy, and sets this process' service identity (auth::SetServiceIdentity).
  static absl::StatusOr<std::unique_ptr<AuthSetup>> Create(const AuthConfig& config,
                                                           metrics::MetricsRegistry* registry);

  // Null in server mode. Valid as long as this AuthSetup.
  auth::Authorizer* authorizer() const { return authorizer_.get(); }

 private:
  AuthSetup() = default;
  std::unique_ptr<auth::TokenStore> tokens_;
  std::unique_ptr<auth::Authorizer> authorizer_;
};

// Mints a token for `account` in the store at `auth_file` and writes it to
// `out_file` (mode 0600, which must not exist yet), so that an operator can
// hand every process of a deployment the same service token, and the admin
// a first token, before anything runs. The token itself is never printed.
absl::Status CreateTokenFile(const std::string& auth_file, const std::string& account,
                             const std::string& out_file);

}  // namespace argonaut::server
