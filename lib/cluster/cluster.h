// Cluster: the one interface every service uses to reach "Kubernetes".
//
// Objects are Kubernetes objects in Kubernetes' JSON shape (apiVersion, kind,
// metadata, spec, status, data ...), so a later implementation over a real
// API server is a transport change, not a model change. The local
// implementation (LocalCluster) runs pods as processes on this machine.
//
//   ASSIGN_OR_RETURN(Object pod, cluster.Apply(pod_manifest));
//   ASSIGN_OR_RETURN(auto watch, cluster.Watch("Pod", "default", "app=web", ""));
//   RETURN_IF_ERROR(cluster.Logs("default", "web-abc12", {.container = "main"}, sink));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster {

using Object = nlohmann::json;

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  Object object;
  uint64_t resource_version = 0;
};

class Watch {
 public:
  virtual ~Watch() = default;
  // Blocks until events arrive or `deadline` passes (then empty).
  // OUT_OF_RANGE when the resume version is no longer available (re-list).
  virtual absl::StatusOr<std::vector<WatchEvent>> Next(absl::Time deadline) = 0;
  virtual void Cancel() = 0;
};

struct LogOptions {
  // Empty: the pod's only (or first) container.
  std::string container;
  // Keep streaming while the container runs, until it ends or `deadline`.
  bool follow = false;
  absl::Time deadline = absl::InfiniteFuture();
};

// Receives log bytes; returning false stops the stream. While following an
// idle container it is also called with an empty chunk about once a second,
// so that a caller whose client went away can stop.
using LogSink = std::function<bool(std::string_view chunk)>;

// Weights per endpoint group of a Service: pods are grouped by the value of
// `group_label`. A group with weight 0 receives no new connections.
struct TrafficSplit {
  std::string group_label;
  std::map<std::string, int> weights;
};

class Cluster {
 public:
  virtual ~Cluster() = default;

  // kubectl apply: creates, or replaces spec and metadata of an existing
  // object while keeping its status.
  virtual absl::StatusOr<Object> Apply(const Object& object) = 0;
  // ALREADY_EXISTS when present. metadata.generateName is honoured.
  virtual absl::StatusOr<Object> Create(const Object& object) = 0;
  // The object must exist; a non-empty metadata.resourceVersion must match
  // (ABORTED otherwise, as Kubernetes' 409 Conflict).
  virtual absl::StatusOr<Object> Update(const Object& object) = 0;
  // The status subresource: writes only .status.
  virtual absl::StatusOr<Object> UpdateStatus(const Object& object) = 0;
  virtual absl::StatusOr<Object> Get(std::string_view kind, std::string_view ns,
                                     std::string_view name) = 0;
  // `ns` empty: every namespace. `selector`: a Kubernetes label selector.
  virtual absl::StatusOr<std::vector<Object>> List(std::string_view kind, std::string_view ns,
                                                   std::string_view selector) = 0;
  // Pods stop gracefully after the call returns (SIGTERM, then SIGKILL after
  // terminationGracePeriodSeconds); owned objects are garbage-collected.
  virtual absl::Status Delete(std::string_view kind, std::string_view ns,
                              std::string_view name) = 0;
  // Empty `resource_version`: the current objects as ADDED, then changes.
  virtual absl::StatusOr<std::unique_ptr<Watch>> WatchObjects(
      std::string_view kind, std::string_view ns, std::string_view selector,
      std::string_view resource_version) = 0;
  virtual absl::Status Logs(std::string_view ns, std::string_view pod, const LogOptions& options,
                            const LogSink& sink) = 0;
  // Sets (or, with empty weights, clears) the traffic split of a Service.
  virtual absl::Status SetTrafficSplit(std::string_view ns, std::string_view service,
                                       const TrafficSplit& split) = 0;
};

// The annotation that carries a Service's traffic split, as JSON
// {"groupLabel": "...", "weights": {"group": weight}}; persisted with the
// Service so the split survives restarts and shows in `get -o yaml`.
inline constexpr char kTrafficSplitAnnotation[] = "argonaut.io/traffic-split";

}  // namespace argonaut::cluster
