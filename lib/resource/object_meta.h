// Access to the metadata of any kind's message, and the Kubernetes defaults
// that the API server fills in.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "argonaut/common/v1/meta.pb.h"
#include "google/protobuf/message.h"

namespace argonaut::resource {

// The `metadata` field of a kind message (every kind has one).
common::v1::ObjectMeta* MutableMeta(google::protobuf::Message& object);
const common::v1::ObjectMeta& Meta(const google::protobuf::Message& object);

// A random RFC 4122 version-4 UUID.
std::string NewUid();

// `n` random characters from [a-z0-9], as Kubernetes appends to generateName.
std::string RandomSuffix(int n);

// RFC 3339 in UTC with second precision, the Kubernetes timestamp format.
std::string FormatTimestamp(absl::Time t);

// metadata.name as Kubernetes accepts it (DNS-1123 subdomain).
absl::Status ValidateName(absl::string_view name, absl::string_view field);

}  // namespace argonaut::resource
