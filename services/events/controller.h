// The events controllers: keep one runner per EventSource (its listeners)
// and per Sensor (its bus reader and triggers) in step with the events
// store. A runner starts when an object appears, is replaced when the
// object's spec (or the bus it resolves to) changes, and stops when the
// object goes; its Status() is written into the object's status, only when
// it changed and with the resourceVersion read as precondition.
//
// The runners themselves are injected (RunnerFactory), so that the
// controller is tested with runners whose behaviour the test decides, and
// the server (events_server.h) wires the real EventSourceRunner and
// SensorRunner.
//
// Buses: BusRegistry opens the bus an object names (spec.eventBusName,
// "default" when empty). An EventBus with spec.jetstreamExotic.url is a NATS
// JetStream bus at that URL (stream = the bus's name); any other EventBus,
// or none at all for "default", is the embedded RocksDB log under
// <data_dir>/eventbus (other names: <data_dir>/eventbus-<ns>-<name>).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/events/bus/bus.h"
#include "services/events/log_buffer.h"

namespace argonaut::events {

// Opens and keeps the buses objects name. Thread-safe.
class BusRegistry {
 public:
  // `store` holds the EventBus objects; must outlive the registry.
  BusRegistry(resource::ResourceApi* store, std::string data_dir);

  // The bus `name` of namespace `ns` ("" = "default"), opened on first use.
  // `key` receives a string that changes when the bus behind the name does
  // (another URL), so that runners restart on it.
  absl::StatusOr<bus::EventBus*> Get(const std::string& ns, const std::string& name,
                                     std::string* key = nullptr);

  // Creates the EventBus `default` in namespace "default" when the store
  // holds no EventBus at all, as Argo's quick start applies one.
  absl::Status EnsureDefault();

 private:
  absl::StatusOr<std::string> Resolve(const std::string& ns, const std::string& name,
                                      std::string* url);

  resource::ResourceApi* const store_;
  const std::string data_dir_;
  absl::Mutex mu_;
  // Resolved key ("local:<dir>" | "jetstream:<url>/<stream>") -> bus.
  std::map<std::string, std::unique_ptr<bus::EventBus>> buses_ ABSL_GUARDED_BY(mu_);
};

// What a controller keeps per object.
class Runner {
 public:
  virtual ~Runner() = default;
  // The object's status as the runner sees it (without conditions for
  // sensors: the controller adds them).
  virtual nlohmann::json Status() const = 0;
  virtual void Stop() = 0;
  // Hands one stored event to the runner again (the API's replay); only
  // sensors take one.
  virtual absl::Status Replay(const bus::StoredEvent&) {
    return absl::FailedPreconditionError("only a sensor replays events");
  }
};

// Starts the runner of one object on its bus.
using RunnerFactory = std::function<absl::StatusOr<std::unique_ptr<Runner>>(
    const nlohmann::json& object, bus::EventBus* bus)>;

struct RunnerControllerOptions {
  // "EventSource" or "Sensor".
  std::string kind;
  RunnerFactory start;
  // Null: the real clock (condition times).
  controller::Clock* clock = nullptr;
  // How often a running object's status is refreshed (events counted,
  // triggers fired), and a failed start retried.
  absl::Duration status_period = absl::Seconds(2);
  absl::Duration retry_period = absl::Seconds(5);
  absl::Duration resync_period = absl::Minutes(1);
  int workers = 2;
};

// One controller per kind (EventSourceController / SensorController below).
class RunnerController : public controller::Reconciler {
 public:
  // `store` and `buses` must outlive the controller.
  RunnerController(resource::ResourceApi* store, BusRegistry* buses,
                   RunnerControllerOptions options);
  ~RunnerController() override;

  absl::Status Start();
  // Stops every runner. Idempotent.
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

  // For tests and the API: how many runners run, and the generation count
  // of starts of one key (1 after the first start, +1 per restart).
  size_t running() const;
  int starts(const std::string& key) const;

  // The lines about each object (log_buffer.h), for the API's log streams.
  const LogBuffer& logs() const { return logs_; }
  // Replays `event` on the runner of `key` ("<ns>/<name>"): NOT_FOUND when
  // none runs, FAILED_PRECONDITION when its start failed.
  absl::Status Replay(const std::string& key, const bus::StoredEvent& event);

 private:
  struct Entry {
    std::string fingerprint;  // spec + bus key
    std::unique_ptr<Runner> runner;
    absl::Status start_error;
    std::string start_time;
    absl::Time attempted;
    int starts = 0;
  };
  void StopEntry(const std::string& key);
  void AddLog(const std::string& key, LogLine line);
  // The status to write: the runner's, with conditions for a sensor.
  nlohmann::json StatusOf(const Entry& entry) const;

  resource::ResourceApi* const store_;
  BusRegistry* const buses_;
  const RunnerControllerOptions options_;
  controller::Clock* const clock_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // The last status written per key: written again only when it differs
  // (the store normalizes what it returns, so comparing with it would loop).
  std::map<std::string, nlohmann::json> written_ ABSL_GUARDED_BY(mu_);
  // The status last turned into log lines per key (null after a start).
  std::map<std::string, nlohmann::json> logged_ ABSL_GUARDED_BY(mu_);
  LogBuffer logs_;

  std::unique_ptr<controller::Controller> controller_;
  std::unique_ptr<cluster::Informer> informer_;
  std::unique_ptr<cluster::Informer> bus_informer_;
};

}  // namespace argonaut::events
