// AccountService, hosted by the gateway: accounts and their API tokens (Argo CD's account API),
// the caller's identity (Argo Workflows' userinfo) and can-i. The auth proxy in front of the
// gateway has authenticated the caller and authorized the call (auth::RequiredPermission) before
// a method runs; the caller is the proxy's `x-argonaut-account` metadata.
//
// With no authorizer (auth-mode server) nobody is authenticated: can-i answers yes to everything
// and tokens cannot be made.
//
// REST (Argo CD's paths and shapes, Argo Workflows' userinfo), over an AccountService stub that
// carries the REST caller's token:
//   GET    /api/v1/account                       {"items":[{name,enabled,capabilities,tokens}]}
//   GET    /api/v1/account/{name}
//   POST   /api/v1/account/{name}/token          body {"expiresIn": seconds} -> {"token": ...}
//   DELETE /api/v1/account/{name}/token/{id}
//   GET    /api/v1/account/can-i/{resource}/{action}/{object}   {"value":"yes"|"no"}
//   GET    /api/v1/userinfo                      {"name","subject","groups","issuer"}
#pragma once

#include "argonaut/auth/v1/auth.grpc.pb.h"
#include "lib/auth/authorizer.h"
#include "lib/controller/clock.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// The metadata key the auth proxy names the caller in.
inline constexpr char kAccountMetadata[] = "x-argonaut-account";

class AccountService final : public auth::v1::AccountService::Service {
 public:
  // `authorizer` may be null (auth-mode server); both must outlive the service.
  AccountService(auth::Authorizer* authorizer, controller::Clock* clock)
      : authorizer_(authorizer), clock_(clock) {}

  grpc::Status ListAccounts(grpc::ServerContext* ctx, const auth::v1::ListAccountsRequest* req,
                            auth::v1::ListAccountsReply* reply) override;
  grpc::Status CreateToken(grpc::ServerContext* ctx, const auth::v1::CreateTokenRequest* req,
                           auth::v1::CreateTokenReply* reply) override;
  grpc::Status DeleteToken(grpc::ServerContext* ctx, const auth::v1::DeleteTokenRequest* req,
                           auth::v1::DeleteTokenReply* reply) override;
  grpc::Status CanI(grpc::ServerContext* ctx, const auth::v1::CanIRequest* req,
                    auth::v1::CanIReply* reply) override;
  grpc::Status UserInfo(grpc::ServerContext* ctx, const auth::v1::UserInfoRequest* req,
                        auth::v1::UserInfoReply* reply) override;

 private:
  auth::Authorizer* const authorizer_;
  controller::Clock* const clock_;
};

// `api` must outlive the server.
void RegisterAccountRestRoutes(httplib::Server& http, auth::v1::AccountService::StubInterface* api);

}  // namespace argonaut::gateway
