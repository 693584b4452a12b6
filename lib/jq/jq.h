// jq programs over JSON values, with libjq (Debian's libjq-dev, jq 1.6):
// Argo Events' `transform.jq` and any other place that takes a jq program.
//
//   auto out = jq::RunFirst(".body | {msg: .message}", event_data);
//
// Compiled programs are cached per thread (compiling loads jq's builtins,
// tens of milliseconds). Bounded: the program's length, the number of
// outputs and their total size; a program that loops without producing
// output is not interrupted (jq 1.6 has no step limit).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::jq {

struct Limits {
  size_t max_program_bytes = 64 << 10;
  size_t max_outputs = 1000;
  size_t max_output_bytes = 16 << 20;  // serialized, over all outputs
};

// Every output of `program` run over `input`, in order. A program that does
// not compile or fails at run time (e.g. `error("x")`, `.a.b` on a string)
// is INVALID_ARGUMENT with jq's message; past a limit RESOURCE_EXHAUSTED.
absl::StatusOr<std::vector<nlohmann::json>> Run(std::string_view program,
                                                const nlohmann::json& input,
                                                const Limits& limits = {});

// The first output only (jq stops there); NOT_FOUND when there is none
// (`empty`, `select(false)`).
absl::StatusOr<nlohmann::json> RunFirst(std::string_view program, const nlohmann::json& input,
                                        const Limits& limits = {});

}  // namespace argonaut::jq
