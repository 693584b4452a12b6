// The pure half of the AnalysisRun controller: Argo Rollouts' analysis
// accounting (analysis/analysis.go) over manifest JSON, with no I/O and no
// clock.
//
// One reconcile of a run, in Argo's order:
//   Plan plan = PlanMeasurements(run, now);        // what to measure now
//   for (const MetricTask& t : plan.tasks) ...     // start / resume / terminate -> updates
//   Assessment a = Assess(run, updates, now);      // counts, phases, summaries
//   write a.status; requeue after a.requeue_after.
//
// Phases are Argo's: Pending, Running, Successful, Failed, Error, Inconclusive.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::analysis {

inline constexpr char kPhasePending[] = "Pending";
inline constexpr char kPhaseRunning[] = "Running";
inline constexpr char kPhaseSuccessful[] = "Successful";
inline constexpr char kPhaseFailed[] = "Failed";
inline constexpr char kPhaseError[] = "Error";
inline constexpr char kPhaseInconclusive[] = "Inconclusive";

// Argo's defaults.
inline constexpr int kDefaultMeasurementHistoryLimit = 10;
inline constexpr int kDefaultConsecutiveErrorLimit = 4;
inline constexpr absl::Duration kDefaultErrorRetryInterval = absl::Seconds(10);
// How often an in-flight measurement is looked at again when nothing else
// wakes the run (a lost Job event, a worker that died with its process).
inline constexpr absl::Duration kInFlightPollInterval = absl::Seconds(10);

// Successful, Failed, Error or Inconclusive.
bool PhaseCompleted(std::string_view phase);

// metav1.Time text (RFC 3339, whole seconds, UTC) and back.
std::string TimeText(absl::Time t);
std::optional<absl::Time> ParseTimeText(const nlohmann::json& v);

// A measurement taken (or started) since the stored status.
struct MeasurementUpdate {
  std::string metric;
  // Argo Measurement: phase, message, startedAt, finishedAt, value, metadata, resumeAt.
  // A completed phase without finishedAt gets `now`.
  nlohmann::json measurement;
  // True: replaces the metric's last (in-flight) measurement; false: appended.
  bool replace_last = false;
};

// Work the controller must do now for one metric.
struct MetricTask {
  std::string metric;
  // The metric with args resolved, secrets still as `{{args.x}}` placeholders
  // resolved to "temp-for-secret"; the controller re-resolves with secrets.
  nlohmann::json spec;
  // The metric as written in the run (args unresolved).
  nlohmann::json raw_spec;
  // Set when the last measurement is still in flight: poll it (or, when
  // `terminate`, stop it). Unset: start a new measurement.
  std::optional<nlohmann::json> in_flight;
  bool terminate = false;
  // Whether this metric is a dry-run metric.
  bool dry_run = false;
};

// Which measurements to take, resume or terminate now (Argo's
// generateMetricTasks over the stored status), or, for a run whose spec is
// unusable, the Error status to write instead.
struct Plan {
  std::vector<MetricTask> tasks;
  // Set when the run must go to Error (bad args, invalid metrics, a dryRun or
  // measurementRetention rule matching no metric); write it and stop.
  std::optional<nlohmann::json> error_status;
  // The run is already completed: nothing to do.
  bool completed = false;
};
Plan PlanMeasurements(const nlohmann::json& run, absl::Time now);

struct Assessment {
  // The complete new status.
  nlohmann::json status;
  // Reconcile again after this long (none: nothing scheduled).
  std::optional<absl::Duration> requeue_after;
  // status.phase is completed.
  bool completed = false;
};

// Applies `updates` (the bookkeeping of Argo's runMeasurements: counts,
// consecutive counters, measurement list) and assesses every metric and the
// run (assessMetricStatus / assessRunStatus), trims measurement history and
// computes the next reconcile time. `run` is the whole AnalysisRun (spec +
// stored status). Never fails: a bad spec gives phase Error with Argo's message.
Assessment Assess(const nlohmann::json& run, const std::vector<MeasurementUpdate>& updates,
                  absl::Time now);

// spec.ttlStrategy of a completed run: how long until it is to be deleted
// (<= 0: now). nullopt: not completed, no TTL applies, or no completedAt.
// Argo deletes once the whole seconds since completedAt exceed the TTL
// (secondsAfterSuccess / secondsAfterFailure, else secondsAfterCompletion).
std::optional<absl::Duration> TimeToDeletion(const nlohmann::json& run, absl::Time now);

// The status of a run that cannot go on: phase Error with `message`
// (startedAt/completedAt filled).
nlohmann::json RunErrorStatus(const nlohmann::json& status, std::string_view message,
                              absl::Time now);

// Names of the metrics the spec's dryRun rules select (unanchored regexps);
// rules that match nothing are ignored here.
std::map<std::string, bool> DryRunMetrics(const nlohmann::json& spec);

// Evaluates successCondition / failureCondition over `result` with expr-lang
// and Rollouts' functions: the measurement phase, and for Error the message
// (a parse or evaluation error names the condition and the expression).
std::pair<std::string, std::string> EvaluateResult(const nlohmann::json& metric,
                                                   const nlohmann::json& result);

// A completed measurement from a provider's result value: conditions
// evaluated, `value` as text (strings raw, others as JSON).
nlohmann::json MeasurementFromResult(const nlohmann::json& metric, const nlohmann::json& result,
                                     absl::Time started, absl::Time finished);
// An Error measurement with `message`.
nlohmann::json ErrorMeasurement(std::string_view message, absl::Time started, absl::Time finished);

// Lenient IntOrString read (Argo's IntValue: a non-numeric string is 0).
std::optional<int64_t> IntOrString(const nlohmann::json& metric, const char* field);

// "metric type" label for metrics: Web, Prometheus, Job, ... ("" if none).
std::string ProviderType(const nlohmann::json& metric);

// Replaces every occurrence of each secret value with "*****".
std::string Redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace argonaut::rollout::analysis
