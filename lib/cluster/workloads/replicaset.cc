#include "lib/cluster/workloads/replicaset.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "lib/base/status_macros.h"

namespace argonaut::cluster::workloads {
namespace {

int PhaseRank(const Json& pod) {
  const std::string phase = PodPhase(pod);
  if (phase == "Running") return 2;
  if (phase == "Unknown") return 1;
  return 0;  // Pending, or not yet reported
}

int64_t DeletionCost(const Json& pod) {
  const Json* v = FieldPath(pod, {"metadata", "annotations", kPodDeletionCostAnnotation});
  int64_t cost = 0;
  if (v != nullptr && v->is_string() && absl::SimpleAtoi(v->get<std::string>(), &cost)) {
    return cost;
  }
  return 0;
}

absl::Time ReadySince(const Json& pod) {
  const Json* conds = FieldPath(pod, {"status", "conditions"});
  const Json* ready = conds == nullptr ? nullptr : GetCondition(*conds, "Ready");
  if (ready == nullptr) return absl::InfinitePast();
  return TimeField(*ready, "lastTransitionTime").value_or(absl::InfinitePast());
}

absl::Time Created(const Json& pod) {
  const Json* meta = Field(pod, "metadata");
  return meta == nullptr ? absl::InfinitePast()
                         : TimeField(*meta, "creationTimestamp").value_or(absl::InfinitePast());
}

std::string Name(const Json& obj) {
  const Json* meta = Field(obj, "metadata");
  return meta == nullptr ? "" : StrOr(*meta, "name");
}

bool TemplateLabelsPresent(const Json& pod, const Json* template_labels) {
  if (template_labels == nullptr || !template_labels->is_object()) return true;
  const Json* labels = FieldPath(pod, {"metadata", "labels"});
  for (const auto& [k, v] : template_labels->items()) {
    const Json* have = labels == nullptr ? nullptr : Field(*labels, k);
    if (have == nullptr || *have != v) return false;
  }
  return true;
}

}  // namespace

std::vector<const Json*> RankForDeletion(std::vector<const Json*> pods) {
  struct Key {
    bool assigned;
    int phase;
    bool ready;
    int64_t cost;
    absl::Time ready_since;
    int64_t restarts;
    absl::Time created;
    std::string name;
  };
  auto key = [](const Json* p) {
    const Json* node = FieldPath(*p, {"spec", "nodeName"});
    const bool ready = IsPodReady(*p);
    return Key{node != nullptr && node->is_string() && !node->get_ref<const std::string&>().empty(),
               PhaseRank(*p),
               ready,
               DeletionCost(*p),
               ready ? ReadySince(*p) : absl::InfinitePast(),
               PodRestarts(*p),
               Created(*p),
               Name(*p)};
  };
  auto before = [](const Key& a, const Key& b) {
    if (a.assigned != b.assigned) return !a.assigned;
    if (a.phase != b.phase) return a.phase < b.phase;
    if (a.ready != b.ready) return !a.ready;
    if (a.cost != b.cost) return a.cost < b.cost;
    if (a.ready && a.ready_since != b.ready_since) return a.ready_since > b.ready_since;
    if (a.restarts != b.restarts) return a.restarts > b.restarts;
    if (a.created != b.created) return a.created > b.created;
    return a.name < b.name;
  };
  std::vector<std::pair<Key, const Json*>> keyed;
  keyed.reserve(pods.size());
  for (const Json* p : pods) keyed.emplace_back(key(p), p);
  std::sort(keyed.begin(), keyed.end(),
            [&](const auto& a, const auto& b) { return before(a.first, b.first); });
  for (size_t i = 0; i < keyed.size(); ++i) pods[i] = keyed[i].second;
  return pods;
}

std::vector<std::string> ChooseVictims(const std::vector<const Json*>& pods, int n) {
  std::vector<std::string> out;
  for (const Json* p : RankForDeletion(pods)) {
    if (static_cast<int>(out.size()) >= n) break;
    out.push_back(Name(*p));
  }
  return out;
}

absl::StatusOr<ReplicaSetDecision> ReconcileReplicaSet(const Json& rs,
                                                       const std::vector<Json>& pods,
                                                       absl::Time now, const RandomSource& rand) {
  const Json* meta = Field(rs, "metadata");
  if (meta == nullptr || !meta->is_object()) {
    return absl::InvalidArgumentError("metadata: required");
  }
  const Json* spec = Field(rs, "spec");
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  ASSIGN_OR_RETURN(const int32_t replicas, Int32Field(*spec, "replicas", 1, "spec.replicas"));
  if (replicas < 0) return absl::InvalidArgumentError("spec.replicas: must be non-negative");
  ASSIGN_OR_RETURN(const int32_t min_ready,
                   Int32Field(*spec, "minReadySeconds", 0, "spec.minReadySeconds"));
  const Json* selector = Field(*spec, "selector");
  if (selector == nullptr) return absl::InvalidArgumentError("spec.selector: required");
  const Json* tmpl = Field(*spec, "template");
  if (tmpl == nullptr) return absl::InvalidArgumentError("spec.template: required");
  const Json* template_labels = FieldPath(*tmpl, {"metadata", "labels"});

  std::vector<const Json*> active;
  for (const Json& pod : pods) {
    if (!IsControlledBy(pod, rs) || !IsPodActive(pod)) continue;
    static const Json kNoLabels = Json::object();
    const Json* labels = FieldPath(pod, {"metadata", "labels"});
    ASSIGN_OR_RETURN(bool match,
                     SelectorMatches(*selector, labels ? *labels : kNoLabels, "spec.selector"));
    if (match) active.push_back(&pod);
  }

  ReplicaSetDecision out;
  const int diff = static_cast<int>(active.size()) - replicas;
  if (!IsTerminating(rs)) {
    if (diff < 0) {
      const int n = std::min(-diff, kMaxPodChangesPerSync);
      for (int i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(Json pod, PodFromTemplate(rs, *tmpl, rand));
        out.pods_to_create.push_back(std::move(pod));
      }
    } else if (diff > 0) {
      out.pods_to_delete = ChooseVictims(active, std::min(diff, kMaxPodChangesPerSync));
    }
  }

  int64_t ready = 0, available = 0, labeled = 0;
  std::optional<absl::Time> next_available;
  for (const Json* pod : active) {
    if (TemplateLabelsPresent(*pod, template_labels)) ++labeled;
    if (!IsPodReady(*pod)) continue;
    ++ready;
    if (IsPodAvailable(*pod, min_ready, now)) {
      ++available;
    } else if (absl::Time since = ReadySince(*pod); since != absl::InfinitePast()) {
      const absl::Time at = since + absl::Seconds(min_ready);
      if (!next_available || at < *next_available) next_available = at;
    }
  }
  Json status = {{"replicas", active.size()},
                 {"fullyLabeledReplicas", labeled},
                 {"readyReplicas", ready},
                 {"availableReplicas", available},
                 {"observedGeneration", IntOr(*meta, "generation", 0)}};
  if (const Json* conds = FieldPath(rs, {"status", "conditions"})) status["conditions"] = *conds;
  out.status = std::move(status);
  if (next_available) out.requeue_after = std::max(absl::ZeroDuration(), *next_available - now);
  return out;
}

}  // namespace argonaut::cluster::workloads
