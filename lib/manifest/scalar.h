// Scalar typing rules shared by the YAML reader, the YAML writer and the proto codec.
//
// One implementation decides what an unquoted YAML scalar means, so that the writer quotes
// exactly the strings the reader would otherwise misread, and the codec's idea of a "canonical
// integer" for int_or_string fields matches what a YAML reader would turn into an integer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace argonaut::manifest::internal {

// Types a plain (unquoted) YAML scalar by the YAML 1.2 core schema: null (`~`, `null`, empty),
// bool (`true`/`false` in three casings), int (decimal, `0o` octal, `0x` hex), float (including
// `.inf`/`.nan`); anything else is a string. Integers that do not fit 64 bits become floats.
nlohmann::json ResolvePlainScalar(std::string_view text);

// The value if `text` is the canonical decimal spelling of an int64 (no sign `+`, no leading
// zeros, no `-0`), i.e. exactly what ToYaml/ToJson would print for that integer.
std::optional<int64_t> ParseCanonicalInt64(std::string_view text);

// Shortest text that reads back as the same double, always marked as a float ("3.0", "1e+300").
// Non-finite values use the YAML spellings .inf, -.inf and .nan.
std::string FormatDouble(double value);

// Decodes the UTF-8 sequence starting at s[i] into *code_point and returns its length, or 0 when
// the bytes there are not valid UTF-8 (overlong forms, surrogates, truncation included).
size_t Utf8SequenceLength(std::string_view s, size_t i, uint32_t* code_point);

bool IsValidUtf8(std::string_view s);

}  // namespace argonaut::manifest::internal
