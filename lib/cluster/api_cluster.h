// ApiCluster: the object half of the Cluster interface over a ResourceApi
// (the cluster service's store). LocalCluster adds the runtime on top; kept
// apart so controllers and tests can use the store-backed object API alone.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/cluster/cluster.h"
#include "lib/resource/resource_api.h"

namespace argonaut::cluster {

class ApiCluster : public Cluster {
 public:
  explicit ApiCluster(resource::ResourceApi* api) : api_(api) {}

  absl::StatusOr<Object> Apply(const Object& object) override;
  absl::StatusOr<Object> Create(const Object& object) override;
  absl::StatusOr<Object> Update(const Object& object) override;
  absl::StatusOr<Object> UpdateStatus(const Object& object) override;
  absl::StatusOr<Object> Get(std::string_view kind, std::string_view ns,
                             std::string_view name) override;
  absl::StatusOr<std::vector<Object>> List(std::string_view kind, std::string_view ns,
                                           std::string_view selector) override;
  absl::Status Delete(std::string_view kind, std::string_view ns, std::string_view name) override;
  absl::StatusOr<std::unique_ptr<Watch>> WatchObjects(std::string_view kind, std::string_view ns,
                                                      std::string_view selector,
                                                      std::string_view resource_version) override;
  // No runtime behind the store alone: UNIMPLEMENTED.
  absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const LogSink& sink) override;
  absl::Status SetTrafficSplit(std::string_view ns, std::string_view service,
                               const TrafficSplit& split) override;

  resource::ResourceApi* api() { return api_; }

 private:
  resource::ResourceApi* const api_;
};

// Sets a Service's traffic split annotation through any Cluster, retrying
// on version conflicts: shared by the in-process and the remote cluster.
absl::Status WriteTrafficSplit(Cluster& cluster, std::string_view ns, std::string_view service,
                               const TrafficSplit& split);

// Reads metadata fields with defaults, for code that handles many kinds.
std::string NameOf(const Object& o);
std::string NamespaceOf(const Object& o);
std::string UidOf(const Object& o);
std::string KindOf(const Object& o);
// "namespace/name".
std::string KeyOf(const Object& o);

}  // namespace argonaut::cluster
