// Secret values encrypted at rest: the values of a Secret's `data` and
// `stringData` are sealed (lib/crypto, AES-256-GCM) before the object reaches
// the store and opened when it is read, so the store's files hold ciphertext
// while Get/List/Watch return the object as written. Metadata stays as is
// (but for kubectl's last-applied-configuration annotation, which repeats the
// values): names, labels and selectors work on the stored record.
//
//   ASSIGN_OR_RETURN(std::string key, crypto::ResolveEncryptionKey(flag));
//   RETURN_IF_ERROR(resource::SealSecretsAtRest(bundle->api(), key));
//
// Secrets stored before sealing was on read as they are and are sealed by
// their next write.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/resource/resource_api.h"

namespace argonaut::resource {

// Seals every value of the given map<string, string> fields (protobuf field
// names, e.g. "data", "string_data"). Each value is bound to
// "<plural>/<namespace>/<name>/<field>/<map key>": a sealed value copied into
// another object or key does not open.
std::shared_ptr<const AtRestTransform> SealedStringMaps(std::string key,
                                                        std::vector<std::string> fields);

// Installs SealedStringMaps(key, {"data", "string_data"}) for Secrets on
// `api`, which must serve them (the cluster service's). `key`: 32 bytes.
absl::Status SealSecretsAtRest(ResourceApi& api, std::string key);

}  // namespace argonaut::resource
