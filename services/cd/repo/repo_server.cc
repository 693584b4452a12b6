#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "openssl/sha.h"
#include "services/cd/repo/generate.h"
#include "services/cd/repo/git.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/semver.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxCheckoutsPerRepo = 16;

std::string Sha256Hex(absl::string_view s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// A commit's tree written out once and shared read-only by every request for that commit.
struct Checkout {
  std::string dir;
  CommitInfo info;
  absl::Status symlinks;  // out-of-bounds symlinks make every render of this commit fail
  uint64_t last_used = 0;
};

struct Repo {
  absl::Mutex mu;  // serializes git work on this clone
  std::unique_ptr<GitClone> clone ABSL_GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<Checkout>> checkouts ABSL_GUARDED_BY(mu);
};

struct CachedRefs {
  RemoteRefs refs;
  absl::Time fetched;
};

}  // namespace

class RepoServerImpl {
 public:
  explicit RepoServerImpl(RepoServerOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = controller::RealClock::Get();
    if (options_.cache_dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      options_.cache_dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                        "/argonaut-repo-server-", getpid());
    }
    // Private copies left behind by a crash (kustomize overrides) are never read again.
    std::error_code ec;
    fs::remove_all(fs::path(options_.cache_dir) / "scratch", ec);
    if (options_.metrics != nullptr) {
      auto requests = options_.metrics->AddCounter(
          "argocd_git_request_total", "Number of git requests performed by repo server");
      auto duration = options_.metrics->AddHistogram(
          "argocd_git_request_duration_seconds", "Git requests duration seconds.",
          metrics::Buckets{0.1, 0.25, 0.5, 1, 2, 4, 10, 20});
      auto pending =
          options_.metrics->AddGauge("argocd_repo_pending_request_total",
                                     "Number of pending requests requiring repository lock");
      if (requests.ok() && duration.ok() && pending.ok()) {
        git_requests_ = *requests;
        git_duration_.emplace(*duration);
        pending_ = *pending;
      } else {
        LogWarn("repo-server", "metrics not registered");
      }
    }
  }

  absl::StatusOr<std::string> Resolve(absl::string_view url, absl::string_view revision,
                                      const RepoCredentials& creds, bool force);
  absl::StatusOr<ManifestResponse> Generate(const ManifestRequest& request);
  absl::Status Test(absl::string_view url, const RepoCredentials& creds) {
    return LsRemoteCounted(url, creds).status();
  }
  void Invalidate(absl::string_view url) {
    absl::MutexLock lock(&mu_);
    for (auto it = refs_.begin(); it != refs_.end();) {
      it = NormalizeRepoUrl(it->first) == NormalizeRepoUrl(url) ? refs_.erase(it) : std::next(it);
    }
  }

 private:
  // Git request timing under argocd_git_request_* (request_type ls-remote | fetch).
  template <typename F>
  auto Timed(absl::string_view url, const char* type, F&& f) {
    const absl::Time start = absl::Now();
    auto result = f();
    if (git_requests_ != nullptr) {
      prometheus::Labels labels{{"repo", RedactUrl(url)}, {"request_type", type}};
      git_requests_->Add(labels).Increment();
      git_duration_->WithLabels(labels).Observe(absl::ToDoubleSeconds(absl::Now() - start));
    }
    return result;
  }

  absl::StatusOr<RemoteRefs> LsRemoteCounted(absl::string_view url, const RepoCredentials& creds) {
    return Timed(url, "ls-remote", [&] { return LsRemote(url, creds); });
  }

  absl::StatusOr<RemoteRefs> Refs(absl::string_view url, const RepoCredentials& creds, bool force);
  std::shared_ptr<Repo> RepoFor(absl::string_view url);
  // With repo->mu held: the clone, fetched if `sha` (or, for prefixes, anything) is missing.
  absl::StatusOr<GitClone*> CloneWith(Repo& repo, absl::string_view url,
                                      const RepoCredentials& creds, absl::string_view sha)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(repo.mu);
  absl::StatusOr<std::shared_ptr<Checkout>> CheckoutOf(absl::string_view url,
                                                       const RepoCredentials& creds,
                                                       const std::string& commit);

  struct PendingGuard {
    PendingGuard(prometheus::Gauge* g) : gauge(g) {
      if (gauge != nullptr) gauge->Increment();
    }
    ~PendingGuard() {
      if (gauge != nullptr) gauge->Decrement();
    }
    prometheus::Gauge* gauge;
  };

  RepoServerOptions options_;
  metrics::CounterFamily* git_requests_ = nullptr;
  std::optional<metrics::HistogramFamily> git_duration_;
  metrics::GaugeFamily* pending_ = nullptr;
  std::atomic<uint64_t> use_counter_{0};
  std::atomic<uint64_t> scratch_counter_{0};

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Repo>> repos_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, CachedRefs> refs_ ABSL_GUARDED_BY(mu_);  // by URL as given

  absl::Mutex cache_mu_;
  std::list<std::pair<std::string, ManifestResponse>> lru_ ABSL_GUARDED_BY(cache_mu_);
  absl::flat_hash_map<std::string, decltype(lru_)::iterator> cache_ ABSL_GUARDED_BY(cache_mu_);
};

std::shared_ptr<Repo> RepoServerImpl::RepoFor(absl::string_view url) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Repo>& repo = repos_[NormalizeRepoUrl(url)];
  if (repo == nullptr) repo = std::make_shared<Repo>();
  return repo;
}

absl::StatusOr<RemoteRefs> RepoServerImpl::Refs(absl::string_view url, const RepoCredentials& creds,
                                                bool force) {
  const std::string key(url);
  const absl::Time now = options_.clock->Now();
  if (!force) {
    absl::MutexLock lock(&mu_);
    auto it = refs_.find(key);
    if (it != refs_.end() && now - it->second.fetched < options_.revision_cache_ttl) {
      return it->second.refs;
    }
  }
  ASSIGN_OR_RETURN(RemoteRefs refs, LsRemoteCounted(url, creds));
  absl::MutexLock lock(&mu_);
  refs_[key] = CachedRefs{refs, now};
  return refs;
}

absl::StatusOr<GitClone*> RepoServerImpl::CloneWith(Repo& repo, absl::string_view url,
                                                    const RepoCredentials& creds,
                                                    absl::string_view sha) {
  if (repo.clone == nullptr) {
    const std::string dir =
        (fs::path(options_.cache_dir) / "clones" / Sha256Hex(NormalizeRepoUrl(url)).substr(0, 24))
            .string();
    ASSIGN_OR_RETURN(repo.clone, GitClone::Open(std::string(url), dir));
  }
  const bool missing = IsFullSha(sha) ? !repo.clone->Has(sha) : true;
  if (missing) {
    RETURN_IF_ERROR(Timed(url, "fetch", [&] { return repo.clone->Fetch(creds); }));
  }
  return repo.clone.get();
}

absl::StatusOr<std::string> RepoServerImpl::Resolve(absl::string_view url,
                                                    absl::string_view revision,
                                                    const RepoCredentials& creds, bool force) {
  if (url.empty()) return absl::InvalidArgumentError("repoURL: required");
  std::string rev(revision.empty() ? "HEAD" : revision);
  if (IsFullSha(rev)) return absl::AsciiStrToLower(rev);
  ASSIGN_OR_RETURN(RemoteRefs remote, Refs(url, creds, force));
  std::string sha;
  bool peeled = false;
  if (rev == "HEAD") {
    auto it = remote.refs.find("HEAD");
    if (it != remote.refs.end()) sha = it->second;
    peeled = true;
  } else {
    for (const std::string& name : {rev, "refs/heads/" + rev, "refs/tags/" + rev}) {
      if (auto p = remote.refs.find(name + "^{}"); p != remote.refs.end()) {
        sha = p->second;
        peeled = true;
        break;
      }
      if (auto it = remote.refs.find(name); it != remote.refs.end()) {
        sha = it->second;
        peeled = !absl::StartsWith(name, "refs/tags/");
        break;
      }
    }
  }
  if (sha.empty() && rev != "HEAD") {
    // A semver constraint picks the highest matching tag (exact ref names win above).
    std::map<std::string, std::string> tags;
    for (const auto& [name, id] : remote.refs) {
      if (absl::StartsWith(name, "refs/tags/") && !absl::EndsWith(name, "^{}")) {
        tags[name.substr(10)] = id;
      }
    }
    if (std::string tag = MaxSatisfying(rev, tags); !tag.empty()) {
      if (auto p = remote.refs.find("refs/tags/" + tag + "^{}"); p != remote.refs.end()) {
        return p->second;
      }
      sha = tags[tag];
      peeled = false;
    }
  }
  if (!sha.empty() && peeled) return sha;
  if (sha.empty() && !IsShaPrefix(rev)) {
    return absl::NotFoundError(absl::StrCat("unable to resolve '", rev, "' to a commit SHA"));
  }
  // A tag whose peeled commit was not advertised, or an abbreviated SHA: ask the clone.
  std::shared_ptr<Repo> repo = RepoFor(url);
  PendingGuard pending(pending_ ? &pending_->Add({{"repo", RedactUrl(url)}}) : nullptr);
  absl::MutexLock lock(&repo->mu);
  ASSIGN_OR_RETURN(GitClone * clone, CloneWith(*repo, url, creds, sha));
  if (!sha.empty()) return clone->PeelToCommit(sha);
  absl::StatusOr<std::string> full = clone->ExpandPrefix(rev);
  if (absl::IsNotFound(full.status())) {
    return absl::NotFoundError(absl::StrCat("unable to resolve '", rev, "' to a commit SHA"));
  }
  return full;
}

absl::StatusOr<std::shared_ptr<Checkout>> RepoServerImpl::CheckoutOf(absl::string_view url,
                                                                     const RepoCredentials& creds,
                                                                     const std::string& sha) {
  std::shared_ptr<Repo> repo = RepoFor(url);
  PendingGuard pending(pending_ ? &pending_->Add({{"repo", RedactUrl(url)}}) : nullptr);
  absl::MutexLock lock(&repo->mu);
  if (auto it = repo->checkouts.find(sha); it != repo->checkouts.end()) {
    it->second->last_used = ++use_counter_;
    return it->second;
  }
  ASSIGN_OR_RETURN(GitClone * clone, CloneWith(*repo, url, creds, sha));
  absl::StatusOr<std::string> commit = clone->PeelToCommit(sha);
  if (!commit.ok()) {
    return absl::NotFoundError(absl::StrCat("unable to resolve '", sha, "' to a commit SHA"));
  }
  auto checkout = std::make_shared<Checkout>();
  ASSIGN_OR_RETURN(checkout->info, clone->Info(*commit));
  const fs::path base =
      fs::path(options_.cache_dir) / "checkouts" / Sha256Hex(NormalizeRepoUrl(url)).substr(0, 24);
  checkout->dir = (base / *commit).string();
  std::error_code ec;
  fs::create_directories(base, ec);
  fs::remove_all(checkout->dir, ec);  // a leftover of a crash mid-write
  const std::string tmp = absl::StrCat(checkout->dir, ".tmp");
  fs::remove_all(tmp, ec);
  RETURN_IF_ERROR(clone->WriteTree(*commit, tmp));
  fs::rename(tmp, checkout->dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("checkout: ", ec.message()));
  checkout->symlinks = CheckSymlinksInside(checkout->dir, checkout->dir);
  checkout->last_used = ++use_counter_;
  repo->checkouts[sha] = checkout;
  // Forget the least recently used checkouts nobody is rendering from.
  while (repo->checkouts.size() > kMaxCheckoutsPerRepo) {
    auto victim = repo->checkouts.end();
    for (auto it = repo->checkouts.begin(); it != repo->checkouts.end(); ++it) {
      if (it->second.use_count() == 1 &&
          (victim == repo->checkouts.end() || it->second->last_used < victim->second->last_used)) {
        victim = it;
      }
    }
    if (victim == repo->checkouts.end()) break;
    fs::remove_all(victim->second->dir, ec);
    repo->checkouts.erase(victim);
  }
  return checkout;
}

absl::StatusOr<ManifestResponse> RepoServerImpl::Generate(const ManifestRequest& request) {
  const json& source = request.source;
  std::string path = request.path;
  if (path.empty() && source.is_object() && source.contains("path") && source["path"].is_string()) {
    path = source["path"].get<std::string>();
  }
  std::string target = request.target_revision;
  if (target.empty() && source.is_object() && source.contains("targetRevision") &&
      source["targetRevision"].is_string()) {
    target = source["targetRevision"].get<std::string>();
  }
  if (!source.is_null() && !source.is_object()) {
    return absl::InvalidArgumentError("source: expected an object");
  }
  std::string url = request.repo_url;
  if (url.empty() && source.is_object() && source.contains("repoURL") &&
      source["repoURL"].is_string()) {
    url = source["repoURL"].get<std::string>();
  }
  ASSIGN_OR_RETURN(std::string commit, Resolve(url, target, request.creds, request.force_resolve));

  json key_source = source.is_object() ? source : json::object();
  key_source.erase("targetRevision");  // the resolved commit stands for it
  const std::string key =
      absl::StrCat(NormalizeRepoUrl(url), "\n", commit, "\n", path, "\n", key_source.dump(), "\n",
                   request.app_name, "\n", request.dest_namespace);
  if (!request.no_cache) {
    absl::MutexLock lock(&cache_mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }

  ASSIGN_OR_RETURN(std::shared_ptr<Checkout> checkout, CheckoutOf(url, request.creds, commit));
  RETURN_IF_ERROR(checkout->symlinks);
  const fs::path scratch =
      fs::path(options_.cache_dir) / "scratch" / absl::StrCat(getpid(), "-", ++scratch_counter_);
  std::error_code ec;
  fs::create_directories(scratch, ec);
  RenderRequest render{.repo_root = checkout->dir,
                       .path = path,
                       .source = source,
                       .app_name = request.app_name,
                       .dest_namespace = request.dest_namespace,
                       .revision = commit,
                       .repo_url = url,
                       .target_revision = target,
                       .scratch_dir = scratch,
                       .exec_timeout = options_.exec_timeout};
  absl::StatusOr<Rendered> rendered = Render(render);
  fs::remove_all(scratch, ec);
  if (!rendered.ok()) return rendered.status();

  ManifestResponse response{.revision = commit,
                            .source_type = rendered->source_type,
                            .manifests = std::move(rendered->manifests),
                            .commit_message = checkout->info.message,
                            .author = checkout->info.author};
  absl::MutexLock lock(&cache_mu_);
  if (auto it = cache_.find(key); it != cache_.end()) {
    lru_.erase(it->second);
    cache_.erase(it);
  }
  lru_.emplace_front(key, response);
  cache_[key] = lru_.begin();
  while (lru_.size() > std::max<size_t>(options_.manifest_cache_size, 1)) {
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return response;
}

RepoServer::RepoServer(RepoServerOptions options)
    : impl_(std::make_unique<RepoServerImpl>(std::move(options))) {}
RepoServer::~RepoServer() = default;

absl::StatusOr<std::string> RepoServer::ResolveRevision(std::string_view url,
                                                        std::string_view revision,
                                                        const RepoCredentials& creds, bool force) {
  return impl_->Resolve(AbslView(url), AbslView(revision), creds, force);
}

absl::StatusOr<ManifestResponse> RepoServer::GenerateManifests(const ManifestRequest& request) {
  return impl_->Generate(request);
}

absl::Status RepoServer::TestRepository(std::string_view url, const RepoCredentials& creds) {
  if (url.empty()) return absl::InvalidArgumentError("repo: required");
  return impl_->Test(AbslView(url), creds);
}

void RepoServer::InvalidateRevisions(std::string_view url) { impl_->Invalidate(AbslView(url)); }

}  // namespace argonaut::cd::repo
