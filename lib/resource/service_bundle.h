// ServiceBundle: what each Argonaut service owns for its kinds — a RocksDB
// store with one column family per kind, the ResourceApi over it and the
// gRPC service in front — opened in one call so that the four services and
// `argonaut up` wire them identically.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/api_metrics.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/resource_api.h"
#include "lib/store/store.h"

namespace argonaut::resource {

class ServiceBundle {
 public:
  // Opens (creating if needed) the store under `data_dir` for the kinds of
  // `service` ("workflow", "rollout", "events", "cd").
  // `registry` (may be null) receives the API's metric families.
  static absl::StatusOr<std::unique_ptr<ServiceBundle>> Open(const std::string& service,
                                                             const std::string& data_dir,
                                                             metrics::MetricsRegistry* registry,
                                                             Validator validator = {});

  const std::string& name() const { return name_; }
  store::Store& store() { return *store_; }
  ResourceApi& api() { return *api_; }
  ResourceGrpcService& grpc_service() { return *grpc_; }

 private:
  std::string name_;
  // Declared in dependency order so destruction runs API before store.
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ResourceApi> api_;
  std::optional<ApiMetrics> metrics_;
  std::unique_ptr<ResourceGrpcService> grpc_;
};

}  // namespace argonaut::resource
