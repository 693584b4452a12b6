// The workflow service's admission check for its store: ValidateWorkflow (validate.h) as a
// resource::Validator, so `argonaut apply` and the generic ResourceService refuse a bad
// Workflow / WorkflowTemplate / ClusterWorkflowTemplate / CronWorkflow with its field path. It
// also stores a CronWorkflow's singular `schedule` as `schedules` (NormalizeCronSchedules).
//
//   ResourceApi api(store, KindsOfService("workflow"),
//   WorkflowValidator(StoreTemplateLookup(&api)));
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/workflow/api/validate.h"

namespace argonaut::workflow::api {

// (kind, namespace, name) -> object. Namespace is empty for ClusterWorkflowTemplate.
using NamespacedTemplateLookup = std::function<std::optional<nlohmann::json>(
    std::string_view kind, std::string_view ns, std::string_view name)>;

// Argo v4 keeps a CronWorkflow's schedules in `spec.schedules`; the singular v3 `schedule` is
// still accepted and moved to the front of the list (duplicates dropped).
void NormalizeCronSchedules(google::protobuf::Message& object);

// Store writes do not require referenced templates to exist (kubectl apply semantics: the
// controller reports a missing one when the workflow runs); everything else is checked.
resource::Validator WorkflowValidator(NamespacedTemplateLookup lookup);

// A lookup over a ResourceApi holding the template kinds. `api` must outlive the lookup; it may
// be set after construction through the pointer-to-pointer (the validator is created before the
// ResourceApi that uses it).
NamespacedTemplateLookup StoreTemplateLookup(resource::ResourceApi* const* api);

// Binds a namespaced lookup to one namespace, as ValidateWorkflow wants it.
TemplateLookup BindNamespace(const NamespacedTemplateLookup& lookup, std::string ns);

}  // namespace argonaut::workflow::api
