#include "services/workflow/api/validator.h"

#include <string>

#include "argonaut/workflow/v1/workflow.pb.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/json_text.h"

namespace argonaut::workflow::api {

TemplateLookup BindNamespace(const NamespacedTemplateLookup& lookup, std::string ns) {
  if (!lookup) return nullptr;
  return [lookup, ns = std::move(ns)](std::string_view kind,
                                      std::string_view name) -> std::optional<nlohmann::json> {
    return lookup(kind, kind == "ClusterWorkflowTemplate" ? "" : ns, name);
  };
}

void NormalizeCronSchedules(google::protobuf::Message& object) {
  auto* cron = dynamic_cast<v1::CronWorkflow*>(&object);
  if (cron == nullptr || cron->spec().schedule().empty()) return;
  v1::CronWorkflowSpec* spec = cron->mutable_spec();
  std::vector<std::string> merged = {spec->schedule()};
  for (const std::string& s : spec->schedules()) {
    if (s != spec->schedule()) merged.push_back(s);
  }
  spec->clear_schedules();
  for (std::string& s : merged) spec->add_schedules(std::move(s));
  spec->clear_schedule();
}

resource::Validator WorkflowValidator(NamespacedTemplateLookup lookup) {
  return [lookup = std::move(lookup)](const resource::KindInfo& kind,
                                      google::protobuf::Message& object) -> absl::Status {
    if (kind.kind != "Workflow" && kind.kind != "WorkflowTemplate" &&
        kind.kind != "ClusterWorkflowTemplate" && kind.kind != "CronWorkflow") {
      return absl::OkStatus();
    }
    NormalizeCronSchedules(object);
    nlohmann::json doc = manifest::ToJson(object);
    doc["kind"] = kind.kind;
    std::string ns;
    if (doc.contains("metadata") && doc["metadata"].is_object()) {
      auto it = doc["metadata"].find("namespace");
      if (it != doc["metadata"].end() && it->is_string()) ns = it->get<std::string>();
    }
    return ValidateWorkflow(doc, BindNamespace(lookup, ns), {.require_refs = false});
  };
}

NamespacedTemplateLookup StoreTemplateLookup(resource::ResourceApi* const* api) {
  return [api](std::string_view kind, std::string_view ns,
               std::string_view name) -> std::optional<nlohmann::json> {
    if (*api == nullptr) return std::nullopt;
    absl::StatusOr<std::string> text = (*api)->Get(kind, ns, name);
    if (!text.ok()) return std::nullopt;
    absl::StatusOr<nlohmann::json> doc = manifest::ParseJsonText(*text);
    if (!doc.ok()) return std::nullopt;
    return *std::move(doc);
  };
}

}  // namespace argonaut::workflow::api
