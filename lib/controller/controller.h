// Controller: runs a Reconciler over the keys of a WorkQueue with N worker
// threads, in the shape of controller-runtime.
//
// Level-triggered: the reconciler is told only *which* object to look at,
// never what changed, and must drive the object from its current state to the
// desired one. Events just Enqueue() keys; a periodic resync re-enqueues every
// key returned by list_keys so that anything missed is eventually repaired.
//
//   Controller controller({.name = "workflows", .workers = 4,
//                          .list_keys = [&] { return ListWorkflowKeys(*store); },
//                          .resync_period = absl::Minutes(10)},
//                         &reconciler);
//   RETURN_IF_ERROR(controller.Start());
//   watch.OnEvent([&](const Event& e) { controller.Enqueue(e.record.key); });
//   ...
//   controller.Stop();
//
// Outcome of Reconcile(key):
//   error (any code but FAILED_PRECONDITION) -> retried with per-key backoff
//   FAILED_PRECONDITION                      -> terminal: dropped, backoff reset
//   OK, requeue_after > 0                    -> backoff reset, re-run after it
//   OK                                       -> backoff reset
//
// Thread safety: every method may be called from any thread, except that
// Stop() must not be called from inside Reconcile().
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/controller/clock.h"
#include "lib/controller/observer.h"
#include "lib/controller/work_queue.h"

namespace argonaut::controller {

struct Result {
  // When > 0, reconcile the key again after this long even if nothing
  // changes (e.g. to poll an external system). Not a retry: backoff is reset.
  absl::Duration requeue_after = absl::ZeroDuration();
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;

  // Drives the object named by `key` ("namespace/name") towards its desired
  // state. Must be idempotent: it may run any number of times for a key,
  // though never concurrently for the same key. Must not throw.
  virtual absl::StatusOr<Result> Reconcile(const std::string& key) = 0;
};

struct ControllerOptions {
  // Labels logs and metrics (controller_runtime_*{controller="..."}); also
  // names the work queue.
  std::string name;
  // Number of keys reconciled in parallel.
  int workers = 1;
  // If set, every key it returns is enqueued by Start() and then every
  // resync_period (if > 0). Called from the controller's own thread.
  std::function<std::vector<std::string>()> list_keys;
  absl::Duration resync_period = absl::ZeroDuration();
  // Not owned; must outlive the controller. nullptr means RealClock::Get().
  Clock* clock = nullptr;
  RateLimiterOptions rate_limiter;
  // Not owned; must outlive the controller. May be nullptr.
  ControllerObserver* observer = nullptr;
  WorkQueueObserver* queue_observer = nullptr;
};

class Controller {
 public:
  // `reconciler` is not owned and must outlive the controller.
  Controller(ControllerOptions options, Reconciler* reconciler);
  // Stops the controller if it is running.
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Enqueues the initial list_keys() and launches the worker and resync
  // threads. A controller runs at most once: Start() after Start() or Stop()
  // fails with FAILED_PRECONDITION; bad options fail with INVALID_ARGUMENT.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(lifecycle_mu_, mu_);

  // Stops handing out keys, lets in-flight reconciles finish, and joins every
  // thread. Keys still queued are dropped. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(lifecycle_mu_, mu_);

  // Asks for `key` to be reconciled. Cheap and de-duplicated: call it for
  // every event. Ignored once stopped.
  void Enqueue(const std::string& key) { queue_.Add(key); }
  // Enqueues `key` once `delay` has passed (at once if it is zero).
  void EnqueueAfter(const std::string& key, absl::Duration delay) { queue_.AddAfter(key, delay); }

  const std::string& name() const { return options_.name; }
  // For tests and diagnostics (Len(), NumRequeues()).
  WorkQueue& queue() { return queue_; }

 private:
  void WorkerLoop();
  void ResyncLoop(absl::Time first_resync) ABSL_LOCKS_EXCLUDED(mu_);
  void EnqueueAll();
  void ProcessKey(const std::string& key);

  const ControllerOptions options_;
  Reconciler* const reconciler_;
  Clock* const clock_;
  WorkQueue queue_;

  // Serializes Start() and Stop() so that a concurrent Stop() returns only
  // once every thread is joined.
  absl::Mutex lifecycle_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // False once Start() or Stop() has run: a controller runs at most once.
  bool startable_ ABSL_GUARDED_BY(lifecycle_mu_) = true;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(lifecycle_mu_);

  absl::Mutex mu_;
  // Wakes the resync thread.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace argonaut::controller
