// Observer hooks through which WorkQueue and Controller report what they do.
//
// They exist so that lib/controller stays free of any metrics library:
// //lib/metrics:controller_observer implements both interfaces on top of
// prometheus-cpp with controller-runtime's metric names, and tests implement
// them to wait for progress without sleeping.
//
// Every method has a no-op default so an observer overrides only what it
// needs. Methods may be called concurrently from several threads, and
// WorkQueueObserver methods run with the queue's lock held: they must be fast,
// must not block, and must not call back into the queue.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/time/time.h"

namespace argonaut::controller {

class WorkQueueObserver {
 public:
  virtual ~WorkQueueObserver() = default;

  // A key became pending (adds of an already pending key are not reported).
  virtual void OnAdd() {}
  // The number of keys ready to be handed out by Get() changed.
  virtual void OnDepth(size_t depth) {}
  // Get() handed out a key that had been pending for `queued`.
  virtual void OnGet(absl::Duration queued) {}
  // Done() released a key that a worker had held for `work`.
  virtual void OnDone(absl::Duration work) {}
  // AddRateLimited() scheduled a retry.
  virtual void OnRetry() {}
};

enum class ReconcileOutcome {
  kSuccess,
  // OK with Result::requeue_after > 0.
  kRequeueAfter,
  // Retryable error: the key was re-queued with backoff.
  kError,
  // FAILED_PRECONDITION: the key was dropped until something re-adds it.
  kTerminalError,
};

std::string_view ReconcileOutcomeName(ReconcileOutcome outcome);

class ControllerObserver {
 public:
  virtual ~ControllerObserver() = default;

  // Start() launched `workers` worker threads.
  virtual void OnStart(int workers) {}
  // A worker is about to call Reconcile().
  virtual void OnReconcileStarted() {}
  // Reconcile() returned after `elapsed`; the queue has already been told
  // about the outcome (retry scheduled, or key forgotten), but the key has not
  // been released yet.
  virtual void OnReconcileFinished(ReconcileOutcome outcome, absl::Duration elapsed) {}
};

inline std::string_view ReconcileOutcomeName(ReconcileOutcome outcome) {
  switch (outcome) {
    case ReconcileOutcome::kSuccess:
      return "success";
    case ReconcileOutcome::kRequeueAfter:
      return "requeue_after";
    case ReconcileOutcome::kError:
      return "error";
    case ReconcileOutcome::kTerminalError:
      return "terminal_error";
  }
  return "unknown";
}

}  // namespace argonaut::controller
