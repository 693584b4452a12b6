#include "lib/jq/jq.h"

// jq 1.6 headers have no extern "C" of their own.
extern "C" {
#include <jq.h>
}

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace argonaut::jq {
namespace {

using nlohmann::json;

struct StateDeleter {
  void operator()(jq_state* jq) const { jq_teardown(&jq); }
};

// jq reports compile errors through this callback (several per failure:
// keep the first, it names the problem).
void CollectError(void* data, jv msg) {
  auto* out = static_cast<std::string*>(data);
  jv text = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
  if (out->empty()) *out = jv_string_value(text);
  jv_free(text);
  jv_free(msg);
}

// The program compiled on this thread (a few dozen are kept).
absl::StatusOr<jq_state*> Compiled(std::string_view program) {
  thread_local std::map<std::string, std::unique_ptr<jq_state, StateDeleter>, std::less<>> cache;
  if (auto it = cache.find(program); it != cache.end()) return it->second.get();
  std::unique_ptr<jq_state, StateDeleter> state(jq_init());
  if (!state) return absl::ResourceExhaustedError("jq: cannot initialize");
  std::string error;
  jq_set_error_cb(state.get(), CollectError, &error);
  const std::string text(program);
  const bool ok = jq_compile(state.get(), text.c_str());
  jq_set_error_cb(state.get(), nullptr, nullptr);
  if (!ok)
    return absl::InvalidArgumentError(
        error.rfind("jq: ", 0) == 0
            ? error
            : absl::StrCat("jq: ", error.empty() ? "cannot compile the program" : error));
  if (cache.size() >= 64) cache.clear();
  return cache.emplace(text, std::move(state)).first->second.get();
}

absl::StatusOr<std::vector<json>> Execute(std::string_view program, const json& input,
                                          const Limits& limits, size_t max_outputs) {
  if (program.size() > limits.max_program_bytes)
    return absl::InvalidArgumentError(absl::StrCat("jq: the program is ", program.size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_program_bytes));
  auto jq = Compiled(program);
  if (!jq.ok()) return jq.status();
  // Invalid UTF-8 would make dump() throw; replacing it only touches such strings.
  const std::string text = input.dump(-1, ' ', false, json::error_handler_t::replace);
  jv parsed = jv_parse(text.c_str());
  if (!jv_is_valid(parsed)) {
    jv_free(parsed);
    return absl::InvalidArgumentError("jq: the input is not valid JSON");
  }
  jq_start(*jq, parsed, 0);
  std::vector<json> out;
  size_t bytes = 0;
  absl::Status status;
  while (true) {
    jv result = jq_next(*jq);
    if (!jv_is_valid(result)) {
      // Exhausted, or a run-time error carrying its message.
      if (jv_invalid_has_msg(jv_copy(result))) {
        jv msg = jv_invalid_get_msg(result);
        jv shown = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
        status = absl::InvalidArgumentError(absl::StrCat("jq: ", jv_string_value(shown)));
        jv_free(shown);
      } else {
        jv_free(result);
      }
      break;
    }
    if (out.size() >= limits.max_outputs) {
      jv_free(result);
      status = absl::ResourceExhaustedError(
          absl::StrCat("jq: more than ", limits.max_outputs, " outputs"));
      break;
    }
    jv dumped = jv_dump_string(result, 0);
    std::string_view s = jv_string_value(dumped);
    bytes += s.size();
    json value = json::parse(s, nullptr, /*allow_exceptions=*/false);
    jv_free(dumped);
    if (bytes > limits.max_output_bytes) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("jq: the output is over ", limits.max_output_bytes, " bytes"));
      break;
    }
    // jq writes non-finite numbers as 1.797e308 / null; nlohmann parses both.
    if (value.is_discarded()) {
      status = absl::InternalError("jq: an output is not JSON");
      break;
    }
    out.push_back(std::move(value));
    if (out.size() >= max_outputs) break;
  }
  // Resets the state for the next run (drops what the program still holds).
  jq_start(*jq, jv_null(), 0);
  if (!status.ok()) return status;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<json>> Run(std::string_view program, const json& input,
                                      const Limits& limits) {
  return Execute(program, input, limits, limits.max_outputs + 1);
}

absl::StatusOr<json> RunFirst(std::string_view program, const json& input, const Limits& limits) {
  auto out = Execute(program, input, limits, 1);
  if (!out.ok()) return out.status();
  if (out->empty()) return absl::NotFoundError("jq: the program produced no output");
  return std::move(out->front());
}

}  // namespace argonaut::jq
