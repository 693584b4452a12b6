#include "services/cd/sync_runner.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "services/cd/engine/diff.h"

namespace argonaut::cd {
namespace {

using nlohmann::json;

// The live object's controllers (a Deployment's status, while it scales)
// write it too: a write that lost that race is tried again, as kubectl
// apply does on a conflict.
constexpr int kConflictRetries = 10;

absl::Status ExecuteOnce(cluster::Cluster& cluster, const engine::SyncAction& action) {
  using Type = engine::SyncAction::Type;
  switch (action.type) {
    case Type::kApply:
      return cluster.Apply(engine::WithLastApplied(action.object)).status();
    case Type::kCreate:
      return cluster.Create(action.object).status();
    case Type::kReplace: {
      absl::StatusOr<json> live = cluster.Get(action.key.kind, action.key.ns, action.key.name);
      if (absl::IsNotFound(live.status())) return cluster.Create(action.object).status();
      if (!live.ok()) return live.status();
      json object = action.object;
      if (object.contains("metadata") && object["metadata"].is_object()) {
        object["metadata"].erase("resourceVersion");
      }
      return cluster.Update(object).status();
    }
    case Type::kDelete: {
      absl::Status s = cluster.Delete(action.key.kind, action.key.ns, action.key.name);
      if (absl::IsNotFound(s)) return absl::OkStatus();
      return s;
    }
  }
  return absl::InternalError("unknown sync action");
}

}  // namespace

absl::Status ExecuteAction(cluster::Cluster& cluster, const engine::SyncAction& action) {
  absl::Status s;
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    s = ExecuteOnce(cluster, action);
    if (!absl::IsAborted(s)) return s;
  }
  return s;
}

int ExecuteActions(cluster::Cluster& cluster, const std::vector<engine::SyncAction>& actions,
                   json& operation_state) {
  int failed = 0;
  for (const engine::SyncAction& action : actions) {
    absl::Status s = ExecuteAction(cluster, action);
    if (s.ok()) continue;
    ++failed;
    engine::RecordActionFailure(operation_state, action, std::string(s.message()));
  }
  return failed;
}

int HistoryLimit(const json& app) {
  if (!app.is_object() || !app.contains("spec") || !app["spec"].is_object()) return 10;
  const json& spec = app["spec"];
  auto it = spec.find("revisionHistoryLimit");
  if (it == spec.end() || !it->is_number_integer()) return 10;
  return std::max(0, it->get<int>());
}

void AppendHistory(json& status, json entry, int limit) {
  if (!status.is_object()) status = json::object();
  json& history = status["history"];
  if (!history.is_array()) history = json::array();
  int64_t max_id = -1;
  for (const json& h : history) {
    if (h.is_object() && h.contains("id") && h["id"].is_number_integer()) {
      max_id = std::max(max_id, h["id"].get<int64_t>());
    }
  }
  entry["id"] = max_id + 1;
  history.push_back(std::move(entry));
  if (limit >= 0 && history.size() > static_cast<size_t>(limit)) {
    history.erase(history.begin(), history.begin() + (history.size() - limit));
  }
}

}  // namespace argonaut::cd
