#include "services/workflow/sync.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/strings.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

std::string StrField(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

absl::StatusOr<LockName> ParseLockName(std::string_view key) {
  std::vector<std::string> parts = absl::StrSplit(AbslView(key), '/');
  LockName n;
  if (parts.size() == 3 && parts[1] == "Mutex") {
    n.mutex = true;
    n.ns = parts[0];
    n.name = parts[2];
  } else if (parts.size() == 4 && parts[1] == "ConfigMap") {
    n.ns = parts[0];
    n.name = parts[2];
    n.key = parts[3];
  } else {
    return absl::InvalidArgumentError(absl::StrCat("lock key \"", std::string(key),
                                                   "\": expected <namespace>/Mutex/<name> or "
                                                   "<namespace>/ConfigMap/<configmap>/<key>"));
  }
  if (n.ns.empty() || n.name.empty() || (!n.mutex && n.key.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("lock key \"", std::string(key), "\": empty part"));
  }
  return n;
}

std::string WorkflowOfHolder(std::string_view holder) {
  const size_t first = holder.find('/');
  if (first == std::string_view::npos) return std::string(holder);
  const size_t second = holder.find('/', first + 1);
  return std::string(holder.substr(0, second));
}

absl::StatusOr<int64_t> SemaphoreLimitFromConfigMap(const json& configmap, const std::string& key) {
  const json meta = configmap.is_object() ? configmap.value("metadata", json::object()) : json();
  const std::string where =
      absl::StrCat("ConfigMap \"", StrField(meta, "name"), "\" key \"", key, "\"");
  const json data = configmap.is_object() ? configmap.value("data", json::object()) : json();
  if (!data.is_object() || !data.contains(key)) {
    return absl::NotFoundError(absl::StrCat(where, ": no such key in data"));
  }
  const json& v = data[key];
  int64_t limit = 0;
  const bool parsed = v.is_number_integer()
                          ? (limit = v.get<int64_t>(), true)
                          : v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &limit);
  if (!parsed || limit < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": semaphore limit must be a positive integer, got ", v.dump()));
  }
  return limit;
}

LockManager::LockManager(SemaphoreLimitFn limit, WakeFn wake)
    : limit_(std::move(limit)), wake_(std::move(wake)) {}

int64_t LockManager::Free(const Lock& l) {
  if (l.limit < 0) return l.holders.empty() ? 1 : 0;
  return std::max<int64_t>(0, l.limit - static_cast<int64_t>(l.holders.size()));
}

void LockManager::CollectWake(const std::string& key, std::vector<std::string>& wake) {
  auto it = locks_.find(key);
  if (it == locks_.end()) return;
  const Lock& l = it->second;
  if (l.holders.empty() && l.queue.empty()) {
    locks_.erase(it);  // unused locks are forgotten: the map stays as large as what is in use
    return;
  }
  const int64_t n = std::min<int64_t>(Free(l), static_cast<int64_t>(l.queue.size()));
  for (int64_t i = 0; i < n; ++i) wake.push_back(WorkflowOfHolder(l.queue[i].holder));
}

void LockManager::Wake(const std::vector<std::string>& wake) {
  if (!wake_) return;
  std::vector<std::string> unique = wake;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  for (const std::string& wf : unique) wake_(wf);
}

absl::StatusOr<engine::LockDecision> LockManager::TryAcquire(const engine::LockRequest& req) {
  if (req.holder.empty()) return absl::InvalidArgumentError("lock request without a holder");
  if (req.keys.empty()) return absl::InvalidArgumentError("lock request without locks");
  // Limits are read before taking the mutex: reading a ConfigMap is I/O.
  std::map<std::string, int64_t> limits;
  std::set<std::string> mutexes;
  for (const std::string& key : req.keys) {
    absl::StatusOr<LockName> name = ParseLockName(key);
    if (!name.ok()) return name.status();
    if (name->mutex) {
      limits[key] = 1;
      mutexes.insert(key);
      continue;
    }
    if (!limit_) return absl::FailedPreconditionError("no semaphore limits configured");
    absl::StatusOr<int64_t> limit = limit_(name->ns, name->name, name->key);
    if (!limit.ok()) {
      return absl::Status(limit.status().code(),
                          absl::StrCat("semaphore ", key, ": ", limit.status().message()));
    }
    limits[key] = *limit;
  }
  engine::LockDecision d;
  std::vector<std::string> wake;
  {
    absl::MutexLock lock(&mu_);
    auto before = [](const Waiter& a, const Waiter& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.created != b.created) return a.created < b.created;
      return a.seq < b.seq;
    };
    bool all = true;
    for (const std::string& key : req.keys) {
      Lock& l = locks_[key];
      l.mutex = mutexes.count(key) > 0;
      l.limit = limits[key];
      const bool holds =
          std::find(l.holders.begin(), l.holders.end(), req.holder) != l.holders.end();
      auto queued = std::find_if(l.queue.begin(), l.queue.end(),
                                 [&](const Waiter& w) { return w.holder == req.holder; });
      if (!holds && queued == l.queue.end()) {
        Waiter w{req.holder, req.priority, req.created, seq_++};
        l.queue.insert(std::upper_bound(l.queue.begin(), l.queue.end(), w, before), w);
        queued = std::find_if(l.queue.begin(), l.queue.end(),
                              [&](const Waiter& x) { return x.holder == req.holder; });
      }
      const int64_t free = Free(l);
      const bool ok = holds || (queued - l.queue.begin()) < free;
      if (!ok) {
        if (all) {
          d.waiting_on = key;
          d.message = absl::StrCat("Waiting for ", key, " lock. Lock status: ", free, "/", l.limit);
        }
        all = false;
        // Someone ahead could take it now: make sure they get to ask.
        if (free > 0) CollectWake(key, wake);
      }
    }
    if (all) {
      for (const std::string& key : req.keys) {
        Lock& l = locks_[key];
        if (std::find(l.holders.begin(), l.holders.end(), req.holder) == l.holders.end()) {
          l.holders.push_back(req.holder);
        }
        l.queue.erase(std::remove_if(l.queue.begin(), l.queue.end(),
                                     [&](const Waiter& w) { return w.holder == req.holder; }),
                      l.queue.end());
      }
      d.acquired = true;
      d.message.clear();
      d.waiting_on.clear();
    }
    for (const std::string& key : req.keys) d.holders[key] = locks_[key].holders;
  }
  Wake(wake);
  return d;
}

void LockManager::Release(const std::string& holder, const std::vector<std::string>& keys) {
  std::vector<std::string> wake;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& key : keys) {
      auto it = locks_.find(key);
      if (it == locks_.end()) continue;
      Lock& l = it->second;
      l.holders.erase(std::remove(l.holders.begin(), l.holders.end(), holder), l.holders.end());
      l.queue.erase(std::remove_if(l.queue.begin(), l.queue.end(),
                                   [&](const Waiter& w) { return w.holder == holder; }),
                    l.queue.end());
      CollectWake(key, wake);
    }
  }
  Wake(wake);
}

void LockManager::ReleaseWorkflow(const std::string& workflow_key) {
  std::vector<std::string> wake;
  {
    absl::MutexLock lock(&mu_);
    auto mine = [&](const std::string& holder) { return WorkflowOfHolder(holder) == workflow_key; };
    std::vector<std::string> touched;
    for (auto& [key, l] : locks_) {
      const size_t before = l.holders.size() + l.queue.size();
      l.holders.erase(std::remove_if(l.holders.begin(), l.holders.end(), mine), l.holders.end());
      l.queue.erase(std::remove_if(l.queue.begin(), l.queue.end(),
                                   [&](const Waiter& w) { return mine(w.holder); }),
                    l.queue.end());
      if (l.holders.size() + l.queue.size() != before) touched.push_back(key);
    }
    for (const std::string& key : touched) CollectWake(key, wake);
  }
  Wake(wake);
}

void LockManager::Restore(const json& workflow) {
  if (!workflow.is_object()) return;
  const json status = workflow.value("status", json::object());
  if (!status.is_object()) return;
  const json sync = status.value("synchronization", json::object());
  if (!sync.is_object()) return;
  std::vector<std::pair<std::string, std::string>> held;  // (key, holder)
  const json mutex = sync.value("mutex", json::object());
  if (mutex.is_object()) {
    for (const json& h : mutex.value("holding", json::array())) {
      if (!StrField(h, "mutex").empty() && !StrField(h, "holder").empty()) {
        held.emplace_back(StrField(h, "mutex"), StrField(h, "holder"));
      }
    }
  }
  const json semaphore = sync.value("semaphore", json::object());
  if (semaphore.is_object()) {
    for (const json& h : semaphore.value("holding", json::array())) {
      const std::string key = StrField(h, "semaphore");
      if (key.empty() || !h.contains("holders") || !h["holders"].is_array()) continue;
      for (const json& x : h["holders"]) {
        if (x.is_string() && !x.get<std::string>().empty()) held.emplace_back(key, x);
      }
    }
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [key, holder] : held) {
    absl::StatusOr<LockName> name = ParseLockName(key);
    if (!name.ok()) continue;
    Lock& l = locks_[key];
    l.mutex = name->mutex;
    if (l.mutex) l.limit = 1;
    if (std::find(l.holders.begin(), l.holders.end(), holder) == l.holders.end()) {
      l.holders.push_back(holder);
    }
  }
}

std::vector<std::string> LockManager::Holders(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = locks_.find(key);
  return it == locks_.end() ? std::vector<std::string>{} : it->second.holders;
}

std::vector<std::string> LockManager::Waiters(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  auto it = locks_.find(key);
  if (it == locks_.end()) return out;
  for (const Waiter& w : it->second.queue) out.push_back(w.holder);
  return out;
}

}  // namespace argonaut::workflow
