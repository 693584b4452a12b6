// Prometheus metrics for our services, on prometheus-cpp's core library.
//
// main() owns one MetricsRegistry and hands it to every component that
// exports metrics; each component declares its families in one place (a struct
// like ControllerMetrics below) and the service's own HTTP server serves
// Serialize() at /metrics. prometheus::Exposer is deliberately not used: it
// would open a second HTTP port per process.
//
//   MetricsRegistry metrics;
//   ASSIGN_OR_RETURN(ControllerMetrics controller_metrics, ControllerMetrics::Create(metrics));
//   http.Get("/metrics", [&](const auto&, auto& res) {
//     res.set_content(metrics.Serialize(), kMetricsContentType);
//   });
//
// Why an explicit object rather than a process-wide singleton: tests get a
// fresh registry each (no cross-test leakage of counter values, no reset
// hooks), dependencies are visible in constructors, and there is no static
// initialization order to get wrong. Families are idempotent to declare (same
// name and type returns the existing family), so two controllers in one
// process share controller_runtime_* families, told apart by labels.
//
// prometheus-cpp reports misuse (bad names, one name with two types) by
// throwing; everything here catches that at declaration time and returns a
// Status instead. Adding a child with label names that are not valid
// Prometheus label names still throws inside prometheus-cpp: label names are
// fixed in code, so use the names declared next to each family.
//
// Thread safety: every method may be called from any thread; metric objects
// (Counter, Gauge, Histogram) are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/registry.h"

namespace argonaut::metrics {

// Content-Type of Serialize()'s output (text exposition format 0.0.4).
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

using CounterFamily = prometheus::Family<prometheus::Counter>;
using GaugeFamily = prometheus::Family<prometheus::Gauge>;
using Buckets = prometheus::Histogram::BucketBoundaries;

// A histogram family together with its bucket boundaries, which prometheus-cpp
// wants at every Add(); keeping them here means call sites cannot disagree.
class HistogramFamily {
 public:
  HistogramFamily(prometheus::Family<prometheus::Histogram>& family, Buckets buckets)
      : family_(&family), buckets_(std::move(buckets)) {}

  // The child with these labels, created on first use. Cache the reference on
  // hot paths: each call takes the family's lock.
  prometheus::Histogram& WithLabels(const prometheus::Labels& labels) const {
    return family_->Add(labels, buckets_);
  }
  prometheus::Family<prometheus::Histogram>& family() const { return *family_; }
  const Buckets& buckets() const { return buckets_; }

 private:
  prometheus::Family<prometheus::Histogram>* family_;
  Buckets buckets_;
};

// `count` boundaries start, start*factor, ... (Prometheus' ExponentialBuckets).
Buckets ExponentialBuckets(double start, double factor, int count);

class MetricsRegistry {
 public:
  struct Options {
    // Export process_* metrics (memory, CPU, start time, fds), read from
    // /proc/self at scrape time.
    bool process_metrics = true;
  };

  MetricsRegistry() : MetricsRegistry(Options{}) {}
  explicit MetricsRegistry(Options options);
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // For code that wants prometheus-cpp's builders directly. Families added
  // there are serialized too.
  prometheus::Registry& registry() { return *registry_; }

  // Declare a family, or return the one already declared with this name and
  // type. INVALID_ARGUMENT for an invalid metric name, an empty help text, a
  // name already used by another type, or (histograms) unsorted buckets.
  absl::StatusOr<CounterFamily*> AddCounter(const std::string& name, const std::string& help);
  absl::StatusOr<GaugeFamily*> AddGauge(const std::string& name, const std::string& help);
  absl::StatusOr<HistogramFamily> AddHistogram(const std::string& name, const std::string& help,
                                               Buckets buckets);

  // Adds a source of metrics computed at scrape time (e.g. read from /proc).
  void AddCollectable(std::shared_ptr<const prometheus::Collectable> collectable)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Every family, in the Prometheus text exposition format.
  std::string Serialize() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables_ ABSL_GUARDED_BY(mu_);
};

// A snapshot of this process, as exported by the process_* metrics.
struct ProcessStats {
  double cpu_seconds = 0;            // user + system
  double resident_memory_bytes = 0;  // RSS
  double virtual_memory_bytes = 0;   // VSZ
  double start_time_seconds = 0;     // Unix time
  int64_t open_fds = 0;
  int64_t max_fds = 0;  // soft RLIMIT_NOFILE
};

// Reads /proc/self. Useful on its own to measure e.g. idle memory in tests.
absl::StatusOr<ProcessStats> ReadProcessStats();

// The collectable behind MetricsRegistry::Options::process_metrics, with the
// names of Prometheus' Go process collector so that standard dashboards work.
std::shared_ptr<const prometheus::Collectable> NewProcessCollector();

// Families of a Controller and its work queue, with controller-runtime's
// names so that existing dashboards and alerts apply unchanged. Label names:
//   controller_runtime_*: controller (+ result on reconcile_total, one of
//                         success, error, requeue_after)
//   workqueue_*:          name
// //lib/metrics:controller_observer feeds them from a running Controller.
struct ControllerMetrics {
  CounterFamily& reconcile_total;
  CounterFamily& reconcile_errors_total;
  CounterFamily& terminal_reconcile_errors_total;
  HistogramFamily reconcile_time_seconds;
  GaugeFamily& max_concurrent_reconciles;
  GaugeFamily& active_workers;

  GaugeFamily& workqueue_depth;
  CounterFamily& workqueue_adds_total;
  CounterFamily& workqueue_retries_total;
  HistogramFamily workqueue_queue_duration_seconds;
  HistogramFamily workqueue_work_duration_seconds;

  static absl::StatusOr<ControllerMetrics> Create(MetricsRegistry& registry);
};

}  // namespace argonaut::metrics
