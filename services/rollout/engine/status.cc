// The parts of the status every strategy shares: pause conditions, abort, conditions, replica
// counts, and the phase/message by Argo's CalculateRolloutPhase order.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

constexpr char kProgressing[] = "Progressing";

std::string SelectorString(const Json& selector, const std::string& hash) {
  std::vector<std::string> parts;
  if (const Json* labels = wl::Field(selector, "matchLabels"); labels != nullptr) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (it.key() == kPodTemplateHashLabel) continue;
      parts.push_back(
          absl::StrCat(it.key(), "=",
                       it.value().is_string() ? it.value().get<std::string>() : it.value().dump()));
    }
  }
  if (!hash.empty()) parts.push_back(absl::StrCat(kPodTemplateHashLabel, "=", hash));
  return absl::StrJoin(parts, ",");
}

// Replaces the condition, stamping lastUpdateTime (a progress deadline restarts from it).
void Touch(Json& conds, std::string_view type, std::string_view status, std::string_view reason,
           std::string_view message, absl::Time now) {
  std::string transition = wl::FormatK8sTime(now);
  if (const Json* cur = wl::GetCondition(conds, type); cur != nullptr) {
    if (wl::StrOr(*cur, "status") == status)
      transition = wl::StrOr(*cur, "lastTransitionTime", transition);
  }
  wl::RemoveCondition(conds, type);
  conds.push_back({{"type", type},
                   {"status", status},
                   {"reason", reason},
                   {"message", message},
                   {"lastTransitionTime", transition},
                   {"lastUpdateTime", wl::FormatK8sTime(now)}});
}

void Set(Json& conds, std::string_view type, std::string_view status, std::string_view reason,
         std::string_view message, absl::Time now) {
  const Json* cur = wl::GetCondition(conds, type);
  if (cur != nullptr && wl::StrOr(*cur, "status") == status &&
      wl::StrOr(*cur, "reason") == reason && wl::StrOr(*cur, "message") == message) {
    return;
  }
  Touch(conds, type, status, reason, message, now);
}

}  // namespace

bool Ctx::HasPause(std::string_view reason) const { return FindPause(reason) != nullptr; }

const PauseCond* Ctx::FindPause(std::string_view reason) const {
  for (const PauseCond& p : pause) {
    if (p.reason == reason) return &p;
  }
  return nullptr;
}

void Ctx::AddPause(std::string_view reason) {
  if (HasPause(reason)) return;
  pause.push_back({std::string(reason), wl::FormatK8sTime(in.now)});
  Event("Normal", "RolloutPaused", absl::StrCat("Rollout is paused (", std::string(reason), ")"));
}

void Ctx::RemovePause(std::string_view reason) {
  std::vector<PauseCond> kept;
  for (PauseCond& p : pause) {
    if (p.reason != reason) kept.push_back(std::move(p));
  }
  pause = std::move(kept);
}

void Ctx::Requeue(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  if (!requeue.has_value() || d < *requeue) requeue = d;
}

void Ctx::Event(std::string type, std::string reason, std::string message) {
  out.events.push_back({std::move(type), std::move(reason), std::move(message)});
}

void Ctx::Abort(std::string message) {
  if (aborted) return;
  aborted = true;
  status["abort"] = true;
  abort_message = absl::StrCat("Rollout aborted update to revision ", new_revision, ": ", message);
  Event("Warning", "RolloutAborted", abort_message);
}

const Run* Ctx::FindRun(std::string_view name) const {
  for (const Run& r : runs) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void PromoteStable(Ctx& c, std::string_view reason) {
  c.pause.clear();
  c.aborted = false;
  c.status.erase("abort");
  c.status.erase("abortedAt");
  c.status.erase("promoteFull");
  if (c.status.contains("blueGreen") && c.status["blueGreen"].is_object()) {
    c.status["blueGreen"].erase("scaleUpPreviewCheckPoint");
  }
  if (c.spec.canary) {
    if (c.spec.steps.empty()) {
      c.status.erase("currentStepIndex");
    } else {
      c.status["currentStepIndex"] = static_cast<int>(c.spec.steps.size());
    }
  }
  if (c.StableHash() == c.new_hash) return;
  c.status["stableRS"] = c.new_hash;
  c.stable_rs = c.new_rs;
  c.progress = true;
  c.Event("Normal", "RolloutCompleted",
          absl::StrCat("Rollout completed update to revision ", c.new_revision, " (", c.new_hash,
                       "): ", std::string(reason)));
}

bool ProgressTimedOut(const Ctx& c) {
  if (c.spec.paused || !c.pause.empty() || c.aborted) return false;
  // Steps that wait on something other than pods (Argo's isIndefiniteStep), and blue-green
  // analysis, are not progress failures however long they take.
  if (c.spec.canary) {
    const int idx = c.status.value("currentStepIndex", 0);
    if (idx >= 0 && idx < static_cast<int>(c.spec.steps.size())) {
      const Step::Kind k = c.spec.steps[idx].kind;
      if (k == Step::Kind::kAnalysis || k == Step::Kind::kExperiment || k == Step::Kind::kPause) {
        return false;
      }
    }
  } else {
    for (const auto& field : {kPreRun, kPostRun}) {
      if (!c.status.contains(field) || !c.status[field].is_object()) continue;
      if (!RunCompleted(c.status[field].value("status", ""))) return false;
    }
  }
  const Json conds = c.prev.value("conditions", Json::array());
  const Json* cond = wl::GetCondition(conds, kProgressing);
  if (cond == nullptr) return false;
  const std::string reason = wl::StrOr(*cond, "reason");
  if (reason == "ProgressDeadlineExceeded") return true;
  if (wl::StrOr(*cond, "status") != "True" || reason == "NewReplicaSetAvailable") return false;
  auto last = wl::TimeField(*cond, "lastUpdateTime");
  return last.has_value() && c.in.now > *last + absl::Seconds(c.spec.progress_deadline_seconds);
}

Json InvalidSpecStatus(const RolloutInput& in, std::string_view message) {
  const Json* prev = wl::Field(in.rollout, "status");
  Json status = prev != nullptr && prev->is_object() ? *prev : Json::object();
  const Json* meta = wl::Field(in.rollout, "metadata");
  const std::string name = meta == nullptr ? "" : wl::StrOr(*meta, "name");
  const std::string text =
      absl::StrCat("The Rollout \"", name, "\" is invalid: ", std::string(message));
  Json conds = status.value("conditions", Json::array());
  if (!conds.is_array()) conds = Json::array();
  Set(conds, "InvalidSpec", "True", "InvalidSpec", text, in.now);
  status["conditions"] = std::move(conds);
  status["phase"] = "Degraded";
  status["message"] = absl::StrCat("InvalidSpec: ", text);
  if (meta != nullptr)
    status["observedGeneration"] = absl::StrCat(wl::IntOr(*meta, "generation", 0));
  return status;
}

std::string RolloutPhaseMessage(const Json& status, const Spec& spec, std::string* message) {
  const Json conds = status.value("conditions", Json::array());
  if (const Json* inv = wl::GetCondition(conds, "InvalidSpec");
      inv != nullptr && wl::StrOr(*inv, "status") == "True") {
    *message = absl::StrCat("InvalidSpec: ", wl::StrOr(*inv, "message"));
    return "Degraded";
  }
  for (const Json& cond : conds) {
    const std::string reason = wl::StrOr(cond, "reason");
    if (reason == "RolloutAborted" || reason == "ProgressDeadlineExceeded") {
      *message = absl::StrCat(reason, ": ", wl::StrOr(cond, "message"));
      return "Degraded";
    }
  }
  if (spec.paused) {
    *message = "manually paused";
    return "Paused";
  }
  const Json pauses = status.value("pauseConditions", Json::array());
  if (pauses.is_array() && !pauses.empty()) {
    *message = wl::StrOr(pauses[0], "reason");
    return "Paused";
  }
  const int64_t updated = wl::IntOr(status, "updatedReplicas", 0);
  const int64_t available = wl::IntOr(status, "availableReplicas", 0);
  if (updated < spec.replicas) {
    *message = "more replicas need to be updated";
    return "Progressing";
  }
  if (available < updated) {
    *message = "updated replicas are still becoming available";
    return "Progressing";
  }
  const std::string current = wl::StrOr(status, "currentPodHash");
  const bool promoted = !current.empty() && wl::StrOr(status, "stableRS") == current;
  if (!spec.canary) {
    const Json* active = wl::FieldPath(status, {"blueGreen", "activeSelector"});
    if (active == nullptr || !active->is_string() || active->get<std::string>() != current) {
      *message = "active service cutover pending";
      return "Progressing";
    }
    if (!promoted) {
      *message = spec.post_promotion_analysis.is_null()
                     ? "waiting for analysis to complete"
                     : "waiting for post-promotion verification to complete";
      return "Progressing";
    }
  } else {
    if (!spec.traffic_routing && wl::IntOr(status, "replicas", 0) > updated) {
      *message = "old replicas are pending termination";
      return "Progressing";
    }
    if (!promoted) {
      *message = "waiting for all steps to complete";
      return "Progressing";
    }
  }
  message->clear();
  return "Healthy";
}

void FinishStatus(Ctx& c) {
  Json& st = c.status;
  const absl::Time now = c.in.now;
  // Pause and abort.
  if (c.pause.empty()) {
    st.erase("pauseConditions");
  } else {
    Json list = Json::array();
    for (const PauseCond& p : c.pause)
      list.push_back({{"reason", p.reason}, {"startTime", p.start_time}});
    st["pauseConditions"] = std::move(list);
    st["controllerPause"] = true;
  }
  // A manual pause holds the "user resumed" signal until the rollout runs again.
  if (c.pause.empty() && c.spec.paused && c.prev_controller_pause) st["controllerPause"] = true;
  if (c.aborted) {
    st["abort"] = true;
    if (!st.contains("abortedAt")) st["abortedAt"] = wl::FormatK8sTime(now);
  } else {
    st.erase("abort");
    st.erase("abortedAt");
  }

  // Replica counts from the ReplicaSets' own status.
  int64_t replicas = 0, ready = 0, available = 0;
  for (const Rs& rs : c.rss) {
    replicas += rs.replicas;
    ready += rs.ready;
    available += rs.available;
  }
  const Rs* n = c.new_rs < 0 ? nullptr : &c.rss[c.new_rs];
  std::string selector_hash;
  if (!c.spec.canary) {
    const std::string active = st["blueGreen"].value("activeSelector", "");
    available = 0;
    for (const Rs& rs : c.rss) {
      if (rs.hash == active) available = rs.available;
    }
    selector_hash = active;
  }
  st["replicas"] = replicas;
  st["updatedReplicas"] = n == nullptr ? 0 : n->replicas;
  st["readyReplicas"] = ready;
  st["availableReplicas"] = available;
  st["HPAReplicas"] = replicas;
  st["selector"] = SelectorString(c.spec.selector, selector_hash);
  for (const char* k : {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"}) {
    if (wl::IntOr(c.prev, k, -1) != wl::IntOr(st, k, -1)) c.progress = true;
  }

  // Conditions.
  Json conds = st.value("conditions", Json::array());
  if (!conds.is_array()) conds = Json::array();
  wl::RemoveCondition(conds, "InvalidSpec");
  const std::string rs_name = n == nullptr ? "" : n->name;
  const bool paused = c.spec.paused || !c.pause.empty();
  const bool complete = c.FullyPromoted() && n != nullptr && n->available >= c.spec.replicas &&
                        replicas == n->replicas;
  if (available >= c.spec.replicas) {
    Set(conds, "Available", "True", "AvailableReason", "Rollout has minimum availability", now);
  } else {
    Set(conds, "Available", "False", "AvailableReason",
        "Rollout does not have minimum availability", now);
  }
  const Json* progressing = wl::GetCondition(conds, kProgressing);
  if (c.aborted) {
    const bool already =
        progressing != nullptr && wl::StrOr(*progressing, "reason") == "RolloutAborted";
    if (!c.abort_message.empty() || !already) {
      Set(conds, kProgressing, "False", "RolloutAborted",
          c.abort_message.empty()
              ? absl::StrCat("Rollout aborted update to revision ", c.new_revision)
              : c.abort_message,
          now);
    }
  } else if (paused) {
    Set(conds, kProgressing, "Unknown", "RolloutPaused", "Rollout is paused", now);
  } else if (complete) {
    Set(conds, kProgressing, "True", "NewReplicaSetAvailable",
        absl::StrCat("ReplicaSet \"", rs_name, "\" has successfully progressed."), now);
  } else if (ProgressTimedOut(c) && !c.progress) {
    Set(conds, kProgressing, "False", "ProgressDeadlineExceeded",
        absl::StrCat("ReplicaSet \"", rs_name, "\" has timed out progressing."), now);
  } else {
    const bool fresh = progressing == nullptr ||
                       wl::StrOr(*progressing, "reason") != "ReplicaSetUpdated" ||
                       wl::StrOr(*progressing, "status") != "True";
    if (c.progress || fresh) {
      Touch(conds, kProgressing, "True", "ReplicaSetUpdated",
            absl::StrCat("ReplicaSet \"", rs_name, "\" is progressing."), now);
    }
    if (const Json* p = wl::GetCondition(conds, kProgressing)) {
      if (auto last = wl::TimeField(*p, "lastUpdateTime")) {
        c.Requeue(*last + absl::Seconds(c.spec.progress_deadline_seconds) - now + absl::Seconds(1));
      }
    }
  }
  if (paused) {
    Set(conds, "Paused", "True", "RolloutPaused", "Rollout is paused", now);
  } else if (wl::GetCondition(conds, "Paused") != nullptr) {
    Set(conds, "Paused", "False", "RolloutResumed", "Rollout is resumed", now);
  }
  if (c.FullyPromoted()) {
    Set(conds, "Completed", "True", "RolloutCompleted",
        absl::StrCat("Rollout completed update to revision ", c.new_revision, " (", c.new_hash,
                     ")"),
        now);
  } else {
    Set(conds, "Completed", "False", "RolloutNotCompleted",
        absl::StrCat("Rollout not completed, started update to revision ", c.new_revision, " (",
                     c.new_hash, ")"),
        now);
  }
  st["conditions"] = conds;
  std::string message;
  std::string phase = RolloutPhaseMessage(st, c.spec, &message);
  if (c.restarting && phase != "Degraded" && phase != "Paused") {
    phase = "Progressing";  // CalculateRolloutPhase checks the restart before the replicas
    message = "rollout is restarting";
  }
  if (phase == "Healthy") {
    Set(conds, "Healthy", "True", "RolloutHealthy", "Rollout is healthy", now);
  } else {
    Set(conds, "Healthy", "False", "RolloutHealthy", "Rollout is not healthy", now);
  }
  st["conditions"] = std::move(conds);
  st["phase"] = phase;
  if (message.empty()) {
    st.erase("message");
  } else {
    st["message"] = message;
  }
}

}  // namespace argonaut::rollout::engine
