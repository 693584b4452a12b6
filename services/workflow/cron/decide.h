// The pure half of the CronWorkflow controller: given a CronWorkflow, the
// Workflows it created, the schedule entries the controller armed and the
// current time, decides which Workflow to submit, which to terminate
// (concurrencyPolicy: Replace) and delete (history limits), the new status
// and when to look again. No I/O and no clock: tests drive it with fixed
// times.
//
// Scheduling follows Argo's cron controller (workflow/cron), which registers
// one robfig/cron entry per schedule: an entry fires when its next time has
// come, for that time, and is then re-armed from "now". The controller keeps
// those entries in memory (ArmedSchedules) and hands them back on every call.
// When it has none (a new CronWorkflow, or the controller restarted) or the
// spec changed, the latest tick missed since status.lastScheduledTime runs
// once if it is within spec.startingDeadlineSeconds, as Argo's
// runOutstandingWorkflows does; older ones are skipped.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cron/schedule.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::cron {

// The schedule parser is shared with the events service's calendar source.
using ::argonaut::cron::Schedule;

inline constexpr char kCronWorkflowLabel[] = "workflows.argoproj.io/cron-workflow";
inline constexpr char kCronCompletedLabel[] = "workflows.argoproj.io/cron-workflow-completed";
inline constexpr char kScheduledTimeAnnotation[] = "workflows.argoproj.io/scheduled-time";
inline constexpr char kLastUsedScheduleAnnotation[] =
    "cronworkflows.argoproj.io/last-used-schedule";

// What the cron controller needs of one child Workflow.
struct ChildWorkflow {
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string phase;  // status.phase, "" while pending
  absl::Time created = absl::InfinitePast();
  absl::Time finished = absl::InfinitePast();  // status.finishedAt

  static ChildWorkflow FromJson(const nlohmann::json& workflow);
};

// The in-memory robfig entries of one CronWorkflow.
struct ArmedSchedules {
  std::string fingerprint;  // the schedules (with time zone) the entries belong to
  std::string spec;         // the spec the missed-run check last ran for
  std::vector<absl::Time> next;
};

struct CronInput {
  nlohmann::json cron;                  // the CronWorkflow as stored
  std::vector<ChildWorkflow> children;  // Workflows labelled with the cron's name
  absl::Time now;
  std::optional<ArmedSchedules> armed;
  // For schedules without spec.timezone / CRON_TZ= (Argo: the controller's zone).
  absl::TimeZone default_zone = absl::UTCTimeZone();
};

struct Submission {
  absl::Time scheduled;
  nlohmann::json workflow;  // ready for Create
};

struct CronDecision {
  std::optional<Submission> submit;
  std::vector<std::string> terminate;   // active children to shut down first (Replace)
  std::vector<std::string> remove;      // completed children beyond the history limits
  nlohmann::json status;                // new status (without the submission, see RecordSubmission)
  nlohmann::json labels;                // new metadata.labels of the CronWorkflow
  nlohmann::json annotations;           // new metadata.annotations
  std::optional<ArmedSchedules> armed;  // nullopt: nothing armed (spec error)
  std::optional<absl::Time> wake_at;    // reconcile again at this time
  std::vector<std::string> events;      // human-readable notes for the log
};

// Never fails on a bad spec (that becomes a SpecError condition in the
// status); fails only on a CronWorkflow that is not an object with a name.
absl::StatusOr<CronDecision> Decide(const CronInput& in);

// Applies the outcome of creating decision.submit: the created Workflow
// joins status.active and sets lastScheduledTime and phase Active; an error
// becomes a SubmissionError condition and counts as failed, as in Argo.
void RecordSubmission(CronDecision& decision, const absl::StatusOr<nlohmann::json>& created);

// The schedules of a CronWorkflow spec (spec.schedule, then spec.schedules),
// parsed in spec.timezone (or `default_zone`). Errors name the field:
// `spec.schedules[1]: minute field "61": ...`.
absl::StatusOr<std::vector<Schedule>> ParseSchedules(const nlohmann::json& spec,
                                                     absl::TimeZone default_zone);

// Evaluates spec.when: `{{= expr}}` and `{{cronworkflow.*}}` tags are
// substituted, then the text is evaluated as a govaluate condition, as Argo
// does. `now()` returns `now`.
absl::StatusOr<bool> EvaluateWhen(const nlohmann::json& cron, std::string_view when,
                                  absl::Time now);

// Evaluates stopStrategy.expression (expr-lang over `cronworkflow.*`).
absl::StatusOr<bool> EvaluateStop(const nlohmann::json& cron, std::string_view expression,
                                  absl::Time now);

}  // namespace argonaut::workflow::cron
