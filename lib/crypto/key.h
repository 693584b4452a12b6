// Encryption keys, kept apart from the data they protect (as Kubernetes'
// EncryptionConfiguration keeps its keys outside etcd): a key file (32 raw
// bytes, or their base64 on one line) readable by its owner only, or the
// environment.
//
//   ASSIGN_OR_RETURN(std::string key, crypto::ResolveEncryptionKey(flag_value));
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace argonaut::crypto {

// The environment variable holding the key as base64.
inline constexpr char kKeyEnvVar[] = "ARGONAUT_ENCRYPTION_KEY";

// The key in `path`. NotFound when the file does not exist;
// FailedPrecondition when group or others may access it (mode must be 0600
// or stricter) or when it does not hold a key. Errors name the file, never
// its content.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path);

// A new random key written to `path` (base64, mode 0600, fsynced); missing
// parent directories are created 0700. If the file appeared meanwhile (a
// concurrent first start), reads it instead.
absl::StatusOr<std::string> CreateKeyFile(const std::string& path);

// ReadKeyFile, or CreateKeyFile when the file does not exist.
absl::StatusOr<std::string> LoadOrCreateKeyFile(const std::string& path);

// A key from base64 text (whitespace around it ignored); `what` names the
// source in errors.
absl::StatusOr<std::string> KeyFromBase64(std::string_view text, std::string_view what);

// $XDG_CONFIG_HOME/argonaut/encryption.key, else
// $HOME/.config/argonaut/encryption.key; empty when neither is set.
std::string DefaultKeyFile();

// The key for data at rest: `key_file` when given (created at first use),
// else ARGONAUT_ENCRYPTION_KEY when set, else DefaultKeyFile() (created at
// first use). `*source` (optional) receives where it came from, for logs.
absl::StatusOr<std::string> ResolveEncryptionKey(const std::string& key_file,
                                                 std::string* source = nullptr);

}  // namespace argonaut::crypto
