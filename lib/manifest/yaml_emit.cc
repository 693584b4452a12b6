// ToYaml and ToJsonText.
//
// The YAML writer is hand-rolled rather than YAML::Emitter because the emitter's quoting does not
// know our reader's typing rules: it writes the string "3" or "true" unquoted, which reads back as
// a number or a bool. Here one predicate, built on the reader's own ResolvePlainScalar, decides.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/manifest/scalar.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {
namespace {

using nlohmann::json;

// Characters that must not appear raw in a plain or block scalar: C0/C1 controls, DEL, and the
// code points YAML 1.1 readers treat as line breaks (NEL, LS, PS) or strip (BOM).
bool NeedsEscape(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF;
}

// True if every character may appear unescaped in a plain or literal scalar (tab and newline
// excluded: callers decide about those).
bool AllPrintable(std::string_view s, bool allow_newline) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t len = internal::Utf8SequenceLength(s, i, &cp);
    if (len == 0) return false;
    if (NeedsEscape(cp) && !(allow_newline && cp == '\n')) return false;
    i += len;
  }
  return true;
}

// YAML 1.1 spellings of booleans. Our reader keeps them as strings, but go-yaml v2 and other
// 1.1 readers would not, so they are quoted for anyone else reading the output.
bool IsYaml11Bool(std::string_view s) {
  static constexpr std::string_view kWords[] = {"y",  "Y",   "yes", "Yes", "YES", "n",
                                                "N",  "no",  "No",  "NO",  "on",  "On",
                                                "ON", "off", "Off", "OFF"};
  for (std::string_view w : kWords) {
    if (s == w) return true;
  }
  return false;
}

// Things like "2024-01-02", "1:30" or "1_000" that YAML 1.1 readers type as timestamps,
// sexagesimal or underscored numbers.
bool LooksNumericToYaml11(std::string_view s) {
  if (s.empty() || !absl::ascii_isdigit(s[0])) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && c != '-' && c != '_' && c != ':' && c != '.') return false;
  }
  return true;
}

bool CanBePlain(std::string_view s) {
  if (s.empty()) return false;
  if (!internal::ResolvePlainScalar(s).is_string()) return false;
  if (IsYaml11Bool(s) || LooksNumericToYaml11(s)) return false;
  if (s == "<<") return false;  // would become a merge key
  // Indicators that start another construct, and '-', '?', ':' which only sometimes do.
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s[0]) != std::string_view::npos) return false;
  if (s.starts_with("...")) return false;  // document end marker
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) {
    return false;
  }
  // Flow indicators are legal in block plain scalars, but readers disagree at the edges.
  if (s.find_first_of(",[]{}\t") != std::string_view::npos) return false;
  return AllPrintable(s, /*allow_newline=*/false);
}

void AppendDoubleQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t len = internal::Utf8SequenceLength(s, i, &cp);
    if (len == 0) {
      // Not representable in YAML (a Unicode format); substitute rather than emit garbage.
      out->append("\\uFFFD");
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (NeedsEscape(cp)) {
          absl::StrAppendFormat(out, "\\u%04X", cp);
        } else {
          out->append(s.substr(i, len));
        }
    }
    i += len;
  }
  out->push_back('"');
}

// A `|` block keeps multi-line text (scripts, configs) readable. It is only used where the reader
// is guaranteed to give back the same bytes: the first line must fix the indentation, and lines
// must not end in whitespace, which some readers strip.
bool CanBeLiteral(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  if (s.front() == ' ' || s.front() == '\t' || s.front() == '\n') return false;
  if (!AllPrintable(s, /*allow_newline=*/true)) return false;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view line = s.substr(pos, end - pos);
    if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) return false;
    pos = end + 1;
  }
  return true;
}

void AppendLiteral(std::string_view s, int indent, std::string* out) {
  size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  // Chomping indicator: strip (no final newline), clip (exactly one), keep (more than one).
  out->append(trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n");
  std::string_view body = s.substr(0, s.size() - trailing);
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty()) out->append(indent, ' ');
    out->append(line);
    out->push_back('\n');
    pos = end + 1;
  }
  // Under "keep" the extra final newlines are part of the value: emit them as empty lines.
  if (trailing > 1) out->append(trailing - 1, '\n');
}

void AppendScalarText(const json& v, std::string* out) {
  switch (v.type()) {
    case json::value_t::null:
      out->append("null");
      break;
    case json::value_t::boolean:
      out->append(v.get<bool>() ? "true" : "false");
      break;
    case json::value_t::number_integer:
      absl::StrAppend(out, v.get<int64_t>());
      break;
    case json::value_t::number_unsigned:
      absl::StrAppend(out, v.get<uint64_t>());
      break;
    case json::value_t::number_float:
      out->append(internal::FormatDouble(v.get<double>()));
      break;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (CanBePlain(s)) {
        out->append(s);
      } else {
        AppendDoubleQuoted(s, out);
      }
      break;
    }
    case json::value_t::binary:
      // Never produced by ParseDocuments or ToJson; render like nlohmann's JSON would.
      out->append("null");
      break;
    default:
      break;
  }
}

// Where the cursor is when a node starts: at the beginning of a line (top level), right after
// "key:", or right after "- ".
enum class Position { kTop, kAfterKey, kAfterDash };

// `indent` is the column for the node's own entries (mapping keys or "- " dashes).
void EmitNode(const json& v, int indent, Position pos, std::string* out) {
  const bool nonempty_collection = v.is_structured() && !v.empty();
  if (!nonempty_collection) {
    if (pos == Position::kAfterKey) out->push_back(' ');
    if (v.is_object()) {
      out->append("{}\n");
    } else if (v.is_array()) {
      out->append("[]\n");
    } else if (v.is_string() && CanBeLiteral(v.get_ref<const std::string&>())) {
      // Block content must be indented past its parent even at the top level.
      AppendLiteral(v.get_ref<const std::string&>(), std::max(indent, 2), out);
    } else {
      AppendScalarText(v, out);
      out->push_back('\n');
    }
    return;
  }
  bool first = true;
  const auto start_entry = [&] {
    // The first entry after "- " shares its line: "- name: x" and "- - a".
    if (!(first && pos == Position::kAfterDash)) {
      if (first && pos == Position::kAfterKey) out->push_back('\n');
      out->append(indent, ' ');
    }
    first = false;
  };
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      start_entry();
      std::string key_text;
      if (CanBePlain(key)) {
        key_text = key;
      } else {
        AppendDoubleQuoted(key, &key_text);
      }
      // YAML caps implicit keys at 1024 characters; longer ones need the explicit "? " form.
      if (key_text.size() > 1000) {
        absl::StrAppend(out, "? ", key_text, "\n");
        out->append(indent, ' ');
      } else {
        out->append(key_text);
      }
      out->push_back(':');
      EmitNode(value, indent + 2, Position::kAfterKey, out);
    }
  } else {
    for (const json& item : v) {
      start_entry();
      out->append("- ");
      EmitNode(item, indent + 2, Position::kAfterDash, out);
    }
  }
}

}  // namespace

std::string ToYaml(const json& doc) {
  std::string out;
  EmitNode(doc, 0, Position::kTop, &out);
  return out;
}

std::string ToJsonText(const json& doc, bool pretty) {
  return doc.dump(pretty ? 2 : -1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

}  // namespace argonaut::manifest
