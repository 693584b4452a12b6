#include "lib/artifacts/git_driver.h"

#include <git2.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/artifacts/secret_ref.h"
#include "services/cd/repo/git.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using cd::repo::CallbackState;
using cd::repo::GitError;
using cd::repo::RepoCredentials;

struct GitSpec {
  std::string repo, revision, branch;
  std::vector<std::string> fetch;
  bool single_branch = false, disable_submodules = false, ssh = false;
  RepoCredentials creds;  // holds Secret values: never printed
};

bool IsSshUrl(const std::string& url) {
  if (absl::StartsWithIgnoreCase(url, "ssh://") || absl::StartsWithIgnoreCase(url, "git+ssh://")) {
    return true;
  }
  // scp-like "user@host:path" (no scheme, a colon before any slash).
  if (url.find("://") != std::string::npos) return false;
  size_t colon = url.find(':');
  size_t slash = url.find('/');
  return colon != std::string::npos && (slash == std::string::npos || colon < slash);
}

absl::StatusOr<bool> OptionalBool(const nlohmann::json& loc, const char* field) {
  if (!loc.contains(field) || loc[field].is_null()) return false;
  if (!loc[field].is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("git.", field, ": want true or false"));
  }
  return loc[field].get<bool>();
}

absl::StatusOr<std::string> OptionalString(const nlohmann::json& loc, const char* field) {
  if (!loc.contains(field) || loc[field].is_null()) return std::string();
  if (!loc[field].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("git.", field, ": want a string"));
  }
  return loc[field].get<std::string>();
}

absl::StatusOr<GitSpec> ParseSpec(const nlohmann::json& artifact, const DriverOptions& options) {
  const nlohmann::json& loc =
      artifact.is_object() && artifact.contains("git") ? artifact["git"] : artifact;
  if (!loc.is_object()) return absl::InvalidArgumentError("git: want an object");
  GitSpec spec;
  auto repo = OptionalString(loc, "repo");
  if (!repo.ok()) return repo.status();
  if (repo->empty()) return absl::InvalidArgumentError("git.repo: required");
  spec.repo = *repo;
  for (auto [field, out] : {std::pair<const char*, std::string*>{"revision", &spec.revision},
                            {"branch", &spec.branch}}) {
    auto v = OptionalString(loc, field);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  for (auto [field, out] : {std::pair<const char*, bool*>{"singleBranch", &spec.single_branch},
                            {"disableSubmodules", &spec.disable_submodules}}) {
    auto v = OptionalBool(loc, field);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  if (loc.contains("depth") && !loc["depth"].is_null() &&
      !(loc["depth"].is_number_integer() && loc["depth"].get<int64_t>() >= 0)) {
    return absl::InvalidArgumentError("git.depth: want a non-negative integer");
  }
  if (loc.contains("fetch") && !loc["fetch"].is_null()) {
    if (!loc["fetch"].is_array()) return absl::InvalidArgumentError("git.fetch: want a list");
    for (size_t i = 0; i < loc["fetch"].size(); ++i) {
      if (!loc["fetch"][i].is_string() || loc["fetch"][i].get<std::string>().empty()) {
        return absl::InvalidArgumentError(absl::StrCat("git.fetch[", i, "]: want a refspec"));
      }
      spec.fetch.push_back(loc["fetch"][i].get<std::string>());
    }
  }
  spec.ssh = IsSshUrl(spec.repo);
  auto ignore_host_key = OptionalBool(loc, "insecureIgnoreHostKey");
  if (!ignore_host_key.ok()) return ignore_host_key.status();
  auto skip_tls = OptionalBool(loc, "insecureSkipTLS");
  if (!skip_tls.ok()) return skip_tls.status();
  spec.creds.insecure = spec.ssh ? *ignore_host_key : *skip_tls;
  struct SecretField {
    const char* field;
    std::string* out;
  };
  for (SecretField f : {SecretField{"usernameSecret", &spec.creds.username},
                        SecretField{"passwordSecret", &spec.creds.password},
                        SecretField{"sshPrivateKeySecret", &spec.creds.ssh_private_key}}) {
    if (!loc.contains(f.field) || loc[f.field].is_null()) continue;
    auto v = ResolveSecretRef(loc[f.field], absl::StrCat("git.", f.field), options);
    if (!v.ok()) return v.status();
    *f.out = *std::move(v);
  }
  return spec;
}

std::string KnownHostsPath() {
  if (const char* p = std::getenv("SSH_KNOWN_HOSTS"); p != nullptr && *p != '\0') return p;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.ssh/known_hosts");
  }
  return "";
}

// libgit2 1.5 accepts any ssh host key when the callback passes: check it against known_hosts
// here unless the location says insecureIgnoreHostKey. TLS certificates go through libgit2's own
// verification (as the repo-server's callback does).
int CheckCertificate(git_cert* cert, int valid, const char* host, void* payload) {
  auto* state = static_cast<CallbackState*>(payload);
  if (state->creds->insecure) return 0;
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  auto* hostkey = reinterpret_cast<git_cert_hostkey*>(cert);
  const std::string path = KnownHostsPath();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if ((hostkey->type & GIT_CERT_SSH_RAW) != 0 && in &&
      KnownHostsAccept(text.str(), host != nullptr ? host : "",
                       std::string_view(hostkey->hostkey, hostkey->hostkey_len))) {
    return 0;
  }
  git_error_set_str(GIT_ERROR_SSH,
                    absl::StrCat("the ssh host key of ", host != nullptr ? host : "?",
                                 " is not listed in ", path.empty() ? "known_hosts" : path,
                                 " (set insecureIgnoreHostKey to skip the check)")
                        .c_str());
  return GIT_ECERTIFICATE;
}

git_remote_callbacks Callbacks(CallbackState* state) {
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  cd::repo::SetRemoteCallbacks(state, &callbacks);
  callbacks.certificate_check = CheckCertificate;
  return callbacks;
}

// With singleBranch, origin fetches only that branch.
int CreateSingleBranchRemote(git_remote** out, git_repository* repo, const char* name,
                             const char* url, void* payload) {
  const std::string& branch = *static_cast<const std::string*>(payload);
  const std::string refspec =
      absl::StrCat("+refs/heads/", branch, ":refs/remotes/", name, "/", branch);
  return git_remote_create_with_fetchspec(out, repo, name, url, refspec.c_str());
}

struct SubmoduleContext {
  CallbackState* state;
  absl::Status status;
  const RepoCredentials* creds;
};

int UpdateSubmodule(git_submodule* sm, const char* name, void* payload) {
  auto* ctx = static_cast<SubmoduleContext*>(payload);
  git_submodule_update_options options = GIT_SUBMODULE_UPDATE_OPTIONS_INIT;
  options.fetch_opts.callbacks = Callbacks(ctx->state);
  ctx->state->attempts = 0;
  if (int rc = git_submodule_update(sm, /*init=*/1, &options); rc != 0) {
    ctx->status = GitError(rc, absl::StrCat("git submodule update ", name), *ctx->creds);
    return rc;
  }
  return 0;
}

absl::StatusOr<git_object*> ResolveRevision(git_repository* repo, const std::string& revision) {
  // A branch other than the default one exists only as origin/<branch> after a clone.
  for (const std::string& candidate : {revision, absl::StrCat("origin/", revision)}) {
    git_object* obj = nullptr;
    if (git_revparse_single(&obj, repo, candidate.c_str()) != 0) continue;
    git_object* commit = nullptr;
    int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (rc == 0) return commit;
  }
  return absl::NotFoundError(absl::StrCat("git.revision: '", revision,
                                          "' names no branch, tag or commit of the repository"));
}

absl::Status CloneInto(const GitSpec& spec, const std::string& dst) {
  cd::repo::InitLibgit2();
  const std::string url = UrlForMessages(spec.repo);
  CallbackState state{.creds = &spec.creds};
  git_clone_options options = GIT_CLONE_OPTIONS_INIT;
  options.fetch_opts.callbacks = Callbacks(&state);
  options.checkout_opts.checkout_strategy = GIT_CHECKOUT_SAFE;
  if (!spec.branch.empty()) {
    options.checkout_branch = spec.branch.c_str();
    if (spec.single_branch) {
      options.remote_cb = CreateSingleBranchRemote;
      options.remote_cb_payload = const_cast<std::string*>(&spec.branch);
    }
  }
  git_repository* repo = nullptr;
  if (int rc = git_clone(&repo, spec.repo.c_str(), dst.c_str(), &options); rc != 0) {
    return GitError(rc, absl::StrCat("git clone ", url), spec.creds);
  }
  absl::Cleanup free_repo = [repo] { git_repository_free(repo); };

  if (!spec.fetch.empty()) {
    git_remote* remote = nullptr;
    if (int rc = git_remote_lookup(&remote, repo, "origin"); rc != 0) {
      return GitError(rc, absl::StrCat("git fetch ", url), spec.creds);
    }
    absl::Cleanup free_remote = [remote] { git_remote_free(remote); };
    std::vector<char*> specs;
    for (const std::string& s : spec.fetch) specs.push_back(const_cast<char*>(s.c_str()));
    git_strarray refspecs{specs.data(), specs.size()};
    git_fetch_options fetch = GIT_FETCH_OPTIONS_INIT;
    state.attempts = 0;
    fetch.callbacks = Callbacks(&state);
    if (int rc = git_remote_fetch(remote, &refspecs, &fetch, "fetch"); rc != 0) {
      return GitError(rc, absl::StrCat("git fetch ", url, " (git.fetch refspecs)"), spec.creds);
    }
  }

  if (!spec.revision.empty()) {
    auto commit = ResolveRevision(repo, spec.revision);
    if (!commit.ok()) return commit.status();
    absl::Cleanup free_commit = [c = *commit] { git_object_free(c); };
    git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
    checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (int rc = git_checkout_tree(repo, *commit, &checkout); rc != 0) {
      return GitError(rc, absl::StrCat("git checkout ", spec.revision, " of ", url), spec.creds);
    }
    if (int rc = git_repository_set_head_detached(repo, git_object_id(*commit)); rc != 0) {
      return GitError(rc, absl::StrCat("git checkout ", spec.revision, " of ", url), spec.creds);
    }
  }

  if (!spec.disable_submodules) {
    SubmoduleContext ctx{.state = &state, .creds = &spec.creds};
    int rc = git_submodule_foreach(repo, UpdateSubmodule, &ctx);
    if (!ctx.status.ok()) return ctx.status;
    if (rc != 0) return GitError(rc, absl::StrCat("git submodule update in ", url), spec.creds);
  }
  return absl::OkStatus();
}

class GitDriver : public Driver {
 public:
  explicit GitDriver(DriverOptions options) : options_(std::move(options)) {}

  absl::Status Load(const nlohmann::json& artifact, const std::string& dst) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    std::error_code ec;
    const bool existed = fs::exists(dst, ec);
    if (existed && !(fs::is_directory(dst, ec) && fs::is_empty(dst, ec))) {
      return absl::FailedPreconditionError(
          absl::StrCat("git artifact: ", dst, " exists and is not an empty directory"));
    }
    absl::Status s = CloneInto(*spec, dst);
    if (!s.ok()) {
      // Never leave half a checkout behind.
      if (existed) {
        for (const auto& entry : fs::directory_iterator(dst, ec)) fs::remove_all(entry, ec);
      } else {
        fs::remove_all(dst, ec);
      }
    }
    return s;
  }

  absl::Status OpenStream(const nlohmann::json&, const ChunkSink&) override {
    return absl::UnimplementedError("git: a git artifact is a directory, not a single object");
  }
  absl::Status Save(const std::string&, const nlohmann::json&) override {
    return absl::UnimplementedError("git: git artifacts are input only");
  }
  absl::Status Delete(const nlohmann::json&) override {
    return absl::UnimplementedError("git: git artifacts are input only; nothing to delete");
  }
  absl::StatusOr<std::vector<std::string>> ListObjects(const nlohmann::json&) override {
    return absl::UnimplementedError("git: a git artifact has no objects to list");
  }

 private:
  DriverOptions options_;
};

}  // namespace

bool KnownHostsAccept(std::string_view known_hosts_text, std::string_view host_text,
                      std::string_view key) {
  const absl::string_view host(host_text.data(), host_text.size());
  if (host.empty() || key.empty()) return false;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(known_hosts_text.data(), known_hosts_text.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == '@' || line[0] == '|') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 3) continue;
    bool host_matches = false;
    for (absl::string_view pattern : absl::StrSplit(fields[0], ',')) {
      if (pattern == host) host_matches = true;
      // "[host]:port": the callback is not told the port.
      if (absl::StartsWith(pattern, "[") && pattern.size() > host.size() + 2 &&
          pattern.substr(1, host.size()) == host &&
          absl::StartsWith(pattern.substr(host.size() + 1), "]:")) {
        host_matches = true;
      }
    }
    if (!host_matches) continue;
    std::string blob;
    if (absl::Base64Unescape(fields[2], &blob) && blob == key) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Driver>> MakeGitDriver(const nlohmann::json& artifact,
                                                      const DriverOptions& options) {
  auto spec = ParseSpec(artifact, options);
  if (!spec.ok()) return spec.status();
  return std::unique_ptr<Driver>(new GitDriver(options));
}

}  // namespace argonaut::artifacts
