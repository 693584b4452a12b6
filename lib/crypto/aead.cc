#include "lib/crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::crypto {
namespace {

constexpr size_t kNonceSize = 12, kTagSize = 16;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CheckKey(std::string_view key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("encryption key must be ", kKeySize, " bytes, not ", key.size()));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsSealed(std::string_view value) {
  return absl::StartsWith(AbslView(value), kEnvelopePrefix) ||
         absl::StartsWith(AbslView(value), kLegacyEnvelopePrefix);
}

absl::StatusOr<std::string> Seal(std::string_view key, std::string_view plaintext,
                                 std::string_view aad) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  if (plaintext.size() > INT_MAX / 2 || aad.size() > INT_MAX / 2) {
    return absl::InvalidArgumentError("value too large to seal");
  }
  // A random 96-bit nonce per value: far below the 2^32 values per key at
  // which GCM's collision bound starts to matter for the sizes stored here.
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* raw = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(raw, kNonceSize) != 1) return absl::InternalError("no randomness for a nonce");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("no cipher context");
  absl::Cleanup free_ctx = [ctx] { EVP_CIPHER_CTX_free(ctx); };
  unsigned char* dst = raw + kNonceSize;
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Bytes(key), raw) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, dst, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) !=
          1) {
    return absl::InternalError("encryption failed");
  }
  int total = len;
  if (EVP_EncryptFinal_ex(ctx, dst + total, &len) != 1) {
    return absl::InternalError("encryption failed");
  }
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, dst + total) != 1) {
    return absl::InternalError("encryption failed");
  }
  return absl::StrCat(kEnvelopePrefix, absl::Base64Escape(out));
}

absl::StatusOr<std::string> Open(std::string_view key, std::string_view sealed,
                                 std::string_view aad) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  std::string_view body;
  if (absl::StartsWith(AbslView(sealed), kEnvelopePrefix)) {
    body = sealed.substr(sizeof(kEnvelopePrefix) - 1);
  } else if (absl::StartsWith(AbslView(sealed), kLegacyEnvelopePrefix)) {
    body = sealed.substr(sizeof(kLegacyEnvelopePrefix) - 1);
  } else {
    return absl::DataLossError("sealed value is malformed: no envelope prefix");
  }
  std::string raw;
  if (!absl::Base64Unescape(AbslView(body), &raw) || raw.size() < kNonceSize + kTagSize ||
      aad.size() > INT_MAX / 2 || raw.size() > INT_MAX / 2) {
    return absl::DataLossError("sealed value is malformed");
  }
  const auto* bytes = Bytes(raw);
  const size_t ct_size = raw.size() - kNonceSize - kTagSize;
  std::string plain(ct_size, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("no cipher context");
  absl::Cleanup free_ctx = [ctx] { EVP_CIPHER_CTX_free(ctx); };
  int len = 0;
  std::string tag = raw.substr(kNonceSize + ct_size);
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, Bytes(key), bytes) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, out, &len, bytes + kNonceSize, static_cast<int>(ct_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx, out + len, &len) != 1) {
    return absl::DataLossError(
        "sealed value does not open with this key (wrong encryption key, or the value was "
        "changed or moved)");
  }
  return plain;
}

}  // namespace argonaut::crypto
