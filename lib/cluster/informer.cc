#include "lib/cluster/informer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/cluster/api_cluster.h"

namespace argonaut::cluster {

Informer::Informer(resource::ResourceApi* api, std::string kind, Handler handler)
    : name_(kind),
      factory_([api, kind](const std::string& rv) {
        return ApiCluster(api).WatchObjects(kind, "", "", rv);
      }),
      handler_(std::move(handler)) {}

Informer::Informer(std::string name, WatchFactory factory, Handler handler)
    : name_(std::move(name)), factory_(std::move(factory)), handler_(std::move(handler)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  stopping_ = true;
  {
    absl::MutexLock lock(&mu_);
    if (watch_) watch_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
}

void Informer::Run() {
  std::string from;  // empty: list, then follow
  // Doubles while the watch cannot be opened (a remote cluster service that
  // is down), so the log and the caller see a few attempts, not five a second.
  absl::Duration retry = absl::Milliseconds(200);
  while (!stopping_) {
    absl::StatusOr<std::unique_ptr<Watch>> w = factory_(from);
    if (!w.ok()) {
      LogWarn("informer", "watch failed",
              {{"watch", name_},
               {"error", w.status().ToString()},
               {"retry_in", absl::FormatDuration(retry)}});
      // In slices, so that Stop is not held up by a long wait.
      const absl::Time wake = absl::Now() + retry;
      while (!stopping_ && absl::Now() < wake) absl::SleepFor(absl::Milliseconds(50));
      retry = std::min(retry * 2, absl::Seconds(5));
      from.clear();
      continue;
    }
    retry = absl::Milliseconds(200);
    Watch* watch = nullptr;
    {
      absl::MutexLock lock(&mu_);
      watch_ = std::move(*w);
      watch = watch_.get();
      if (stopping_) watch_->Cancel();
    }
    while (!stopping_) {
      absl::StatusOr<std::vector<WatchEvent>> events = watch->Next(absl::Now() + absl::Seconds(1));
      if (!events.ok()) {
        if (!absl::IsCancelled(events.status())) {
          LogWarn("informer", "watch ended, re-listing",
                  {{"watch", name_}, {"error", events.status().ToString()}});
        }
        from.clear();
        break;
      }
      for (const WatchEvent& e : *events) {
        // Handlers only enqueue; one that throws must not end the watch.
        try {
          handler_(e);
        } catch (const std::exception& ex) {
          LogError("informer", "handler failed", {{"watch", name_}, {"error", ex.what()}});
        }
        from = absl::StrCat(e.resource_version);
      }
    }
    absl::MutexLock lock(&mu_);
    watch_.reset();
  }
}

}  // namespace argonaut::cluster
