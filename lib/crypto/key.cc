#include "lib/crypto/key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/crypto/aead.h"

namespace argonaut::crypto {
namespace {

namespace fs = std::filesystem;

// Creates the missing directories of `dir`, each 0700 (an existing one is
// left as it is: it may be shared, e.g. ~/.config).
absl::Status MakePrivateDirs(const fs::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(dir.string(), " is not a directory"));
    }
    return absl::OkStatus();
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (absl::Status s = MakePrivateDirs(dir.parent_path()); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create directory ", dir.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> KeyFromBase64(std::string_view text, std::string_view what) {
  std::string key;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(AbslView(text)), &key) ||
      key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), ": expected the base64 of a ", kKeySize, "-byte key"));
  }
  return key;
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no key file ", path));
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open key file ", path, ": ", std::strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path,
                     " must be readable by its owner only (mode 0600: chmod 600 ", path, ")"));
  }
  // A key file is tiny; anything bigger is not one.
  std::string content(256, '\0');
  size_t got = 0;
  while (got < content.size()) {
    ssize_t n = read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("reading key file ", path, " failed"));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  content.resize(got);
  if (content.size() == kKeySize) return content;  // raw bytes
  return KeyFromBase64(content, absl::StrCat("key file ", path));
}

absl::StatusOr<std::string> CreateKeyFile(const std::string& path) {
  if (absl::Status s = MakePrivateDirs(fs::path(path).parent_path()); !s.ok()) return s;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return ReadKeyFile(path);  // another process created it first
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create key file ", path, ": ", std::strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string key(kKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeySize) != 1) {
    unlink(path.c_str());
    return absl::InternalError("no randomness for the key");
  }
  const std::string text = absl::StrCat(absl::Base64Escape(key), "\n");
  if (fchmod(fd, 0600) != 0 || write(fd, text.data(), text.size()) != ssize_t(text.size()) ||
      fsync(fd) != 0) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("writing key file ", path, " failed"));
  }
  // The new name must survive a crash too.
  if (int dfd =
          open(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().c_str(),
               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return key;
}

absl::StatusOr<std::string> LoadOrCreateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadKeyFile(path);
  if (absl::IsNotFound(key.status())) return CreateKeyFile(path);
  return key;
}

std::string DefaultKeyFile() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return absl::StrCat(xdg, "/argonaut/encryption.key");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return absl::StrCat(home, "/.config/argonaut/encryption.key");
  }
  return "";
}

absl::StatusOr<std::string> ResolveEncryptionKey(const std::string& key_file, std::string* source) {
  std::string path = key_file;
  if (path.empty()) {
    const char* env = std::getenv(kKeyEnvVar);
    if (env != nullptr && env[0] != '\0') {
      if (source != nullptr) *source = kKeyEnvVar;
      return KeyFromBase64(env, kKeyEnvVar);
    }
    path = DefaultKeyFile();
    if (path.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("no encryption key: set --encryption-key-file, ", kKeyEnvVar, ", or HOME"));
    }
  }
  if (source != nullptr) *source = path;
  return LoadOrCreateKeyFile(path);
}

}  // namespace argonaut::crypto
