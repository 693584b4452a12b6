// The user's verbs on a workflow, as pure JSON-in/JSON-out transformations of the stored object
// (Argo's workflow/util: SuspendWorkflow, ResumeWorkflow, StopWorkflow, TerminateWorkflow,
// FormulateRetryWorkflow, FormulateResubmitWorkflow, `argo node set`, `argo submit --from`).
// The service applies them with resourceVersion preconditions; the controller acts on the result.
//
//   RETURN_IF_ERROR(Suspend(wf));
//   ASSIGN_OR_RETURN(RetryResult r, Retry(wf, {.restart_successful = true}, absl::Now()));
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::api {

// Argo's node field selector: comma-separated FIELD=VALUE or FIELD!=VALUE terms, all of which
// must hold. Fields: id, name, displayName, templateName, phase, type, templateRef.name,
// templateRef.template, inputs.parameters.<NAME>.value.
class NodeFieldSelector {
 public:
  static absl::StatusOr<NodeFieldSelector> Parse(std::string_view text);
  // `id` is the key of the node in status.nodes.
  bool Matches(const std::string& id, const nlohmann::json& node) const;
  bool empty() const { return terms_.empty(); }

 private:
  struct Term {
    std::string field, value;
    bool negate = false;
  };
  std::vector<Term> terms_;
};

// Parses `name=value` arguments (-p). The value may contain '='.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseParameterArgs(
    const std::vector<std::string>& args);
// A --parameter-file: a YAML or JSON map of name -> value (non-string values as JSON text).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseParameterFile(
    std::string_view text);
// Sets spec.arguments.parameters[name].value, adding missing parameters.
absl::Status ApplyParameters(nlohmann::json& workflow,
                             const std::vector<std::pair<std::string, std::string>>& params);

// Refused (FAILED_PRECONDITION) on a completed workflow.
absl::Status Suspend(nlohmann::json& workflow);
// Clears spec.suspend and completes every running Suspend node the selector matches. A node with
// an output parameter that waits for a supplied value must be `Set` first.
absl::Status Resume(nlohmann::json& workflow, std::string_view node_field_selector, absl::Time now);
// spec.shutdown=Stop (exit handlers still run), status.message = message when given. With a
// selector only the matching running Suspend nodes fail, with the message.
absl::Status Stop(nlohmann::json& workflow, std::string_view node_field_selector,
                  std::string_view message, absl::Time now);
// spec.shutdown=Terminate: no exit handlers.
absl::Status Terminate(nlohmann::json& workflow);

struct RetryOptions {
  bool restart_successful = false;
  std::string node_field_selector;  // with restart_successful: which successful nodes rerun
  std::vector<std::pair<std::string, std::string>> parameters;
};
struct RetryResult {
  nlohmann::json workflow;
  // Nodes dropped so the engine runs them again; their pods must be deleted.
  std::vector<std::string> deleted_node_ids;
};
// Failed/Error workflows only. Failed and errored leaf nodes (and with restart_successful the
// selected successful ones) are removed with their descendants; their enclosing steps/dag nodes
// and the root go back to Running; the workflow is Running again.
absl::StatusOr<RetryResult> Retry(const nlohmann::json& workflow, const RetryOptions& options,
                                  absl::Time now);

// A new Workflow from a finished one's spec: generateName from the original's generateName (or
// name + "-"), user labels/annotations kept, controller labels dropped,
// workflows.argoproj.io/resubmitted-from-workflow set.
absl::StatusOr<nlohmann::json> Resubmit(
    const nlohmann::json& workflow,
    const std::vector<std::pair<std::string, std::string>>& parameters);

struct SetOptions {
  std::string node_field_selector;  // required
  std::string phase;                // Succeeded | Failed | Error, or empty
  std::string message;
  std::vector<std::pair<std::string, std::string>> output_parameters;
};
// `argo node set`: Suspend nodes only.
absl::Status Set(nlohmann::json& workflow, const SetOptions& options, absl::Time now);

struct SubmitOptions {
  std::string name;  // else generateName <source>-
  std::string generate_name;
  std::string entrypoint;
  std::string service_account;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, std::string>> parameters;
};
// `argo submit --from kind/name`: a Workflow referencing a WorkflowTemplate or
// ClusterWorkflowTemplate through workflowTemplateRef, or built from a CronWorkflow's
// workflowSpec. `source` is the whole object; `ns` the namespace of the new workflow.
absl::StatusOr<nlohmann::json> SubmitFrom(const nlohmann::json& source, std::string_view ns,
                                          const SubmitOptions& options);

// Argo's label set by the controller on every workflow; dropped by Resubmit.
inline constexpr char kWorkflowLabelPrefix[] = "workflows.argoproj.io/";

// RFC 3339 UTC with second precision, as in workflow status.
std::string FormatWorkflowTime(absl::Time t);

}  // namespace argonaut::workflow::api
