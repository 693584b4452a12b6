#include "services/cd/repo/git.h"

#include <fcntl.h>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;

int AcquireCredential(git_credential** out, const char* /*url*/, const char* username_from_url,
                      unsigned int allowed, void* payload) {
  auto* state = static_cast<CallbackState*>(payload);
  const RepoCredentials& c = *state->creds;
  if (++state->attempts > 1) {
    git_error_set_str(GIT_ERROR_NET, "authentication failed: the credentials were rejected");
    return GIT_EAUTH;
  }
  std::string user = username_from_url != nullptr && *username_from_url != '\0'
                         ? username_from_url
                         : (c.username.empty() ? "git" : c.username);
  if ((allowed & GIT_CREDENTIAL_SSH_MEMORY) != 0 && !c.ssh_private_key.empty()) {
    return git_credential_ssh_key_memory_new(out, user.c_str(), nullptr, c.ssh_private_key.c_str(),
                                             nullptr);
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0 &&
      (!c.password.empty() || !c.username.empty())) {
    return git_credential_userpass_plaintext_new(out, user.c_str(), c.password.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERNAME) != 0) {
    return git_credential_username_new(out, user.c_str());
  }
  git_error_set_str(GIT_ERROR_NET, "authentication required: no credentials for this repository");
  return GIT_EAUTH;
}

int CheckCertificate(git_cert* /*cert*/, int /*valid*/, const char* /*host*/, void* payload) {
  auto* state = static_cast<CallbackState*>(payload);
  return state->creds->insecure ? 0 : GIT_PASSTHROUGH;
}

git_remote_callbacks Callbacks(CallbackState* state) {
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  SetRemoteCallbacks(state, &callbacks);
  return callbacks;
}

std::string OidHex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof(buf), oid);
  return buf;
}

absl::StatusOr<git_oid> ParseOid(absl::string_view sha) {
  git_oid oid;
  if (!IsFullSha(sha) || git_oid_fromstrn(&oid, sha.data(), sha.size()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("not a commit SHA: ", sha));
  }
  return oid;
}

absl::Status WriteFile(const fs::path& path, const void* data, size_t size, bool executable) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0755 : 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("create ", path.string(), " failed"));
  absl::Cleanup close_fd = [fd] { close(fd); };
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n <= 0) return absl::InternalError(absl::StrCat("write ", path.string(), " failed"));
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool SafeEntryName(absl::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == name.npos &&
         name.find('\0') == name.npos;
}

}  // namespace

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

void SetRemoteCallbacks(CallbackState* state, git_remote_callbacks* callbacks) {
  callbacks->credentials = AcquireCredential;
  callbacks->certificate_check = CheckCertificate;
  callbacks->payload = state;
}

bool IsFullSha(absl::string_view s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsShaPrefix(absl::string_view s) {
  if (s.size() < 7 || s.size() > 40) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status GitError(int code, absl::string_view what, const RepoCredentials& creds) {
  const git_error* e = git_error_last();
  std::string message = Redact(e != nullptr && e->message != nullptr ? e->message : "unknown error",
                               {creds.password, creds.ssh_private_key});
  std::string text = absl::StrCat(what, ": ", message);
  int klass = e != nullptr ? e->klass : GIT_ERROR_NONE;
  if (code == GIT_EAUTH || absl::StrContains(message, "authentication") ||
      absl::StrContains(message, "401")) {
    return absl::UnauthenticatedError(text);
  }
  if (code == GIT_ENOTFOUND) return absl::NotFoundError(text);
  if (code == GIT_ECERTIFICATE) return absl::FailedPreconditionError(text);
  if (klass == GIT_ERROR_NET || klass == GIT_ERROR_SSH || klass == GIT_ERROR_HTTP ||
      klass == GIT_ERROR_SSL || klass == GIT_ERROR_OS) {
    return absl::UnavailableError(text);
  }
  return absl::InternalError(text);
}

absl::StatusOr<RemoteRefs> LsRemote(absl::string_view url, const RepoCredentials& creds) {
  InitLibgit2();
  const std::string what = absl::StrCat("git ls-remote ", RedactUrl(url));
  git_remote* remote = nullptr;
  std::string url_copy(url);
  if (int rc = git_remote_create_detached(&remote, url_copy.c_str()); rc != 0) {
    return GitError(rc, what, creds);
  }
  absl::Cleanup free_remote = [remote] { git_remote_free(remote); };
  CallbackState state{.creds = &creds};
  git_remote_callbacks callbacks = Callbacks(&state);
  if (int rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr);
      rc != 0) {
    return GitError(rc, what, creds);
  }
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (int rc = git_remote_ls(&heads, &count, remote); rc != 0) return GitError(rc, what, creds);
  RemoteRefs out;
  for (size_t i = 0; i < count; ++i) {
    out.refs[heads[i]->name] = OidHex(&heads[i]->oid);
    if (absl::string_view(heads[i]->name) == "HEAD" && heads[i]->symref_target != nullptr) {
      out.head_target = heads[i]->symref_target;
    }
  }
  git_remote_disconnect(remote);
  return out;
}

absl::StatusOr<std::unique_ptr<GitClone>> GitClone::Open(std::string url, std::string dir) {
  InitLibgit2();
  git_repository* repo = nullptr;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "HEAD", ec)) {
    if (int rc = git_repository_open_bare(&repo, dir.c_str()); rc != 0) {
      return GitError(rc, absl::StrCat("opening the clone of ", RedactUrl(url)), {});
    }
  } else {
    fs::create_directories(dir, ec);
    if (int rc = git_repository_init(&repo, dir.c_str(), /*is_bare=*/1); rc != 0) {
      return GitError(rc, absl::StrCat("creating the clone of ", RedactUrl(url)), {});
    }
  }
  return std::unique_ptr<GitClone>(new GitClone(std::move(url), repo));
}

GitClone::~GitClone() { git_repository_free(repo_); }

absl::Status GitClone::Fetch(const RepoCredentials& creds) {
  const std::string what = absl::StrCat("git fetch ", RedactUrl(url_));
  git_remote* remote = nullptr;
  if (int rc = git_remote_create_anonymous(&remote, repo_, url_.c_str()); rc != 0) {
    return GitError(rc, what, creds);
  }
  absl::Cleanup free_remote = [remote] { git_remote_free(remote); };
  CallbackState state{.creds = &creds};
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks = Callbacks(&state);
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the refspec below takes them all
  options.update_fetchhead = 0;
  char heads[] = "+refs/heads/*:refs/remotes/origin/*";
  char tags[] = "+refs/tags/*:refs/tags/*";
  char* specs[] = {heads, tags};
  git_strarray refspecs{specs, 2};
  if (int rc = git_remote_fetch(remote, &refspecs, &options, nullptr); rc != 0) {
    return GitError(rc, what, creds);
  }
  return absl::OkStatus();
}

bool GitClone::Has(absl::string_view sha) {
  absl::StatusOr<git_oid> oid = ParseOid(sha);
  if (!oid.ok()) return false;
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo_) != 0) return false;
  bool exists = git_odb_exists(odb, &*oid) == 1;
  git_odb_free(odb);
  return exists;
}

absl::StatusOr<std::string> GitClone::PeelToCommit(absl::string_view sha) {
  absl::StatusOr<git_oid> oid = ParseOid(sha);
  if (!oid.ok()) return oid.status();
  git_object* obj = nullptr;
  if (int rc = git_object_lookup(&obj, repo_, &*oid, GIT_OBJECT_ANY); rc != 0) {
    return absl::NotFoundError(absl::StrCat("object ", sha, " is not in the clone"));
  }
  absl::Cleanup free_obj = [obj] { git_object_free(obj); };
  git_object* commit = nullptr;
  if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(sha, " does not point to a commit"));
  }
  std::string out = OidHex(git_object_id(commit));
  git_object_free(commit);
  return out;
}

absl::StatusOr<std::string> GitClone::ExpandPrefix(absl::string_view prefix) {
  git_oid oid;
  if (git_oid_fromstrn(&oid, prefix.data(), prefix.size()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("not a commit SHA: ", prefix));
  }
  git_object* obj = nullptr;
  int rc = git_object_lookup_prefix(&obj, repo_, &oid, prefix.size(), GIT_OBJECT_COMMIT);
  if (rc == GIT_EAMBIGUOUS) {
    return absl::InvalidArgumentError(absl::StrCat("short SHA ", prefix, " is ambiguous"));
  }
  if (rc != 0) return absl::NotFoundError(absl::StrCat("no commit starts with ", prefix));
  std::string out = OidHex(git_object_id(obj));
  git_object_free(obj);
  return out;
}

absl::StatusOr<CommitInfo> GitClone::Info(absl::string_view sha) {
  absl::StatusOr<git_oid> oid = ParseOid(sha);
  if (!oid.ok()) return oid.status();
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo_, &*oid) != 0) {
    return absl::NotFoundError(absl::StrCat("commit ", sha, " is not in the clone"));
  }
  CommitInfo info;
  const char* message = git_commit_message(commit);
  info.message = message != nullptr ? message : "";
  while (!info.message.empty() && info.message.back() == '\n') info.message.pop_back();
  if (const git_signature* a = git_commit_author(commit); a != nullptr) {
    info.author = absl::StrCat(a->name != nullptr ? a->name : "", " <",
                               a->email != nullptr ? a->email : "", ">");
  }
  git_commit_free(commit);
  return info;
}

namespace {

absl::Status WriteTreeInto(git_repository* repo, const git_tree* tree, const fs::path& dir) {
  std::error_code ec;
  if (!fs::create_directory(dir, ec) || ec) {
    return absl::InternalError(absl::StrCat("mkdir ", dir.string(), ": ", ec.message()));
  }
  size_t count = git_tree_entrycount(tree);
  for (size_t i = 0; i < count; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
    absl::string_view name = git_tree_entry_name(entry);
    if (!SafeEntryName(name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("tree entry with unsafe name '", name, "'"));
    }
    fs::path path = dir / std::string(name);
    git_filemode_t mode = git_tree_entry_filemode(entry);
    const git_oid* id = git_tree_entry_id(entry);
    if (mode == GIT_FILEMODE_TREE) {
      git_tree* sub = nullptr;
      if (git_tree_lookup(&sub, repo, id) != 0) return absl::InternalError("missing tree object");
      absl::Status s = WriteTreeInto(repo, sub, path);
      git_tree_free(sub);
      if (!s.ok()) return s;
    } else if (mode == GIT_FILEMODE_COMMIT) {
      fs::create_directory(path, ec);  // submodules are not fetched
    } else {
      git_blob* blob = nullptr;
      if (git_blob_lookup(&blob, repo, id) != 0) return absl::InternalError("missing blob object");
      absl::Cleanup free_blob = [blob] { git_blob_free(blob); };
      const void* data = git_blob_rawcontent(blob);
      size_t size = static_cast<size_t>(git_blob_rawsize(blob));
      if (mode == GIT_FILEMODE_LINK) {
        std::string target(static_cast<const char*>(data), size);
        fs::create_symlink(target, path, ec);
        if (ec) return absl::InternalError(absl::StrCat("symlink ", path.string()));
      } else {
        absl::Status s = WriteFile(path, data, size, mode == GIT_FILEMODE_BLOB_EXECUTABLE);
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GitClone::WriteTree(absl::string_view sha, const std::string& target) {
  absl::StatusOr<git_oid> oid = ParseOid(sha);
  if (!oid.ok()) return oid.status();
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo_, &*oid) != 0) {
    return absl::NotFoundError(absl::StrCat("commit ", sha, " is not in the clone"));
  }
  absl::Cleanup free_commit = [commit] { git_commit_free(commit); };
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, commit) != 0) return absl::InternalError("commit without a tree");
  absl::Cleanup free_tree = [tree] { git_tree_free(tree); };
  return WriteTreeInto(repo_, tree, target);
}

}  // namespace argonaut::cd::repo
