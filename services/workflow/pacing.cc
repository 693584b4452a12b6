#include "services/workflow/pacing.h"

#include <algorithm>

namespace argonaut::workflow {

void ReconcilePacing::Finished(const std::string& key, absl::Time start, absl::Time end,
                               uint64_t written_version) {
  absl::MutexLock lock(&mu_);
  Entry& e = entries_[key];
  e.next_allowed = end + std::min(kIdleFactor * (end - start), kMaxDelay);
  if (written_version != 0) e.written_version = written_version;
}

absl::Duration ReconcilePacing::DelayAt(const std::string& key, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.next_allowed <= now) return absl::ZeroDuration();
  return std::min(it->second.next_allowed - now, kMaxDelay);
}

bool ReconcilePacing::IsOwnWrite(const std::string& key, uint64_t version) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  return it != entries_.end() && version != 0 && it->second.written_version == version;
}

void ReconcilePacing::Forget(const std::string& key) {
  absl::MutexLock lock(&mu_);
  entries_.erase(key);
}

}  // namespace argonaut::workflow
