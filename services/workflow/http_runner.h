// HttpRunner: carries out the engine's HTTP template requests (EngineOutput::http_requests)
// with libcurl, off the reconcile threads, and hands back what came of them
// (EngineInput::http). Argo runs these in an agent pod; here the workflow controller makes the
// call itself.
//
// Bounds: a fixed pool of worker threads (requests beyond it wait in a queue), the request's own
// timeoutSeconds, a response body of at most max_body_bytes (more fails the node: a truncated
// outputs.result would be silently wrong), http and https only (redirects too).
//
// State is in memory only. After a controller restart the engine asks again for every HTTP node
// that is still open, and the request is sent again: HTTP templates run at least once, as with
// Argo's agent when its pod is replaced. An answer is kept until the engine stops asking for it
// (its node's outcome is in the stored status) or the workflow is forgotten.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"

namespace argonaut::workflow {

// The value of `key` in Secret `name` of namespace `ns` (headers' valueFrom.secretKeyRef).
using HttpSecretReader = std::function<absl::StatusOr<std::string>(
    const std::string& ns, const std::string& name, const std::string& key)>;

struct HttpRunnerOptions {
  int workers = 8;                      // requests in flight at once, all workflows together
  size_t max_body_bytes = 1024 * 1024;  // stored as outputs.result
  HttpSecretReader secrets;             // empty: secretKeyRef headers fail the node
  // Called on a worker thread when a request of the workflow `wf_key` has its answer.
  std::function<void(const std::string& wf_key)> on_done;
};

// One request (engine.h's EngineOutput::http_requests shape), made now on this thread.
// `cancel`, when set, aborts the transfer. Errors go into HttpResult::error (never a Secret's
// value; URLs without user info or query).
engine::HttpResult PerformHttpRequest(const nlohmann::json& request, const std::string& ns,
                                      const HttpSecretReader& secrets, size_t max_body_bytes,
                                      const std::atomic<bool>* cancel = nullptr);

class HttpRunner {
 public:
  explicit HttpRunner(HttpRunnerOptions options);
  ~HttpRunner();
  HttpRunner(const HttpRunner&) = delete;
  HttpRunner& operator=(const HttpRunner&) = delete;

  // What has come of the requests started for `wf_key`, by node id: done ones with their
  // answer, the others with done = false.
  std::map<std::string, engine::HttpResult> Observe(const std::string& wf_key);
  // Queues the requests not started yet; drops answers the engine no longer asks for. Call it
  // once the status of the Operate call that produced `requests` is stored.
  void Run(const std::string& wf_key, const std::string& ns,
           const std::map<std::string, nlohmann::json>& requests);
  // The workflow is done or deleted: its queued requests are dropped, answers discarded.
  void Forget(const std::string& wf_key);
  // Aborts transfers in flight and joins the workers (also done by the destructor).
  void Stop();

 private:
  struct Entry {
    bool done = false;
    engine::HttpResult result;
    uint64_t generation = 0;  // which Run started it; a forgotten one is not written back
  };
  struct Task {
    std::string wf_key, node_id, ns;
    nlohmann::json request;
    uint64_t generation = 0;
  };
  void Work();

  const HttpRunnerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  std::map<std::string, std::map<std::string, Entry>> entries_;  // wf key -> node id -> entry
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::vector<std::thread> workers_;
};

}  // namespace argonaut::workflow
