// RepositoryService over the controller's RepositoryStore (credentials sealed at rest, never
// returned) and repo-server (access checks by ls-remote).
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"
#include "services/cd/api/cd_api.h"
#include "services/cd/api/json_fields.h"

namespace argonaut::cd::api {
namespace {

using internal::Field;
using internal::Str;
using nlohmann::json;

// Argo CD's Repository fields that hold secrets.
constexpr const char* kSecretFields[] = {"password", "sshPrivateKey", "bearerToken",
                                         "tlsClientCertKey", "githubAppPrivateKey"};

json WithoutSecrets(json repo) {
  for (const char* k : kSecretFields) repo.erase(k);
  return repo;
}

repo::RepoCredentials CredentialsOf(const json& repository) {
  repo::RepoCredentials creds;
  creds.username = Str(repository, "username");
  creds.password = Str(repository, "password");
  creds.ssh_private_key = Str(repository, "sshPrivateKey");
  const json& insecure = Field(repository, "insecure");
  creds.insecure = insecure.is_boolean() && insecure.get<bool>();
  return creds;
}

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

// Never echo what the git layer said verbatim next to a URL the user typed with a password in it:
// the repo-server's messages carry no secrets, and URLs are reported without user info.
absl::Status AccessError(const std::string& url, const absl::Status& s) {
  return absl::InvalidArgumentError(
      absl::StrCat("unable to access repository ", url, ": ", s.message()));
}

constexpr absl::Duration kConnectionStateTtl = absl::Minutes(3);

}  // namespace

void RepositoryGrpcService::RememberState(const std::string& url, json state) {
  absl::MutexLock lock(&mu_);
  states_[url] = {absl::Now(), std::move(state)};
}

json RepositoryGrpcService::ConnectionState(const std::string& url) {
  {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(url);
    if (it != states_.end() && absl::Now() - it->second.first < kConnectionStateTtl) {
      return it->second.second;
    }
  }
  if (state_->repo_server() == nullptr || state_->repositories() == nullptr) return json();
  absl::Status s =
      state_->repo_server()->TestRepository(url, state_->repositories()->CredentialsFor(url));
  json state = {{"status", s.ok() ? "Successful" : "Failed"},
                {"message", s.ok() ? "" : std::string(AccessError(url, s).message())},
                {"attemptedAt", Now()}};
  RememberState(url, state);
  return state;
}

grpc::Status RepositoryGrpcService::Create(grpc::ServerContext*, const v1::RepoCreateRequest* req,
                                           v1::RepositoryReply* reply) {
  if (state_ == nullptr || state_->repositories() == nullptr) {
    return ToGrpcStatus(ControllerNotRunning());
  }
  absl::StatusOr<json> repository = manifest::ParseJsonText(req->json());
  if (!repository.ok()) return ToGrpcStatus(repository.status());
  if (!repository->is_object()) {
    return ToGrpcStatus(absl::InvalidArgumentError("repository: expected an object"));
  }
  const std::string url = Str(*repository, "repo");
  if (url.empty()) return ToGrpcStatus(absl::InvalidArgumentError("repo: required"));
  if (!repository->contains("type")) (*repository)["type"] = "git";
  repo::RepositoryStore* store = state_->repositories();
  absl::StatusOr<json> existing = store->Get(url);
  if (existing.ok() && !req->upsert()) {
    // The same non-secret fields: nothing to do, as Argo CD answers an identical create.
    if (WithoutSecrets(*repository) == WithoutSecrets(*existing) &&
        !Field(*repository, "password").is_string() &&
        !Field(*repository, "sshPrivateKey").is_string()) {
      reply->set_json(manifest::ToJsonText(*existing, false));
      return grpc::Status::OK;
    }
    return ToGrpcStatus(absl::InvalidArgumentError(
        "existing repository spec is different; use upsert flag to force update"));
  }
  json connection;
  if (!req->skip_validation()) {
    if (state_->repo_server() == nullptr) return ToGrpcStatus(ControllerNotRunning());
    absl::Status s = state_->repo_server()->TestRepository(url, CredentialsOf(*repository));
    if (!s.ok()) return ToGrpcStatus(AccessError(url, s));
    connection = {{"status", "Successful"}, {"message", ""}, {"attemptedAt", Now()}};
  }
  if (absl::Status s = store->Upsert(*repository); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<json> stored = store->Get(url);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  json out = WithoutSecrets(*stored);
  if (!connection.is_null()) {
    RememberState(url, connection);
    out["connectionState"] = connection;
  }
  reply->set_json(manifest::ToJsonText(out, false));
  return grpc::Status::OK;
}

grpc::Status RepositoryGrpcService::List(grpc::ServerContext*, const v1::RepoQuery* req,
                                         v1::RepositoryListReply* reply) {
  if (state_ == nullptr || state_->repositories() == nullptr) {
    return ToGrpcStatus(ControllerNotRunning());
  }
  absl::StatusOr<std::vector<json>> repos = state_->repositories()->List();
  if (!repos.ok()) return ToGrpcStatus(repos.status());
  for (const json& r : *repos) {
    if (!req->repo().empty() && Str(r, "repo") != req->repo()) continue;
    json out = WithoutSecrets(r);
    if (json state = ConnectionState(Str(r, "repo")); !state.is_null()) {
      out["connectionState"] = std::move(state);
    }
    reply->add_items(manifest::ToJsonText(out, false));
  }
  return grpc::Status::OK;
}

grpc::Status RepositoryGrpcService::Get(grpc::ServerContext*, const v1::RepoQuery* req,
                                        v1::RepositoryReply* reply) {
  if (state_ == nullptr || state_->repositories() == nullptr) {
    return ToGrpcStatus(ControllerNotRunning());
  }
  absl::StatusOr<json> r = state_->repositories()->Get(req->repo());
  if (absl::IsNotFound(r.status())) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("repo '", req->repo(), "' not found")));
  }
  if (!r.ok()) return ToGrpcStatus(r.status());
  json out = WithoutSecrets(*r);
  if (json state = ConnectionState(Str(*r, "repo")); !state.is_null()) {
    out["connectionState"] = std::move(state);
  }
  reply->set_json(manifest::ToJsonText(out, false));
  return grpc::Status::OK;
}

grpc::Status RepositoryGrpcService::Delete(grpc::ServerContext*, const v1::RepoQuery* req,
                                           v1::RepoDeleteReply*) {
  if (state_ == nullptr || state_->repositories() == nullptr) {
    return ToGrpcStatus(ControllerNotRunning());
  }
  {
    absl::MutexLock lock(&mu_);
    states_.erase(req->repo());
  }
  return ToGrpcStatus(state_->repositories()->Delete(req->repo()));
}

grpc::Status RepositoryGrpcService::ValidateAccess(grpc::ServerContext*,
                                                   const v1::RepoAccessQuery* req,
                                                   v1::RepoValidateReply*) {
  if (state_ == nullptr || state_->repo_server() == nullptr) {
    return ToGrpcStatus(ControllerNotRunning());
  }
  if (req->repo().empty()) return ToGrpcStatus(absl::InvalidArgumentError("repo: required"));
  repo::RepoCredentials creds;
  creds.username = req->username();
  creds.password = req->password();
  creds.ssh_private_key = req->ssh_private_key();
  creds.insecure = req->insecure();
  if (creds.username.empty() && creds.password.empty() && creds.ssh_private_key.empty() &&
      state_->repositories() != nullptr) {
    creds = state_->repositories()->CredentialsFor(req->repo());
    creds.insecure = creds.insecure || req->insecure();
  }
  absl::Status s = state_->repo_server()->TestRepository(req->repo(), creds);
  if (!s.ok()) return ToGrpcStatus(AccessError(req->repo(), s));
  return grpc::Status::OK;
}

}  // namespace argonaut::cd::api
