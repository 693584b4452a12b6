// Informer: follows every change of one kind and hands each event to a
// handler, in order, from its own thread. After the watch loses its place
// (OUT_OF_RANGE) it re-lists, so a handler sees every current object again as
// ADDED: handlers must be level-triggered (enqueue a key, nothing more).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/resource/resource_api.h"

namespace argonaut::cluster {

class Informer {
 public:
  using Handler = std::function<void(const WatchEvent& event)>;
  // Opens a watch from a resource version ("" = list first).
  using WatchFactory =
      std::function<absl::StatusOr<std::unique_ptr<Watch>>(const std::string& resource_version)>;

  // Every object of `kind` in the store behind `api`.
  Informer(resource::ResourceApi* api, std::string kind, Handler handler);
  // Any watch, e.g. a Cluster's pods with a label selector.
  Informer(std::string name, WatchFactory factory, Handler handler);
  ~Informer();

  void Start();
  void Stop();

 private:
  void Run();

  const std::string name_;
  const WatchFactory factory_;
  const Handler handler_;
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  std::unique_ptr<Watch> watch_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace argonaut::cluster
