// Job controller decision (NonIndexed completion mode): how many pods to run, when the Job is
// Complete or Failed (BackoffLimitExceeded, DeadlineExceeded), and the failure back-off.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/pod_template.h"

namespace argonaut::cluster::workloads {

inline constexpr int32_t kDefaultBackoffLimit = 6;
inline constexpr absl::Duration kJobBackoffBase = absl::Seconds(10);
inline constexpr absl::Duration kJobBackoffMax = absl::Minutes(6);

struct JobDecision {
  std::vector<Json> pods_to_create;
  std::vector<std::string> pods_to_delete;  // pod names
  Json status;                              // the complete new .status
  // Sync again after this delay: pending failure back-off or the active deadline.
  std::optional<absl::Duration> requeue_after;
  bool finished = false;  // Complete or Failed condition is True
};

// The API-server defaulting Kubernetes applies to a new Job: the controller-uid and
// job-name labels on the pod template and, unless spec.manualSelector, a selector on
// controller-uid. Needs metadata.uid. Defaults parallelism/completions/backoffLimit.
absl::Status DefaultJob(Json& job);

// `pods`: pods in the Job's namespace; only those controlled by the job and matching its
// selector count. Finished pods are expected to stay until the Job is deleted: succeeded and
// failed counts are read from them (and never decrease below the recorded status).
absl::StatusOr<JobDecision> ReconcileJob(const Json& job, const std::vector<Json>& pods,
                                         absl::Time now, const RandomSource& rand);

// Delay before the next pod may be created after `failures_since_success` consecutive
// failures: 0 for none, then 10s, 20s, 40s ... capped at 6 minutes.
absl::Duration JobBackoffDelay(int64_t failures_since_success);

}  // namespace argonaut::cluster::workloads
