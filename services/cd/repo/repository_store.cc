// Repository credentials as Argo CD keeps them (Secrets labelled
// argocd.argoproj.io/secret-type=repository in namespace argocd), with the password and SSH key
// sealed by AES-256-GCM (lib/crypto) before they reach the store. Values sealed before
// lib/crypto ("enc:v1:") still open; each Upsert writes the current envelope ("argn:v1:").
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/key.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

using nlohmann::json;

constexpr char kNamespace[] = "argocd";
constexpr char kTypeLabel[] = "argocd.argoproj.io/secret-type";

// The fields sealed at rest.
constexpr const char* kSecretFields[] = {"password", "sshPrivateKey"};

std::string TrimUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Argo CD names repository Secrets repo-<FNV-1a 32 of the URL>.
std::string SecretName(const std::string& url) {
  uint32_t h = 2166136261u;
  for (unsigned char c : url) {
    h ^= c;
    h *= 16777619u;
  }
  return absl::StrCat("repo-", h);
}

std::string DataField(const json& secret, const char* key) {
  if (!secret.contains("data") || !secret["data"].is_object()) return "";
  auto it = secret["data"].find(key);
  if (it == secret["data"].end() || !it->is_string()) return "";
  std::string out;
  if (!absl::Base64Unescape(it->get<std::string>(), &out)) return "";
  return out;
}

// The Repository JSON of a Secret, without its sealed fields.
json RepositoryOf(const json& secret) {
  json r = {{"repo", DataField(secret, "url")}, {"type", DataField(secret, "type")}};
  if (r["type"] == "") r["type"] = "git";
  for (const char* key : {"name", "project", "username"}) {
    std::string v = DataField(secret, key);
    if (!v.empty()) r[key] = v;
  }
  if (DataField(secret, "insecure") == "true") r["insecure"] = true;
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RepositoryStore>> RepositoryStore::Open(cluster::Cluster* cluster,
                                                                       std::string key_file) {
  if (cluster == nullptr) return absl::InvalidArgumentError("repository store needs a cluster");
  if (key_file.empty()) return absl::InvalidArgumentError("repository store needs a key file");
  absl::StatusOr<std::string> key = crypto::LoadOrCreateKeyFile(key_file);
  if (!key.ok()) return key.status();
  return std::unique_ptr<RepositoryStore>(new RepositoryStore(cluster, *key));
}

absl::Status RepositoryStore::Upsert(const json& repository) {
  if (!repository.is_object()) return absl::InvalidArgumentError("repository: expected an object");
  for (const char* key :
       {"repo", "type", "name", "project", "username", "password", "sshPrivateKey"}) {
    if (repository.contains(key) && !repository[key].is_string() && !repository[key].is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": expected a string"));
    }
  }
  if (repository.contains("insecure") && !repository["insecure"].is_boolean() &&
      !repository["insecure"].is_null()) {
    return absl::InvalidArgumentError("insecure: expected a boolean");
  }
  const std::string url = TrimUrl(repository.value("repo", ""));
  if (url.empty()) return absl::InvalidArgumentError("repo: required");
  std::string type = repository.contains("type") && repository["type"].is_string()
                         ? repository["type"].get<std::string>()
                         : "";
  if (type.empty()) type = "git";
  if (type != "git") {
    return absl::InvalidArgumentError(
        absl::StrCat("type: '", type, "' is not supported; only git repositories are"));
  }
  json data = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) data[key] = absl::Base64Escape(value);
  };
  put("url", url);
  put("type", type);
  for (const char* key : {"name", "project", "username"}) {
    if (repository.contains(key) && repository[key].is_string()) {
      put(key, repository[key].get<std::string>());
    }
  }
  if (repository.value("insecure", json(false)) == json(true)) put("insecure", "true");
  for (const char* key : kSecretFields) {
    if (!repository.contains(key) || !repository[key].is_string() ||
        repository[key].get<std::string>().empty()) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string sealed,
                     crypto::Seal(key_, repository[key].get<std::string>(), url));
    put(key, sealed);
  }
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", SecretName(url)},
                   {"namespace", kNamespace},
                   {"labels", {{kTypeLabel, "repository"}}},
                   {"annotations", {{"managed-by", "argocd.argoproj.io"}}}}},
                 {"type", "Opaque"},
                 {"data", data}};
  absl::StatusOr<cluster::Object> applied = cluster_->Apply(secret);
  if (absl::IsNotFound(applied.status()) &&
      absl::StrContains(applied.status().message(), "amespace")) {
    // A fresh cluster has no argocd namespace yet.
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}};
    absl::StatusOr<cluster::Object> created = cluster_->Create(ns);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
    applied = cluster_->Apply(secret);
  }
  return applied.status();
}

absl::StatusOr<std::vector<json>> RepositoryStore::ListSecrets() {
  absl::StatusOr<std::vector<cluster::Object>> secrets =
      cluster_->List("Secret", kNamespace, absl::StrCat(kTypeLabel, "=repository"));
  if (absl::IsNotFound(secrets.status())) return std::vector<json>{};
  return secrets;
}

absl::StatusOr<json> RepositoryStore::FindSecret(std::string_view raw_url) {
  const std::string url = TrimUrl(std::string(raw_url));
  ASSIGN_OR_RETURN(std::vector<json> secrets, ListSecrets());
  const json* same = nullptr;
  for (const json& s : secrets) {
    const std::string stored = DataField(s, "url");
    if (stored == url) return s;
    if (same == nullptr && SameRepo(stored, url)) same = &s;
  }
  if (same != nullptr) return *same;
  return absl::NotFoundError(absl::StrCat("repository '", RedactUrl(AbslView(url)), "' not found"));
}

absl::StatusOr<std::vector<json>> RepositoryStore::List() {
  ASSIGN_OR_RETURN(std::vector<json> secrets, ListSecrets());
  std::vector<json> out;
  for (const json& s : secrets) out.push_back(RepositoryOf(s));
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["repo"] < b["repo"]; });
  return out;
}

absl::StatusOr<json> RepositoryStore::Get(std::string_view url) {
  ASSIGN_OR_RETURN(json secret, FindSecret(url));
  return RepositoryOf(secret);
}

absl::Status RepositoryStore::Delete(std::string_view url) {
  ASSIGN_OR_RETURN(json secret, FindSecret(url));
  return cluster_->Delete("Secret", kNamespace, secret["metadata"]["name"].get<std::string>());
}

RepoCredentials RepositoryStore::CredentialsFor(std::string_view raw_url) {
  const std::string url = TrimUrl(std::string(raw_url));
  absl::StatusOr<std::vector<json>> secrets = ListSecrets();
  if (!secrets.ok()) {
    LogWarn("repo-server", "cannot list repository credentials",
            {{"error", std::string(secrets.status().message())}});
    return {};
  }
  // The repository's own entry, else the longest registered prefix (a credential template).
  const json* best = nullptr;
  size_t best_len = 0;
  for (const json& s : *secrets) {
    const std::string stored = DataField(s, "url");
    if (stored.empty()) continue;
    if (stored == url || SameRepo(stored, url)) {
      best = &s;
      break;
    }
    if (absl::StartsWith(url, stored) && stored.size() > best_len &&
        (url.size() == stored.size() || url[stored.size()] == '/' || stored.back() == '/')) {
      best = &s;
      best_len = stored.size();
    }
  }
  if (best == nullptr) return {};
  RepoCredentials creds;
  creds.username = DataField(*best, "username");
  creds.insecure = DataField(*best, "insecure") == "true";
  const std::string aad = DataField(*best, "url");
  for (const char* key : kSecretFields) {
    const std::string sealed = DataField(*best, key);
    if (sealed.empty()) continue;
    absl::StatusOr<std::string> plain = crypto::Open(key_, sealed, aad);
    if (!plain.ok()) {
      LogWarn("repo-server", "repository credential cannot be decrypted",
              {{"repo", RedactUrl(AbslView(aad))}, {"field", key}});
      continue;
    }
    (std::string_view(key) == "password" ? creds.password : creds.ssh_private_key) = *plain;
  }
  return creds;
}

}  // namespace argonaut::cd::repo
