#include "lib/cluster/workloads/deployment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/pod_template.h"

namespace argonaut::cluster::workloads {
namespace {

constexpr char kProgressing[] = "Progressing";
constexpr char kAvailable[] = "Available";
constexpr char kReasonNewRSAvailable[] = "NewReplicaSetAvailable";
constexpr char kReasonRSUpdated[] = "ReplicaSetUpdated";
constexpr char kReasonTimedOut[] = "ProgressDeadlineExceeded";
constexpr char kReasonNewRSCreated[] = "NewReplicaSetCreated";
constexpr char kReasonFoundNewRS[] = "FoundNewReplicaSet";
constexpr char kReasonPaused[] = "DeploymentPaused";
constexpr char kReasonResumed[] = "DeploymentResumed";
// Bounds the hash-collision retry loop; each collision needs a distinct foreign object.
constexpr int kMaxCollisionRetries = 16;
// Kubernetes bounds the revision-history annotation the same way.
constexpr size_t kMaxRevisionHistoryChars = 2000;

// A ReplicaSet as the algorithm sees it; `obj` accumulates the changes to write back.
struct Rs {
  Json obj;
  std::string name;
  int32_t spec_replicas = 0;
  int32_t status_replicas = 0;
  int32_t ready = 0;
  int32_t available = 0;
  absl::Time created;
  int64_t revision = 0;
  int32_t initial_replicas = 0;
  bool is_new_object = false;
  bool dirty = false;
  bool to_delete = false;
};

int32_t ClampInt32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<int32_t>::max()));
}

int64_t RevisionOf(const Json& rs) {
  const Json* v = FieldPath(rs, {"metadata", "annotations", kRevisionAnnotation});
  int64_t r = 0;
  if (v != nullptr && v->is_string() && absl::SimpleAtoi(v->get<std::string>(), &r)) return r;
  return 0;
}

Rs MakeRs(const Json& obj) {
  Rs rs;
  rs.obj = obj;
  const Json& meta = obj["metadata"];
  rs.name = StrOr(meta, "name");
  const Json* spec = Field(obj, "spec");
  rs.spec_replicas = ClampInt32(spec == nullptr ? 1 : IntOr(*spec, "replicas", 1));
  if (const Json* st = Field(obj, "status")) {
    rs.status_replicas = ClampInt32(IntOr(*st, "replicas", 0));
    rs.ready = ClampInt32(IntOr(*st, "readyReplicas", 0));
    rs.available = ClampInt32(IntOr(*st, "availableReplicas", 0));
  }
  rs.created = TimeField(meta, "creationTimestamp").value_or(absl::InfinitePast());
  rs.revision = RevisionOf(obj);
  rs.initial_replicas = rs.spec_replicas;
  return rs;
}

bool OlderThan(const Rs& a, const Rs& b) {
  if (a.created != b.created) return a.created < b.created;
  return a.name < b.name;
}

class Reconciler {
 public:
  Reconciler(const Json& d, absl::Time now) : d_(d), now_(now) {}

  absl::StatusOr<DeploymentDecision> Run(const std::vector<Json>& replica_sets,
                                         const std::vector<Json>& pods);

 private:
  absl::Status Parse();
  int32_t MaxSurge() const { return recreate_ ? 0 : params_.max_surge; }
  int32_t MaxUnavailable() const {
    if (recreate_ || replicas_ == 0) return 0;
    return std::min(params_.max_unavailable, replicas_);
  }
  Rs* NewRs() { return new_rs_ ? &rss_[*new_rs_] : nullptr; }
  std::vector<Rs*> OldRss();
  std::vector<Rs*> AllRss();
  static int32_t SpecSum(const std::vector<Rs*>& rss);
  static int32_t ActualSum(const std::vector<Rs*>& rss);
  static int32_t AvailableSum(const std::vector<Rs*>& rss);

  void SetAnnotation(Rs& rs, const char* key, const std::string& value);
  // Sets spec.replicas and the desired/max replicas annotations; returns whether it scaled.
  bool Scale(Rs& rs, int32_t replicas);
  void SyncNewRsAnnotations(Rs& rs, int64_t new_revision);
  int64_t NextRevision();
  absl::Status CreateNewRs();
  int32_t NewRsNewReplicas();

  void CheckPausedConditions();
  bool IsScalingEvent();
  void ProportionalScale();
  bool ReconcileNewRs();
  bool ReconcileOldRss();
  bool RecreateOldPodsRunning(const std::vector<Json>& pods);
  void Cleanup();
  Json CalculateStatus();
  void SyncRolloutStatus(Json& status);
  DeploymentDecision Finish(Json status);

  const Json& d_;
  const absl::Time now_;
  std::string name_, namespace_;
  int32_t replicas_ = 1;
  int32_t min_ready_ = 0;
  bool paused_ = false;
  bool recreate_ = false;
  RollingParams params_;
  int32_t history_limit_ = kDefaultRevisionHistoryLimit;
  std::optional<int32_t> progress_deadline_;
  std::optional<int32_t> collision_count_;
  int64_t generation_ = 0;
  Json template_;
  Json selector_;
  Json old_status_ = Json::object();
  Json conditions_ = Json::array();
  std::vector<Rs> rss_;
  std::optional<size_t> new_rs_;
  std::vector<std::string> foreign_names_;
};

absl::Status Reconciler::Parse() {
  const Json* meta = Field(d_, "metadata");
  if (meta == nullptr || !meta->is_object())
    return absl::InvalidArgumentError("metadata: required");
  ASSIGN_OR_RETURN(name_, StringField(*meta, "name", "", "metadata.name"));
  ASSIGN_OR_RETURN(namespace_, StringField(*meta, "namespace", "", "metadata.namespace"));
  if (name_.empty()) return absl::InvalidArgumentError("metadata.name: required");
  generation_ = IntOr(*meta, "generation", 0);
  const Json* spec = Field(d_, "spec");
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  ASSIGN_OR_RETURN(replicas_, Int32Field(*spec, "replicas", 1, "spec.replicas"));
  if (replicas_ < 0) return absl::InvalidArgumentError("spec.replicas: must be non-negative");
  ASSIGN_OR_RETURN(min_ready_, Int32Field(*spec, "minReadySeconds", 0, "spec.minReadySeconds"));
  ASSIGN_OR_RETURN(paused_, BoolField(*spec, "paused", false, "spec.paused"));
  ASSIGN_OR_RETURN(history_limit_,
                   Int32Field(*spec, "revisionHistoryLimit", kDefaultRevisionHistoryLimit,
                              "spec.revisionHistoryLimit"));
  if (history_limit_ < 0) {
    return absl::InvalidArgumentError("spec.revisionHistoryLimit: must be non-negative");
  }
  ASSIGN_OR_RETURN(int32_t deadline,
                   Int32Field(*spec, "progressDeadlineSeconds", kDefaultProgressDeadlineSeconds,
                              "spec.progressDeadlineSeconds"));
  // MaxInt32 is Kubernetes' spelling of "no deadline".
  if (deadline != std::numeric_limits<int32_t>::max()) progress_deadline_ = deadline;
  ASSIGN_OR_RETURN(params_, ResolveRollingParams(d_));
  const Json* strategy = Field(*spec, "strategy");
  recreate_ = strategy != nullptr && StrOr(*strategy, "type") == "Recreate";
  const Json* tmpl = Field(*spec, "template");
  if (tmpl == nullptr || !tmpl->is_object()) {
    return absl::InvalidArgumentError("spec.template: required");
  }
  template_ = *tmpl;
  if (const Json* m = Field(template_, "metadata")) {
    if (!m->is_object())
      return absl::InvalidArgumentError("spec.template.metadata: expected object");
    if (const Json* l = Field(*m, "labels"); l != nullptr && !l->is_object()) {
      return absl::InvalidArgumentError("spec.template.metadata.labels: expected object");
    }
  }
  const Json* sel = Field(*spec, "selector");
  if (sel == nullptr || !sel->is_object()) {
    return absl::InvalidArgumentError("spec.selector: required");
  }
  selector_ = *sel;
  if (const Json* ml = Field(selector_, "matchLabels"); ml != nullptr && !ml->is_object()) {
    return absl::InvalidArgumentError("spec.selector.matchLabels: expected object");
  }
  if (const Json* st = Field(d_, "status"); st != nullptr && st->is_object()) {
    old_status_ = *st;
    if (const Json* c = Field(*st, "conditions"); c != nullptr && c->is_array()) conditions_ = *c;
    if (const Json* cc = Field(*st, "collisionCount"); cc != nullptr && cc->is_number_integer()) {
      collision_count_ = ClampInt32(cc->get<int64_t>());
    }
  }
  return absl::OkStatus();
}

std::vector<Rs*> Reconciler::OldRss() {
  std::vector<Rs*> out;
  for (size_t i = 0; i < rss_.size(); ++i) {
    if (!new_rs_ || i != *new_rs_) out.push_back(&rss_[i]);
  }
  return out;
}

std::vector<Rs*> Reconciler::AllRss() {
  std::vector<Rs*> out;
  for (Rs& rs : rss_) out.push_back(&rs);
  return out;
}

int32_t Reconciler::SpecSum(const std::vector<Rs*>& rss) {
  int64_t n = 0;
  for (const Rs* rs : rss) n += rs->spec_replicas;
  return ClampInt32(n);
}

int32_t Reconciler::ActualSum(const std::vector<Rs*>& rss) {
  int64_t n = 0;
  for (const Rs* rs : rss) n += rs->status_replicas;
  return ClampInt32(n);
}

int32_t Reconciler::AvailableSum(const std::vector<Rs*>& rss) {
  int64_t n = 0;
  for (const Rs* rs : rss) n += rs->available;
  return ClampInt32(n);
}

void Reconciler::SetAnnotation(Rs& rs, const char* key, const std::string& value) {
  Json& meta = rs.obj["metadata"];
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) {
    meta["annotations"] = Json::object();
  }
  Json& ann = meta["annotations"];
  if (ann.contains(key) && ann[key] == value) return;
  ann[key] = value;
  rs.dirty = true;
}

bool Reconciler::Scale(Rs& rs, int32_t replicas) {
  replicas = std::max(replicas, 0);
  const bool scaled = rs.spec_replicas != replicas;
  if (scaled) {
    rs.spec_replicas = replicas;
    rs.obj["spec"]["replicas"] = replicas;
    rs.dirty = true;
  }
  SetAnnotation(rs, kDesiredReplicasAnnotation, absl::StrCat(replicas_));
  SetAnnotation(rs, kMaxReplicasAnnotation, absl::StrCat(replicas_ + MaxSurge()));
  return scaled;
}

int64_t Reconciler::NextRevision() {
  int64_t max_old = 0;
  for (Rs* rs : OldRss()) max_old = std::max(max_old, rs->revision);
  return max_old + 1;
}

void Reconciler::SyncNewRsAnnotations(Rs& rs, int64_t new_revision) {
  // Deployment annotations flow to the ReplicaSet, except the controller's own bookkeeping.
  if (const Json* ann = FieldPath(d_, {"metadata", "annotations"}); ann && ann->is_object()) {
    for (const auto& [k, v] : ann->items()) {
      if (k == kRevisionAnnotation || k == kRevisionHistoryAnnotation ||
          k == kDesiredReplicasAnnotation || k == kMaxReplicasAnnotation ||
          k == "kubectl.kubernetes.io/last-applied-configuration" || !v.is_string()) {
        continue;
      }
      SetAnnotation(rs, k.c_str(), v.get<std::string>());
    }
  }
  const bool had_revision =
      FieldPath(rs.obj, {"metadata", "annotations", kRevisionAnnotation}) != nullptr;
  if (rs.revision < new_revision) {
    // An existing ReplicaSet gaining a newer revision is a rollback: keep its history.
    if (had_revision) {
      std::string history = StrOr(rs.obj["metadata"]["annotations"], kRevisionHistoryAnnotation);
      const std::string old = absl::StrCat(rs.revision);
      history = history.empty() ? old : absl::StrCat(history, ",", old);
      while (history.size() > kMaxRevisionHistoryChars && history.find(',') != std::string::npos) {
        history.erase(0, history.find(',') + 1);
      }
      SetAnnotation(rs, kRevisionHistoryAnnotation, history);
    }
    rs.revision = new_revision;
    SetAnnotation(rs, kRevisionAnnotation, absl::StrCat(new_revision));
  }
  if (IntOr(rs.obj["spec"], "minReadySeconds", 0) != min_ready_) {
    rs.obj["spec"]["minReadySeconds"] = min_ready_;
    rs.dirty = true;
  }
}

int32_t Reconciler::NewRsNewReplicas() {
  if (recreate_) return replicas_;
  const int32_t new_spec = NewRs() ? NewRs()->spec_replicas : 0;
  const int64_t current = SpecSum(AllRss());
  const int64_t max_total = static_cast<int64_t>(replicas_) + MaxSurge();
  if (current >= max_total) return new_spec;
  int64_t up = max_total - current;
  up = std::min<int64_t>(up, replicas_ - new_spec);
  return ClampInt32(new_spec + std::max<int64_t>(up, 0));
}

absl::Status Reconciler::CreateNewRs() {
  std::string hash, rs_name;
  for (int attempt = 0;; ++attempt) {
    if (attempt >= kMaxCollisionRetries) {
      return absl::AlreadyExistsError(absl::StrCat("ReplicaSet name for Deployment ", name_,
                                                   " collides after ", attempt, " attempts"));
    }
    ASSIGN_OR_RETURN(hash, ComputeTemplateHash(template_, collision_count_));
    rs_name = ReplicaSetName(name_, hash);
    bool taken =
        std::find(foreign_names_.begin(), foreign_names_.end(), rs_name) != foreign_names_.end();
    for (const Rs& rs : rss_) taken = taken || rs.name == rs_name;
    if (!taken) break;
    collision_count_ = collision_count_.value_or(0) + 1;
  }
  Json tmpl = template_;
  tmpl["metadata"]["labels"][kPodTemplateHashLabel] = hash;
  Json selector = selector_;
  selector["matchLabels"][kPodTemplateHashLabel] = hash;
  Json obj = {{"apiVersion", "apps/v1"},
              {"kind", "ReplicaSet"},
              {"metadata",
               {{"name", rs_name},
                {"namespace", namespace_},
                {"labels", tmpl["metadata"]["labels"]},
                {"annotations", Json::object()},
                {"ownerReferences", Json::array({MakeControllerRef(d_)})}}},
              {"spec",
               {{"replicas", 0},
                {"minReadySeconds", min_ready_},
                {"selector", selector},
                {"template", tmpl}}},
              {"status", {{"replicas", 0}}}};
  const int64_t new_revision = NextRevision();
  Rs rs = MakeRs(obj);
  rs.created = now_;
  rs.is_new_object = true;
  rss_.push_back(std::move(rs));
  new_rs_ = rss_.size() - 1;
  Rs& created = rss_.back();
  created.spec_replicas = NewRsNewReplicas();
  created.obj["spec"]["replicas"] = created.spec_replicas;
  SyncNewRsAnnotations(created, new_revision);
  SetAnnotation(created, kDesiredReplicasAnnotation, absl::StrCat(replicas_));
  SetAnnotation(created, kMaxReplicasAnnotation, absl::StrCat(replicas_ + MaxSurge()));
  if (progress_deadline_) {
    SetCondition(conditions_, kProgressing, "True", kReasonNewRSCreated,
                 absl::StrCat("Created new replica set \"", rs_name, "\""), now_, true);
  }
  return absl::OkStatus();
}

void Reconciler::CheckPausedConditions() {
  if (!progress_deadline_) return;
  const Json* cond = GetCondition(conditions_, kProgressing);
  // A reported lack of progress is not hidden behind a paused condition.
  if (cond != nullptr && StrOr(*cond, "reason") == kReasonTimedOut) return;
  const bool paused_cond = cond != nullptr && StrOr(*cond, "reason") == kReasonPaused;
  if (paused_ && !paused_cond) {
    SetCondition(conditions_, kProgressing, "Unknown", kReasonPaused, "Deployment is paused", now_,
                 true);
  } else if (!paused_ && paused_cond) {
    SetCondition(conditions_, kProgressing, "Unknown", kReasonResumed, "Deployment is resumed",
                 now_, true);
  }
}

bool Reconciler::IsScalingEvent() {
  for (Rs* rs : AllRss()) {
    if (rs->spec_replicas == 0) continue;
    const Json* v = FieldPath(rs->obj, {"metadata", "annotations", kDesiredReplicasAnnotation});
    int64_t desired = 0;
    if (v == nullptr || !v->is_string() || !absl::SimpleAtoi(v->get<std::string>(), &desired)) {
      continue;
    }
    if (desired != replicas_) return true;
  }
  return false;
}

void Reconciler::ProportionalScale() {
  std::vector<Rs*> active;
  for (Rs* rs : AllRss()) {
    if (rs->spec_replicas > 0) active.push_back(rs);
  }
  // Only one ReplicaSet holds pods (or none does): it simply takes the whole size.
  if (active.size() <= 1) {
    Rs* target = nullptr;
    if (active.size() == 1) {
      target = active[0];
    } else if (NewRs() != nullptr) {
      target = NewRs();
    } else if (!rss_.empty()) {
      target = &*std::max_element(rss_.begin(), rss_.end(), OlderThan);
    }
    if (target != nullptr) Scale(*target, replicas_);
    return;
  }
  Rs* new_rs = NewRs();
  if (new_rs != nullptr && new_rs->spec_replicas == replicas_ && new_rs->available == replicas_) {
    for (Rs* rs : OldRss()) Scale(*rs, 0);
    return;
  }
  if (recreate_) return;
  const int64_t allowed = replicas_ > 0 ? static_cast<int64_t>(replicas_) + MaxSurge() : 0;
  const int64_t to_add = allowed - SpecSum(active);
  // Bigger ReplicaSets absorb the change first; ties go to newer ones when growing.
  std::sort(active.begin(), active.end(), [&](Rs* a, Rs* b) {
    if (a->spec_replicas != b->spec_replicas) return a->spec_replicas > b->spec_replicas;
    return to_add > 0 ? OlderThan(*b, *a) : OlderThan(*a, *b);
  });
  std::map<std::string, int64_t> sizes;
  int64_t added = 0;
  for (Rs* rs : active) {
    int64_t proportion = 0;
    if (to_add != 0 && to_add != added) {
      int64_t fraction = -rs->spec_replicas;
      if (replicas_ != 0) {
        int64_t annotated = IntOr(old_status_, "replicas", 0);
        const Json* v = FieldPath(rs->obj, {"metadata", "annotations", kMaxReplicasAnnotation});
        int64_t parsed = 0;
        if (v != nullptr && v->is_string() && absl::SimpleAtoi(v->get<std::string>(), &parsed)) {
          annotated = parsed;
        }
        const double target = annotated > 0 ? static_cast<double>(rs->spec_replicas) *
                                                  static_cast<double>(allowed) /
                                                  static_cast<double>(annotated)
                                            : rs->spec_replicas;
        fraction = static_cast<int64_t>(std::llround(target)) - rs->spec_replicas;
      }
      const int64_t remaining = to_add - added;
      proportion = to_add > 0 ? std::min(fraction, remaining) : std::max(fraction, remaining);
    }
    sizes[rs->name] = rs->spec_replicas + proportion;
    added += proportion;
  }
  if (to_add != 0)
    sizes[active[0]->name] = std::max<int64_t>(0, sizes[active[0]->name] + to_add - added);
  for (Rs* rs : active) Scale(*rs, ClampInt32(sizes[rs->name]));
}

bool Reconciler::ReconcileNewRs() {
  Rs* new_rs = NewRs();
  if (new_rs->spec_replicas == replicas_) return false;
  if (new_rs->spec_replicas > replicas_) return Scale(*new_rs, replicas_);
  return Scale(*new_rs, NewRsNewReplicas());
}

bool Reconciler::ReconcileOldRss() {
  std::vector<Rs*> old = OldRss();
  if (SpecSum(old) == 0) return false;
  Rs* new_rs = NewRs();
  const int64_t min_available = static_cast<int64_t>(replicas_) - MaxUnavailable();
  const int64_t new_unavailable = new_rs->spec_replicas - new_rs->available;
  const int64_t max_scaled_down = SpecSum(AllRss()) - min_available - new_unavailable;
  if (max_scaled_down <= 0) return false;
  std::sort(old.begin(), old.end(), [](Rs* a, Rs* b) { return OlderThan(*a, *b); });

  // Unhealthy old replicas go first: removing them costs no availability.
  int64_t cleaned = 0;
  for (Rs* rs : old) {
    if (cleaned >= max_scaled_down) break;
    if (rs->spec_replicas == 0 || rs->spec_replicas == rs->available) continue;
    const int64_t n = std::min<int64_t>(
        max_scaled_down - cleaned, rs->spec_replicas - std::min(rs->available, rs->spec_replicas));
    Scale(*rs, ClampInt32(rs->spec_replicas - n));
    cleaned += n;
  }

  // Then healthy ones, only as far as total availability stays at or above the minimum.
  int64_t scaled = 0;
  const int64_t available = AvailableSum(AllRss());
  if (available > min_available) {
    const int64_t total = available - min_available;
    for (Rs* rs : old) {
      if (scaled >= total) break;
      if (rs->spec_replicas == 0) continue;
      const int64_t n = std::min<int64_t>(rs->spec_replicas, total - scaled);
      Scale(*rs, ClampInt32(rs->spec_replicas - n));
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

bool Reconciler::RecreateOldPodsRunning(const std::vector<Json>& pods) {
  std::vector<Rs*> old = OldRss();
  if (ActualSum(old) > 0) return true;
  for (const Json& pod : pods) {
    const Json* ref = ControllerRef(pod);
    if (ref == nullptr) continue;
    const std::string uid = StrOr(*ref, "uid");
    for (Rs* rs : old) {
      if (uid.empty() || StrOr(rs->obj["metadata"], "uid") != uid) continue;
      const std::string phase = PodPhase(pod);
      // Kubernetes treats Failed/Succeeded as stopped; anything else may still be running.
      if (phase != "Failed" && phase != "Succeeded") return true;
    }
  }
  return false;
}

void Reconciler::Cleanup() {
  std::vector<Rs*> cleanable;
  for (Rs* rs : OldRss()) {
    if (!IsTerminating(rs->obj)) cleanable.push_back(rs);
  }
  const int64_t diff = static_cast<int64_t>(cleanable.size()) - history_limit_;
  if (diff <= 0) return;
  std::sort(cleanable.begin(), cleanable.end(), [](Rs* a, Rs* b) {
    if (a->revision != b->revision) return a->revision < b->revision;
    return OlderThan(*a, *b);
  });
  for (int64_t i = 0; i < diff; ++i) {
    Rs* rs = cleanable[i];
    const Json* status = Field(rs->obj, "status");
    const int64_t observed = status == nullptr ? 0 : IntOr(*status, "observedGeneration", 0);
    // Only fully drained ReplicaSets whose status is current may go.
    if (rs->status_replicas != 0 || rs->spec_replicas != 0 ||
        IntOr(rs->obj["metadata"], "generation", 0) > observed) {
      continue;
    }
    rs->to_delete = true;
  }
}

Json Reconciler::CalculateStatus() {
  std::vector<Rs*> all = AllRss();
  const int32_t available = AvailableSum(all);
  const int64_t unavailable = std::max<int64_t>(0, static_cast<int64_t>(SpecSum(all)) - available);
  int64_t ready = 0;
  for (Rs* rs : all) ready += rs->ready;
  Json status = {{"observedGeneration", generation_},
                 {"replicas", ActualSum(all)},
                 {"updatedReplicas", NewRs() ? NewRs()->status_replicas : 0},
                 {"readyReplicas", ready},
                 {"availableReplicas", available},
                 {"unavailableReplicas", unavailable}};
  if (collision_count_) status["collisionCount"] = *collision_count_;
  if (available >= static_cast<int64_t>(replicas_) - MaxUnavailable()) {
    SetCondition(conditions_, kAvailable, "True", "MinimumReplicasAvailable",
                 "Deployment has minimum availability.", now_, true);
  } else {
    SetCondition(conditions_, kAvailable, "False", "MinimumReplicasUnavailable",
                 "Deployment does not have minimum availability.", now_, true);
  }
  return status;
}

bool StatusComplete(const Json& status, int32_t replicas, int64_t generation) {
  return IntOr(status, "updatedReplicas", 0) == replicas &&
         IntOr(status, "replicas", 0) == replicas &&
         IntOr(status, "availableReplicas", 0) == replicas &&
         IntOr(status, "observedGeneration", 0) >= generation;
}

void Reconciler::SyncRolloutStatus(Json& status) {
  if (!progress_deadline_) RemoveCondition(conditions_, kProgressing);
  const Json* cur = GetCondition(conditions_, kProgressing);
  const std::string cur_reason = cur ? StrOr(*cur, "reason") : "";
  const bool already_complete =
      IntOr(status, "replicas", 0) == IntOr(status, "updatedReplicas", 0) &&
      cur_reason == kReasonNewRSAvailable;
  const std::string rs_name = NewRs() ? NewRs()->name : "";
  if (progress_deadline_ && !already_complete) {
    const int64_t old_old =
        IntOr(old_status_, "replicas", 0) - IntOr(old_status_, "updatedReplicas", 0);
    const int64_t new_old = IntOr(status, "replicas", 0) - IntOr(status, "updatedReplicas", 0);
    const bool progressing =
        IntOr(status, "updatedReplicas", 0) > IntOr(old_status_, "updatedReplicas", 0) ||
        new_old < old_old ||
        IntOr(status, "readyReplicas", 0) > IntOr(old_status_, "readyReplicas", 0) ||
        IntOr(status, "availableReplicas", 0) > IntOr(old_status_, "availableReplicas", 0);
    std::optional<absl::Time> last_update = cur ? TimeField(*cur, "lastUpdateTime") : std::nullopt;
    const bool timed_out =
        cur != nullptr && (cur_reason == kReasonTimedOut ||
                           (cur_reason != kReasonNewRSAvailable && last_update &&
                            *last_update + absl::Seconds(*progress_deadline_) < now_));
    if (StatusComplete(status, replicas_, generation_)) {
      SetCondition(conditions_, kProgressing, "True", kReasonNewRSAvailable,
                   absl::StrCat("ReplicaSet \"", rs_name, "\" has successfully progressed."), now_,
                   true);
    } else if (progressing) {
      // Progress refreshes lastUpdateTime even when the reason is unchanged.
      std::string transition = FormatK8sTime(now_);
      if (cur != nullptr && StrOr(*cur, "status") == "True") {
        transition = StrOr(*cur, "lastTransitionTime", transition);
      }
      RemoveCondition(conditions_, kProgressing);
      conditions_.push_back(
          {{"type", kProgressing},
           {"status", "True"},
           {"reason", kReasonRSUpdated},
           {"message", absl::StrCat("ReplicaSet \"", rs_name, "\" is progressing.")},
           {"lastTransitionTime", transition},
           {"lastUpdateTime", FormatK8sTime(now_)}});
    } else if (timed_out) {
      SetCondition(conditions_, kProgressing, "False", kReasonTimedOut,
                   absl::StrCat("ReplicaSet \"", rs_name, "\" has timed out progressing."), now_,
                   true);
    }
  }
}

DeploymentDecision Reconciler::Finish(Json status) {
  DeploymentDecision out;
  status["conditions"] = conditions_;
  out.status = std::move(status);
  for (Rs& rs : rss_) {
    if (rs.to_delete) {
      out.replica_sets_to_delete.push_back(rs.name);
      continue;
    }
    if (rs.is_new_object) {
      out.scale[rs.name] = rs.spec_replicas;
      out.replica_sets_to_create.push_back(rs.obj);
      continue;
    }
    if (rs.spec_replicas != rs.initial_replicas) out.scale[rs.name] = rs.spec_replicas;
    if (rs.dirty) out.replica_sets_to_update.push_back(rs.obj);
  }
  if (Rs* n = NewRs()) out.revision = absl::StrCat(n->revision);
  // Progress deadline: look again when it would pass.
  const Json* cur = GetCondition(conditions_, kProgressing);
  if (progress_deadline_ && cur != nullptr && !paused_ &&
      !StatusComplete(out.status, replicas_, generation_)) {
    const std::string reason = StrOr(*cur, "reason");
    if (reason != kReasonTimedOut && reason != kReasonNewRSAvailable) {
      if (auto last = TimeField(*cur, "lastUpdateTime")) {
        out.requeue_after =
            std::max(absl::ZeroDuration(),
                     *last + absl::Seconds(*progress_deadline_) - now_ + absl::Seconds(1));
      }
    }
  }
  return out;
}

absl::StatusOr<DeploymentDecision> Reconciler::Run(const std::vector<Json>& replica_sets,
                                                   const std::vector<Json>& pods) {
  RETURN_IF_ERROR(Parse());
  for (const Json& obj : replica_sets) {
    if (!obj.is_object() || !Field(obj, "metadata") || !obj["metadata"].is_object()) continue;
    if (IsControlledBy(obj, d_)) {
      const Json* spec = Field(obj, "spec");
      if (spec == nullptr || !spec->is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("ReplicaSet ", StrOr(obj["metadata"], "name"), ": spec: expected object"));
      }
      rss_.push_back(MakeRs(obj));
    } else {
      foreign_names_.push_back(StrOr(obj["metadata"], "name"));
    }
  }
  std::sort(rss_.begin(), rss_.end(), OlderThan);

  // The oldest ReplicaSet whose template matches is the new one (duplicates can exist).
  for (size_t i = 0; i < rss_.size(); ++i) {
    const Json* t = FieldPath(rss_[i].obj, {"spec", "template"});
    if (t != nullptr && TemplatesEqualIgnoringHash(*t, template_)) {
      new_rs_ = i;
      break;
    }
  }

  if (IsTerminating(d_)) {
    Json status = CalculateStatus();
    return Finish(std::move(status));
  }

  CheckPausedConditions();
  if (Rs* n = NewRs()) {
    SyncNewRsAnnotations(*n, NextRevision());
    if (progress_deadline_ && GetCondition(conditions_, kProgressing) == nullptr) {
      SetCondition(conditions_, kProgressing, "True", kReasonFoundNewRS,
                   absl::StrCat("Found new replica set \"", n->name, "\""), now_, true);
    }
  }

  if (paused_ || IsScalingEvent()) {
    ProportionalScale();
    if (paused_) Cleanup();
    Json status = CalculateStatus();
    return Finish(std::move(status));
  }

  if (recreate_) {
    bool scaled_down = false;
    for (Rs* rs : OldRss()) {
      if (rs->spec_replicas != 0) scaled_down = Scale(*rs, 0) || scaled_down;
    }
    if (!scaled_down && !RecreateOldPodsRunning(pods)) {
      if (NewRs() == nullptr) RETURN_IF_ERROR(CreateNewRs());
      Scale(*NewRs(), replicas_);
      if (StatusComplete(old_status_, replicas_, generation_)) Cleanup();
    }
  } else {
    if (NewRs() == nullptr) RETURN_IF_ERROR(CreateNewRs());
    if (!ReconcileNewRs() && !ReconcileOldRss() &&
        StatusComplete(old_status_, replicas_, generation_)) {
      Cleanup();
    }
  }
  Json status = CalculateStatus();
  SyncRolloutStatus(status);
  return Finish(std::move(status));
}

}  // namespace

absl::StatusOr<RollingParams> ResolveRollingParams(const Json& deployment) {
  const Json* spec = Field(deployment, "spec");
  if (spec == nullptr || !spec->is_object()) return absl::InvalidArgumentError("spec: required");
  ASSIGN_OR_RETURN(const int32_t replicas, Int32Field(*spec, "replicas", 1, "spec.replicas"));
  const Json* strategy = Field(*spec, "strategy");
  std::string type = "RollingUpdate";
  if (strategy != nullptr) {
    if (!strategy->is_object()) return absl::InvalidArgumentError("spec.strategy: expected object");
    ASSIGN_OR_RETURN(type, StringField(*strategy, "type", "RollingUpdate", "spec.strategy.type"));
  }
  const Json* rolling = strategy == nullptr ? nullptr : Field(*strategy, "rollingUpdate");
  if (type == "Recreate") {
    if (rolling != nullptr) {
      return absl::InvalidArgumentError(
          "spec.strategy.rollingUpdate: may not be specified when strategy type is 'Recreate'");
    }
    return RollingParams{};
  }
  if (type != "RollingUpdate") {
    return absl::InvalidArgumentError(absl::StrCat("spec.strategy.type: unsupported value \"", type,
                                                   "\" (RollingUpdate, Recreate)"));
  }
  if (rolling != nullptr && !rolling->is_object()) {
    return absl::InvalidArgumentError("spec.strategy.rollingUpdate: expected object");
  }
  static const Json kDefault = "25%";
  const Json* surge_v = rolling ? Field(*rolling, "maxSurge") : nullptr;
  const Json* unavail_v = rolling ? Field(*rolling, "maxUnavailable") : nullptr;
  const Json& surge_j = surge_v ? *surge_v : kDefault;
  const Json& unavail_j = unavail_v ? *unavail_v : kDefault;
  // Validate against 100 so that "0%" and 0 are recognised whatever the replica count.
  ASSIGN_OR_RETURN(const int32_t surge_100,
                   ScaledIntOrPercent(surge_j, 100, true, "spec.strategy.rollingUpdate.maxSurge"));
  ASSIGN_OR_RETURN(
      const int32_t unavail_100,
      ScaledIntOrPercent(unavail_j, 100, false, "spec.strategy.rollingUpdate.maxUnavailable"));
  if (surge_100 == 0 && unavail_100 == 0) {
    return absl::InvalidArgumentError(
        "spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when maxSurge is 0");
  }
  if (unavail_j.is_string() && unavail_100 > 100) {
    return absl::InvalidArgumentError(
        "spec.strategy.rollingUpdate.maxUnavailable: must not be greater than 100%");
  }
  RollingParams p;
  ASSIGN_OR_RETURN(p.max_surge, ScaledIntOrPercent(surge_j, std::max(replicas, 0), true,
                                                   "spec.strategy.rollingUpdate.maxSurge"));
  ASSIGN_OR_RETURN(p.max_unavailable,
                   ScaledIntOrPercent(unavail_j, std::max(replicas, 0), false,
                                      "spec.strategy.rollingUpdate.maxUnavailable"));
  if (p.max_surge == 0 && p.max_unavailable == 0) p.max_unavailable = 1;
  return p;
}

absl::StatusOr<DeploymentDecision> ReconcileDeployment(const Json& deployment,
                                                       const std::vector<Json>& replica_sets,
                                                       const std::vector<Json>& pods,
                                                       absl::Time now) {
  Reconciler r(deployment, now);
  return r.Run(replica_sets, pods);
}

}  // namespace argonaut::cluster::workloads
