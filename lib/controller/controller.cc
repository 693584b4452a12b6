#include "lib/controller/controller.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"

namespace argonaut::controller {
namespace {

constexpr char kComponent[] = "controller";

WorkQueue::Options QueueOptions(const ControllerOptions& options, Clock* clock) {
  return WorkQueue::Options{
      .name = options.name,
      .clock = clock,
      .rate_limiter = options.rate_limiter,
      .observer = options.queue_observer,
  };
}

}  // namespace

Controller::Controller(ControllerOptions options, Reconciler* reconciler)
    : options_(std::move(options)),
      reconciler_(reconciler),
      clock_(options_.clock != nullptr ? options_.clock : RealClock::Get()),
      queue_(QueueOptions(options_, clock_)) {}

Controller::~Controller() { Stop(); }

absl::Status Controller::Start() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (!startable_) {
    return absl::FailedPreconditionError(
        absl::StrCat("controller ", options_.name, " was already started or stopped"));
  }
  if (reconciler_ == nullptr) return absl::InvalidArgumentError("reconciler is null");
  if (options_.workers < 1) {
    return absl::InvalidArgumentError(absl::StrCat("workers must be >= 1, got ", options_.workers));
  }
  if (options_.resync_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("resync_period must be >= 0");
  }
  startable_ = false;
  if (options_.observer != nullptr) options_.observer->OnStart(options_.workers);

  // The initial list plays the role of an informer's initial sync: every
  // existing object is reconciled once on startup.
  EnqueueAll();
  if (options_.list_keys && options_.resync_period > absl::ZeroDuration()) {
    // Computed here rather than in the thread so that a FakeClock advanced
    // right after Start() deterministically triggers the first resync.
    const absl::Time first_resync = clock_->Now() + options_.resync_period;
    threads_.emplace_back([this, first_resync] { ResyncLoop(first_resync); });
  }
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  LogInfo(kComponent, "started",
          {{"controller", options_.name}, {"workers", absl::StrCat(options_.workers)}});
  return absl::OkStatus();
}

void Controller::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Also makes a controller that was never started refuse keys, so Enqueue()
  // after Stop() is uniformly a no-op.
  queue_.ShutDown();
  // Workers blocked in Get() return at once; busy ones finish their current
  // reconcile first, which is what "in-flight work finishes" means.
  for (std::thread& thread : threads_) thread.join();
  if (!threads_.empty()) LogInfo(kComponent, "stopped", {{"controller", options_.name}});
  threads_.clear();
  // Its queue is shut down for good.
  startable_ = false;
}

void Controller::EnqueueAll() {
  if (!options_.list_keys) return;
  for (const std::string& key : options_.list_keys()) queue_.Add(key);
}

void Controller::ResyncLoop(absl::Time next_resync) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (clock_->AwaitWithDeadline(&mu_, absl::Condition(&stopping_), next_resync)) return;
    }
    EnqueueAll();
    // Scheduled from the previous deadline, not from now, so resyncs do not
    // drift by the time list_keys() takes. Deadlines already in the past
    // (list_keys() overran a period, or the process was descheduled) are
    // skipped rather than run back to back: one pass covers them all.
    next_resync += options_.resync_period;
    const absl::Time now = clock_->Now();
    if (next_resync < now) {
      absl::Duration remainder;
      const int64_t missed =
          absl::IDivDuration(now - next_resync, options_.resync_period, &remainder);
      next_resync += options_.resync_period * (missed + (remainder > absl::ZeroDuration() ? 1 : 0));
    }
  }
}

void Controller::WorkerLoop() {
  while (std::optional<std::string> key = queue_.Get()) {
    ProcessKey(*key);
    queue_.Done(*key);
  }
}

void Controller::ProcessKey(const std::string& key) {
  if (options_.observer != nullptr) options_.observer->OnReconcileStarted();
  const absl::Time start = clock_->Now();
  absl::StatusOr<Result> result = absl::InternalError("reconcile did not run");
  // A reconciler must not throw; if a library it uses does anyway (a JSON
  // accessor on an unexpected type), this key fails and is retried with
  // backoff instead of the process dying.
  try {
    result = reconciler_->Reconcile(key);
  } catch (const std::exception& e) {
    result = absl::InternalError(absl::StrCat("reconcile threw: ", e.what()));
  }
  const absl::Duration elapsed = clock_->Now() - start;

  ReconcileOutcome outcome;
  if (!result.ok()) {
    if (absl::IsFailedPrecondition(result.status())) {
      // Retrying cannot help; the key comes back only when something changes
      // and enqueues it again (or at the next resync).
      outcome = ReconcileOutcome::kTerminalError;
      queue_.Forget(key);
      LogError(
          kComponent, "reconcile failed permanently",
          {{"controller", options_.name}, {"key", key}, {"error", result.status().ToString()}});
    } else {
      outcome = ReconcileOutcome::kError;
      queue_.AddRateLimited(key);
      LogWarn(kComponent, "reconcile failed, will retry",
              {{"controller", options_.name},
               {"key", key},
               {"error", result.status().ToString()},
               {"requeues", absl::StrCat(queue_.NumRequeues(key))}});
    }
  } else if (result->requeue_after > absl::ZeroDuration()) {
    outcome = ReconcileOutcome::kRequeueAfter;
    queue_.Forget(key);
    queue_.AddAfter(key, result->requeue_after);
  } else {
    outcome = ReconcileOutcome::kSuccess;
    queue_.Forget(key);
  }
  if (options_.observer != nullptr) options_.observer->OnReconcileFinished(outcome, elapsed);
}

}  // namespace argonaut::controller
