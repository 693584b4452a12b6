// Manifest trees (nlohmann::json) <-> protobuf messages, by reflection over the descriptors.
//
//   ASSIGN_OR_RETURN(std::vector<nlohmann::json> docs, ParseDocuments(text));
//   argonaut::rollout::v1::Rollout rollout;
//   if (absl::Status s = FromJson(docs[0], &rollout); !s.ok()) {
//     return absl::InvalidArgumentError(absl::StrCat("doc 1: ", s.message()));
//   }
//   nlohmann::json back = ToJson(rollout);
//
// Mapping (it follows the proto3 JSON mapping where the two agree, and Kubernetes where not):
//   - The manifest key of a field is its json_name: lowerCamelCase by default, or the explicit
//     `json_name` option where Argo spells it differently (podGC). snake_case names are unknown.
//   - Scalars: integers as JSON integers (integral floats like 3.0 are accepted; 64-bit fields
//     also accept decimal strings "123"); floats as numbers; bools; strings; bytes as base64;
//     enums by name. Mismatched JSON types are errors, never coerced.
//   - String fields marked `(argonaut.common.v1.int_or_string) = true` accept a string, number or
//     bool and store its text; ToJson prints canonical integers ("8080") back as numbers.
//     `(argonaut.common.v1.any_string)` (Argo's AnyString, parameter values) decodes the same
//     way and is always written back as a string.
//   - google.protobuf.Struct / Value / ListValue hold any JSON verbatim. Integers beyond +-2^53
//     are refused there: a double cannot keep them exactly.
//   - A JSON null leaves a field unset, except for a google.protobuf.Value field, where null is a
//     value of its own.
//   - Input nested deeper than protobuf's default parse limit (100 message levels; Struct content
//     takes up to 3 per JSON level) is refused, so whatever is accepted can be stored and read
//     back in binary form.
//
// Round trip: ToJson(FromJson(x)) == x for every x FromJson accepts, up to the int_or_string
// normalization above, "123" strings in int64 fields coming back as numbers, nulls dropped, and
// fields without presence (plain proto3 scalars, repeated, maps) dropped when empty or zero.
#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {

// Clears `msg` and fills it from the JSON object `obj`. Errors are InvalidArgument and start
// with the path of the offending value in manifest spelling:
//   spec.templates[1].contaner: unknown field
//   spec.parallelism: expected integer, got string "abc"
//   metadata.labels["app.kubernetes.io/name"]: expected string, got object
// On error `msg` holds whatever was decoded before the failure.
absl::Status FromJson(const nlohmann::json& obj, google::protobuf::Message* msg);

// The manifest form of `msg`: only fields that are present (has-bit set, or non-default for
// fields without presence, or non-empty repeated/map) appear. int64 values are JSON numbers.
nlohmann::json ToJson(const google::protobuf::Message& msg);

}  // namespace argonaut::manifest
