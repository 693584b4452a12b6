// Synchronization (Argo's workflow/sync, as the operator uses it): lock keys from a
// `synchronization` object, status.synchronization bookkeeping, and the points where a workflow
// or a node waits for its locks. Whether a lock is free is the LockArbiter's answer.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

bool IsMutexKey(const std::string& key) {
  const size_t slash = key.find('/');
  return slash != std::string::npos && key.compare(slash + 1, 6, "Mutex/") == 0;
}

json& Section(json& status, const std::string& key) {
  json& sync = status["synchronization"];
  if (!sync.is_object()) sync = json::object();
  json& section = sync[IsMutexKey(key) ? "mutex" : "semaphore"];
  if (!section.is_object()) section = json::object();
  return section;
}

json& List(json& section, const char* name) {
  json& list = section[name];
  if (!list.is_array()) list = json::array();
  return list;
}

bool Holds(const json& status, const std::string& holder, const std::string& key) {
  auto sync = status.find("synchronization");
  if (sync == status.end() || !sync->is_object()) return false;
  const bool mutex = IsMutexKey(key);
  auto section = sync->find(mutex ? "mutex" : "semaphore");
  if (section == sync->end() || !section->is_object()) return false;
  auto holding = section->find("holding");
  if (holding == section->end() || !holding->is_array()) return false;
  for (const json& h : *holding) {
    if (!h.is_object()) continue;
    if (mutex) {
      if (Str(h, "mutex") == key && Str(h, "holder") == holder) return true;
    } else if (Str(h, "semaphore") == key && h.contains("holders") && h["holders"].is_array()) {
      for (const json& x : h["holders"]) {
        if (x == holder) return true;
      }
    }
  }
  return false;
}

void AddHolding(json& status, const std::string& holder, const std::string& key) {
  json& holding = List(Section(status, key), "holding");
  if (IsMutexKey(key)) {
    for (json& h : holding) {
      if (Str(h, "mutex") == key) {
        h["holder"] = holder;
        return;
      }
    }
    holding.push_back({{"mutex", key}, {"holder", holder}});
    return;
  }
  for (json& h : holding) {
    if (Str(h, "semaphore") != key) continue;
    if (!h["holders"].is_array()) h["holders"] = json::array();
    for (const json& x : h["holders"]) {
      if (x == holder) return;
    }
    h["holders"].push_back(holder);
    return;
  }
  holding.push_back({{"semaphore", key}, {"holders", json::array({holder})}});
}

void SetWaiting(json& status, const std::string& key, const std::vector<std::string>& holders) {
  json& waiting = List(Section(status, key), "waiting");
  const bool mutex = IsMutexKey(key);
  // Argo's shape: a mutex names the one holder it waits for, a semaphore all of them.
  if (mutex && holders.empty()) return;
  json entry = mutex ? json{{"mutex", key}, {"holder", holders.front()}}
                     : json{{"semaphore", key}, {"holders", holders}};
  for (json& w : waiting) {
    if (Str(w, mutex ? "mutex" : "semaphore") == key) {
      w = std::move(entry);
      return;
    }
  }
  waiting.push_back(std::move(entry));
}

// Drops empty lists and sections so a workflow without locks has no synchronization field.
void Prune(json& status) {
  auto sync = status.find("synchronization");
  if (sync == status.end()) return;
  if (sync->is_object()) {
    for (const char* kind : {"mutex", "semaphore"}) {
      auto section = sync->find(kind);
      if (section == sync->end()) continue;
      if (section->is_object()) {
        for (const char* list : {"holding", "waiting"}) {
          auto l = section->find(list);
          if (l != section->end() && (!l->is_array() || l->empty())) section->erase(l);
        }
      }
      if (!section->is_object() || section->empty()) sync->erase(section);
    }
  }
  if (!sync->is_object() || sync->empty()) status.erase(sync);
}

absl::Status LockError(const std::string& path, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

}  // namespace

void ClearLockWaiting(json& status) {
  auto sync = status.find("synchronization");
  if (sync == status.end() || !sync->is_object()) return;
  for (auto& [kind, section] : sync->items()) {
    (void)kind;
    if (section.is_object()) section.erase("waiting");
  }
}

absl::StatusOr<std::vector<std::string>> Operator::LockKeys(const json& sync,
                                                            const std::string& path) const {
  std::vector<std::string> keys;
  if (sync.is_null()) return keys;
  if (!sync.is_object()) return LockError(path, "expected an object");
  const std::string own_ns = ns_.empty() ? "default" : ns_;
  auto add = [&](std::string key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  auto ns_of = [&](const json& ref) {
    const std::string& n = Str(ref, "namespace");
    return n.empty() ? own_ns : n;
  };
  auto mutex = [&](const json& m, const std::string& at) -> absl::Status {
    if (!m.is_object()) return LockError(at, "expected an object");
    if (m.contains("database") && m["database"] != json(false)) {
      return LockError(at + ".database", "database locks are not supported (local locks only)");
    }
    const std::string& name = Str(m, "name");
    if (name.empty()) return LockError(at + ".name", "a mutex needs a name");
    if (name.find('/') != std::string::npos) {
      return LockError(at + ".name", absl::StrCat("\"", name, "\" must not contain '/'"));
    }
    add(absl::StrCat(ns_of(m), "/Mutex/", name));
    return absl::OkStatus();
  };
  auto semaphore = [&](const json& s, const std::string& at) -> absl::Status {
    if (!s.is_object()) return LockError(at, "expected an object");
    if (s.contains("database") && !s["database"].is_null()) {
      return LockError(at + ".database", "database locks are not supported (local locks only)");
    }
    auto ref = s.find("configMapKeyRef");
    if (ref == s.end() || !ref->is_object()) {
      return LockError(at + ".configMapKeyRef", "a semaphore needs configMapKeyRef {name, key}");
    }
    const std::string& cm = Str(*ref, "name");
    const std::string& key = Str(*ref, "key");
    if (cm.empty()) return LockError(at + ".configMapKeyRef.name", "required");
    if (key.empty()) return LockError(at + ".configMapKeyRef.key", "required");
    if (cm.find('/') != std::string::npos || key.find('/') != std::string::npos) {
      return LockError(at + ".configMapKeyRef", "name and key must not contain '/'");
    }
    add(absl::StrCat(ns_of(s), "/ConfigMap/", cm, "/", key));
    return absl::OkStatus();
  };
  for (const char* field : {"mutexes", "semaphores"}) {
    auto list = sync.find(field);
    if (list == sync.end() || list->is_null()) continue;
    if (!list->is_array()) return LockError(absl::StrCat(path, ".", field), "expected a list");
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = absl::StrCat(path, ".", field, "[", i, "]");
      absl::Status s = field[0] == 'm' ? mutex((*list)[i], at) : semaphore((*list)[i], at);
      if (!s.ok()) return s;
    }
  }
  // The singular fields Argo had until v3.5.
  if (auto m = sync.find("mutex"); m != sync.end() && !m->is_null()) {
    if (absl::Status s = mutex(*m, path + ".mutex"); !s.ok()) return s;
  }
  if (auto s = sync.find("semaphore"); s != sync.end() && !s->is_null()) {
    if (absl::Status st = semaphore(*s, path + ".semaphore"); !st.ok()) return st;
  }
  return keys;
}

std::string Operator::LockHolder(const std::string& node_id) const {
  std::string holder = absl::StrCat(ns_.empty() ? "default" : ns_, "/", wf_name_);
  if (!node_id.empty()) absl::StrAppend(&holder, "/", node_id);
  return holder;
}

Operator::LockOutcome Operator::AcquireLocks(const std::string& holder,
                                             const std::vector<std::string>& keys) {
  sync_used_ = true;
  bool held = true;
  for (const std::string& k : keys) held = held && Holds(status_, holder, k);
  if (held) return {};
  LockDecision decision;
  if (in_.locks) {
    LockRequest req;
    req.holder = holder;
    req.keys = keys;
    req.priority = IntOrString(spec_->value("priority", json(0))).value_or(0);
    const absl::Time created = ParseTimestamp(
        in_.workflow.value("metadata", json::object()).value("creationTimestamp", json(nullptr)));
    req.created = created == absl::InfinitePast() ? in_.now : created;
    absl::StatusOr<LockDecision> d = in_.locks(req);
    if (!d.ok()) return {LockOutcome::kFailed, std::string(d.status().message()), ""};
    decision = *std::move(d);
  } else {
    decision.acquired = true;
  }
  if (decision.acquired) {
    for (const std::string& k : keys) AddHolding(status_, holder, k);
    return {};
  }
  for (const std::string& k : keys) {
    auto h = decision.holders.find(k);
    SetWaiting(status_, k, h == decision.holders.end() ? std::vector<std::string>{} : h->second);
  }
  std::string waiting_on = decision.waiting_on.empty() ? keys.front() : decision.waiting_on;
  std::string message = decision.message.empty()
                            ? absl::StrCat("Waiting for ", waiting_on, " lock.")
                            : decision.message;
  return {LockOutcome::kWaiting, std::move(message), std::move(waiting_on)};
}

json* Operator::SynchronizeNode(const std::string& node_name, json* node, const Resolved& r,
                                const json& t, const std::string& type, const ExecOpts& opts) {
  auto sy = t.find("synchronization");
  if (sy == t.end() || sy->is_null()) return nullptr;
  // Only a node that has not started asks; one that runs holds its locks already.
  if (node != nullptr && Str(*node, "phase") != "Pending") return nullptr;
  const std::string& node_type = node != nullptr ? Str(*node, "type") : type;
  auto fail = [&](const std::string& phase, const std::string& message) {
    if (node == nullptr) {
      node = &InitNode(node_name, node_type, "", opts.boundary_id, phase, message, &r);
    } else {
      node->erase("synchronizationStatus");
      MarkPhase(*node, phase, message);
    }
    return node;
  };
  absl::StatusOr<std::vector<std::string>> keys = LockKeys(*sy, "synchronization");
  if (!keys.ok()) return fail("Error", std::string(keys.status().message()));
  if (keys->empty()) return nullptr;
  const bool waited = node != nullptr && node->contains("synchronizationStatus");
  if (waited && ShutdownBlocks(opts.on_exit)) return fail("Failed", ShutdownMessage());
  if (waited && deadline_exceeded_ && !opts.on_exit) {
    return fail("Failed", "Step exceeded its deadline");
  }
  LockOutcome lo = AcquireLocks(LockHolder(Id(node_name)), *keys);
  if (lo.kind == LockOutcome::kFailed) return fail("Error", lo.message);
  if (lo.kind == LockOutcome::kWaiting) {
    if (node == nullptr) {
      node = &InitNode(node_name, node_type, "", opts.boundary_id, "Pending", lo.message, &r);
      // The node exists before its Execute* runs, so it gets what they give a new node.
      if (t.contains("inputs") && t["inputs"].is_object() && !t["inputs"].empty()) {
        (*node)["inputs"] = t["inputs"];
      }
      if (node_type == "Pod") StoreTemplate(*node, r.tmpl);
    } else {
      MarkPhase(*node, "Pending", lo.message);
    }
    (*node)["synchronizationStatus"] = {{"waiting", lo.waiting_on}};
    return node;
  }
  if (waited) {
    node->erase("synchronizationStatus");
    // Steps, DAG and Retry nodes start Running; a pod node stays Pending until its pod runs.
    MarkPhase(
        *node,
        node_type == "Pod" || node_type == "Suspend" || node_type == "HTTP" ? "Pending" : "Running",
        "");
  }
  return nullptr;
}

bool Operator::SynchronizeWorkflow(const std::string& phase0, const json& sync) {
  absl::StatusOr<std::vector<std::string>> keys = LockKeys(sync, "spec.synchronization");
  auto end = [&](const std::string& phase, const std::string& message) {
    status_["phase"] = phase;
    status_["message"] = message;
    if (!status_.contains("startedAt")) status_["startedAt"] = now_text_;
    status_["finishedAt"] = now_text_;
    return false;
  };
  if (!keys.ok()) return end("Error", std::string(keys.status().message()));
  if (keys->empty()) return true;
  const bool fresh = phase0.empty() || phase0 == "Pending";
  LockOutcome lo = AcquireLocks(LockHolder(""), *keys);
  if (lo.kind == LockOutcome::kFailed) return end("Failed", lo.message);
  // A workflow being stopped does not wait for its locks: it runs into its shutdown.
  if (lo.kind == LockOutcome::kWaiting && Str(*spec_, "shutdown").empty()) {
    status_["phase"] = fresh ? "Pending" : phase0;
    // Argo starts the clock when the workflow leaves Pending.
    if (fresh) status_.erase("startedAt");
    status_["message"] = lo.message;
    return false;
  }
  if (fresh && status_.contains("message")) status_.erase("message");
  return true;
}

void Operator::SettleLocks(bool workflow_done) {
  auto sync = status_.find("synchronization");
  if (sync == status_.end() && !sync_used_) return;
  std::map<std::string, std::vector<std::string>> released;  // holder -> keys
  if (sync != status_.end() && sync->is_object()) {
    for (const char* kind : {"mutex", "semaphore"}) {
      auto section = sync->find(kind);
      if (section == sync->end() || !section->is_object()) continue;
      auto holding = section->find("holding");
      if (holding == section->end() || !holding->is_array()) continue;
      const bool mutex = kind[0] == 'm';
      // Template-level holders end with their node; the workflow's own with the workflow.
      auto done = [&](const std::string& holder) {
        if (workflow_done) return true;
        const size_t first = holder.find('/');
        const size_t second =
            first == std::string::npos ? std::string::npos : holder.find('/', first + 1);
        if (second == std::string::npos) return false;
        json* n = NodeById(holder.substr(second + 1));
        return n == nullptr || NodeFulfilled(*n);
      };
      json kept = json::array();
      for (json& h : *holding) {
        if (!h.is_object()) continue;
        const std::string key = Str(h, mutex ? "mutex" : "semaphore");
        if (mutex) {
          if (done(Str(h, "holder"))) {
            released[Str(h, "holder")].push_back(key);
          } else {
            kept.push_back(std::move(h));
          }
          continue;
        }
        json holders = json::array();
        for (const json& x : h.value("holders", json::array())) {
          if (!x.is_string()) continue;
          if (done(x.get<std::string>())) {
            released[x.get<std::string>()].push_back(key);
          } else {
            holders.push_back(x);
          }
        }
        if (!holders.empty()) {
          h["holders"] = std::move(holders);
          kept.push_back(std::move(h));
        }
      }
      *holding = std::move(kept);
    }
  }
  // Nodes that stopped waiting without their locks (shutdown, deadline, the workflow's end)
  // leave the queues.
  for (auto& [id, node] : nodes_->get_ref<json::object_t&>()) {
    auto ss = node.find("synchronizationStatus");
    if (ss == node.end()) continue;
    if (!workflow_done && !NodeFulfilled(node)) continue;
    if (ss->is_object() && ss->contains("waiting") && (*ss)["waiting"].is_string()) {
      std::vector<std::string>& keys = released[LockHolder(id)];
      const std::string key = (*ss)["waiting"].get<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
    node.erase(ss);
  }
  for (auto& [holder, keys] : released) {
    out_.lock_releases.push_back(LockRelease{holder, std::move(keys)});
  }
  if (workflow_done) {
    status_.erase("synchronization");
  } else {
    Prune(status_);
  }
}

}  // namespace argonaut::workflow::engine::internal
