// One repository's bare clone through libgit2. Not thread-safe: the repo-server serializes the
// calls for one repository on that repository's lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct git_repository;
struct git_remote_callbacks;

namespace argonaut::cd::repo {

struct RepoCredentials {
  std::string username, password, ssh_private_key;
  bool insecure = false;  // skip TLS certificate / SSH host key verification
};

// git_libgit2_init, once per process.
void InitLibgit2();

// The credential and certificate callbacks of one remote operation (clone, fetch, submodule
// update) with `creds`; `state` must outlive the operation. The credential callback gives up
// after one rejected attempt so a wrong password fails instead of looping.
struct CallbackState {
  const RepoCredentials* creds;
  int attempts = 0;
};
void SetRemoteCallbacks(CallbackState* state, git_remote_callbacks* callbacks);

// What the remote advertises: ref name -> object id (hex). Annotated tags also appear peeled as
// "refs/tags/x^{}" when the transport advertises it. HEAD's symbolic target in `head_target`.
struct RemoteRefs {
  std::map<std::string, std::string> refs;
  std::string head_target;
};

struct CommitInfo {
  std::string message, author;
};

// Every libgit2 error goes through here: the message is stripped of credentials (`secrets` and
// any URL user info) and prefixed with `what`; the code follows libgit2's class.
absl::Status GitError(int code, absl::string_view what, const RepoCredentials& creds);

// Remote operations that need no local clone.
absl::StatusOr<RemoteRefs> LsRemote(absl::string_view url, const RepoCredentials& creds);

class GitClone {
 public:
  // Opens (or initializes) the bare clone in `dir` for `url`.
  static absl::StatusOr<std::unique_ptr<GitClone>> Open(std::string url, std::string dir);
  ~GitClone();
  GitClone(const GitClone&) = delete;
  GitClone& operator=(const GitClone&) = delete;

  // Fetches every branch and tag (branches under refs/remotes/origin/, tags as refs/tags/).
  absl::Status Fetch(const RepoCredentials& creds);
  // Whether the object exists locally.
  bool Has(absl::string_view sha);
  // The commit an object (commit or annotated tag) peels to; NOT_FOUND when absent locally.
  absl::StatusOr<std::string> PeelToCommit(absl::string_view sha);
  // The commit whose id starts with `prefix` (>= 4 hex); NOT_FOUND, or INVALID_ARGUMENT when
  // ambiguous.
  absl::StatusOr<std::string> ExpandPrefix(absl::string_view prefix);
  absl::StatusOr<CommitInfo> Info(absl::string_view commit);
  // Writes the commit's tree into `target` (which must not exist): files, executables, symlinks
  // (as symlinks; the caller checks their bounds); submodules become empty directories.
  absl::Status WriteTree(absl::string_view commit, const std::string& target);

 private:
  GitClone(std::string url, git_repository* repo) : url_(std::move(url)), repo_(repo) {}
  std::string url_;
  git_repository* repo_;
};

// Hex ids.
bool IsFullSha(absl::string_view s);
bool IsShaPrefix(absl::string_view s);  // 7..40 hex characters

}  // namespace argonaut::cd::repo
