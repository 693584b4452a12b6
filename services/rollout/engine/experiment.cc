// The rollout's side of experiments (Argo's rollout/experiment.go): the Experiment a canary
// `experiment` step asks for (templates from the stable/canary ReplicaSets, args resolved on the
// rollout), how its phase steers the rollout, and which experiments to terminate or delete.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

const Json::json_pointer kCurrentExperiment("/canary/currentExperiment");

bool ExperimentDone(std::string_view phase) {
  return phase == "Successful" || phase == "Failed" || phase == "Error" || phase == "Inconclusive";
}

struct ExView {
  const Json* obj = nullptr;
  std::string name, hash, phase, message;
  bool terminating = false;
  absl::Time created = absl::InfinitePast();
};

ExView View(const Json& obj) {
  ExView v;
  v.obj = &obj;
  static const Json kEmpty = Json::object();
  const Json* m = wl::Field(obj, "metadata");
  const Json& meta = m == nullptr ? kEmpty : *m;
  v.name = wl::StrOr(meta, "name");
  if (const Json* labels = wl::Field(meta, "labels")) {
    v.hash = wl::StrOr(*labels, kPodTemplateHashLabel);
  }
  if (auto t = wl::TimeField(meta, "creationTimestamp")) v.created = *t;
  if (const Json* st = wl::Field(obj, "status")) {
    v.phase = wl::StrOr(*st, "phase");
    v.message = wl::StrOr(*st, "message");
  }
  if (const Json* spec = wl::Field(obj, "spec")) {
    const Json* t = wl::Field(*spec, "terminate");
    v.terminating = t != nullptr && t->is_boolean() && t->get<bool>();
  }
  return v;
}

std::vector<ExView> Views(const Ctx& c) {
  std::vector<ExView> out;
  for (const Json& e : c.in.experiments) out.push_back(View(e));
  return out;
}

std::string BaseName(const Ctx& c, int idx) {
  return absl::StrCat(c.spec.name, "-", c.new_hash, "-", c.new_revision, "-", idx);
}

// The step's experiment is `base` or, after a collision, `base-N`.
bool BelongsToStep(const Ctx& c, const std::string& name, int idx) {
  const std::string base = BaseName(c, idx);
  if (name == base) return true;
  if (name.rfind(base + "-", 0) != 0) return false;
  const std::string rest = name.substr(base.size() + 1);
  return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char ch) {
    return absl::ascii_isdigit(static_cast<unsigned char>(ch));
  });
}

const ExView* Find(const std::vector<ExView>& all, std::string_view name) {
  for (const ExView& v : all) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

// Argo's GetExperimentFromTemplate, over the engine's view of the ReplicaSets.
absl::StatusOr<Json> BuildExperiment(Ctx& c, const Step& s, int idx, const std::string& name) {
  const Json& step = s.experiment;
  const Json& meta_in = c.in.rollout.value("metadata", Json::object());
  Json labels = meta_in.value("labels", Json::object());
  if (!labels.is_object()) labels = Json::object();
  labels[kPodTemplateHashLabel] = c.new_hash;
  Json owner = c.in.rollout;
  if (wl::StrOr(owner, "apiVersion").empty()) owner["apiVersion"] = "argoproj.io/v1alpha1";
  if (wl::StrOr(owner, "kind").empty()) owner["kind"] = "Rollout";
  Json meta = {{"name", name},
               {"labels", labels},
               {"annotations", {{kRevisionAnnotation, absl::StrCat(c.new_revision)}}},
               {"ownerReferences", Json::array({wl::MakeControllerRef(owner)})}};
  if (!c.spec.ns.empty()) meta["namespace"] = c.spec.ns;
  Json spec = Json::object();
  if (const Json* d = wl::Field(step, "duration")) spec["duration"] = *d;
  if (const Json* pd = wl::FieldPath(c.in.rollout, {"spec", "progressDeadlineSeconds"})) {
    spec["progressDeadlineSeconds"] = *pd;
  }
  for (const char* k : {"dryRun", "analysisRunMetadata", "scaleDownDelaySeconds"}) {
    if (const Json* v = wl::Field(step, k)) spec[k] = *v;
  }
  Json templates = Json::array();
  const Json& steps_templates = step["templates"];
  for (size_t i = 0; i < steps_templates.size(); ++i) {
    const Json& ts = steps_templates[i];
    const std::string ref = wl::StrOr(ts, "specRef");
    const Rs* rs = ref == "canary" ? c.NewRs() : c.StableRs();
    if (rs == nullptr) return absl::NotFoundError("no ReplicaSet for specRef " + ref);
    Json t = {{"name", wl::StrOr(ts, "name")}};
    if (const Json* r = wl::Field(ts, "replicas")) t["replicas"] = *r;
    if (wl::Field(ts, "weight") != nullptr || wl::Field(ts, "service") != nullptr) {
      t["service"] = Json::object();
      if (const std::string n = wl::StrOr(ts.value("service", Json::object()), "name");
          !n.empty()) {
        t["service"]["name"] = n;
      }
    }
    const Json& rs_spec = rs->obj.value("spec", Json::object());
    Json tmpl = rs_spec.value("template", Json::object());
    t["minReadySeconds"] = rs_spec.value("minReadySeconds", 0);
    Json selector =
        ts.contains("selector") ? ts["selector"] : rs_spec.value("selector", Json::object());
    const Json* md = wl::Field(ts, "metadata");
    if (md != nullptr && md->is_object()) {
      if (const Json* l = wl::Field(*md, "labels"); l != nullptr && l->is_object()) {
        for (auto it = l->begin(); it != l->end(); ++it) {
          tmpl["metadata"]["labels"][it.key()] = it.value();
          selector["matchLabels"][it.key()] = it.value();
        }
      }
      if (const Json* a = wl::Field(*md, "annotations"); a != nullptr && a->is_object()) {
        for (auto it = a->begin(); it != a->end(); ++it) {
          tmpl["metadata"]["annotations"][it.key()] = it.value();
        }
      }
    }
    t["template"] = std::move(tmpl);
    t["selector"] = std::move(selector);
    templates.push_back(std::move(t));
  }
  spec["templates"] = std::move(templates);
  if (const Json* analyses = wl::Field(step, "analyses"); analyses != nullptr) {
    Json out = Json::array();
    for (const Json& a : *analyses) {
      Json resolved_block = {{"args", a.value("args", Json::array())}};
      absl::StatusOr<Json> resolved = ResolveArgs(c, resolved_block);
      if (!resolved.ok()) return resolved.status();
      Json ref = {{"name", wl::StrOr(a, "name")}, {"templateName", wl::StrOr(a, "templateName")}};
      if (const Json* cs = wl::Field(a, "clusterScope")) ref["clusterScope"] = *cs;
      if (const Json* rc = wl::Field(a, "requiredForCompletion")) {
        ref["requiredForCompletion"] = *rc;
      }
      if (!(*resolved)["args"].empty()) ref["args"] = (*resolved)["args"];
      out.push_back(std::move(ref));
    }
    spec["analyses"] = std::move(out);
  }
  return Json{{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "Experiment"},
              {"metadata", meta},
              {"spec", spec}};
}

}  // namespace

std::string ObserveExperiment(Ctx& c, int idx) {
  const Step& s = c.spec.steps[idx];
  const std::string path = absl::StrCat("spec.strategy.canary.steps[", idx, "].experiment");
  if (c.spec.traffic_routing) {
    const Json& ts = s.experiment["templates"];
    for (size_t i = 0; i < ts.size(); ++i) {
      if (wl::Field(ts[i], "weight") != nullptr) {
        c.Abort(absl::StrCat(path, ".templates[", i,
                             "].weight: weighted experiment templates need a traffic router "
                             "that can route to them (SMI, ALB, Istio); the local Service proxy "
                             "splits traffic between stable and canary only"));
        return "";
      }
    }
  }
  const std::vector<ExView> all = Views(c);
  std::string name =
      c.status.contains(kCurrentExperiment) && c.status[kCurrentExperiment].is_string()
          ? c.status[kCurrentExperiment].get<std::string>()
          : "";
  if (!name.empty() && !BelongsToStep(c, name, idx)) name.clear();
  const ExView* ex = name.empty() ? nullptr : Find(all, name);
  if (ex == nullptr) {
    // One created before its name reached the status (a crash in between) is ours.
    for (const ExView& v : all) {
      if (BelongsToStep(c, v.name, idx) && !v.terminating && !ExperimentDone(v.phase) &&
          v.hash == c.new_hash) {
        ex = &v;
        break;
      }
    }
  }
  if (ex == nullptr) {
    if (c.StableRs() == nullptr || c.NewRs() == nullptr) return "";  // nothing to copy yet
    const std::string base = BaseName(c, idx);
    name = base;
    for (int n = 1; Find(all, name) != nullptr; ++n) name = absl::StrCat(base, "-", n);
    absl::StatusOr<Json> obj = BuildExperiment(c, s, idx, name);
    if (!obj.ok()) {
      c.Abort(absl::StrCat(path, ": ", std::string(obj.status().message())));
      return "";
    }
    c.out.experiments_to_create.push_back(*std::move(obj));
    c.status[kCurrentExperiment] = name;
    c.current_experiment = name;
    c.Event("Normal", "ExperimentCreated", absl::StrCat("Created Experiment '", name, "'"));
    return "";
  }
  name = ex->name;
  if (ex->phase == "Successful") {
    c.status["canary"].erase("currentExperiment");
    c.current_experiment.clear();
    return "Successful";
  }
  c.status[kCurrentExperiment] = name;
  c.current_experiment = name;
  if (ex->phase == "Failed" || ex->phase == "Error") {
    std::string msg = "Experiment analysis phase is error/failed";
    if (!ex->message.empty()) absl::StrAppend(&msg, ": ", ex->message);
    c.Abort(msg);
    return ex->phase;
  }
  if (ex->phase == "Inconclusive") {
    if (c.HasPause(kPauseInconclusiveExperiment)) return ex->phase;
    // The user removed the pause this experiment caused (promote): carry on.
    if (c.prev_controller_pause) return "Resumed";
    c.AddPause(kPauseInconclusiveExperiment);
    return ex->phase;
  }
  return "";
}

void SettleExperiment(Ctx& c, int idx) {
  const int n = static_cast<int>(c.spec.steps.size());
  std::string name =
      c.status.contains(kCurrentExperiment) && c.status[kCurrentExperiment].is_string()
          ? c.status[kCurrentExperiment].get<std::string>()
          : "";
  const bool keep =
      !name.empty() && !c.aborted && !c.FullyPromoted() && !c.status.value("promoteFull", false) &&
      idx < n && c.spec.steps[idx].kind == Step::Kind::kExperiment && BelongsToStep(c, name, idx);
  if (keep) {
    c.current_experiment = name;
  } else {
    c.current_experiment.clear();
    if (c.status.contains("canary") && c.status["canary"].is_object()) {
      c.status["canary"].erase("currentExperiment");
    }
  }
}

void CollectExperimentActions(Ctx& c) {
  std::vector<ExView> all = Views(c);
  std::set<std::string> hashes;
  for (const Rs& rs : c.rss) hashes.insert(rs.hash);
  std::vector<const ExView*> successful, unsuccessful;
  std::sort(all.begin(), all.end(), [](const ExView& a, const ExView& b) {
    if (a.created != b.created) return a.created > b.created;
    return a.name > b.name;
  });
  for (const ExView& v : all) {
    if (!c.current_experiment.empty() && v.name == c.current_experiment) continue;
    if (!v.terminating && !ExperimentDone(v.phase)) {
      c.out.experiments_to_terminate.push_back(v.name);
      continue;
    }
    if (v.hash.empty() || hashes.count(v.hash) == 0) {
      c.out.experiments_to_delete.push_back(v.name);
    } else if (v.phase == "Successful") {
      successful.push_back(&v);
    } else if (ExperimentDone(v.phase)) {
      unsuccessful.push_back(&v);
    }
  }
  for (size_t i = std::max<int32_t>(c.spec.successful_run_history, 0); i < successful.size(); ++i) {
    c.out.experiments_to_delete.push_back(successful[i]->name);
  }
  for (size_t i = std::max<int32_t>(c.spec.unsuccessful_run_history, 0); i < unsuccessful.size();
       ++i) {
    c.out.experiments_to_delete.push_back(unsuccessful[i]->name);
  }
}

}  // namespace argonaut::rollout::engine
