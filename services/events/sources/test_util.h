// Test helpers: a Publish that records events and lets a test wait for them.
#pragma once

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/events/event.h"
#include "services/events/sources/source.h"

#define SOURCES_CONCAT_INNER_(a, b) a##b
#define SOURCES_CONCAT_(a, b) SOURCES_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(SOURCES_CONCAT_(status_or_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status();            \
  lhs = std::move(*tmp)

namespace argonaut::events::sources {

class Collector {
 public:
  Publish publish() {
    return [this](CloudEvent e) -> absl::Status {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](bool* open) { return *open; }, &open_));
      if (!fail_.ok()) return fail_;
      events_.push_back(std::move(e));
      return absl::OkStatus();
    };
  }
  // Waits (real time) until at least n events arrived; returns them.
  std::vector<CloudEvent> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return events_;
  }
  std::vector<CloudEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // While closed, Publish blocks (a slow bus).
  void SetOpen(bool open) {
    absl::MutexLock lock(&mu_);
    open_ = open;
  }
  void SetFailure(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(s);
  }

 private:
  absl::Mutex mu_;
  std::vector<CloudEvent> events_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
};

// An EventSource named `name` in `default` with spec.<type> = events.
inline nlohmann::json MakeEventSource(const std::string& name, const std::string& type,
                                      const nlohmann::json& events) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "EventSource"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{type, events}}}};
}

}  // namespace argonaut::events::sources
