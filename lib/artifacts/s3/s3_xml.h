// A small XML reader for S3's answers (errors, ListObjectsV2, multipart
// upload ids): elements, text and the five predefined entities plus numeric
// character references. No DTDs, no namespaces beyond ignoring prefixes. It
// never recurses (a stack of open elements), so hostile nesting cannot
// exhaust the C++ stack; depth and size are bounded and anything malformed is
// an error, never a crash.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::artifacts::s3 {

struct XmlElement {
  std::string name;  // local name (a "ns:" prefix is dropped)
  std::string text;  // concatenated character data directly inside
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view name) const;
  // The text of the first child named `name`, or "".
  std::string ChildText(std::string_view name) const;
};

inline constexpr int kMaxXmlDepth = 32;
inline constexpr size_t kMaxXmlBytes = 32u << 20;

// Parses one document into its root element. InvalidArgument (with the byte
// offset) on anything malformed, too deep or too large.
absl::StatusOr<XmlElement> ParseXml(std::string_view doc);

}  // namespace argonaut::artifacts::s3
