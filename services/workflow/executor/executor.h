// argoexec: the program that wraps every workflow step inside its pod, as
// Argo's emissary executor does. It reads the step's template from
// ARGO_TEMPLATE, runs the real command (through the image table, so an
// image without a command still runs), copies the command's stdout to its
// own (the pod log) while keeping it as outputs.result, collects
// outputs.parameters from files, and reports them as the container's
// termination message, which the kubelet puts into the pod's status.
//
// Report (JSON): {"result": "...", "exitCode": "0",
//                 "parameters": [{"name": "x", "value": "..."}],
//                 "error": "..."}   // only when outputs could not be collected
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::executor {

// Outputs larger than this are an error, as in Argo (256 kB results).
inline constexpr size_t kMaxResultBytes = 256 * 1024;
inline constexpr size_t kMaxReportBytes = 256 * 1024;

struct ExecutorOptions {
  // How built-in images are started from this binary (see ImageTableOptions).
  std::string builtin_binary;
  std::vector<std::string> builtin_prefix = {"__image"};
};

// What to run for a template: image, command and args; a script's source
// is written to `script_dir` and its path appended to the arguments.
struct ExecPlan {
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string script_path;  // empty unless a script template
  std::string script_source;
};
absl::StatusOr<ExecPlan> PlanFromTemplate(const nlohmann::json& tmpl,
                                          const std::string& script_dir);

// Builds the report after the command ran. `read_file` returns a file's
// content or NotFound.
nlohmann::json BuildReport(
    const nlohmann::json& tmpl, const std::string& stdout_text, int exit_code,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file);

// Entry point: args = ["emissary"]. Returns the step's exit code.
int RunArgoexec(const std::vector<std::string>& args, const ExecutorOptions& options);

}  // namespace argonaut::workflow::executor
