// Manifest text <-> nlohmann::json trees.
//
//   ASSIGN_OR_RETURN(std::vector<nlohmann::json> docs, ParseDocuments(file_contents));
//   std::string text = ToYaml(docs[0]);
//
// Reading follows what Kubernetes tooling does with manifests: YAML 1.2 core-schema typing for
// plain scalars, quoted and block scalars are always strings, aliases are expanded, `<<` merge
// keys are honoured, empty documents are dropped. JSON input is read by the same path because
// YAML 1.2 is a superset of JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {

// Limits that make hostile input fail fast instead of exhausting stack or memory.
inline constexpr size_t kMaxInputBytes = size_t{64} << 20;
// Nesting of sequences/mappings; a scalar at the top level has depth 0. FromJson uses the same
// limit so that everything ParseDocuments returns can be decoded.
inline constexpr int kMaxDepth = 200;
// Scalars, keys and collections produced, counting every copy made by alias expansion.
inline constexpr uint64_t kMaxNodes = 10'000'000;

// Parses a multi-document YAML (or JSON) stream into one tree per non-empty document.
//
// Errors are InvalidArgument with "doc N: line L: <message>", where N counts the non-empty
// documents (the position the failing document would have had in the result) and L is 1-based.
// Never throws.
absl::StatusOr<std::vector<nlohmann::json>> ParseDocuments(std::string_view text);

// Renders one document as block-style YAML ending in a newline. Strings that YAML would read as
// something else ("true", "3", "", "a: b", "- x", ...) are double-quoted; multi-line strings
// become `|` blocks. ParseDocuments(ToYaml(x)) yields exactly x (for non-null x). Join documents
// with "---\n".
std::string ToYaml(const nlohmann::json& doc);

// JSON text of a document: two-space indented when `pretty`, else one line. Invalid UTF-8 is
// replaced by U+FFFD and non-finite numbers (only reachable from YAML's .inf/.nan) become null,
// since JSON has no spelling for them.
std::string ToJsonText(const nlohmann::json& doc, bool pretty);

}  // namespace argonaut::manifest
