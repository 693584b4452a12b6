#include "lib/cluster/workloads/job.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/replicaset.h"

namespace argonaut::cluster::workloads {
namespace {

constexpr char kControllerUidLabel[] = "batch.kubernetes.io/controller-uid";
constexpr char kJobNameLabel[] = "batch.kubernetes.io/job-name";
constexpr char kLegacyControllerUidLabel[] = "controller-uid";
constexpr char kLegacyJobNameLabel[] = "job-name";

bool ConditionTrue(const Json& conditions, std::string_view type) {
  const Json* c = GetCondition(conditions, type);
  return c != nullptr && StrOr(*c, "status") == "True";
}

// When a finished pod stopped: the latest container finish time, else the time its Ready
// condition last changed, else its creation.
absl::Time FinishTime(const Json& pod) {
  std::optional<absl::Time> latest;
  if (const Json* statuses = FieldPath(pod, {"status", "containerStatuses"});
      statuses != nullptr && statuses->is_array()) {
    for (const Json& s : *statuses) {
      const Json* term = FieldPath(s, {"state", "terminated"});
      if (term == nullptr) continue;
      if (auto t = TimeField(*term, "finishedAt"); t && (!latest || *t > *latest)) latest = t;
    }
  }
  if (latest) return *latest;
  if (const Json* conds = FieldPath(pod, {"status", "conditions"})) {
    if (const Json* ready = GetCondition(*conds, "Ready")) {
      if (auto t = TimeField(*ready, "lastTransitionTime")) return *t;
    }
  }
  const Json* meta = Field(pod, "metadata");
  return meta == nullptr ? absl::InfinitePast()
                         : TimeField(*meta, "creationTimestamp").value_or(absl::InfinitePast());
}

std::string PodName(const Json& pod) {
  const Json* meta = Field(pod, "metadata");
  return meta == nullptr ? "" : StrOr(*meta, "name");
}

}  // namespace

absl::Duration JobBackoffDelay(int64_t failures_since_success) {
  if (failures_since_success <= 0) return absl::ZeroDuration();
  absl::Duration d = kJobBackoffBase;
  for (int64_t i = 1; i < failures_since_success && d < kJobBackoffMax; ++i) d *= 2;
  return std::min(d, kJobBackoffMax);
}

absl::Status DefaultJob(Json& job) {
  if (!job.is_object()) return absl::InvalidArgumentError("Job: expected object");
  const Json* meta = Field(job, "metadata");
  if (meta == nullptr || !meta->is_object())
    return absl::InvalidArgumentError("metadata: required");
  ASSIGN_OR_RETURN(const std::string uid, StringField(*meta, "uid", "", "metadata.uid"));
  ASSIGN_OR_RETURN(const std::string name, StringField(*meta, "name", "", "metadata.name"));
  if (uid.empty()) return absl::InvalidArgumentError("metadata.uid: required");
  Json* spec = job.contains("spec") ? &job["spec"] : nullptr;
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  Json& tmpl = (*spec)["template"];
  if (!tmpl.is_object()) return absl::InvalidArgumentError("spec.template: required");
  if (tmpl.contains("metadata") && !tmpl["metadata"].is_object()) {
    return absl::InvalidArgumentError("spec.template.metadata: expected object");
  }
  Json& tmeta = tmpl["metadata"];
  if (tmeta.contains("labels") && !tmeta["labels"].is_object()) {
    return absl::InvalidArgumentError("spec.template.metadata.labels: expected object");
  }
  ASSIGN_OR_RETURN(const bool manual,
                   BoolField(*spec, "manualSelector", false, "spec.manualSelector"));
  if (!manual) {
    Json& labels = tmeta["labels"];
    labels[kControllerUidLabel] = uid;
    labels[kJobNameLabel] = name;
    labels[kLegacyControllerUidLabel] = uid;
    labels[kLegacyJobNameLabel] = name;
    (*spec)["selector"] = {{"matchLabels", {{kControllerUidLabel, uid}}}};
  }
  // Both unset means a single-completion Job; parallelism alone means a work queue.
  if (!spec->contains("completions") && !spec->contains("parallelism")) (*spec)["completions"] = 1;
  if (!spec->contains("parallelism")) (*spec)["parallelism"] = 1;
  if (!spec->contains("backoffLimit")) (*spec)["backoffLimit"] = kDefaultBackoffLimit;
  return absl::OkStatus();
}

absl::StatusOr<JobDecision> ReconcileJob(const Json& job, const std::vector<Json>& pods,
                                         absl::Time now, const RandomSource& rand) {
  const Json* meta = Field(job, "metadata");
  if (meta == nullptr || !meta->is_object())
    return absl::InvalidArgumentError("metadata: required");
  const Json* spec = Field(job, "spec");
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  ASSIGN_OR_RETURN(const int32_t parallelism,
                   Int32Field(*spec, "parallelism", 1, "spec.parallelism"));
  ASSIGN_OR_RETURN(const std::optional<int64_t> completions,
                   OptionalInt64Field(*spec, "completions", "spec.completions"));
  ASSIGN_OR_RETURN(const int32_t backoff_limit,
                   Int32Field(*spec, "backoffLimit", kDefaultBackoffLimit, "spec.backoffLimit"));
  ASSIGN_OR_RETURN(
      const std::optional<int64_t> deadline,
      OptionalInt64Field(*spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds"));
  ASSIGN_OR_RETURN(const bool suspend, BoolField(*spec, "suspend", false, "spec.suspend"));
  ASSIGN_OR_RETURN(const std::string mode,
                   StringField(*spec, "completionMode", "NonIndexed", "spec.completionMode"));
  if (parallelism < 0) return absl::InvalidArgumentError("spec.parallelism: must be non-negative");
  if (completions && (*completions < 0 || *completions > INT32_MAX)) {
    return absl::InvalidArgumentError("spec.completions: must be a non-negative 32-bit integer");
  }
  if (backoff_limit < 0)
    return absl::InvalidArgumentError("spec.backoffLimit: must be non-negative");
  if (deadline && *deadline <= 0) {
    return absl::InvalidArgumentError("spec.activeDeadlineSeconds: must be greater than 0");
  }
  if (mode != "NonIndexed") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.completionMode: \"", mode, "\" is not supported (only NonIndexed)"));
  }
  const Json* tmpl = Field(*spec, "template");
  if (tmpl == nullptr || !tmpl->is_object()) {
    return absl::InvalidArgumentError("spec.template: required");
  }
  const Json* tspec = Field(*tmpl, "spec");
  const std::string restart = tspec == nullptr ? "" : StrOr(*tspec, "restartPolicy");
  if (restart != "Never" && restart != "OnFailure") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.template.spec.restartPolicy: unsupported value \"", restart,
                     "\": supported values: \"OnFailure\", \"Never\""));
  }
  const Json* selector = Field(*spec, "selector");
  if (selector == nullptr) {
    return absl::InvalidArgumentError("spec.selector: required (see DefaultJob)");
  }

  const Json* old_status = Field(job, "status");
  static const Json kEmpty = Json::object();
  const Json& old = old_status != nullptr && old_status->is_object() ? *old_status : kEmpty;
  Json conditions =
      Field(old, "conditions") && old["conditions"].is_array() ? old["conditions"] : Json::array();

  // Classify the Job's pods.
  std::vector<const Json*> active;
  int64_t succeeded = 0, failed = 0, ready = 0;
  std::optional<absl::Time> last_success, last_failure;
  std::vector<absl::Time> failure_times;
  for (const Json& pod : pods) {
    if (!IsControlledBy(pod, job)) continue;
    const Json* labels = FieldPath(pod, {"metadata", "labels"});
    ASSIGN_OR_RETURN(const bool match,
                     SelectorMatches(*selector, labels ? *labels : kEmpty, "spec.selector"));
    if (!match) continue;
    const std::string phase = PodPhase(pod);
    if (phase == "Succeeded") {
      ++succeeded;
      const absl::Time t = FinishTime(pod);
      if (!last_success || t > *last_success) last_success = t;
    } else if (phase == "Failed") {
      ++failed;
      failure_times.push_back(FinishTime(pod));
    } else if (!IsTerminating(pod)) {
      active.push_back(&pod);
      if (IsPodReady(pod)) ++ready;
    }
  }
  succeeded = std::max(succeeded, IntOr(old, "succeeded", 0));
  failed = std::max(failed, IntOr(old, "failed", 0));
  int64_t failures_since_success = 0;
  for (absl::Time t : failure_times) {
    if (last_success && t <= *last_success) continue;
    ++failures_since_success;
    if (!last_failure || t > *last_failure) last_failure = t;
  }

  JobDecision out;
  Json status = {{"succeeded", succeeded}, {"failed", failed}};
  for (const char* key : {"startTime", "completionTime"}) {
    if (const Json* v = Field(old, key)) status[key] = *v;
  }
  auto finish = [&](int64_t active_count) {
    status["active"] = active_count;
    status["ready"] = std::min<int64_t>(ready, active_count);
    status["conditions"] = conditions;
    out.status = std::move(status);
    return std::move(out);
  };
  auto all_active_names = [&] {
    std::vector<std::string> names;
    for (const Json* p : active) names.push_back(PodName(*p));
    return names;
  };

  if (ConditionTrue(conditions, "Complete") || ConditionTrue(conditions, "Failed")) {
    out.finished = true;
    out.pods_to_delete = all_active_names();
    return finish(0);
  }

  if (suspend) {
    SetCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now);
    out.pods_to_delete = all_active_names();
    return finish(0);
  }
  if (ConditionTrue(conditions, "Suspended")) {
    // Resuming restarts the active-deadline clock, as Kubernetes does.
    SetCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now);
    status["startTime"] = FormatK8sTime(now);
  }
  if (!status.contains("startTime")) status["startTime"] = FormatK8sTime(now);
  const absl::Time start = TimeField(status, "startTime").value_or(now);

  // Failure checks: retries exhausted, or out of time.
  bool restarts_exhausted = false;
  if (restart == "OnFailure") {
    int64_t restarts = 0;
    for (const Json* p : active) {
      const std::string phase = PodPhase(*p);
      if (phase == "Running" || phase == "Pending") restarts += PodRestarts(*p);
    }
    restarts_exhausted = backoff_limit == 0 ? restarts > 0 : restarts >= backoff_limit;
  }
  std::string fail_reason, fail_message;
  if (failed > backoff_limit || restarts_exhausted) {
    fail_reason = "BackoffLimitExceeded";
    fail_message = "Job has reached the specified backoff limit";
  } else if (deadline && now - start >= absl::Seconds(*deadline)) {
    fail_reason = "DeadlineExceeded";
    fail_message = "Job was active longer than specified deadline";
  }
  if (!fail_reason.empty()) {
    SetCondition(conditions, "Failed", "True", fail_reason, fail_message, now);
    out.finished = true;
    out.pods_to_delete = all_active_names();
    return finish(0);
  }

  // How many pods should run now.
  const int64_t n_active = static_cast<int64_t>(active.size());
  int64_t want;
  if (!completions) {
    // Work queue: once any pod succeeded, let the rest finish but start no more.
    want = succeeded > 0 ? n_active : parallelism;
  } else {
    want = std::clamp<int64_t>(*completions - succeeded, 0, parallelism);
  }
  int64_t active_after = n_active;
  if (n_active > want) {
    out.pods_to_delete = ChooseVictims(
        active, static_cast<int>(std::min<int64_t>(n_active - want, kMaxPodChangesPerSync)));
    active_after -= static_cast<int64_t>(out.pods_to_delete.size());
  } else if (n_active < want) {
    const absl::Duration delay = JobBackoffDelay(failures_since_success);
    const absl::Duration remaining =
        last_failure ? *last_failure + delay - now : absl::ZeroDuration();
    if (remaining > absl::ZeroDuration()) {
      out.requeue_after = remaining;
    } else {
      const int64_t n = std::min<int64_t>(want - n_active, kMaxPodChangesPerSync);
      for (int64_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(Json pod, PodFromTemplate(job, *tmpl, rand));
        out.pods_to_create.push_back(std::move(pod));
      }
      active_after += n;
    }
  }

  const bool complete = completions ? succeeded >= *completions && active_after == 0
                                    : succeeded > 0 && active_after == 0;
  if (complete) {
    SetCondition(conditions, "Complete", "True", "", "", now);
    status["completionTime"] = FormatK8sTime(now);
    out.finished = true;
  } else if (deadline) {
    const absl::Duration left = start + absl::Seconds(*deadline) - now;
    if (!out.requeue_after || left < *out.requeue_after) out.requeue_after = left;
  }
  return finish(active_after);
}

}  // namespace argonaut::cluster::workloads
