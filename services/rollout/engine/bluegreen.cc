// The blue-green strategy (Argo's rollout/bluegreen.go): preview first, optional pre-promotion
// analysis and pause, the active Service switch, post-promotion analysis, then the old version
// is kept for scaleDownDelaySeconds.
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

// Size of the new ReplicaSet before/after the promotion checkpoint.
int32_t DesiredNewReplicas(const Ctx& c, const std::string& active) {
  if (!c.spec.preview_replica_count.has_value()) return c.spec.replicas;
  if (active.empty() || active == c.new_hash) return c.spec.replicas;
  bool active_exists = false;
  for (const Rs& rs : c.rss) active_exists = active_exists || rs.hash == active;
  if (!active_exists) return c.spec.replicas;
  if (c.status["blueGreen"].value("scaleUpPreviewCheckPoint", false)) return c.spec.replicas;
  return *c.spec.preview_replica_count;
}

}  // namespace

void ReconcileBlueGreen(Ctx& c) {
  if (!c.status.contains("blueGreen") || !c.status["blueGreen"].is_object()) {
    c.status["blueGreen"] = Json::object();
  }
  Json& bg = c.status["blueGreen"];
  Rs* n = c.NewRs();
  const bool halted = c.spec.paused || c.HasPause(kPauseInconclusive);
  std::string active = bg.value("activeSelector", "");
  // The first version: stable at once; active follows once it is fully available.
  if (c.StableRs() == nullptr || active.empty()) PromoteStable(c, "Initial deploy");
  const bool promote_full = c.status.value("promoteFull", false) && !c.FullyPromoted();
  // Evaluated every pass (from the ReplicaSets alone), so a restarted controller keeps it.
  const bool fast_track = !c.FullyPromoted() && RollbackWithinWindow(c);
  if (promote_full) {
    c.pause.clear();
    c.aborted = false;
    c.status.erase("abort");
  }
  std::string pre_phase, post_phase;
  if (active != c.new_hash || !c.FullyPromoted()) {
    pre_phase = ObserveRun(c, kPreRun);
    post_phase = ObserveRun(c, kPostRun);
  }
  if (!c.aborted && active != c.new_hash && ProgressTimedOut(c) && c.spec.progress_deadline_abort &&
      !c.HasPause(kPauseBlueGreen)) {
    c.Abort(absl::StrCat("ReplicaSet \"", n->name, "\" has timed out progressing."));
  }

  if (c.aborted) {
    // Traffic stays on (or returns to) the stable version; the preview goes after a delay.
    c.pause.clear();
    if (!c.StableHash().empty()) active = c.StableHash();
    AbortScaleDown(c);
  } else {
    const int32_t desired = DesiredNewReplicas(c, active);
    if (!halted) {
      SetDeadline(*n, std::nullopt);
      ScaleRs(c, *n, desired);
    }
    const bool ready_for_pause = n->observed_spec == desired && n->available >= desired;
    const bool saturated = n->observed_spec == c.spec.replicas && n->available >= c.spec.replicas;
    if (active != c.new_hash && !halted) {
      bool pre_done = c.spec.pre_promotion_analysis.is_null() || pre_phase == "Successful" ||
                      promote_full || fast_track || active.empty();
      if (!pre_done && (ready_for_pause || c.status.contains(kPreRun))) {
        EnsureRun(c, kPreRun, c.spec.pre_promotion_analysis, "PrePromotion", -1);
      }
      bool gate = active.empty() || promote_full || fast_track ||
                  bg.value("scaleUpPreviewCheckPoint", false) ||
                  (c.spec.auto_promotion_enabled && c.spec.auto_promotion_seconds == 0);
      if (!gate && ready_for_pause) {
        const PauseCond* cond = c.FindPause(kPauseBlueGreen);
        if (cond != nullptr) {
          if (c.spec.auto_promotion_enabled && c.spec.auto_promotion_seconds > 0) {
            auto start = wl::ParseK8sTime(cond->start_time);
            const absl::Time end =
                (start.ok() ? *start : c.in.now) + absl::Seconds(c.spec.auto_promotion_seconds);
            if (c.in.now >= end) {
              c.RemovePause(kPauseBlueGreen);
              gate = true;
            } else {
              c.Requeue(end - c.in.now);
            }
          }
        } else if (c.prev_controller_pause) {
          gate = true;  // the pause condition was removed: promoted
        } else {
          c.AddPause(kPauseBlueGreen);
          if (c.spec.auto_promotion_enabled && c.spec.auto_promotion_seconds > 0) {
            c.Requeue(absl::Seconds(c.spec.auto_promotion_seconds));
          }
        }
      }
      if (gate && pre_done && c.spec.preview_replica_count.has_value() && !active.empty() &&
          !bg.value("scaleUpPreviewCheckPoint", false)) {
        bg["scaleUpPreviewCheckPoint"] = true;
        ScaleRs(c, *n, c.spec.replicas);
      }
      if (gate && pre_done && saturated) {
        c.Event("Normal", "SwitchService",
                absl::StrCat("Switched selector for service '", c.spec.active_service, "' from '",
                             active, "' to '", c.new_hash, "'"));
        active = c.new_hash;
        c.RemovePause(kPauseBlueGreen);
        c.progress = true;
      }
    }
    if (active == c.new_hash && !c.FullyPromoted()) {
      if (fast_track) {
        PromoteStable(c, "Rollback within window");
      } else if (c.spec.post_promotion_analysis.is_null() || post_phase == "Successful") {
        PromoteStable(c, "Completed blue-green update");
      } else if (n->deadline.has_value()) {
        PromoteStable(c, absl::StrCat("Rollback to '", n->name, "' within scaleDownDelay"));
      } else {
        EnsureRun(c, kPostRun, c.spec.post_promotion_analysis, "PostPromotion", -1);
      }
    }
  }
  if (!active.empty()) bg["activeSelector"] = active;
  bg["previewSelector"] = c.new_hash;
  // The runs still in flight stay current; finished ones stay listed.
  for (const auto& field : {kPreRun, kPostRun}) {
    if (!c.status.contains(field)) continue;
    const std::string name = c.status[field].value("name", "");
    const Run* r = c.FindRun(name);
    if (r != nullptr && (RunCompleted(r->phase) || (!c.aborted && !c.FullyPromoted()))) {
      c.current_runs.insert(name);
    }
  }
  if (!halted) {
    // The active version stays at full size (after an abort it serves everything again).
    for (Rs& rs : c.rss) {
      if (rs.hash == active && &rs != n) {
        SetDeadline(rs, std::nullopt);
        ScaleRs(c, rs, c.spec.replicas);
      }
    }
    ScaleDownOthers(c, true, -1);
  }
  c.out.service_selectors[c.spec.active_service] = active.empty() ? c.new_hash : active;
  if (!c.spec.preview_service.empty()) c.out.service_selectors[c.spec.preview_service] = c.new_hash;
}

}  // namespace argonaut::rollout::engine
