#include "lib/store/encoding.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::store::internal {
namespace {

constexpr char kFormatV1 = 1;
constexpr char kTypePut = 'P';
constexpr char kTypeDelete = 'D';
constexpr char kTypeCreate = 'C';

void AppendBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  out.append(s);
}

// Consumes a length-prefixed string from the front of `in`.
absl::StatusOr<std::string_view> ReadLengthPrefixed(std::string_view& in, std::string_view what) {
  if (in.size() < 4) {
    return absl::DataLossError(
        absl::StrCat("log entry truncated in length of ", ::argonaut::AbslView(what)));
  }
  uint32_t n = 0;
  for (int i = 3; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(in[i]);
  }
  in.remove_prefix(4);
  if (in.size() < n) {
    return absl::DataLossError(absl::StrCat("log entry truncated in ", ::argonaut::AbslView(what)));
  }
  std::string_view s = in.substr(0, n);
  in.remove_prefix(n);
  return s;
}

}  // namespace

std::string EncodeVersion(uint64_t version) {
  std::string out;
  out.reserve(8);
  AppendBigEndian64(out, version);
  return out;
}

absl::StatusOr<uint64_t> DecodeVersion(std::string_view bytes) {
  if (bytes.size() != 8) {
    return absl::DataLossError(absl::StrCat("version has ", bytes.size(), " bytes, want 8"));
  }
  return ReadBigEndian64(bytes);
}

std::string EncodeRecordValue(uint64_t version, std::string_view value) {
  std::string out;
  out.reserve(1 + 8 + value.size());
  out.push_back(kFormatV1);
  AppendBigEndian64(out, version);
  out.append(value);
  return out;
}

absl::StatusOr<RecordValue> DecodeRecordValue(std::string_view bytes) {
  if (bytes.size() < 9) {
    return absl::DataLossError(
        absl::StrCat("record value has ", bytes.size(), " bytes, want >= 9"));
  }
  if (bytes[0] != kFormatV1) {
    return absl::DataLossError(absl::StrCat("unknown record format ", static_cast<int>(bytes[0])));
  }
  return RecordValue{.version = ReadBigEndian64(bytes.substr(1, 8)), .value = bytes.substr(9)};
}

std::string EncodeLogEntry(EventType type, bool created, std::string_view kind,
                           std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(2 + 4 + kind.size() + 4 + key.size() + value.size());
  out.push_back(kFormatV1);
  out.push_back(type == EventType::kDelete ? kTypeDelete : (created ? kTypeCreate : kTypePut));
  AppendLengthPrefixed(out, kind);
  AppendLengthPrefixed(out, key);
  out.append(value);
  return out;
}

absl::StatusOr<Event> DecodeLogEntry(uint64_t version, std::string_view bytes) {
  if (bytes.size() < 2) {
    return absl::DataLossError(absl::StrCat("log entry ", version, " truncated"));
  }
  if (bytes[0] != kFormatV1) {
    return absl::DataLossError(
        absl::StrCat("log entry ", version, " has unknown format ", static_cast<int>(bytes[0])));
  }
  Event event;
  switch (bytes[1]) {
    case kTypePut:
      event.type = EventType::kPut;
      break;
    case kTypeCreate:
      event.type = EventType::kPut;
      event.created = true;
      break;
    case kTypeDelete:
      event.type = EventType::kDelete;
      break;
    default:
      return absl::DataLossError(absl::StrCat("log entry ", version, " has unknown event type ",
                                              static_cast<int>(bytes[1])));
  }
  std::string_view in = bytes.substr(2);
  ASSIGN_OR_RETURN(std::string_view kind, ReadLengthPrefixed(in, "kind"));
  ASSIGN_OR_RETURN(std::string_view key, ReadLengthPrefixed(in, "key"));
  event.kind = std::string(kind);
  event.record.key = std::string(key);
  event.record.value = std::string(in);
  event.record.resource_version = version;
  return event;
}

}  // namespace argonaut::store::internal
