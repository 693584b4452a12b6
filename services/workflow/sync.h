// LockManager: the controller's local locks for Argo's synchronization (mutexes and ConfigMap
// semaphores), as workflow/sync's local Manager keeps them. The engine asks through
// EngineInput::locks (TryAcquire) and reports what completed nodes let go of
// (EngineOutput::lock_releases -> Release); a finished or deleted workflow drops everything it
// held or waited for (ReleaseWorkflow). Releasing wakes the workflows now at the front of a
// queue through the WakeFn (the controller enqueues them).
//
//   LockManager locks(limit_from_configmap, [&](const std::string& wf) { queue.Enqueue(wf); });
//   for (const json& wf : all_workflows) locks.Restore(wf);  // after a restart, before work
//   in.locks = [&](const engine::LockRequest& r) { return locks.TryAcquire(r); };
//
// Queue order: higher priority first, then older creation time, then arrival. A holder takes a
// lock when it is among the first `limit - holders` waiters; several locks are taken together
// or not at all. Semaphore limits are read (SemaphoreLimitFn) on every acquire attempt, so a
// changed ConfigMap counts at the next attempt. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow {

// A lock key, parsed: "<ns>/Mutex/<name>" or "<ns>/ConfigMap/<configmap>/<key>".
struct LockName {
  bool mutex = false;
  std::string ns;
  std::string name;  // the mutex name or the ConfigMap name
  std::string key;   // the ConfigMap key (semaphores)
};
absl::StatusOr<LockName> ParseLockName(std::string_view key);

// The workflow key ("<ns>/<name>") of a holder ("<ns>/<name>" or "<ns>/<name>/<node id>").
std::string WorkflowOfHolder(std::string_view holder);

// A semaphore's limit from its ConfigMap object: data[key] as a positive integer; errors name
// the ConfigMap and the key.
absl::StatusOr<int64_t> SemaphoreLimitFromConfigMap(const nlohmann::json& configmap,
                                                    const std::string& key);

// (namespace, ConfigMap name, key) -> the semaphore's limit.
using SemaphoreLimitFn = std::function<absl::StatusOr<int64_t>(
    const std::string& ns, const std::string& configmap, const std::string& key)>;
// Called with a workflow key that should be reconciled now (a lock it waits for came free).
using WakeFn = std::function<void(const std::string& workflow_key)>;

class LockManager {
 public:
  LockManager(SemaphoreLimitFn limit, WakeFn wake);

  // Queues `req.holder` on every key (once) and takes them all if each is free for it. Errors:
  // a malformed key, a semaphore whose limit cannot be read.
  absl::StatusOr<engine::LockDecision> TryAcquire(const engine::LockRequest& req);
  // The holder lets go of (or stops waiting for) these keys.
  void Release(const std::string& holder, const std::vector<std::string>& keys);
  // Every holder and waiter of the workflow "<ns>/<name>" (the workflow itself and its nodes).
  void ReleaseWorkflow(const std::string& workflow_key);
  // After a restart: the holders a workflow's status.synchronization records hold again, even
  // beyond a limit that has shrunk meanwhile (as Argo does).
  void Restore(const nlohmann::json& workflow);

  // Introspection (tests, logs): holders in acquisition order, waiters in queue order.
  std::vector<std::string> Holders(const std::string& key) const;
  std::vector<std::string> Waiters(const std::string& key) const;

 private:
  struct Waiter {
    std::string holder;
    int64_t priority = 0;
    absl::Time created;
    uint64_t seq = 0;
  };
  struct Lock {
    bool mutex = false;
    int64_t limit = -1;  // last read; -1 = not read since a restart
    std::vector<std::string> holders;
    std::vector<Waiter> queue;  // sorted: priority desc, created asc, seq asc
  };
  // How many more holders the lock takes now (1 when the limit is unknown: wake the front).
  static int64_t Free(const Lock& l);
  // Workflows of the first Free() waiters of `l`, into `wake`; drops `key` if it is unused.
  void CollectWake(const std::string& key, std::vector<std::string>& wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake(const std::vector<std::string>& wake);

  const SemaphoreLimitFn limit_;
  const WakeFn wake_;
  mutable absl::Mutex mu_;
  std::map<std::string, Lock> locks_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace argonaut::workflow
