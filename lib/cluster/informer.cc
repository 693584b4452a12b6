#include "lib/cluster/informer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/manifest/json_text.h"

namespace argonaut::cluster {

Informer::Informer(resource::ResourceApi* api, std::string kind, Handler handler)
    : api_(api), kind_(std::move(kind)), handler_(std::move(handler)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  stopping_ = true;
  {
    absl::MutexLock lock(&mu_);
    if (watcher_) watcher_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
}

void Informer::Run() {
  std::string from;  // empty: list, then follow
  while (!stopping_) {
    absl::StatusOr<std::unique_ptr<resource::ObjectWatcher>> w = api_->Watch(kind_, "", "", from);
    if (!w.ok()) {
      LogWarn("informer", "watch failed", {{"kind", kind_}, {"error", w.status().ToString()}});
      absl::SleepFor(absl::Milliseconds(200));
      from.clear();
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      watcher_ = std::move(*w);
      if (stopping_) watcher_->Cancel();
    }
    while (!stopping_) {
      absl::StatusOr<std::vector<resource::WatchEventOut>> events =
          watcher_->Next(absl::Now() + absl::Seconds(1));
      if (!events.ok()) {
        if (!absl::IsCancelled(events.status())) {
          LogWarn("informer", "watch ended, re-listing",
                  {{"kind", kind_}, {"error", events.status().ToString()}});
        }
        from.clear();
        break;
      }
      for (const resource::WatchEventOut& e : *events) {
        absl::StatusOr<nlohmann::json> object = manifest::ParseJsonText(e.json);
        if (!object.ok()) continue;
        handler_(WatchEvent{e.type, std::move(*object), e.resource_version});
        from = absl::StrCat(e.resource_version);
      }
    }
    absl::MutexLock lock(&mu_);
    watcher_.reset();
  }
}

}  // namespace argonaut::cluster
