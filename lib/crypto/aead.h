// AES-256-GCM sealing of small values (Secret values, repository passwords)
// in a versioned text envelope that fits wherever a string is stored:
//
//   argn:v1:BASE64(nonce[12] | ciphertext | tag[16])
//
// `aad` binds a sealed value to where it belongs (e.g. the object key and
// field), so a value copied to another place does not open there.
//
//   ASSIGN_OR_RETURN(std::string sealed, crypto::Seal(key, "hunter2",
//   "secrets/default/db/password")); ASSIGN_OR_RETURN(std::string plain, crypto::Open(key, sealed,
//   "secrets/default/db/password"));
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace argonaut::crypto {

inline constexpr size_t kKeySize = 32;  // AES-256
inline constexpr char kEnvelopePrefix[] = "argn:v1:";
// The repository store's envelope before lib/crypto existed: same layout,
// other prefix. Open reads it; Seal never writes it.
inline constexpr char kLegacyEnvelopePrefix[] = "enc:v1:";

// True when `value` carries one of the envelope prefixes (it may still fail
// to open).
bool IsSealed(std::string_view value);

// InvalidArgument for a key that is not kKeySize bytes.
absl::StatusOr<std::string> Seal(std::string_view key, std::string_view plaintext,
                                 std::string_view aad);

// DataLoss when the envelope is malformed or does not open with this key and
// aad (wrong key, tampered, moved). Messages never include the value.
absl::StatusOr<std::string> Open(std::string_view key, std::string_view sealed,
                                 std::string_view aad);

}  // namespace argonaut::crypto
