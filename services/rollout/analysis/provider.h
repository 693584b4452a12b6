// Metric providers: the I/O edge of analysis. A provider takes a measurement
// of one metric (already resolved: no `{{args.x}}` left, secrets filled in)
// and reports it as an Argo Measurement (phase, message, value, startedAt,
// finishedAt, metadata).
//
//   ASSIGN_OR_RETURN(auto provider, NewProvider(metric, {.cluster = cluster, .clock = clock}));
//   nlohmann::json m = provider->Run(run, metric);       // web/prometheus: blocks, completed
//   m = provider->Resume(run, metric, m);                 // job: Running until the Job ends
//
// web and prometheus are synchronous (Run blocks up to the metric's timeout:
// callers run them on a worker pool); job is asynchronous (Run creates a Job
// and returns a Running measurement; Resume looks at the Job).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/clock.h"
#include "nlohmann/json.hpp"

namespace argonaut::rollout::analysis {

// The run a measurement belongs to.
struct RunRef {
  std::string ns, name, uid;
  // The run's current status (job names number measurements from its counts).
  nlohmann::json status;
};

class MetricProvider {
 public:
  virtual ~MetricProvider() = default;
  // Argo's provider type: Web, Prometheus, Job.
  virtual std::string Type() const = 0;
  // Run blocks on the network (run it off the reconcile loop).
  virtual bool Blocking() const = 0;
  // Takes (or starts) a measurement. Never fails: problems are Error measurements.
  virtual nlohmann::json Run(const RunRef& run, const nlohmann::json& metric) = 0;
  // Looks at an in-flight measurement; returns it unchanged while it runs.
  virtual nlohmann::json Resume(const RunRef& run, const nlohmann::json& metric,
                                const nlohmann::json& measurement) = 0;
  // Stops an in-flight measurement.
  virtual nlohmann::json Terminate(const RunRef& run, const nlohmann::json& metric,
                                   const nlohmann::json& measurement) = 0;
};

struct ProviderDeps {
  // Jobs run here; may be null (job metrics then fail to start).
  cluster::Cluster* cluster = nullptr;
  // Not owned; nullptr means controller::RealClock::Get().
  controller::Clock* clock = nullptr;
};

// The provider for `metric`'s provider block; INVALID_ARGUMENT for one this
// implementation does not run (naming it).
absl::StatusOr<std::unique_ptr<MetricProvider>> NewProvider(const nlohmann::json& metric,
                                                            const ProviderDeps& deps);

// The subset of Kubernetes JSONPath Argo's web metrics use: {$}, {$.a.b},
// {.a.b}, {$.a[0].b}, {$['a-b']}. Errors name the missing key or the
// unsupported syntax.
absl::StatusOr<nlohmann::json> JsonPathSelect(const nlohmann::json& doc, std::string_view path);

// Job metric name: `<run-uid>.<metric>.<n>`, the metric part truncated so
// the whole stays within 63 characters (Argo's rule). Characters a
// Kubernetes name cannot hold (upper case, `_`) become lower case / `-`,
// which Argo does not do (its Job would be refused).
std::string JobName(std::string_view run_uid, std::string_view metric, int n);

// Labels/annotations on metric Jobs (Argo's keys).
inline constexpr char kRunUidLabel[] = "analysisrun.argoproj.io/uid";
inline constexpr char kRunNameAnnotation[] = "analysisrun.argoproj.io/name";
inline constexpr char kRunNamespaceAnnotation[] = "analysisrun.argoproj.io/namespace";
inline constexpr char kMetricNameAnnotation[] = "analysisrun.argoproj.io/metric-name";

}  // namespace argonaut::rollout::analysis
