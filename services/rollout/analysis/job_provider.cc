// The job metric provider (a batch/v1 Job through cluster::Cluster) and the
// provider factory.
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/http_providers.h"
#include "services/rollout/analysis/json_fields.h"
#include "services/rollout/analysis/provider.h"

namespace argonaut::rollout::analysis {
namespace {

using json_fields::Field;
using json_fields::Int;
using json_fields::Str;
using nlohmann::json;

constexpr size_t kDnsLimit = 63;
constexpr char kJobNameKey[] = "job-name";
constexpr char kJobNamespaceKey[] = "job-namespace";

// The run's count + error + 1 (Argo's getJobIDSuffix).
int JobSuffix(const RunRef& run, const std::string& metric) {
  const json& results = Field(run.status, "metricResults");
  if (results.is_array()) {
    for (const json& r : results) {
      if (Str(r, "name") == metric) return static_cast<int>(Int(r, "count") + Int(r, "error") + 1);
    }
  }
  return 1;
}

bool ConditionTrue(const json& job, const char* type) {
  const json& conditions = Field(Field(job, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (Str(c, "type") == type && Str(c, "status") != "False") return true;
  }
  return false;
}

class JobProvider final : public MetricProvider {
 public:
  JobProvider(cluster::Cluster* cluster, controller::Clock* clock)
      : cluster_(cluster), clock_(clock) {}
  std::string Type() const override { return "Job"; }
  bool Blocking() const override { return false; }

  json Run(const RunRef& run, const json& metric) override {
    const absl::Time now = clock_->Now();
    json m = {{"phase", kPhaseRunning}, {"startedAt", TimeText(now)}};
    auto error = [&](std::string_view message) {
      return ErrorMeasurement(message, now, clock_->Now());
    };
    if (cluster_ == nullptr) return error("job metrics need a cluster; none is configured");
    const std::string name = Str(metric, "name");
    const json& provider = Field(Field(metric, "provider"), "job");
    if (!Field(provider, "spec").is_object()) return error("provider.job.spec: required");
    json labels = Field(Field(provider, "metadata"), "labels");
    json annotations = Field(Field(provider, "metadata"), "annotations");
    if (!labels.is_object()) labels = json::object();
    if (!annotations.is_object()) annotations = json::object();
    labels[kRunUidLabel] = run.uid;
    annotations[kRunNameAnnotation] = run.name;
    annotations[kRunNamespaceAnnotation] = run.ns;
    annotations[kMetricNameAnnotation] = name;
    json spec = provider["spec"];
    json& pod_labels = spec["template"]["metadata"]["labels"];
    if (!pod_labels.is_object()) pod_labels = json::object();
    pod_labels[kRunUidLabel] = run.uid;
    const std::string job_name = JobName(run.uid, name, JobSuffix(run, name));
    json job = {{"apiVersion", "batch/v1"},
                {"kind", "Job"},
                {"metadata",
                 {{"name", job_name},
                  {"namespace", run.ns},
                  {"labels", labels},
                  {"annotations", annotations},
                  {"ownerReferences",
                   {{{"apiVersion", "argoproj.io/v1alpha1"},
                     {"kind", "AnalysisRun"},
                     {"name", run.name},
                     {"uid", run.uid},
                     {"controller", true},
                     {"blockOwnerDeletion", true}}}}}},
                {"spec", spec}};
    absl::StatusOr<json> created = cluster_->Create(job);
    if (!created.ok()) {
      if (!absl::IsAlreadyExists(created.status())) {
        return error(
            absl::StrCat("job create ", job_name, " failed: ", created.status().message()));
      }
      // A retried reconcile: the Job is ours if it carries our uid.
      absl::StatusOr<json> existing = cluster_->Get("Job", run.ns, job_name);
      if (!existing.ok() ||
          Str(Field(Field(*existing, "metadata"), "labels"), kRunUidLabel) != run.uid) {
        return error(
            absl::StrCat("job create ", job_name, " failed: ", created.status().message()));
      }
    }
    m["metadata"] = {{kJobNameKey, job_name}, {kJobNamespaceKey, run.ns}};
    return m;
  }

  json Resume(const RunRef& run, const json&, const json& measurement) override {
    json m = measurement;
    const absl::Time now = clock_->Now();
    auto error = [&](std::string_view message) {
      m["phase"] = kPhaseError;
      m["message"] = std::string(message);
      m["finishedAt"] = TimeText(now);
      return m;
    };
    if (cluster_ == nullptr) return error("job metrics need a cluster; none is configured");
    const std::string job_name = Str(Field(measurement, "metadata"), kJobNameKey);
    std::string ns = Str(Field(measurement, "metadata"), kJobNamespaceKey);
    if (ns.empty()) ns = run.ns;
    if (job_name.empty()) return error("job metadata not in measurement");
    absl::StatusOr<json> job = cluster_->Get("Job", ns, job_name);
    if (!job.ok()) return error(std::string(job.status().message()));
    if (ConditionTrue(*job, "Complete")) {
      m["phase"] = kPhaseSuccessful;
      m["finishedAt"] = TimeText(now);
      return m;
    }
    if (ConditionTrue(*job, "Failed")) {
      m["phase"] = kPhaseFailed;
      m["finishedAt"] = TimeText(now);
      return m;
    }
    // A pod that can never start (image problems) makes the measurement
    // Inconclusive, as in Argo.
    absl::StatusOr<std::vector<json>> pods =
        cluster_->List("Pod", ns, absl::StrCat(kRunUidLabel, "=", run.uid));
    if (pods.ok()) {
      for (const json& pod : *pods) {
        const json& owners = Field(Field(pod, "metadata"), "ownerReferences");
        bool ours = false;
        if (owners.is_array()) {
          for (const json& o : owners) ours = ours || Str(o, "name") == job_name;
        }
        if (!ours) continue;
        for (const char* statuses : {"initContainerStatuses", "containerStatuses"}) {
          const json& list = Field(Field(pod, "status"), statuses);
          if (!list.is_array()) continue;
          for (const json& cs : list) {
            const json& waiting = Field(Field(cs, "state"), "waiting");
            const std::string reason = Str(waiting, "reason");
            if (reason == "ErrImagePull" || reason == "ImagePullBackOff" ||
                reason == "InvalidImageName") {
              m["phase"] = kPhaseInconclusive;
              m["finishedAt"] = TimeText(now);
              m["message"] = absl::StrCat("Pod ", Str(Field(pod, "metadata"), "name"),
                                          ", container ", Str(cs, "name"), " has terminal error (",
                                          reason, "): ", Str(waiting, "message"));
              return m;
            }
          }
        }
      }
    }
    return m;
  }

  json Terminate(const RunRef& run, const json&, const json& measurement) override {
    json m = measurement;
    const absl::Time now = clock_->Now();
    const std::string job_name = Str(Field(measurement, "metadata"), kJobNameKey);
    std::string ns = Str(Field(measurement, "metadata"), kJobNamespaceKey);
    if (ns.empty()) ns = run.ns;
    if (cluster_ != nullptr && !job_name.empty()) {
      absl::Status s = cluster_->Delete("Job", ns, job_name);
      if (!s.ok() && !absl::IsNotFound(s)) {
        m["phase"] = kPhaseError;
        m["message"] = std::string(s.message());
        m["finishedAt"] = TimeText(now);
        return m;
      }
    }
    m["phase"] = kPhaseInconclusive;
    m["finishedAt"] = TimeText(now);
    return m;
  }

 private:
  cluster::Cluster* const cluster_;
  controller::Clock* const clock_;
};

}  // namespace

std::unique_ptr<MetricProvider> NewJobProvider(cluster::Cluster* cluster,
                                               controller::Clock* clock) {
  return std::make_unique<JobProvider>(cluster, clock);
}

std::string JobName(std::string_view run_uid, std::string_view metric, int n) {
  std::string m;
  for (char c : metric) {
    const char lower = absl::ascii_tolower(static_cast<unsigned char>(c));
    m.push_back(absl::ascii_isalnum(static_cast<unsigned char>(lower)) || lower == '-' ||
                        lower == '.'
                    ? lower
                    : '-');
  }
  const std::string uid(run_uid);
  const std::string suffix = absl::StrCat(".", n);
  std::string name = absl::StrCat(uid, ".", m, suffix);
  if (name.size() > kDnsLimit) {
    const size_t over = name.size() - kDnsLimit;
    m = over < m.size() ? m.substr(0, m.size() - over) : "";
    // Each dot-separated part must end alphanumeric to stay a valid name.
    while (!m.empty() && !absl::ascii_isalnum(static_cast<unsigned char>(m.back()))) m.pop_back();
    name = absl::StrCat(uid, ".", m, suffix);
  }
  return name;
}

absl::StatusOr<std::unique_ptr<MetricProvider>> NewProvider(const json& metric,
                                                            const ProviderDeps& deps) {
  controller::Clock* clock = deps.clock != nullptr ? deps.clock : controller::RealClock::Get();
  const std::string type = ProviderType(metric);
  if (type == "Web") return NewWebProvider(clock);
  if (type == "Prometheus") return NewPrometheusProvider(clock);
  if (type == "Job") return NewJobProvider(deps.cluster, clock);
  if (type.empty()) return absl::InvalidArgumentError("no provider specified");
  return absl::InvalidArgumentError(
      absl::StrCat("metric provider ", type, " is not supported here (web, prometheus, job are)"));
}

}  // namespace argonaut::rollout::analysis
