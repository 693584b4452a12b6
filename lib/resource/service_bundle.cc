#include "lib/resource/service_bundle.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/store/rocksdb_store.h"

namespace argonaut::resource {

absl::StatusOr<std::unique_ptr<ServiceBundle>> ServiceBundle::Open(
    const std::string& service, const std::string& data_dir, metrics::MetricsRegistry* registry,
    Validator validator) {
  std::vector<const KindInfo*> kinds = KindsOfService(service);
  if (kinds.empty()) return absl::InvalidArgumentError(absl::StrCat("unknown service ", service));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create data directory ", data_dir, ": ", ec.message()));
  }
  auto bundle = std::unique_ptr<ServiceBundle>(new ServiceBundle());
  bundle->name_ = service;
  store::RocksDbStoreOptions options;
  options.path = data_dir;
  options.kinds = ResourceApi::ColumnFamilies(kinds);
  // The workflow service keeps Argo's workflow archive beside its kinds
  // (services/workflow/archive), in a column family of its own.
  if (service == "workflow") options.kinds.push_back("archivedworkflows");
  ASSIGN_OR_RETURN(bundle->store_, store::RocksDbStore::Open(options));
  bundle->api_ =
      std::make_unique<ResourceApi>(bundle->store_.get(), std::move(kinds), std::move(validator));
  if (registry != nullptr) {
    ASSIGN_OR_RETURN(ApiMetrics m, ApiMetrics::Create(*registry));
    bundle->metrics_.emplace(std::move(m));
  }
  bundle->grpc_ = std::make_unique<ResourceGrpcService>(
      bundle->api_.get(), service, bundle->metrics_ ? &*bundle->metrics_ : nullptr);
  return bundle;
}

}  // namespace argonaut::resource
