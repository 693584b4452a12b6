// The rollout's ReplicaSets: one per pod-template hash, revisions, scale-down deadlines and the
// revisionHistoryLimit clean-up.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/pod_template.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

constexpr int kMaxCollisionRetries = 16;

int32_t Int32Of(const Json& obj, std::string_view key) {
  return static_cast<int32_t>(wl::IntOr(obj, key, 0));
}

Json WithoutHash(const Json& tmpl) {
  Json t = tmpl;
  if (t.is_object() && t.contains("metadata") && t["metadata"].is_object() &&
      t["metadata"].contains("labels") && t["metadata"]["labels"].is_object()) {
    t["metadata"]["labels"].erase(kPodTemplateHashLabel);
    if (t["metadata"]["labels"].empty()) t["metadata"].erase("labels");
    if (t["metadata"].empty()) t.erase("metadata");
  }
  return t;
}

std::string RevisionText(const Rs& rs) { return absl::StrCat(rs.revision); }

}  // namespace

Rs MakeRsView(const Json& obj) {
  Rs rs;
  rs.obj = obj;
  const Json* meta = wl::Field(obj, "metadata");
  static const Json kEmpty = Json::object();
  const Json& m = meta == nullptr ? kEmpty : *meta;
  rs.name = wl::StrOr(m, "name");
  const Json* labels = wl::Field(m, "labels");
  if (labels != nullptr) rs.hash = wl::StrOr(*labels, kPodTemplateHashLabel);
  const Json* spec = wl::Field(obj, "spec");
  rs.spec = spec == nullptr ? 0 : Int32Of(*spec, "replicas");
  rs.observed_spec = rs.spec;
  const Json* st = wl::Field(obj, "status");
  if (st != nullptr) {
    rs.replicas = Int32Of(*st, "replicas");
    rs.ready = Int32Of(*st, "readyReplicas");
    rs.available = Int32Of(*st, "availableReplicas");
  }
  const Json* ann = wl::Field(m, "annotations");
  if (ann != nullptr) {
    int64_t rev = 0;
    if (absl::SimpleAtoi(wl::StrOr(*ann, kRevisionAnnotation), &rev)) rs.revision = rev;
    const std::string deadline = wl::StrOr(*ann, kScaleDownDeadlineAnnotation);
    if (!deadline.empty()) {
      auto t = wl::ParseK8sTime(deadline);
      if (t.ok()) rs.deadline = *t;
    }
  }
  if (auto t = wl::TimeField(m, "creationTimestamp")) rs.created = *t;
  return rs;
}

void SetDeadline(Rs& rs, std::optional<absl::Time> deadline) {
  if (rs.deadline == deadline) return;
  rs.deadline = deadline;
  rs.annotations_changed = true;
  Json& meta = rs.obj["metadata"];
  if (!meta["annotations"].is_object()) meta["annotations"] = Json::object();
  if (deadline.has_value()) {
    meta["annotations"][kScaleDownDeadlineAnnotation] = wl::FormatK8sTime(*deadline);
  } else {
    meta["annotations"].erase(kScaleDownDeadlineAnnotation);
  }
}

void SetRevision(Rs& rs, int64_t revision) {
  if (rs.revision == revision) return;
  rs.revision = revision;
  rs.annotations_changed = true;
  Json& meta = rs.obj["metadata"];
  if (!meta["annotations"].is_object()) meta["annotations"] = Json::object();
  meta["annotations"][kRevisionAnnotation] = absl::StrCat(revision);
}

int64_t MaxRevision(const Ctx& c) {
  int64_t max = 0;
  for (const Rs& rs : c.rss) max = std::max(max, rs.revision);
  return max;
}

absl::Status LoadReplicaSets(Ctx& c) {
  for (const Json& obj : c.in.replica_sets) {
    if (wl::IsTerminating(obj)) continue;
    c.rss.push_back(MakeRsView(obj));
  }
  const Json tmpl = WithoutHash(c.spec.pod_template);
  std::optional<int32_t> collisions;
  if (c.prev.contains("collisionCount") && c.prev["collisionCount"].is_number_integer()) {
    collisions = c.prev["collisionCount"].get<int32_t>();
  }
  for (int attempt = 0;; ++attempt) {
    if (attempt >= kMaxCollisionRetries) {
      return absl::InternalError(absl::StrCat("ReplicaSet name for Rollout ", c.spec.name,
                                              " collides after ", attempt, " attempts"));
    }
    ASSIGN_OR_RETURN(c.new_hash, wl::ComputeTemplateHash(tmpl, collisions));
    const std::string name = wl::ReplicaSetName(c.spec.name, c.new_hash);
    bool collided = false;
    for (size_t i = 0; i < c.rss.size(); ++i) {
      if (c.rss[i].hash == c.new_hash) {
        c.new_rs = static_cast<int>(i);
      } else if (c.rss[i].name == name) {
        collided = true;  // a ReplicaSet of another template holds the name
      }
    }
    if (!collided) break;
    c.new_rs = -1;
    collisions = collisions.value_or(0) + 1;
  }
  if (collisions.has_value()) c.status["collisionCount"] = *collisions;

  const std::string stable = c.prev.value("stableRS", "");
  for (size_t i = 0; i < c.rss.size(); ++i) {
    if (!stable.empty() && c.rss[i].hash == stable) c.stable_rs = static_cast<int>(i);
  }

  const int64_t max_revision = MaxRevision(c);
  if (c.new_rs < 0) {
    Json t = c.spec.pod_template;
    t["metadata"]["labels"][kPodTemplateHashLabel] = c.new_hash;
    Json selector = c.spec.selector;
    selector["matchLabels"][kPodTemplateHashLabel] = c.new_hash;
    Json owner = c.in.rollout;
    if (wl::StrOr(owner, "apiVersion").empty()) owner["apiVersion"] = "argoproj.io/v1alpha1";
    if (wl::StrOr(owner, "kind").empty()) owner["kind"] = "Rollout";
    Json meta = {{"name", wl::ReplicaSetName(c.spec.name, c.new_hash)},
                 {"labels", t["metadata"]["labels"]},
                 {"annotations", {{kRevisionAnnotation, absl::StrCat(max_revision + 1)}}},
                 {"ownerReferences", Json::array({wl::MakeControllerRef(owner)})}};
    if (!c.spec.ns.empty()) meta["namespace"] = c.spec.ns;
    Json obj = {{"apiVersion", "apps/v1"},
                {"kind", "ReplicaSet"},
                {"metadata", meta},
                {"spec",
                 {{"replicas", 0},
                  {"minReadySeconds", c.spec.min_ready_seconds},
                  {"selector", selector},
                  {"template", t}}},
                {"status", {{"replicas", 0}}}};
    Rs rs = MakeRsView(obj);
    rs.is_new_object = true;
    rs.created = c.in.now;
    c.rss.push_back(std::move(rs));
    c.new_rs = static_cast<int>(c.rss.size()) - 1;
    c.progress = true;
    c.Event("Normal", "NewReplicaSetCreated",
            absl::StrCat("Created ReplicaSet ", c.rss.back().name, " (revision ", max_revision + 1,
                         ")"));
  } else {
    // Going back to an older template re-uses its ReplicaSet as the newest revision.
    Rs& n = c.rss[c.new_rs];
    bool behind = n.revision == 0;
    for (size_t i = 0; i < c.rss.size(); ++i) {
      if (static_cast<int>(i) != c.new_rs && c.rss[i].revision >= n.revision) behind = true;
    }
    if (behind) SetRevision(n, max_revision + 1);
  }
  c.new_revision = c.rss[c.new_rs].revision;
  return absl::OkStatus();
}

void ScaleRs(Ctx& c, Rs& rs, int32_t replicas) {
  if (rs.spec == replicas) return;
  if (!rs.is_new_object) {
    c.Event("Normal", "ScalingReplicaSet",
            absl::StrCat("Scaled ", replicas > rs.spec ? "up" : "down", " ReplicaSet ", rs.name,
                         " (revision ", RevisionText(rs), ") from ", rs.spec, " to ", replicas));
  }
  rs.spec = replicas;
  c.progress = true;
}

void ScaleDownOthers(Ctx& c, bool with_delay, int32_t max_scale_down) {
  std::set<std::string> referenced = {c.new_hash, c.StableHash()};
  const Json& bg = c.status.value("blueGreen", Json::object());
  referenced.insert(bg.value("activeSelector", ""));
  referenced.insert(bg.value("previewSelector", ""));
  // The versions that served before this call: they keep running for scaleDownDelaySeconds.
  std::set<std::string> previously_serving = {c.prev.value("stableRS", "")};
  if (c.prev.contains("blueGreen") && c.prev["blueGreen"].is_object()) {
    previously_serving.insert(c.prev["blueGreen"].value("activeSelector", ""));
  }
  std::vector<Rs*> others;
  for (Rs& rs : c.rss) {
    if (referenced.count(rs.hash) == 0) others.push_back(&rs);
  }
  std::sort(others.begin(), others.end(), [](const Rs* a, const Rs* b) {
    if (a->created != b->created) return a->created < b->created;
    return a->name < b->name;
  });
  // scaleDownDelayRevisionLimit: the newest revisions keep their delay, up to the limit; the
  // older ones go down now.
  std::set<const Rs*> over_limit;
  if (with_delay && c.spec.scale_down_delay_revision_limit.has_value()) {
    std::vector<Rs*> newest = others;
    std::stable_sort(newest.begin(), newest.end(),
                     [](const Rs* a, const Rs* b) { return a->revision > b->revision; });
    int32_t delayed = 0;
    for (const Rs* rs : newest) {
      if (rs->spec == 0) continue;
      const bool in_delay = rs->deadline.has_value() ? c.in.now < *rs->deadline
                                                     : previously_serving.count(rs->hash) > 0 &&
                                                           c.spec.scale_down_delay_seconds > 0;
      if (!in_delay) continue;
      if (delayed >= *c.spec.scale_down_delay_revision_limit) {
        over_limit.insert(rs);
      } else {
        ++delayed;
      }
    }
  }
  for (Rs* rs : others) {
    if (rs->spec == 0) {
      SetDeadline(*rs, std::nullopt);
      continue;
    }
    if (max_scale_down == 0) break;
    int32_t desired = 0;
    if (with_delay && over_limit.count(rs) == 0) {
      if (rs->deadline.has_value()) {
        if (c.in.now < *rs->deadline) {
          desired = rs->spec;
          c.Requeue(*rs->deadline - c.in.now);
        }
      } else if (previously_serving.count(rs->hash) > 0 && c.spec.scale_down_delay_seconds > 0) {
        const absl::Duration delay = absl::Seconds(c.spec.scale_down_delay_seconds);
        SetDeadline(*rs, c.in.now + delay);
        desired = rs->spec;
        c.Requeue(delay);
      }
    }
    if (desired == rs->spec) continue;
    if (max_scale_down > 0 && rs->spec - desired > max_scale_down) {
      desired = rs->spec - max_scale_down;
    }
    if (max_scale_down > 0) max_scale_down -= rs->spec - desired;
    if (desired == 0) SetDeadline(*rs, std::nullopt);
    ScaleRs(c, *rs, desired);
  }
}

void AbortScaleDown(Ctx& c) {
  Rs* rs = c.NewRs();
  if (rs == nullptr || rs->spec == 0 || c.FullyPromoted()) return;
  // 0 keeps the aborted version running (Argo: never scale it down).
  if (c.spec.abort_scale_down_delay_seconds == 0) return;
  if (!rs->deadline.has_value()) {
    const absl::Duration delay = absl::Seconds(c.spec.abort_scale_down_delay_seconds);
    SetDeadline(*rs, c.in.now + delay);
    c.Requeue(delay);
    return;
  }
  if (c.in.now < *rs->deadline) {
    c.Requeue(*rs->deadline - c.in.now);
    return;
  }
  ScaleRs(c, *rs, 0);
}

void CollectReplicaSetActions(Ctx& c) {
  std::vector<const Rs*> history;
  for (Rs& rs : c.rss) {
    if (rs.is_new_object) {
      rs.obj["spec"]["replicas"] = rs.spec;
      c.out.replica_sets_to_create.push_back(rs.obj);
      continue;
    }
    if (rs.spec != rs.observed_spec || rs.annotations_changed) {
      Json obj = rs.obj;
      obj["spec"]["replicas"] = rs.spec;
      c.out.replica_sets_to_update.push_back(std::move(obj));
      continue;
    }
    if (static_cast<int>(&rs - c.rss.data()) == c.new_rs ||
        static_cast<int>(&rs - c.rss.data()) == c.stable_rs) {
      continue;
    }
    if (rs.spec == 0 && rs.replicas == 0) history.push_back(&rs);
  }
  // revisionHistoryLimit: keep the newest scaled-down revisions, delete the rest.
  std::sort(history.begin(), history.end(),
            [](const Rs* a, const Rs* b) { return a->revision > b->revision; });
  for (size_t i = c.spec.revision_history_limit; i < history.size(); ++i) {
    c.out.replica_sets_to_delete.push_back(history[i]->name);
  }
}

}  // namespace argonaut::rollout::engine
