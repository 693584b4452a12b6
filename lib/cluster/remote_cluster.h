// RemoteCluster: the Cluster interface over gRPC to a cluster service (the
// standalone `cluster` binary, or any server offering ResourceService for the
// cluster kinds plus ClusterService.PodLogs). A workflow service that runs
// apart from the cluster uses it where `argonaut up` hands the controller the
// LocalCluster itself, so both modes run the same controller code.
//
// Status codes come back as the cluster service returned them (NOT_FOUND,
// ALREADY_EXISTS, ABORTED on a stale resourceVersion); an unreachable service
// is UNAVAILABLE. Watches list first and then follow the change stream from
// the list's version; a dropped stream is reopened from the last version seen,
// so callers see no gap and no repeat.
//
//   auto cluster = RemoteCluster::Connect("127.0.0.1:7005");
//   ASSIGN_OR_RETURN(Object pod, cluster->Create(pod_manifest));
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "argonaut/cluster/v1/cluster_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/cluster/cluster.h"

namespace argonaut::cluster {

struct RemoteClusterOptions {
  // Deadline of each unary call, so that a hung cluster service cannot stall
  // a controller worker forever.
  absl::Duration call_timeout = absl::Seconds(30);
  // Reconnect delays of a dropped watch stream: doubled from the first up to
  // the max, reset once the stream delivers again.
  absl::Duration reconnect_initial = absl::Milliseconds(100);
  absl::Duration reconnect_max = absl::Seconds(5);
  // Events buffered per watch before the stream stops reading (the server
  // then waits on flow control), so a slow consumer cannot grow memory.
  size_t max_buffered_events = 10000;
};

class RemoteCluster : public Cluster {
 public:
  // "host:port" of the cluster service; connects lazily, so the service may
  // come up later.
  static std::unique_ptr<RemoteCluster> Connect(const std::string& address,
                                                RemoteClusterOptions options = {});
  RemoteCluster(std::shared_ptr<grpc::Channel> channel, RemoteClusterOptions options = {});

  absl::StatusOr<Object> Apply(const Object& object) override;
  absl::StatusOr<Object> Create(const Object& object) override;
  absl::StatusOr<Object> Update(const Object& object) override;
  absl::StatusOr<Object> UpdateStatus(const Object& object) override;
  absl::StatusOr<Object> Get(std::string_view kind, std::string_view ns,
                             std::string_view name) override;
  absl::StatusOr<std::vector<Object>> List(std::string_view kind, std::string_view ns,
                                           std::string_view selector) override;
  absl::Status Delete(std::string_view kind, std::string_view ns, std::string_view name) override;
  // An empty (or "0") version lists synchronously, so an unknown kind or an
  // unreachable service fails here; the stream itself runs on a thread of
  // the returned Watch.
  absl::StatusOr<std::unique_ptr<Watch>> WatchObjects(std::string_view kind, std::string_view ns,
                                                      std::string_view selector,
                                                      std::string_view resource_version) override;
  // Streams PodLogs; while following, the sink also gets an empty chunk
  // about once a second when no bytes arrive, as the Cluster contract says.
  absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const LogSink& sink) override;
  absl::Status SetTrafficSplit(std::string_view ns, std::string_view service,
                               const TrafficSplit& split) override;

 private:
  absl::StatusOr<Object> Write(const Object& object, bool create, bool upsert,
                               const char* subresource);
  void Prepare(grpc::ClientContext& ctx) const;

  std::shared_ptr<grpc::Channel> channel_;
  const RemoteClusterOptions options_;
  std::unique_ptr<api::v1::ResourceService::Stub> resources_;
  std::unique_ptr<v1::ClusterService::Stub> logs_;
};

}  // namespace argonaut::cluster
