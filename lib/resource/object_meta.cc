#include "lib/resource/object_meta.h"

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace argonaut::resource {

common::v1::ObjectMeta* MutableMeta(google::protobuf::Message& object) {
  const auto* field = object.GetDescriptor()->FindFieldByName("metadata");
  return static_cast<common::v1::ObjectMeta*>(
      object.GetReflection()->MutableMessage(&object, field));
}

const common::v1::ObjectMeta& Meta(const google::protobuf::Message& object) {
  const auto* field = object.GetDescriptor()->FindFieldByName("metadata");
  return static_cast<const common::v1::ObjectMeta&>(
      object.GetReflection()->GetMessage(object, field));
}

namespace {
absl::BitGen& Gen() {
  thread_local absl::BitGen gen;
  return gen;
}
}  // namespace

std::string NewUid() {
  uint64_t hi = absl::Uniform<uint64_t>(Gen());
  uint64_t lo = absl::Uniform<uint64_t>(Gen());
  hi = (hi & ~0xF000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

std::string RandomSuffix(int n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < n; ++i) {
    out.push_back(kAlphabet[absl::Uniform<size_t>(Gen(), 0, sizeof(kAlphabet) - 1)]);
  }
  return out;
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Status ValidateName(absl::string_view name, absl::string_view field) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (name.size() > 253) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than 253 characters"));
  }
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '.')) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", name,
                       "\" is not a valid name (lowercase letters, digits, '-' and '.' only)"));
    }
  }
  if (!absl::ascii_isalnum(name.front()) || !absl::ascii_isalnum(name.back())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", name, "\" must start and end with a letter or digit"));
  }
  return absl::OkStatus();
}

}  // namespace argonaut::resource
