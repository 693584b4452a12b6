#include "services/workflow/artifact_drivers.h"

#include <memory>
#include <utility>

#include "lib/artifacts/driver.h"
#include "lib/base/status_macros.h"
#include "services/workflow/artifact_collector.h"

namespace argonaut::workflow {
namespace {

artifacts::DriverOptions OptionsFor(cluster::Cluster* cluster, const std::string& local_root,
                                    const std::string& ns) {
  artifacts::DriverOptions o;
  o.local_root = local_root;
  o.secrets = [cluster, ns](std::string_view name,
                            std::string_view key) -> absl::StatusOr<std::string> {
    return ReadClusterSecret(cluster, ns, name, key);
  };
  return o;
}

}  // namespace

std::function<absl::Status(const nlohmann::json&, const std::string&)> DriverDeleter(
    cluster::Cluster* cluster, std::string local_root) {
  return [cluster, root = std::move(local_root)](const nlohmann::json& artifact,
                                                 const std::string& ns) -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<artifacts::Driver> driver,
                     artifacts::MakeDriver(artifact, OptionsFor(cluster, root, ns)));
    return driver->Delete(artifact);
  };
}

api::ArtifactStreamer DriverStreamer(cluster::Cluster* cluster, std::string local_root) {
  return [cluster, root = std::move(local_root)](
             const nlohmann::json& artifact, const std::string& ns,
             const std::function<absl::Status(std::string_view)>& sink) -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<artifacts::Driver> driver,
                     artifacts::MakeDriver(artifact, OptionsFor(cluster, root, ns)));
    return driver->OpenStream(artifact, sink);
  };
}

}  // namespace argonaut::workflow
