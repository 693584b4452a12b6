// Pieces shared by the per-kind validators (validate.cc, analysis.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "argonaut/rollout/v1/rollout.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "lib/base/field_errors.h"

namespace argonaut::rollout::validation::internal {

// Every violation as "<path>: <message>" (lib/base/field_errors.h).
using Errors = ::argonaut::base::FieldErrors;
using ::argonaut::base::Field;
using ::argonaut::base::Index;

// The integer an IntOrString holds. nullopt for an empty value and for `{{args.x}}`
// placeholders (resolved when a run is built); a string that is neither is an error.
absl::StatusOr<std::optional<int64_t>> IntOrStringValue(absl::string_view text);
bool IsPlaceholder(absl::string_view text);

// Int or percent ("25%", or "25", which Argo also reads as a percentage), for maxSurge and
// maxUnavailable. Returns the number; refuses anything else and negatives.
void CheckIntOrPercent(absl::string_view path, const std::string& value, Errors* errors,
                       std::optional<int>* number);

// Whether `selector` selects `labels` (matchLabels and matchExpressions, Kubernetes semantics).
bool SelectorMatches(const v1::LabelSelector& selector,
                     const google::protobuf::Map<std::string, std::string>& labels);
// Label selector shape: operators, values present for In/NotIn and absent for Exists.
void CheckSelector(absl::string_view path, const v1::LabelSelector& selector, Errors* errors);

void CheckGoDuration(absl::string_view path, const std::string& value, Errors* errors);
void CheckNonNegative(absl::string_view path, int64_t value, Errors* errors);

// Rollout-side analysis (steps, background, pre/post promotion).
void CheckAnalysisTemplateRefs(
    absl::string_view path, const google::protobuf::RepeatedPtrField<v1::AnalysisTemplateRef>& refs,
    bool required, Errors* errors);
void CheckRunArguments(absl::string_view path,
                       const google::protobuf::RepeatedPtrField<v1::AnalysisRunArgument>& args,
                       Errors* errors);
void CheckDryRun(absl::string_view path,
                 const google::protobuf::RepeatedPtrField<v1::DryRun>& dry_run, Errors* errors);
void CheckMeasurementRetention(
    absl::string_view path,
    const google::protobuf::RepeatedPtrField<v1::MeasurementRetention>& retention, Errors* errors);
void CheckRolloutAnalysis(absl::string_view path, const v1::RolloutAnalysis& analysis,
                          Errors* errors);

// Template-side arguments (AnalysisTemplate, AnalysisRun, Experiment analyses).
void CheckArguments(absl::string_view path,
                    const google::protobuf::RepeatedPtrField<v1::Argument>& args, Errors* errors);
// Metric list: at least one unless `allow_empty`, unique names, each metric's rules.
void CheckMetrics(absl::string_view path,
                  const google::protobuf::RepeatedPtrField<v1::Metric>& metrics, bool allow_empty,
                  Errors* errors);

}  // namespace argonaut::rollout::validation::internal
