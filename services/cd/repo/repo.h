// The CD repo-server: resolves git revisions, renders an Application source at a commit into
// manifests (Directory with YAML/JSON/Jsonnet, Kustomize, Helm), and keeps repository credentials
// sealed at rest. Many applications on one repository share one clone.
//
//   RepoServer repos({.cache_dir = dir + "/repos", .metrics = &metrics});
//   ASSIGN_OR_RETURN(ManifestResponse r, repos.GenerateManifests({.repo_url = url, .path =
//   "app"}));
//
// Credentials (passwords, tokens, SSH keys) are never logged, never part of an error message and
// never returned by RepositoryStore's List/Get.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "lib/metrics/metrics.h"
#include "nlohmann/json.hpp"
#include "services/cd/repo/git.h"   // RepoCredentials
#include "services/cd/repo/util.h"  // SameRepo

namespace argonaut::cd::repo {

struct ManifestRequest {
  std::string repo_url;
  std::string target_revision;  // "" = HEAD
  std::string path;             // "" or "." = repository root
  // The Application source block: {repoURL, path, targetRevision, chart,
  // directory{recurse, include, exclude, jsonnet{tlas, extVars, libs}}, kustomize{...}, helm{...}}.
  nlohmann::json source;
  std::string app_name, dest_namespace;  // kustomize namespace default / helm release
  RepoCredentials creds;
  bool no_cache = false;       // hard refresh: bypass the manifest cache
  bool force_resolve = false;  // bypass the revision cache (refresh / webhook / poll)
};

struct ManifestResponse {
  std::string revision;  // resolved commit SHA (40 hex)
  std::string
      source_type;  // Argo CD's spelling: Directory | Kustomize | Helm (jsonnet is Directory)
  std::vector<nlohmann::json> manifests;  // Lists flattened; no tracking metadata
  std::string commit_message, author;     // author as "Name <email>"
};

struct RepoServerOptions {
  std::string cache_dir;  // clones live here: one bare clone per repository URL
  // argocd_git_request_total{repo,request_type=ls-remote|fetch},
  // argocd_git_request_duration_seconds{repo,request_type},
  // argocd_repo_pending_request_total{repo}.
  metrics::MetricsRegistry* metrics = nullptr;
  controller::Clock* clock = nullptr;  // null: wall clock
  absl::Duration revision_cache_ttl = absl::Minutes(3);
  absl::Duration exec_timeout = absl::Seconds(90);  // kustomize / helm
  size_t manifest_cache_size = 1000;                // entries, least recently used evicted
};

class RepoServerImpl;

// Thread-safe. Operations on one repository are serialized on that repository's lock; rendering
// runs outside it on an immutable checkout shared by every request for the same commit.
class RepoServer {
 public:
  explicit RepoServer(RepoServerOptions options);
  ~RepoServer();
  RepoServer(const RepoServer&) = delete;
  RepoServer& operator=(const RepoServer&) = delete;

  // Branch, tag (annotated tags peeled), HEAD/"" , fully-qualified ref, full or abbreviated SHA ->
  // 40-hex commit. `force` bypasses the revision cache.
  absl::StatusOr<std::string> ResolveRevision(std::string_view url, std::string_view revision,
                                              const RepoCredentials& creds, bool force = false);
  absl::StatusOr<ManifestResponse> GenerateManifests(const ManifestRequest& request);
  // ls-remote with these credentials.
  absl::Status TestRepository(std::string_view url, const RepoCredentials& creds);
  // A push webhook for this URL arrived: forget its cached refs.
  void InvalidateRevisions(std::string_view url);

 private:
  std::unique_ptr<RepoServerImpl> impl_;
};

// Push webhooks: GitHub (X-GitHub-Event: push), GitLab (X-Gitlab-Event: Push Hook / Tag Push Hook),
// Bitbucket Cloud (X-Event-Key: repo:push) and Bitbucket Server (X-Event-Key: repo:refs_changed).
struct PushEvent {
  std::vector<std::string> repo_urls;  // every URL the payload names for the repository
  std::string revision;                // branch or tag name ("refs/heads/main" -> "main")
  std::vector<std::string> changed_files;
};
// Empty: not checked. github: X-Hub-Signature-256 HMAC-SHA256 of the body; gitlab: X-Gitlab-Token;
// bitbucket_uuid: X-Hook-UUID.
struct WebhookSecrets {
  std::string github, gitlab, bitbucket_uuid;
};
// `headers` with lower-case keys. A recognized event that is not a push (GitHub's ping) gives an
// empty PushEvent. UNAUTHENTICATED when a configured secret does not match.
absl::StatusOr<PushEvent> ParseWebhook(const std::map<std::string, std::string>& headers,
                                       std::string_view body, const WebhookSecrets& secrets);

// Repository credentials as Secrets in namespace `argocd` labelled
// argocd.argoproj.io/secret-type=repository with data url, type, name, project, username,
// password, sshPrivateKey, insecure. password and sshPrivateKey are sealed with AES-256-GCM under a
// 32-byte key kept in `key_file` (mode 0600, created when missing) before they are written.
class RepositoryStore {
 public:
  static absl::StatusOr<std::unique_ptr<RepositoryStore>> Open(cluster::Cluster* cluster,
                                                               std::string key_file);
  // Argo CD v1alpha1 Repository JSON {repo, username, password, sshPrivateKey, insecure, name,
  // project, type}; replaces an existing entry for the same URL.
  absl::Status Upsert(const nlohmann::json& repository);
  absl::StatusOr<std::vector<nlohmann::json>> List();        // without password / sshPrivateKey
  absl::StatusOr<nlohmann::json> Get(std::string_view url);  // without password / sshPrivateKey
  absl::Status Delete(std::string_view url);
  // The entry for this repository, else the longest registered URL prefix of it (Argo CD's
  // credential templates); empty when none.
  RepoCredentials CredentialsFor(std::string_view url);

 private:
  RepositoryStore(cluster::Cluster* cluster, std::string key) : cluster_(cluster), key_(key) {}
  absl::StatusOr<std::vector<nlohmann::json>> ListSecrets();
  absl::StatusOr<nlohmann::json> FindSecret(std::string_view url);

  cluster::Cluster* cluster_;
  std::string key_;  // 32 raw bytes
};

}  // namespace argonaut::cd::repo
