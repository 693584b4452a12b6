// AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun and Experiment rules, the manifest entry
// point and the store Validator.

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "lib/manifest/codec.h"
#include "services/rollout/validation/checks.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {
namespace {

using internal::CheckAnalysisTemplateRefs;
using internal::CheckArguments;
using internal::CheckDryRun;
using internal::CheckGoDuration;
using internal::CheckMeasurementRetention;
using internal::CheckMetrics;
using internal::CheckNonNegative;
using internal::CheckSelector;
using internal::Errors;
using internal::Field;
using internal::Index;
using internal::SelectorMatches;

absl::Status CheckTemplateSpec(const v1::AnalysisTemplateSpec& spec) {
  Errors errors;
  // A template may consist only of other templates (spec.templates composition).
  if (spec.metrics().empty() && spec.templates().empty()) {
    errors.Add("spec.metrics", "at least one metric (or spec.templates) is required");
  }
  CheckMetrics("spec.metrics", spec.metrics(), /*allow_empty=*/true, &errors);
  CheckArguments("spec.args", spec.args(), &errors);
  CheckDryRun("spec.dryRun", spec.dry_run(), &errors);
  CheckMeasurementRetention("spec.measurementRetention", spec.measurement_retention(), &errors);
  CheckAnalysisTemplateRefs("spec.templates", spec.templates(), /*required=*/false, &errors);
  return errors.ToStatus();
}

bool TerminalPhase(const std::string& phase) {
  return phase == "Successful" || phase == "Failed" || phase == "Error" || phase == "Inconclusive";
}

// Containers of an experiment template's pod spec.
void CheckContainers(absl::string_view path, const google::protobuf::Struct& spec, Errors* errors) {
  const auto& fields = spec.fields();
  auto it = fields.find("containers");
  if (it == fields.end() || !it->second.has_list_value() ||
      it->second.list_value().values().empty()) {
    errors->Add(Field(path, "containers"), "at least one container is required");
  }
}

template <typename T>
absl::Status Decode(const nlohmann::json& doc, absl::Status (*validate)(const T&)) {
  T msg;
  if (absl::Status s = manifest::FromJson(doc, &msg); !s.ok()) return s;
  return validate(msg);
}

// The generated message behind `object`, copying when it comes from another pool.
template <typename T>
absl::Status ValidateMessage(const google::protobuf::Message& object,
                             absl::Status (*validate)(const T&)) {
  if (const T* typed = google::protobuf::DynamicCastToGenerated<T>(&object)) {
    return validate(*typed);
  }
  T copy;
  if (!copy.ParseFromString(object.SerializeAsString())) {
    return absl::InternalError(absl::StrCat("cannot read ", object.GetDescriptor()->full_name(),
                                            " as ", T::descriptor()->full_name()));
  }
  return validate(copy);
}

}  // namespace

absl::Status ValidateAnalysisTemplate(const v1::AnalysisTemplate& tmpl) {
  return CheckTemplateSpec(tmpl.spec());
}

absl::Status ValidateClusterAnalysisTemplate(const v1::ClusterAnalysisTemplate& tmpl) {
  return CheckTemplateSpec(tmpl.spec());
}

absl::Status ValidateAnalysisRun(const v1::AnalysisRun& run) {
  Errors errors;
  const v1::AnalysisRunSpec& spec = run.spec();
  CheckMetrics("spec.metrics", spec.metrics(),
               /*allow_empty=*/TerminalPhase(run.status().phase()), &errors);
  CheckArguments("spec.args", spec.args(), &errors);
  CheckDryRun("spec.dryRun", spec.dry_run(), &errors);
  CheckMeasurementRetention("spec.measurementRetention", spec.measurement_retention(), &errors);
  if (spec.has_ttl_strategy()) {
    const v1::TTLStrategy& ttl = spec.ttl_strategy();
    const std::string p = "spec.ttlStrategy";
    if (ttl.has_seconds_after_completion()) {
      CheckNonNegative(Field(p, "secondsAfterCompletion"), ttl.seconds_after_completion(), &errors);
    }
    if (ttl.has_seconds_after_failure()) {
      CheckNonNegative(Field(p, "secondsAfterFailure"), ttl.seconds_after_failure(), &errors);
    }
    if (ttl.has_seconds_after_success()) {
      CheckNonNegative(Field(p, "secondsAfterSuccess"), ttl.seconds_after_success(), &errors);
    }
  }
  return errors.ToStatus();
}

absl::Status ValidateExperiment(const v1::Experiment& experiment) {
  Errors errors;
  const v1::ExperimentSpec& spec = experiment.spec();
  const std::string tp = "spec.templates";
  if (spec.templates().empty()) errors.Add(tp, "at least one template is required");
  std::set<std::string> names;
  for (int i = 0; i < spec.templates_size(); ++i) {
    const v1::TemplateSpec& t = spec.templates(i);
    const std::string p = Index(tp, i);
    if (t.name().empty()) {
      errors.Add(Field(p, "name"), "required");
    } else if (!names.insert(t.name()).second) {
      errors.Add(Field(p, "name"), absl::StrCat("duplicate template name \"", t.name(), "\""));
    }
    if (t.has_replicas()) CheckNonNegative(Field(p, "replicas"), t.replicas(), &errors);
    if (t.has_min_ready_seconds()) {
      CheckNonNegative(Field(p, "minReadySeconds"), t.min_ready_seconds(), &errors);
    }
    if (!t.has_selector()) {
      errors.Add(Field(p, "selector"), "required");
    } else if (t.selector().match_labels().empty() && t.selector().match_expressions().empty()) {
      errors.Add(Field(p, "selector"),
                 "must not be empty (an empty selector would select every pod)");
    } else {
      CheckSelector(Field(p, "selector"), t.selector(), &errors);
      if (!SelectorMatches(t.selector(), t.template_().metadata().labels())) {
        errors.Add(Field(p, "template.metadata.labels"),
                   absl::StrCat("do not match ", p, ".selector"));
      }
    }
    CheckContainers(Field(p, "template.spec"), t.template_().spec(), &errors);
  }
  CheckGoDuration("spec.duration", spec.duration(), &errors);
  if (spec.has_progress_deadline_seconds()) {
    CheckNonNegative("spec.progressDeadlineSeconds", spec.progress_deadline_seconds(), &errors);
  }
  if (spec.has_scale_down_delay_seconds()) {
    CheckNonNegative("spec.scaleDownDelaySeconds", spec.scale_down_delay_seconds(), &errors);
  }
  std::set<std::string> analyses;
  for (int i = 0; i < spec.analyses_size(); ++i) {
    const v1::ExperimentAnalysisTemplateRef& a = spec.analyses(i);
    const std::string p = Index("spec.analyses", i);
    if (a.name().empty()) {
      errors.Add(Field(p, "name"), "required");
    } else if (!analyses.insert(a.name()).second) {
      errors.Add(Field(p, "name"), absl::StrCat("duplicate analysis name \"", a.name(), "\""));
    }
    if (a.template_name().empty()) errors.Add(Field(p, "templateName"), "required");
    CheckArguments(Field(p, "args"), a.args(), &errors);
  }
  CheckDryRun("spec.dryRun", spec.dry_run(), &errors);
  CheckMeasurementRetention("spec.measurementRetention", spec.measurement_retention(), &errors);
  return errors.ToStatus();
}

bool IsRolloutKind(absl::string_view kind) {
  return kind == "Rollout" || kind == "AnalysisTemplate" || kind == "ClusterAnalysisTemplate" ||
         kind == "AnalysisRun" || kind == "Experiment";
}

absl::Status ValidateManifest(const nlohmann::json& doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("expected an object");
  auto kind_it = doc.find("kind");
  if (kind_it == doc.end() || !kind_it->is_string()) {
    return absl::InvalidArgumentError("kind: required");
  }
  const std::string kind = kind_it->get<std::string>();
  if (kind == "Rollout") return Decode<v1::Rollout>(doc, &ValidateRollout);
  if (kind == "AnalysisTemplate")
    return Decode<v1::AnalysisTemplate>(doc, &ValidateAnalysisTemplate);
  if (kind == "ClusterAnalysisTemplate") {
    return Decode<v1::ClusterAnalysisTemplate>(doc, &ValidateClusterAnalysisTemplate);
  }
  if (kind == "AnalysisRun") return Decode<v1::AnalysisRun>(doc, &ValidateAnalysisRun);
  if (kind == "Experiment") return Decode<v1::Experiment>(doc, &ValidateExperiment);
  return absl::InvalidArgumentError(absl::StrCat("kind: ", kind, " is not a rollout kind"));
}

resource::Validator RolloutValidator() {
  return [](const resource::KindInfo& kind, google::protobuf::Message& object) -> absl::Status {
    if (kind.kind == "Rollout") return ValidateMessage<v1::Rollout>(object, &ValidateRollout);
    if (kind.kind == "AnalysisTemplate") {
      return ValidateMessage<v1::AnalysisTemplate>(object, &ValidateAnalysisTemplate);
    }
    if (kind.kind == "ClusterAnalysisTemplate") {
      return ValidateMessage<v1::ClusterAnalysisTemplate>(object, &ValidateClusterAnalysisTemplate);
    }
    if (kind.kind == "AnalysisRun") {
      return ValidateMessage<v1::AnalysisRun>(object, &ValidateAnalysisRun);
    }
    if (kind.kind == "Experiment") {
      return ValidateMessage<v1::Experiment>(object, &ValidateExperiment);
    }
    return absl::OkStatus();
  };
}

}  // namespace argonaut::rollout::validation
