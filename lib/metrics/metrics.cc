#include "lib/metrics/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "prometheus/text_serializer.h"

namespace argonaut::metrics {
namespace {

// prometheus-cpp throws on misuse; this is the one place where that is turned
// into a Status so that no exception leaves lib/metrics.
template <typename Builder>
auto RegisterFamily(Builder builder, const std::string& name, const std::string& help,
                    prometheus::Registry& registry)
    -> absl::StatusOr<decltype(&builder.Register(registry))> {
  if (help.empty())
    return absl::InvalidArgumentError(absl::StrCat("metric ", name, ": empty help"));
  try {
    return &builder.Name(name).Help(help).Register(registry);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", name, ": ", e.what()));
  }
}

absl::StatusOr<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

prometheus::MetricFamily Single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{
      .name = std::move(name), .help = std::move(help), .type = type, .metric = {metric}};
}

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::StatusOr<ProcessStats> stats = ReadProcessStats();
    // A scrape must not fail because /proc is unreadable (e.g. in an odd
    // sandbox); the series simply go missing, which alerts can detect.
    if (!stats.ok()) return {};
    using prometheus::MetricType;
    return {
        Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter, stats->cpu_seconds),
        Single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
               stats->resident_memory_bytes),
        Single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
               stats->virtual_memory_bytes),
        Single("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
               stats->start_time_seconds),
        Single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
               static_cast<double>(stats->open_fds)),
        Single("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
               static_cast<double>(stats->max_fds)),
    };
  }
};

}  // namespace

Buckets ExponentialBuckets(double start, double factor, int count) {
  Buckets buckets;
  buckets.reserve(count > 0 ? count : 0);
  for (int i = 0; i < count; ++i) buckets.push_back(start * std::pow(factor, i));
  return buckets;
}

MetricsRegistry::MetricsRegistry(Options options)
    : registry_(std::make_shared<prometheus::Registry>()) {
  if (options.process_metrics) AddCollectable(NewProcessCollector());
}

absl::StatusOr<CounterFamily*> MetricsRegistry::AddCounter(const std::string& name,
                                                           const std::string& help) {
  return RegisterFamily(prometheus::BuildCounter(), name, help, *registry_);
}

absl::StatusOr<GaugeFamily*> MetricsRegistry::AddGauge(const std::string& name,
                                                       const std::string& help) {
  return RegisterFamily(prometheus::BuildGauge(), name, help, *registry_);
}

absl::StatusOr<HistogramFamily> MetricsRegistry::AddHistogram(const std::string& name,
                                                              const std::string& help,
                                                              Buckets buckets) {
  for (size_t i = 1; i < buckets.size(); ++i) {
    // Checked here because prometheus-cpp would only throw at the first Add().
    if (!(buckets[i - 1] < buckets[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", name, ": buckets must be strictly increasing"));
    }
  }
  absl::StatusOr<prometheus::Family<prometheus::Histogram>*> family =
      RegisterFamily(prometheus::BuildHistogram(), name, help, *registry_);
  if (!family.ok()) return family.status();
  return HistogramFamily(**family, std::move(buckets));
}

void MetricsRegistry::AddCollectable(std::shared_ptr<const prometheus::Collectable> collectable) {
  absl::MutexLock lock(&mu_);
  collectables_.push_back(std::move(collectable));
}

std::string MetricsRegistry::Serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& collectable : collectables_) {
      std::vector<prometheus::MetricFamily> more = collectable->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  absl::StatusOr<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat.ok()) return stat.status();
  // The command name (field 2) is parenthesized and may contain spaces, so
  // fields are counted from the last ')'.
  const size_t comm_end = stat->rfind(')');
  if (comm_end == std::string::npos) return absl::InternalError("malformed /proc/self/stat");
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(comm_end + 1), ' ', absl::SkipWhitespace());
  // fields[0] is field 3 (state) of proc(5).
  auto field = [&fields](size_t proc_field, uint64_t& out) {
    const size_t index = proc_field - 3;
    return index < fields.size() && absl::SimpleAtoi(fields[index], &out);
  };
  uint64_t utime, stime, starttime, vsize, rss;
  if (!field(14, utime) || !field(15, stime) || !field(22, starttime) || !field(23, vsize) ||
      !field(24, rss)) {
    return absl::InternalError("malformed /proc/self/stat");
  }

  absl::StatusOr<std::string> system_stat = ReadFile("/proc/stat");
  if (!system_stat.ok()) return system_stat.status();
  uint64_t boot_time = 0;
  for (absl::string_view line : absl::StrSplit(*system_stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtoi(line, &boot_time)) break;
  }
  if (boot_time == 0) return absl::InternalError("no btime in /proc/stat");

  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / ticks_per_second;
  stats.resident_memory_bytes = static_cast<double>(rss) * static_cast<double>(getpagesize());
  stats.virtual_memory_bytes = static_cast<double>(vsize);
  stats.start_time_seconds =
      static_cast<double>(boot_time) + static_cast<double>(starttime) / ticks_per_second;

  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++stats.open_fds;
  }
  if (error) return absl::InternalError(absl::StrCat("listing /proc/self/fd: ", error.message()));
  // The iterator's own descriptor is one of those it listed.
  if (stats.open_fds > 0) --stats.open_fds;

  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) stats.max_fds = static_cast<int64_t>(limit.rlim_cur);
  return stats;
}

std::shared_ptr<const prometheus::Collectable> NewProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

absl::StatusOr<ControllerMetrics> ControllerMetrics::Create(MetricsRegistry& registry) {
  // controller-runtime's buckets, so that histogram_quantile() results are
  // comparable with other operators'.
  const Buckets reconcile_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,  0.35,
                                     0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                     1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                     8,     9,    10,    15,   20,  25,   30,  40,   50,   60};
  // client-go's workqueue buckets: 10ns to 1000s.
  const Buckets queue_buckets = ExponentialBuckets(10e-9, 10, 12);

  absl::StatusOr<CounterFamily*> reconcile_total = registry.AddCounter(
      "controller_runtime_reconcile_total", "Total number of reconciliations per controller");
  absl::StatusOr<CounterFamily*> reconcile_errors_total =
      registry.AddCounter("controller_runtime_reconcile_errors_total",
                          "Total number of reconciliation errors per controller");
  absl::StatusOr<CounterFamily*> terminal_errors_total =
      registry.AddCounter("controller_runtime_terminal_reconcile_errors_total",
                          "Total number of terminal reconciliation errors per controller");
  absl::StatusOr<HistogramFamily> reconcile_time =
      registry.AddHistogram("controller_runtime_reconcile_time_seconds",
                            "Length of time per reconciliation per controller", reconcile_buckets);
  absl::StatusOr<GaugeFamily*> max_concurrent =
      registry.AddGauge("controller_runtime_max_concurrent_reconciles",
                        "Maximum number of concurrent reconciles per controller");
  absl::StatusOr<GaugeFamily*> active_workers = registry.AddGauge(
      "controller_runtime_active_workers", "Number of currently used workers per controller");
  absl::StatusOr<GaugeFamily*> depth =
      registry.AddGauge("workqueue_depth", "Current depth of workqueue");
  absl::StatusOr<CounterFamily*> adds =
      registry.AddCounter("workqueue_adds_total", "Total number of adds handled by workqueue");
  absl::StatusOr<CounterFamily*> retries = registry.AddCounter(
      "workqueue_retries_total", "Total number of retries handled by workqueue");
  absl::StatusOr<HistogramFamily> queue_duration = registry.AddHistogram(
      "workqueue_queue_duration_seconds",
      "How long in seconds an item stays in workqueue before being requested", queue_buckets);
  absl::StatusOr<HistogramFamily> work_duration = registry.AddHistogram(
      "workqueue_work_duration_seconds",
      "How long in seconds processing an item from workqueue takes", queue_buckets);

  for (const absl::Status& status :
       {reconcile_total.status(), reconcile_errors_total.status(), terminal_errors_total.status(),
        reconcile_time.status(), max_concurrent.status(), active_workers.status(), depth.status(),
        adds.status(), retries.status(), queue_duration.status(), work_duration.status()}) {
    if (!status.ok()) return status;
  }
  return ControllerMetrics{
      .reconcile_total = **reconcile_total,
      .reconcile_errors_total = **reconcile_errors_total,
      .terminal_reconcile_errors_total = **terminal_errors_total,
      .reconcile_time_seconds = *std::move(reconcile_time),
      .max_concurrent_reconciles = **max_concurrent,
      .active_workers = **active_workers,
      .workqueue_depth = **depth,
      .workqueue_adds_total = **adds,
      .workqueue_retries_total = **retries,
      .workqueue_queue_duration_seconds = *std::move(queue_duration),
      .workqueue_work_duration_seconds = *std::move(work_duration),
  };
}

}  // namespace argonaut::metrics
