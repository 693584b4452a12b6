// Spec checks run before a Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow is
// accepted: the subset of Argo's workflow/validate/validate.go that catches mistakes a user makes
// (unknown templates, DAG cycles, missing parameters, bad `depends`/`when` syntax, duplicate
// names, enum violations, unresolvable {{inputs.parameters.X}} / {{steps.X}} / {{tasks.X}}).
//
//   absl::Status s = ValidateWorkflow(object_json, lookup, {.require_refs = true});
//   // INVALID_ARGUMENT "spec.templates[1].dag.tasks[2].depends: ..."
//
// Every error is INVALID_ARGUMENT and starts with the field path of the offending value. Pure: the
// only outside information comes from `lookup`.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::api {

// (kind, name) -> the WorkflowTemplate / ClusterWorkflowTemplate object, or nullopt when absent.
// Kind is "WorkflowTemplate" (in the validated object's namespace) or "ClusterWorkflowTemplate".
using TemplateLookup =
    std::function<std::optional<nlohmann::json>(std::string_view kind, std::string_view name)>;

struct ValidateOptions {
  // Argo Server's submit and lint refuse a templateRef / workflowTemplateRef whose target does not
  // exist. A plain store write (kubectl apply) does not: the controller reports it when it runs.
  bool require_refs = false;
  // Lint of a template kind and `argo lint` accept arguments without values.
  bool lint = false;
};

// `object` is the whole manifest (kind, metadata, spec). A missing kind means Workflow.
absl::Status ValidateWorkflow(const nlohmann::json& object, const TemplateLookup& lookup,
                              const ValidateOptions& options = {});

// Argo's field-name rule for templates, steps, tasks and parameters: [a-zA-Z0-9][-a-zA-Z0-9]*
// (parameters also allow '_' and '.'), at most 128 characters.
bool IsValidFieldName(std::string_view name);

}  // namespace argonaut::workflow::api
