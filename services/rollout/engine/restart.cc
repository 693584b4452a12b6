// spec.restartAt (Argo's rollout/restart.go): pods created before restartAt are evicted, the
// stable ReplicaSet's first, then the current one's, then older ReplicaSets' oldest first, with
// never more than the strategy's maxUnavailable (at least 1) pods unavailable across all
// ReplicaSets; once none is left status.restartedAt = restartAt.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace wl = ::argonaut::cluster::workloads;

void ReconcileRestart(Ctx& c, bool template_changed) {
  if (!c.spec.restart_at.has_value()) return;
  const absl::Time at = *c.spec.restart_at;
  if (const Json* done = wl::Field(c.status, "restartedAt"); done != nullptr && done->is_string()) {
    absl::StatusOr<absl::Time> t = wl::ParseK8sTime(done->get<std::string>());
    if (t.ok() && *t >= at) return;
  }
  if (c.in.now < at) {
    c.Requeue(at - c.in.now);
    return;
  }
  const std::string at_text = wl::FormatK8sTime(at);
  if (template_changed) {
    c.status["restartedAt"] = at_text;
    return;
  }

  // Stable first, then the current revision, then the others oldest first.
  std::vector<int> order;
  if (c.stable_rs >= 0) order.push_back(c.stable_rs);
  if (c.new_rs >= 0 && c.new_rs != c.stable_rs) order.push_back(c.new_rs);
  std::vector<int> rest;
  for (int i = 0; i < static_cast<int>(c.rss.size()); ++i) {
    if (i != c.stable_rs && i != c.new_rs) rest.push_back(i);
  }
  std::stable_sort(rest.begin(), rest.end(),
                   [&](int a, int b) { return c.rss[a].created < c.rss[b].created; });
  order.insert(order.end(), rest.begin(), rest.end());

  std::map<int, std::vector<std::pair<absl::Time, std::string>>> old_pods;  // by RS index
  std::vector<int> available_pods(c.rss.size(), 0);
  for (const Json& pod : c.in.pods) {
    const int owner = PodOwnerIndex(c, pod);
    if (owner < 0 || c.rss[owner].observed_spec == 0) continue;  // going away anyway
    if (wl::IsTerminating(pod)) continue;
    if (wl::IsPodAvailable(pod, c.spec.min_ready_seconds, c.in.now)) ++available_pods[owner];
    const Json* meta = wl::Field(pod, "metadata");
    std::optional<absl::Time> created =
        meta == nullptr ? std::nullopt : wl::TimeField(*meta, "creationTimestamp");
    if (!created.has_value() || *created >= at) continue;
    old_pods[owner].emplace_back(*created, wl::StrOr(*meta, "name"));
  }
  if (old_pods.empty()) {
    c.status["restartedAt"] = at_text;
    c.Event("Normal", "RolloutRestarted",
            absl::StrCat("All pods created before ", at_text, " restarted"));
    return;
  }
  // The pods as listed now count as much as the ReplicaSets' status: a pod evicted by the
  // previous pass may not show in its ReplicaSet's availableReplicas yet.
  int unavailable = 0;
  for (size_t i = 0; i < c.rss.size(); ++i) {
    const Rs& rs = c.rss[i];
    if (rs.is_new_object) continue;
    unavailable +=
        std::max({0, rs.observed_spec - rs.available, rs.observed_spec - available_pods[i]});
  }
  c.restarting = true;
  int budget = c.spec.restart_max_unavailable - unavailable;
  for (int idx : order) {
    auto it = old_pods.find(idx);
    if (it == old_pods.end()) continue;
    std::sort(it->second.begin(), it->second.end());
    for (const auto& [created, name] : it->second) {
      if (budget <= 0) return;
      c.out.pods_to_evict.push_back(name);
      c.Event("Normal", "RestartingPod",
              absl::StrCat("Evicting pod ", name, " of ReplicaSet ", c.rss[idx].name,
                           " (created before restartAt ", at_text, ")"));
      --budget;
    }
  }
}

}  // namespace argonaut::rollout::engine
