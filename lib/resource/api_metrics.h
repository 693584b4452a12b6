// The metric families of the resource API, declared in one place. Every
// service in a process shares them, told apart by the `service` label.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/metrics/metrics.h"

namespace argonaut::resource {

struct ApiMetrics {
  // argonaut_api_requests_total{service,method,kind,code}
  metrics::CounterFamily& requests_total;
  // argonaut_api_request_duration_seconds{service,method}
  metrics::HistogramFamily request_duration_seconds;
  // argonaut_api_watchers{service}: open watch streams.
  metrics::GaugeFamily& watchers;

  static absl::StatusOr<ApiMetrics> Create(metrics::MetricsRegistry& registry);

  void Observe(const std::string& service, const std::string& method, const std::string& kind,
               int grpc_code, absl::Duration elapsed) const;
};

}  // namespace argonaut::resource
