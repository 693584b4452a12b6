#include "services/rollout/engine/canary_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace argonaut::rollout::engine {
namespace {

absl::StatusOr<int32_t> Scaled(const nlohmann::json& v, int32_t total, bool round_up,
                               const std::string& path) {
  if (v.is_null()) {
    return round_up ? (25 * total + 99) / 100 : 25 * total / 100;
  }
  if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    if (n < 0 || n > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": must be a non-negative integer"));
    }
    return static_cast<int32_t>(n);
  }
  if (!v.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected an integer or a percentage, got ", v.type_name()));
  }
  // Argo reads every string through the deprecated GetValueFromIntOrPercent: "25" is 25%.
  std::string s = v.get<std::string>();
  if (!s.empty() && s.back() == '%') s.pop_back();
  int64_t pct = 0;
  if (s.empty() || s.size() > 9 || !absl::SimpleAtoi(s, &pct) || pct < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": \"", v.get<std::string>(),
                     "\" must be an integer or a percentage such as \"25%\""));
  }
  const int64_t scaled = pct * total;
  return static_cast<int32_t>(round_up ? (scaled + 99) / 100 : scaled / 100);
}

int32_t CeilDiv(int64_t a, int64_t b) { return b <= 0 ? 0 : static_cast<int32_t>((a + b - 1) / b); }

}  // namespace

absl::StatusOr<RollingLimits> ResolveRollingLimits(const nlohmann::json& max_surge,
                                                   const nlohmann::json& max_unavailable,
                                                   int32_t replicas, const char* path) {
  RollingLimits out;
  auto s = Scaled(max_surge, replicas, true, absl::StrCat(path, ".maxSurge"));
  if (!s.ok()) return s.status();
  auto u = Scaled(max_unavailable, replicas, false, absl::StrCat(path, ".maxUnavailable"));
  if (!u.ok()) return u.status();
  out.max_surge = *s;
  out.max_unavailable = *u;
  if (out.max_surge == 0 && out.max_unavailable == 0) out.max_unavailable = 1;
  out.max_unavailable = std::min(out.max_unavailable, replicas);
  return out;
}

std::pair<int32_t, int32_t> ApproximateWeightedCounts(int32_t replicas, int32_t weight,
                                                      int32_t max_weight, int32_t max_surge) {
  if (replicas == 0 || max_weight <= 0) return {0, 0};
  struct Candidate {
    int32_t canary, total;
  };
  std::vector<Candidate> candidates;
  const bool zero_allowed =
      weight == max_weight || weight == 0 || (replicas == 1 && max_surge == 0);
  auto add = [&](int32_t total) {
    const int64_t scaled = static_cast<int64_t>(total) * weight;
    const int32_t lo = static_cast<int32_t>(scaled / max_weight);
    const int32_t hi = CeilDiv(scaled, max_weight);
    // A tie is a fractional part of exactly one half.
    const bool tie = 2 * (scaled % max_weight) == max_weight;
    const bool ceil_ok = hi < total || zero_allowed;
    if (ceil_ok) candidates.push_back({hi, total});
    // A tie rounds up, so the floor only competes when the ceiling is not allowed (R=1, W=75,
    // one surge pod: 1/1, as Argo's table for every weight 1..99 requires).
    if ((!tie || !ceil_ok) && (lo != 0 || zero_allowed)) candidates.push_back({lo, total});
  };
  add(replicas);
  // Only ever one surge pod, under the same rules.
  if (max_surge > 0) add(replicas + 1);
  if (candidates.empty()) return {0, replicas};
  Candidate best = candidates.front();
  double best_diff = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) {
    const double diff = std::fabs(static_cast<double>(c.canary) * max_weight / c.total -
                                  static_cast<double>(weight));
    if (diff < best_diff) {
      best_diff = diff;
      best = c;
    }
  }
  return {best.canary, best.total - best.canary};
}

namespace {

// Replicas one side may count as serving while it is drained: the spec when pods beyond it are
// already going away (or when availability is ignored for the side being drained).
int32_t ForScaleDown(const std::optional<RsSize>& rs, bool ignore_availability) {
  if (!rs.has_value()) return 0;
  if (rs->spec < rs->available || ignore_availability) return rs->spec;
  return rs->available;
}

// Lowers `count` (this sync's value, from spec) toward `desired` within the scale-down budget.
int32_t Drain(const std::optional<RsSize>& rs, int32_t count, int32_t desired, int32_t& budget) {
  if (!rs.has_value() || rs->spec <= desired || budget <= 0) return count;
  const int32_t down = std::min(rs->spec - desired, budget);
  budget -= down;
  return rs->spec - down;
}

}  // namespace

std::pair<int32_t, int32_t> BasicCanaryCounts(const BasicCanaryInput& in) {
  const int32_t r = in.replicas;
  auto [desired_canary, desired_stable] =
      ApproximateWeightedCounts(r, in.weight, in.max_weight, in.max_surge);
  if (!in.stable.has_value()) return {r, 0};
  int32_t canary = in.canary.has_value() ? in.canary->spec : 0;
  int32_t stable = in.stable->spec;

  const int64_t total = static_cast<int64_t>(canary) + stable + in.others_spec;
  int64_t scale_up = static_cast<int64_t>(r) + in.max_surge - total;
  // Stable first: it is the version known to work.
  if (scale_up > 0 && stable < desired_stable) {
    const int32_t up = static_cast<int32_t>(std::min<int64_t>(desired_stable - stable, scale_up));
    stable += up;
    scale_up -= up;
  }
  if (scale_up > 0 && canary < desired_canary) {
    canary += static_cast<int32_t>(std::min<int64_t>(desired_canary - canary, scale_up));
  }
  // Older ReplicaSets go first; the pair waits until they are gone.
  if (in.others_spec > 0) return {canary, stable};

  const int32_t min_available = r - in.max_unavailable;
  // Growing the canary drains the stable (whose availability then does not matter); shrinking
  // it (abort) drains the canary.
  const bool increasing = !in.canary.has_value() || desired_canary >= in.canary->spec;
  const int32_t countable =
      ForScaleDown(in.canary, !increasing) + ForScaleDown(in.stable, increasing);
  if (countable <= min_available) return {canary, stable};
  int32_t budget = countable - min_available;
  if (!increasing) {
    canary = Drain(in.canary, canary, desired_canary, budget);
    stable = Drain(in.stable, stable, desired_stable, budget);
  } else {
    stable = Drain(in.stable, stable, desired_stable, budget);
    canary = Drain(in.canary, canary, desired_canary, budget);
  }
  return {canary, stable};
}

int32_t TrafficWeightToReplicas(int32_t replicas, int32_t weight, int32_t max_weight) {
  return CeilDiv(static_cast<int64_t>(weight) * replicas, max_weight);
}

std::pair<int32_t, int32_t> TrafficRoutedCounts(const TrafficRoutedInput& in) {
  auto at_least_min = [&](int32_t n) {
    if (n == 0 || in.min_pods_per_rs <= 0) return n;
    return std::max(n, std::min(in.min_pods_per_rs, in.replicas));
  };
  int32_t canary =
      in.canary_scale_replicas.has_value()
          ? *in.canary_scale_replicas
          : at_least_min(TrafficWeightToReplicas(in.replicas, in.weight, in.max_weight));
  if (!in.dynamic_stable_scale) return {canary, in.replicas};
  int32_t stable = TrafficWeightToReplicas(in.replicas, in.max_weight - in.weight, in.max_weight);
  if (in.actual_stable_weight.has_value()) {
    // Never below what the router still sends to stable.
    stable = std::max(
        stable, TrafficWeightToReplicas(in.replicas, *in.actual_stable_weight, in.max_weight));
  }
  if (in.aborted && in.actual_canary_weight.has_value()) {
    canary = std::max(
        canary, TrafficWeightToReplicas(in.replicas, *in.actual_canary_weight, in.max_weight));
  }
  return {at_least_min(canary), at_least_min(stable)};
}

}  // namespace argonaut::rollout::engine
