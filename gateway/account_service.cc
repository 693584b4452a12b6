#include "gateway/account_service.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/rest.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace a1 = ::argonaut::auth::v1;

grpc::Status AuthOff() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "authentication is off (argonaut up --auth-mode server): there are no "
                      "accounts or tokens");
}

// The authenticated caller, as the auth proxy named it.
std::optional<std::string> Caller(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(kAccountMetadata);
  if (it == md.end() || it->second.empty()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

grpc::Status NoCaller() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no authenticated caller");
}

int64_t Unix(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return 0;
  return absl::ToUnixSeconds(t);
}

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

grpc::Status AccountService::ListAccounts(grpc::ServerContext*, const a1::ListAccountsRequest*,
                                          a1::ListAccountsReply* reply) {
  if (authorizer_ == nullptr) return AuthOff();
  std::map<std::string, a1::Account> accounts;
  for (const std::string& name : authorizer_->tokens().Accounts()) {
    a1::Account& a = accounts[name];
    a.set_name(name);
    a.set_enabled(true);
    a.add_capabilities("apiKey");
  }
  for (const auth::TokenInfo& t : authorizer_->tokens().ListTokens()) {
    a1::Account& a = accounts[t.account];
    if (a.name().empty()) {
      a.set_name(t.account);
      a.set_enabled(true);
      a.add_capabilities("apiKey");
    }
    a1::TokenInfo* info = a.add_tokens();
    info->set_id(t.id);
    info->set_issued_at(Unix(t.created));
    info->set_expires_at(Unix(t.expires));
  }
  for (auto& [name, a] : accounts) *reply->add_items() = std::move(a);
  return grpc::Status::OK;
}

grpc::Status AccountService::CreateToken(grpc::ServerContext* ctx,
                                         const a1::CreateTokenRequest* req,
                                         a1::CreateTokenReply* reply) {
  if (authorizer_ == nullptr) return AuthOff();
  std::string account = req->account();
  if (account.empty()) {
    std::optional<std::string> caller = Caller(ctx);
    if (!caller) return NoCaller();
    account = *caller;
  }
  std::string id;
  absl::StatusOr<std::string> token = authorizer_->tokens().CreateToken(
      account, absl::Seconds(req->expires_in_seconds()), clock_->Now(), &id);
  if (!token.ok()) return ToGrpc(token.status());
  reply->set_id(id);
  reply->set_token(*std::move(token));
  return grpc::Status::OK;
}

grpc::Status AccountService::DeleteToken(grpc::ServerContext* ctx,
                                         const a1::DeleteTokenRequest* req, a1::DeleteTokenReply*) {
  if (authorizer_ == nullptr) return AuthOff();
  if (req->id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id: empty");
  std::string account = req->account();
  if (account.empty()) {
    std::optional<std::string> caller = Caller(ctx);
    if (!caller) return NoCaller();
    account = *caller;
  }
  return ToGrpc(authorizer_->tokens().DeleteToken(account, req->id()));
}

grpc::Status AccountService::CanI(grpc::ServerContext* ctx, const a1::CanIRequest* req,
                                  a1::CanIReply* reply) {
  if (req->resource().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "resource: empty");
  }
  if (req->action().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "action: empty");
  }
  if (authorizer_ == nullptr) {
    reply->set_allowed(true);
    return grpc::Status::OK;
  }
  std::optional<std::string> caller = Caller(ctx);
  if (!caller) return NoCaller();
  // No object: anywhere ("*/*" is matched by both "*" and "*/*" policy objects).
  std::string object = req->object().empty() || req->object() == "*" ? "*/*" : req->object();
  reply->set_allowed(authorizer_->Can(
      auth::Subject{.account = *caller},
      {.resource = req->resource(), .action = req->action(), .object = std::move(object)}));
  return grpc::Status::OK;
}

grpc::Status AccountService::UserInfo(grpc::ServerContext* ctx, const a1::UserInfoRequest*,
                                      a1::UserInfoReply* reply) {
  if (authorizer_ == nullptr) return grpc::Status::OK;  // nobody: Argo Server's server mode
  std::optional<std::string> caller = Caller(ctx);
  if (!caller) return NoCaller();
  reply->set_account(*caller);
  for (std::string& role : authorizer_->policy().RolesOf(*caller)) {
    reply->add_roles(std::move(role));
  }
  return grpc::Status::OK;
}

namespace {

void SendError(httplib::Response& res, const grpc::Status& s) {
  res.status = HttpStatusFor(s.error_code());
  res.set_content(manifest::ToJsonText(json{{"code", s.error_code()},
                                            {"message", s.error_message()},
                                            {"error", s.error_message()},
                                            {"details", json::array()}},
                                       false),
                  "application/json");
}

void SendBody(httplib::Response& res, const json& body) {
  res.set_content(manifest::ToJsonText(body, false), "application/json");
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

json AccountJson(const a1::Account& a) {
  json tokens = json::array();
  for (const a1::TokenInfo& t : a.tokens()) {
    json tj{{"id", t.id()}, {"issuedAt", t.issued_at()}};
    if (t.expires_at() > 0) tj["expiresAt"] = t.expires_at();
    tokens.push_back(std::move(tj));
  }
  return json{
      {"name", a.name()},
      {"enabled", a.enabled()},
      {"capabilities", std::vector<std::string>(a.capabilities().begin(), a.capabilities().end())},
      {"tokens", std::move(tokens)}};
}

}  // namespace

void RegisterAccountRestRoutes(httplib::Server& http, a1::AccountService::StubInterface* api) {
  // can-i first: its path would otherwise match /account/{name}/...
  http.Get("/api/v1/account/can-i/([^/]+)/([^/]+)/(.+)",
           [api](const httplib::Request& req, httplib::Response& res) {
             a1::CanIRequest r;
             r.set_resource(req.matches[1]);
             r.set_action(req.matches[2]);
             r.set_object(req.matches[3]);
             a1::CanIReply reply;
             grpc::Status s = api->CanI(Ctx().get(), r, &reply);
             if (!s.ok()) return SendError(res, s);
             SendBody(res, json{{"value", reply.allowed() ? "yes" : "no"}});
           });
  http.Get("/api/v1/account/?", [api](const httplib::Request&, httplib::Response& res) {
    a1::ListAccountsReply reply;
    grpc::Status s = api->ListAccounts(Ctx().get(), {}, &reply);
    if (!s.ok()) return SendError(res, s);
    json items = json::array();
    for (const a1::Account& a : reply.items()) items.push_back(AccountJson(a));
    SendBody(res, json{{"items", std::move(items)}});
  });
  http.Get("/api/v1/account/([^/]+)/?", [api](const httplib::Request& req, httplib::Response& res) {
    a1::ListAccountsReply reply;
    grpc::Status s = api->ListAccounts(Ctx().get(), {}, &reply);
    if (!s.ok()) return SendError(res, s);
    for (const a1::Account& a : reply.items()) {
      if (a.name() == req.matches[1]) return SendBody(res, AccountJson(a));
    }
    SendError(
        res, grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("account \"", std::string(req.matches[1]), "\" not found")));
  });
  http.Post("/api/v1/account/([^/]+)/token/?", [api](const httplib::Request& req,
                                                     httplib::Response& res) {
    absl::StatusOr<json> body = ParseObjectBody(req.body);
    if (!body.ok()) {
      return SendError(res, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         std::string(body.status().message())));
    }
    a1::CreateTokenRequest r;
    r.set_account(req.matches[1]);
    if (auto it = body->find("expiresIn"); it != body->end()) {
      int64_t seconds = 0;
      // grpc-gateway writes int64 as a string; accept both.
      if (it->is_number_integer()) {
        seconds = it->get<int64_t>();
      } else if (!it->is_string() || !absl::SimpleAtoi(it->get<std::string>(), &seconds)) {
        return SendError(
            res, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expiresIn: expected seconds"));
      }
      r.set_expires_in_seconds(seconds);
    }
    if (auto it = body->find("id");
        it != body->end() && !(it->is_string() && it->get<std::string>().empty())) {
      return SendError(res, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         "id: token ids are chosen by the server"));
    }
    a1::CreateTokenReply reply;
    grpc::Status s = api->CreateToken(Ctx().get(), r, &reply);
    if (!s.ok()) return SendError(res, s);
    SendBody(res, json{{"token", reply.token()}});
  });
  http.Delete("/api/v1/account/([^/]+)/token/([^/]+)/?",
              [api](const httplib::Request& req, httplib::Response& res) {
                a1::DeleteTokenRequest r;
                r.set_account(req.matches[1]);
                r.set_id(req.matches[2]);
                a1::DeleteTokenReply reply;
                grpc::Status s = api->DeleteToken(Ctx().get(), r, &reply);
                if (!s.ok()) return SendError(res, s);
                SendBody(res, json::object());
              });
  http.Get("/api/v1/userinfo/?", [api](const httplib::Request&, httplib::Response& res) {
    a1::UserInfoReply reply;
    grpc::Status s = api->UserInfo(Ctx().get(), {}, &reply);
    if (!s.ok()) return SendError(res, s);
    json body = json::object();
    if (!reply.account().empty()) {
      body["name"] = reply.account();
      body["subject"] = reply.account();
      body["issuer"] = "argonaut";
      body["groups"] = std::vector<std::string>(reply.roles().begin(), reply.roles().end());
    }
    SendBody(res, body);
  });
}

}  // namespace argonaut::gateway
