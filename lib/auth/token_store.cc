#include "lib/auth/token_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "nlohmann/json.hpp"

namespace argonaut::auth {
namespace {

using json = nlohmann::json;

constexpr char kPrefix[] = "argn_";
constexpr size_t kIdHexLen = 12;
constexpr size_t kSecretBytes = 32;
constexpr int kFileVersion = 1;

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int err = errno;
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(err)));
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("no randomness for a token");
  }
  return out;
}

std::string Dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p, new directories 0700: the token file's directory holds nothing
// that other users need.
absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(dir + " is not a directory");
    return absl::OkStatus();
  }
  const std::string parent = Dir(dir);
  if (parent != dir) RETURN_IF_ERROR(MakeDirs(parent));
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return Errno("fsync", path);
  return absl::OkStatus();
}

bool ValidAccount(std::string_view account) {
  if (account.empty() || account.size() > 253) return false;
  for (char c : account) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':' && c != '@') {
      return false;
    }
  }
  return true;
}

// Lower-case hex digits only, exactly `len` of them.
bool IsHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

bool IsHexId(std::string_view s) { return IsHex(s, kIdHexLen); }

// Splits "argn_<id>_<secret>". The secret is base64url, which may itself
// contain '_', so the id is found by position rather than by splitting.
bool ParseToken(std::string_view token, std::string_view* id, std::string_view* secret) {
  const size_t prefix = sizeof(kPrefix) - 1;
  if (token.size() <= prefix + kIdHexLen + 1 || !absl::StartsWith(AbslView(token), kPrefix))
    return false;
  *id = token.substr(prefix, kIdHexLen);
  if (!IsHexId(*id) || token[prefix + kIdHexLen] != '_') return false;
  *secret = token.substr(prefix + kIdHexLen + 1);
  return true;
}

int64_t UnixOrZero(absl::Time t) {
  return t == absl::InfiniteFuture() ? 0 : absl::ToUnixSeconds(t);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Open(std::string path) {
  if (path.empty()) return absl::InvalidArgumentError("token file: empty path");
  RETURN_IF_ERROR(MakeDirs(Dir(path)));
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));
  struct stat st;
  if (stat(store->path_.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0 && chmod(store->path_.c_str(), 0600) != 0) {
      return Errno("chmod", store->path_);
    }
    absl::MutexLock lock(&store->mu_);
    RETURN_IF_ERROR(store->LoadLocked());
  } else if (errno == ENOENT) {
    RETURN_IF_ERROR(
        store->ReadModifyWrite([](std::map<std::string, Entry>&) { return absl::OkStatus(); }));
  } else {
    return Errno("stat", store->path_);
  }
  return store;
}

absl::Status TokenStore::LoadLocked() const {
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      entries_.clear();
      loaded_ = FileId{};
      return absl::OkStatus();
    }
    return Errno("open", path_);
  }
  absl::Cleanup closer = [fd] { close(fd); };
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("stat", path_);
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path_);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  std::map<std::string, Entry> entries;
  if (!text.empty()) {
    // The file holds hashes: parse errors report positions only, never text.
    const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return absl::DataLossError(absl::StrCat("token file ", path_, ": not a JSON object"));
    }
    const json tokens = doc.value("tokens", json::array());
    if (!tokens.is_array()) {
      return absl::DataLossError(absl::StrCat("token file ", path_, ": tokens: not an array"));
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      const json& t = tokens[i];
      auto bad = [&](absl::string_view field) {
        return absl::DataLossError(absl::StrCat("token file ", path_, ": tokens[", i, "].", field,
                                                ": missing or invalid"));
      };
      if (!t.is_object()) return bad("");
      Entry e;
      if (!t.contains("id") || !t["id"].is_string() || !IsHexId(t["id"].get<std::string>())) {
        return bad("id");
      }
      e.info.id = t["id"].get<std::string>();
      if (!t.contains("account") || !t["account"].is_string() ||
          !ValidAccount(t["account"].get<std::string>())) {
        return bad("account");
      }
      e.info.account = t["account"].get<std::string>();
      if (!t.contains("sha256") || !t["sha256"].is_string() ||
          !IsHex(t["sha256"].get<std::string>(), 2 * SHA256_DIGEST_LENGTH)) {
        return bad("sha256");
      }
      std::string hash = absl::HexStringToBytes(t["sha256"].get<std::string>());
      e.secret_sha256 = std::move(hash);
      if (!t.contains("createdAt") || !t["createdAt"].is_number_integer()) return bad("createdAt");
      e.info.created = absl::FromUnixSeconds(t["createdAt"].get<int64_t>());
      const json expires = t.value("expiresAt", json(0));
      if (!expires.is_number_integer()) return bad("expiresAt");
      e.info.expires = expires.get<int64_t>() == 0 ? absl::InfiniteFuture()
                                                   : absl::FromUnixSeconds(expires.get<int64_t>());
      entries[e.info.id] = std::move(e);
    }
  }
  entries_ = std::move(entries);
  loaded_ = FileId{st.st_ino, st.st_size,
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  return absl::OkStatus();
}

absl::Status TokenStore::RefreshLocked() const {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      entries_.clear();
      loaded_ = FileId{};
      return absl::OkStatus();
    }
    return Errno("stat", path_);
  }
  const FileId now{st.st_ino, st.st_size,
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  if (now == loaded_) return absl::OkStatus();
  return LoadLocked();
}

absl::Status TokenStore::WriteLocked() {
  json tokens = json::array();
  for (const auto& [id, e] : entries_) {
    tokens.push_back({{"id", e.info.id},
                      {"account", e.info.account},
                      {"sha256", absl::BytesToHexString(e.secret_sha256)},
                      {"createdAt", absl::ToUnixSeconds(e.info.created)},
                      {"expiresAt", UnixOrZero(e.info.expires)}});
  }
  const std::string text =
      json{{"version", kFileVersion}, {"tokens", std::move(tokens)}}.dump(2) + "\n";

  ASSIGN_OR_RETURN(std::string nonce, RandomBytes(6));
  const std::string tmp = absl::StrCat(path_, ".tmp.", absl::BytesToHexString(nonce));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  bool renamed = false;
  absl::Cleanup cleanup = [&] {
    if (!renamed) unlink(tmp.c_str());
  };
  {
    absl::Cleanup closer = [fd] { close(fd); };
    // The umask may have cleared bits of 0600 but never adds any; fchmod
    // makes the mode exact whatever the umask.
    if (fchmod(fd, 0600) != 0) return Errno("chmod", tmp);
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = write(fd, text.data() + off, text.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", tmp);
      }
      off += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0) return Errno("fsync", tmp);
  }
  if (rename(tmp.c_str(), path_.c_str()) != 0) return Errno("rename to", path_);
  renamed = true;
  RETURN_IF_ERROR(FsyncPath(Dir(path_), O_RDONLY | O_DIRECTORY));
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) return Errno("stat", path_);
  loaded_ = FileId{st.st_ino, st.st_size,
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  return absl::OkStatus();
}

template <typename F>
absl::Status TokenStore::ReadModifyWrite(F change) {
  absl::MutexLock lock(&mu_);
  const std::string lock_path = path_ + ".lock";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Errno("open", lock_path);
  absl::Cleanup closer = [lock_fd] { close(lock_fd); };  // closing releases the flock
  while (flock(lock_fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Errno("lock", lock_path);
  }
  // Always re-read under the file lock: another process may have written
  // within the mtime granularity.
  RETURN_IF_ERROR(LoadLocked());
  std::map<std::string, Entry> entries = entries_;
  RETURN_IF_ERROR(change(entries));
  std::swap(entries, entries_);
  absl::Status written = WriteLocked();
  if (!written.ok()) std::swap(entries, entries_);
  return written;
}

absl::StatusOr<std::string> TokenStore::CreateToken(std::string_view account,
                                                    absl::Duration expires_in, absl::Time now,
                                                    std::string* id) {
  if (!ValidAccount(account)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account: \"", AbslView(account.substr(0, 64)),
        "\" is not a valid account name (1-253 characters of letters, digits and -_.:@)"));
  }
  ASSIGN_OR_RETURN(std::string secret_raw, RandomBytes(kSecretBytes));
  const std::string secret = absl::WebSafeBase64Escape(secret_raw);
  std::string new_id;
  RETURN_IF_ERROR(ReadModifyWrite([&](std::map<std::string, Entry>& entries) -> absl::Status {
    for (int attempt = 0; attempt < 8; ++attempt) {
      ASSIGN_OR_RETURN(std::string raw_id, RandomBytes(kIdHexLen / 2));
      new_id = absl::BytesToHexString(raw_id);
      if (!entries.contains(new_id)) break;
      new_id.clear();
    }
    if (new_id.empty()) return absl::InternalError("could not pick a fresh token id");
    Entry e;
    e.info.id = new_id;
    e.info.account = std::string(account);
    e.info.created = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
    e.info.expires = expires_in <= absl::ZeroDuration()
                         ? absl::InfiniteFuture()
                         : absl::FromUnixSeconds(absl::ToUnixSeconds(now + expires_in));
    e.secret_sha256 = Sha256(secret);
    entries[new_id] = std::move(e);
    return absl::OkStatus();
  }));
  if (id != nullptr) *id = new_id;
  return absl::StrCat(kPrefix, new_id, "_", secret);
}

absl::Status TokenStore::DeleteToken(std::string_view account, std::string_view id) {
  return ReadModifyWrite([&](std::map<std::string, Entry>& entries) -> absl::Status {
    auto it = entries.find(std::string(id));
    if (it == entries.end() || it->second.info.account != account) {
      return absl::NotFoundError(absl::StrCat("account \"", AbslView(account.substr(0, 64)),
                                              "\" has no token \"", AbslView(id.substr(0, 64)),
                                              "\""));
    }
    entries.erase(it);
    return absl::OkStatus();
  });
}

std::vector<TokenInfo> TokenStore::ListTokens() const {
  absl::MutexLock lock(&mu_);
  // A file that cannot be read leaves the last good view in place.
  (void)RefreshLocked();
  std::vector<TokenInfo> out;
  for (const auto& [id, e] : entries_) out.push_back(e.info);
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.account, a.created, a.id) < std::tie(b.account, b.created, b.id);
  });
  return out;
}

std::vector<std::string> TokenStore::Accounts() const {
  std::set<std::string> accounts{kAdminAccount};
  for (const TokenInfo& t : ListTokens()) accounts.insert(t.account);
  return {accounts.begin(), accounts.end()};
}

absl::StatusOr<Subject> TokenStore::Authenticate(std::string_view token, absl::Time now) const {
  const absl::Status invalid = absl::UnauthenticatedError("invalid token");
  std::string_view id, secret;
  if (!ParseToken(token, &id, &secret)) return invalid;
  const std::string digest = Sha256(secret);
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) {
    return absl::UnavailableError("token store unavailable");
  }
  auto it = entries_.find(std::string(id));
  // Compare against something even for an unknown id so that the time taken
  // says little about which ids exist.
  static const std::string kNoHash(SHA256_DIGEST_LENGTH, '\0');
  const std::string& want = it == entries_.end() ? kNoHash : it->second.secret_sha256;
  const bool match = CRYPTO_memcmp(want.data(), digest.data(), SHA256_DIGEST_LENGTH) == 0;
  if (it == entries_.end() || !match) return invalid;
  if (now >= it->second.info.expires) return absl::UnauthenticatedError("token expired");
  return Subject{it->second.info.account, it->second.info.id};
}

}  // namespace argonaut::auth
