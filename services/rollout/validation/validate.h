// Admission checks for the five Argo Rollouts kinds: the rules of Argo's
// pkg/apis/rollouts/validation (Rollout), utils/analysis (metrics) and the
// CRD schemas' required fields, over the typed messages of
// argonaut/rollout/v1/rollout.proto. Pure: no I/O, no clock.
//
//   argonaut::rollout::v1::Rollout r;
//   RETURN_IF_ERROR(manifest::FromJson(doc, &r));
//   RETURN_IF_ERROR(validation::ValidateRollout(r));
//
// Errors are InvalidArgument. Every problem found is reported (joined by "; "),
// each starting with the manifest path of the offending field:
//   spec.strategy.canary.steps[2].setWeight: must be between 0 and 100 (got 150)
//
// References to other objects (Services, AnalysisTemplates, the workloadRef
// Deployment) are not resolved here: like kubectl apply, a store write does not
// require them to exist; the controllers report missing ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "argonaut/rollout/v1/rollout.pb.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::validation {

absl::Status ValidateRollout(const v1::Rollout& rollout);
absl::Status ValidateAnalysisTemplate(const v1::AnalysisTemplate& tmpl);
absl::Status ValidateClusterAnalysisTemplate(const v1::ClusterAnalysisTemplate& tmpl);
// A run the controller created with a terminal status.phase (Error/Failed: e.g. its template
// was missing) may have no metrics; the metrics it has are still checked.
absl::Status ValidateAnalysisRun(const v1::AnalysisRun& run);
absl::Status ValidateExperiment(const v1::Experiment& experiment);

// Decodes a manifest of one of the five kinds (by its `kind`) through lib/manifest and validates
// it. Decode errors (unknown field, wrong type) and rule violations are both InvalidArgument with
// the field path. A document of another kind is InvalidArgument too ("kind X is not a rollout
// kind"); callers that mix kinds should check IsRolloutKind first.
absl::Status ValidateManifest(const nlohmann::json& doc);
bool IsRolloutKind(absl::string_view kind);

// What Argo's lint checks against the objects a Rollout names, for those present in `objects`
// (typically the other documents of the same file; absent ones are not an error): Services it
// switches select only labels its pods carry (besides rollouts-pod-template-hash), the stable
// Ingress (nginx/alb) routes to the stable (or ALB root) Service, and referenced
// (Cluster)AnalysisTemplates get every argument they lack a value for, and, outside background
// analysis, have no metric that runs forever (interval without count).
absl::Status ValidateReferences(const v1::Rollout& rollout,
                                const std::vector<nlohmann::json>& objects);

// `argonaut rollouts lint`: every rollout-kind document of a file through ValidateManifest, and
// each Rollout through ValidateReferences against the file's documents. One entry per refused
// document: "doc N (Kind name): <errors>". Other kinds are ignored.
std::vector<std::string> LintDocuments(const std::vector<nlohmann::json>& docs);

// The checks above as the store's resource::Validator, for the rollout service's ResourceApi.
// Kinds other than the five pass through unchanged.
resource::Validator RolloutValidator();

// Go's time.ParseDuration ("1h30m", "300ms", "-1.5s", "0"; units ns us µs ms s m h), which is
// how Argo reads DurationString fields (metric interval, experiment duration).
absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text);

// A pause step's duration as Argo reads it: an integer is seconds ("30" or 30), anything else a
// Go duration. An empty duration (`pause: {}`) is InvalidArgument: it has no length.
absl::StatusOr<absl::Duration> PauseDuration(absl::string_view duration);

}  // namespace argonaut::rollout::validation
