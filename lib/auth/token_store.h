// Bearer tokens for API accounts, kept in one JSON file that several
// processes (the gateway and standalone services) may share.
//
//   ASSIGN_OR_RETURN(auto store, TokenStore::Open(data_dir + "/auth/tokens.json"));
//   ASSIGN_OR_RETURN(std::string token, store->CreateToken("alice", absl::Hours(24),
//   clock->Now()));
//   // hand `token` to the user once; it cannot be recovered later
//   ASSIGN_OR_RETURN(Subject who, store->Authenticate(token, clock->Now()));
//
// Only the SHA-256 of a token's secret part is stored, so reading the file
// (or a backup of it) gives nobody a usable token. Tokens and hashes never
// appear in errors or logs.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace argonaut::auth {

// Who made a call: the account, and the token it used (empty when the caller
// is trusted without a token).
struct Subject {
  std::string account;
  std::string token_id;
};

// Built-in accounts. Both are bound to role:admin by the built-in policy.
inline constexpr char kAdminAccount[] = "admin";
// Used by services calling each other in distributed mode.
inline constexpr char kServiceAccount[] = "system:service";

struct TokenInfo {
  std::string id;  // 12 hex digits, not secret
  std::string account;
  absl::Time created;
  absl::Time expires;  // absl::InfiniteFuture(): never
};

class TokenStore {
 public:
  // Opens (or creates, empty) the token file. Missing directories are created
  // 0700; the file is 0600 and always replaced atomically (temp file, fsync,
  // rename, fsync of the directory). A file with group/other permission bits
  // is tightened to 0600. Changes made through another TokenStore on the same
  // file, in this process or another, are seen on the next call (the file is
  // re-read when its inode, size or mtime changes).
  static absl::StatusOr<std::unique_ptr<TokenStore>> Open(std::string path);

  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Mints a token for `account`: "argn_<id>_<secret>" with a 12-hex-digit id
  // and 32 random bytes of secret (base64url, no padding). The text is
  // returned once and cannot be recovered. expires_in <= 0: never expires.
  // INVALID_ARGUMENT for an empty or malformed account name.
  absl::StatusOr<std::string> CreateToken(std::string_view account, absl::Duration expires_in,
                                          absl::Time now, std::string* id = nullptr);

  // NOT_FOUND when `account` has no token `id`.
  absl::Status DeleteToken(std::string_view account, std::string_view id);

  // Every token, by account then creation time.
  std::vector<TokenInfo> ListTokens() const;

  // "admin", plus every account that has a token, sorted.
  std::vector<std::string> Accounts() const;

  // UNAUTHENTICATED "invalid token" (malformed, unknown or wrong secret; the
  // secret is compared in constant time) or "token expired" (now >= expiry).
  // Never echoes the token.
  absl::StatusOr<Subject> Authenticate(std::string_view token, absl::Time now) const;

  const std::string& path() const { return path_; }

 private:
  struct Entry {
    TokenInfo info;
    std::string secret_sha256;  // raw 32 bytes
  };
  struct FileId {
    ino_t inode = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileId&) const = default;
  };

  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  // Re-reads the file when it changed on disk since the last read.
  absl::Status RefreshLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status LoadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `change` on freshly read entries and writes the result, holding an
  // flock on "<path>.lock" so that writers in other processes do not lose
  // each other's changes.
  template <typename F>
  absl::Status ReadModifyWrite(F change) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  mutable std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by id
  mutable FileId loaded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::auth
