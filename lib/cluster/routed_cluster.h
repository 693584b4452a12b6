// RoutedCluster: one Cluster over two places objects live. Argo kinds
// (apiVersion argoproj.io/*: Workflow, Rollout, Application, ...) go to the
// ResourceService of the service that owns them (the gateway's router, or an
// owning service directly); every other kind goes to the base cluster. A
// controller that applies whatever a git repository holds (the cd service)
// thereby never writes a Rollout into the cluster's store, nor a Deployment
// into the rollout service's.
//
// Status codes of the ResourceService come back unchanged (NOT_FOUND,
// ALREADY_EXISTS, ABORTED on a stale resourceVersion). A watch of an Argo kind
// lists first, then follows the change stream from the list's version; when
// the stream ends Next() fails (UNAVAILABLE), and an Informer re-lists.
//
//   RoutedCluster routed(local_cluster, gateway_stub.get());
//   routed.Apply(rollout_json);      // -> the rollout service
//   routed.Apply(deployment_json);   // -> the base cluster
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "lib/cluster/cluster.h"

namespace argonaut::cluster {

struct RoutedClusterOptions {
  // Deadline of each unary ResourceService call.
  absl::Duration call_timeout = absl::Seconds(30);
};

class RoutedCluster : public Cluster {
 public:
  // Neither is owned; both must outlive this. `resources` may be null: Argo
  // kinds then fail with FAILED_PRECONDITION naming the kind.
  RoutedCluster(Cluster* base, api::v1::ResourceService::StubInterface* resources,
                RoutedClusterOptions options = {});

  // True for kinds the kind table (lib/resource/kinds.h) serves under
  // argoproj.io: they are routed to the ResourceService.
  static bool IsArgoKind(std::string_view kind);

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
  // Pods and Services are never Argo kinds: always the base cluster.
  absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const LogSink& sink) override;
  absl::Status SetTrafficSplit(std::string_view ns, std::string_view service,
                               const TrafficSplit& split) override;

  Cluster* base() { return base_; }

 private:
  // The object's routing: true when it is an Argo kind. INVALID_ARGUMENT
  // when it has no kind.
  absl::StatusOr<bool> Routed(const Object& object) const;
  absl::Status NeedResources(std::string_view kind) const;
  absl::StatusOr<Object> Write(const Object& object, bool create, bool upsert,
                               const char* subresource);

  Cluster* const base_;
  api::v1::ResourceService::StubInterface* const resources_;
  const RoutedClusterOptions options_;
};

}  // namespace argonaut::cluster
