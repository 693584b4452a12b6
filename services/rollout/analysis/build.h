// BuildAnalysisRun: turns a RolloutAnalysis block (the templates a Rollout,
// blue-green hook or Experiment names, plus its args, dryRun and
// measurementRetention) into a complete AnalysisRun object, the way Argo
// Rollouts instantiates one: templates fetched (nested `templates` followed),
// de-duplicated and flattened, args merged (template defaults, caller values
// win), every arg required to have a value or a valueFrom.
//
//   ASSIGN_OR_RETURN(nlohmann::json run, BuildAnalysisRun(source, lookup));
//   store->CreateObject("AnalysisRun", run, /*upsert=*/false);
//
// `{{args.NAME}}` placeholders stay in the run's metrics (Argo substitutes
// them when measuring, so secret values never reach the stored object);
// ResolveMetricArgs does that substitution.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::analysis {

// (clusterScope, namespace, name) -> AnalysisTemplate / ClusterAnalysisTemplate
// object; NOT_FOUND naming it when missing.
using TemplateLookup = std::function<absl::StatusOr<nlohmann::json>(
    bool cluster_scope, std::string_view ns, std::string_view name)>;

struct RunSource {
  std::string ns, name;
  // RolloutAnalysis block: {templates:[{templateName, clusterScope}],
  // args:[{name, value} | {name, valueFrom:{secretKeyRef|fieldRef|...}}], dryRun:[{metricName}],
  // measurementRetention:[{metricName, limit}], analysisRunMetadata:{labels, annotations}}.
  nlohmann::json analysis;
  nlohmann::json labels;           // labels to set (object of strings); may be null
  nlohmann::json owner_reference;  // to the Rollout (or Experiment); may be null
};

// A complete AnalysisRun object (apiVersion, kind, metadata, spec{metrics, args,
// dryRun, measurementRetention}). Errors (INVALID_ARGUMENT / NOT_FOUND) name the
// template or the argument.
absl::StatusOr<nlohmann::json> BuildAnalysisRun(const RunSource& source,
                                                const TemplateLookup& lookup);

// Substitutes `{{args.NAME}}` in every string of `metric` with `values[NAME]`
// (JSON-string escaped, as Argo resolves over the marshalled metric). An
// unknown `{{args.X}}` is an error naming X.
absl::StatusOr<nlohmann::json> ResolveMetricArgs(const nlohmann::json& metric,
                                                 const std::map<std::string, std::string>& values);

// The values of a run's spec.args that can be known without the cluster:
// `value` as is; an arg with valueFrom.secretKeyRef gets `placeholder` (the
// secret is read only when measuring). Errors name an arg with neither.
absl::StatusOr<std::map<std::string, std::string>> PlainArgValues(
    const nlohmann::json& args, std::string_view secret_placeholder = "temp-for-secret");

}  // namespace argonaut::rollout::analysis
