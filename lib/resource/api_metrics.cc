#include "lib/resource/api_metrics.h"

#include "lib/base/status_macros.h"

namespace argonaut::resource {

absl::StatusOr<ApiMetrics> ApiMetrics::Create(metrics::MetricsRegistry& registry) {
  ASSIGN_OR_RETURN(
      metrics::CounterFamily * requests,
      registry.AddCounter("argonaut_api_requests_total",
                          "Resource API calls by service, method, kind and gRPC code."));
  ASSIGN_OR_RETURN(metrics::HistogramFamily duration,
                   registry.AddHistogram("argonaut_api_request_duration_seconds",
                                         "Latency of resource API calls (watch excluded).",
                                         metrics::ExponentialBuckets(0.0005, 2, 16)));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * watchers,
                   registry.AddGauge("argonaut_api_watchers", "Open watch streams."));
  return ApiMetrics{*requests, std::move(duration), *watchers};
}

void ApiMetrics::Observe(const std::string& service, const std::string& method,
                         const std::string& kind, int grpc_code, absl::Duration elapsed) const {
  requests_total
      .Add({{"service", service},
            {"method", method},
            {"kind", kind},
            {"code", std::to_string(grpc_code)}})
      .Increment();
  if (method != "Watch") {
    request_duration_seconds.WithLabels({{"service", service}, {"method", method}})
        .Observe(absl::ToDoubleSeconds(elapsed));
  }
}

}  // namespace argonaut::resource
