// The REST server's workers. httplib's default pool has a fixed number of threads (8 on two
// cores) and each open stream (a watch, `logs?follow=true`, an event stream) holds one for its
// whole life, so eight streams left every other request queued behind them. This pool keeps
// `min_threads` ready and grows, one thread per job that finds no idle worker, up to
// `max_threads`; threads above the minimum end after `idle_exit` without work. The bound on
// streams is then the connection caps in front (PortMux's per-client and total limits), not the
// worker count.
//
//   http.new_task_queue = [] { return new RestTaskQueue({}); };
//
// Thread safety: enqueue and shutdown from any thread (httplib's accept loop and its stop).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace argonaut::gateway {

struct RestPoolOptions {
  size_t min_threads = 8;
  size_t max_threads = 512;
  absl::Duration idle_exit = absl::Seconds(30);
};

class RestTaskQueue final : public httplib::TaskQueue {
 public:
  explicit RestTaskQueue(RestPoolOptions options);
  ~RestTaskQueue() override;

  // Runs `fn` on an idle worker, else on a new one below max_threads, else when one frees up.
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then ends every worker and waits for them.
  void shutdown() override;

  size_t threads() const;
  size_t queued() const;

 private:
  void Work();
  bool Spawn() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RestPoolOptions options_;
  mutable absl::Mutex mu_;
  absl::CondVar work_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  size_t threads_ ABSL_GUARDED_BY(mu_) = 0;
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace argonaut::gateway
