// ReconcileExperiment: templates -> ReplicaSets (and Services), availability -> availableAt,
// analyses -> AnalysisRuns once available, and the experiment phase from the worst template and
// the worst analysis, in the order Argo's experiment controller decides them.
#include "services/rollout/experiment/experiment.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/cluster/workloads/pod_template.h"

namespace argonaut::rollout::experiment {
namespace {

using Json = nlohmann::json;
namespace wl = ::argonaut::cluster::workloads;

// Template statuses, best to worst (Argo's templateStatusOrder).
int TemplateRank(std::string_view s) {
  if (s == "Running") return 1;
  if (s == "Progressing") return 2;
  if (s == "Error") return 3;
  if (s == "Failed") return 4;
  return 0;  // Successful (and unknown)
}

// AnalysisRun phases, best to worst (Argo's analysisutil.IsWorse order).
int PhaseRank(std::string_view p) {
  if (p == "Running") return 1;
  if (p == "Pending") return 2;
  if (p == "Inconclusive") return 3;
  if (p == "Error") return 4;
  if (p == "Failed") return 5;
  return 0;  // Successful, ""
}

bool TemplateCompleted(std::string_view s) {
  return s == "Successful" || s == "Failed" || s == "Error";
}

Json* FindNamed(Json& list, std::string_view name) {
  if (!list.is_array()) return nullptr;
  for (Json& e : list) {
    if (e.is_object() && wl::StrOr(e, "name") == name) return &e;
  }
  return nullptr;
}

const Json* FindNamed(const Json& list, std::string_view name) {
  return FindNamed(const_cast<Json&>(list), name);
}

const Json& Obj(const Json& o, std::string_view key) {
  static const Json kEmpty = Json::object();
  const Json* f = wl::Field(o, key);
  return f != nullptr && f->is_object() ? *f : kEmpty;
}

std::string Annotation(const Json& obj, const char* key) {
  return wl::StrOr(Obj(Obj(obj, "metadata"), "annotations"), key);
}

struct Template {
  std::string name;
  int32_t replicas = 1;
  int32_t min_ready_seconds = 0;
  Json selector, pod_template;
  bool service = false;
  std::string service_name;
};

struct Analysis {
  std::string name;
  Json ref;  // the spec.analyses entry
  bool required = false;
};

struct Spec {
  std::string name, ns;
  std::vector<Template> templates;
  std::vector<Analysis> analyses;
  std::optional<absl::Duration> duration;
  int32_t progress_deadline_seconds = kDefaultProgressDeadlineSeconds;
  int32_t scale_down_delay_seconds = kDefaultScaleDownDelaySeconds;
  bool terminate = false;
};

absl::Status Invalid(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::StatusOr<std::optional<absl::Duration>> ParseGoDuration(const Json& spec) {
  const Json* d = wl::Field(spec, "duration");
  if (d == nullptr) return std::optional<absl::Duration>();
  if (!d->is_string()) return Invalid("spec.duration", "must be a Go duration string (\"1h\")");
  const std::string text = d->get<std::string>();
  if (text.empty()) return std::optional<absl::Duration>();
  absl::Duration out;
  // absl's syntax is Go's (ns us ms s m h, fractions, sums), plus "inf" which Go lacks.
  if (text == "inf" || text == "-inf" || !absl::ParseDuration(text, &out) ||
      out < absl::ZeroDuration()) {
    return Invalid("spec.duration", absl::StrCat("invalid duration \"", text, "\""));
  }
  return std::optional<absl::Duration>(out);
}

absl::StatusOr<Spec> ParseSpec(const Json& ex) {
  Spec s;
  const Json& meta = Obj(ex, "metadata");
  s.name = wl::StrOr(meta, "name");
  s.ns = wl::StrOr(meta, "namespace");
  const Json& spec = Obj(ex, "spec");
  ASSIGN_OR_RETURN(s.duration, ParseGoDuration(spec));
  ASSIGN_OR_RETURN(s.progress_deadline_seconds,
                   wl::Int32Field(spec, "progressDeadlineSeconds", kDefaultProgressDeadlineSeconds,
                                  "spec.progressDeadlineSeconds"));
  ASSIGN_OR_RETURN(s.scale_down_delay_seconds,
                   wl::Int32Field(spec, "scaleDownDelaySeconds", kDefaultScaleDownDelaySeconds,
                                  "spec.scaleDownDelaySeconds"));
  ASSIGN_OR_RETURN(s.terminate, wl::BoolField(spec, "terminate", false, "spec.terminate"));
  const Json* templates = wl::Field(spec, "templates");
  if (templates == nullptr || !templates->is_array() || templates->empty()) {
    return Invalid("spec.templates", "at least one template is required");
  }
  std::map<std::string, bool> seen;
  for (size_t i = 0; i < templates->size(); ++i) {
    const Json& t = (*templates)[i];
    const std::string path = absl::StrCat("spec.templates[", i, "]");
    if (!t.is_object()) return Invalid(path, "must be an object");
    Template tp;
    ASSIGN_OR_RETURN(tp.name, wl::StringField(t, "name", "", path + ".name"));
    if (tp.name.empty()) {
      return Invalid(path + ".name",
                     absl::StrCat("Experiment ", s.name, " has empty template name at index ", i));
    }
    if (seen[tp.name]) {
      return Invalid(path + ".name",
                     absl::StrCat("Experiment ", s.name, " has repeated template name '", tp.name,
                                  "' in templates"));
    }
    seen[tp.name] = true;
    ASSIGN_OR_RETURN(tp.replicas, wl::Int32Field(t, "replicas", 1, path + ".replicas"));
    if (tp.replicas < 0) return Invalid(path + ".replicas", "must not be negative");
    ASSIGN_OR_RETURN(tp.min_ready_seconds,
                     wl::Int32Field(t, "minReadySeconds", 0, path + ".minReadySeconds"));
    if (tp.min_ready_seconds > s.progress_deadline_seconds) {
      return Invalid(path + ".minReadySeconds",
                     absl::StrCat("MinReadySeconds cannot be longer than ProgressDeadlineSeconds. "
                                  "Check template index ",
                                  i));
    }
    const Json* sel = wl::Field(t, "selector");
    if (sel == nullptr || !sel->is_object()) {
      return Invalid(path + ".selector", "Required value: the template needs a selector");
    }
    if (Obj(*sel, "matchLabels").empty() &&
        (!sel->contains("matchExpressions") || !(*sel)["matchExpressions"].is_array() ||
         (*sel)["matchExpressions"].empty())) {
      return Invalid(path + ".selector",
                     absl::StrCat("This experiment is selecting all pods at index ", i,
                                  ". A non-empty selector is required."));
    }
    tp.selector = *sel;
    const Json* pt = wl::Field(t, "template");
    if (pt == nullptr || !pt->is_object()) {
      return Invalid(path + ".template", "Required value: the template needs a pod template");
    }
    tp.pod_template = *pt;
    if (const Json* svc = wl::Field(t, "service"); svc != nullptr && svc->is_object()) {
      tp.service = true;
      tp.service_name = wl::StrOr(*svc, "name");
    }
    s.templates.push_back(std::move(tp));
  }
  if (const Json* analyses = wl::Field(spec, "analyses")) {
    if (!analyses->is_array()) return Invalid("spec.analyses", "must be a list");
    for (size_t i = 0; i < analyses->size(); ++i) {
      const Json& a = (*analyses)[i];
      const std::string path = absl::StrCat("spec.analyses[", i, "]");
      if (!a.is_object()) return Invalid(path, "must be an object");
      Analysis an;
      ASSIGN_OR_RETURN(an.name, wl::StringField(a, "name", "", path + ".name"));
      if (an.name.empty()) return Invalid(path + ".name", "Required value");
      const std::string tname = wl::StrOr(a, "templateName");
      if (tname.empty()) return Invalid(path + ".templateName", "Required value");
      ASSIGN_OR_RETURN(an.required, wl::BoolField(a, "requiredForCompletion", false,
                                                  path + ".requiredForCompletion"));
      an.ref = a;
      s.analyses.push_back(std::move(an));
    }
  }
  return s;
}

// The experiment state Argo's helpers read from the *input* object.
struct Prev {
  std::string phase;
  Json status;
  std::optional<absl::Time> available_at;
};

bool RequiredRunsSuccessful(const Spec& spec, const Json& status) {
  bool any = false;
  for (const Analysis& a : spec.analyses) {
    if (!a.required) continue;
    any = true;
    const Json* runs = wl::Field(status, "analysisRuns");
    const Json* st = runs == nullptr ? nullptr : FindNamed(*runs, a.name);
    if (st == nullptr || wl::StrOr(*st, "phase") != "Successful") return false;
  }
  return any;
}

bool IsTerminating(const Spec& spec, const Prev& prev) {
  if (spec.terminate || PhaseCompleted(prev.phase)) return true;
  if (const Json* ts = wl::Field(prev.status, "templateStatuses");
      ts != nullptr && ts->is_array()) {
    for (const Json& t : *ts) {
      const std::string s = wl::StrOr(t, "status");
      if (s == "Failed" || s == "Error") return true;
    }
  }
  if (const Json* runs = wl::Field(prev.status, "analysisRuns");
      runs != nullptr && runs->is_array()) {
    for (const Json& r : *runs) {
      const std::string p = wl::StrOr(r, "phase");
      if (p == "Failed" || p == "Error" || p == "Inconclusive") return true;
    }
  }
  return RequiredRunsSuccessful(spec, prev.status);
}

// Argo's PassedDurations, with `>=` so that a clock landing exactly on the instant counts.
bool PassedDuration(const Spec& spec, std::optional<absl::Time> available_at, absl::Time now,
                    absl::Duration* remaining) {
  if (!spec.duration.has_value() || !available_at.has_value()) return false;
  const absl::Time end = *available_at + *spec.duration;
  if (remaining != nullptr) *remaining = end - now;
  return now >= end;
}

Json WithoutHash(Json t) {
  if (t.contains("metadata") && t["metadata"].is_object() && t["metadata"].contains("labels") &&
      t["metadata"]["labels"].is_object()) {
    t["metadata"]["labels"].erase(engine::kPodTemplateHashLabel);
    if (t["metadata"]["labels"].empty()) t["metadata"].erase("labels");
    if (t["metadata"].empty()) t.erase("metadata");
  }
  return t;
}

struct Ctx {
  const ExperimentInput& in;
  const Spec& spec;
  Prev prev;
  bool terminating = false;
  Json status;
  ExperimentOutput out;
  std::map<std::string, const Json*> rss, services;  // by template name
  std::optional<absl::Duration> requeue;

  void Requeue(absl::Duration d) {
    if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
    if (!requeue.has_value() || d < *requeue) requeue = d;
  }
  void Event(std::string type, std::string reason, std::string message) {
    out.events.push_back({std::move(type), std::move(reason), std::move(message)});
  }
};

Json OwnerRef(const Json& ex) {
  Json owner = ex;
  if (wl::StrOr(owner, "apiVersion").empty()) owner["apiVersion"] = "argoproj.io/v1alpha1";
  if (wl::StrOr(owner, "kind").empty()) owner["kind"] = "Experiment";
  return wl::MakeControllerRef(owner);
}

absl::StatusOr<Json> NewReplicaSet(Ctx& c, const Template& t, int32_t replicas,
                                   std::optional<int32_t> collisions) {
  Json tmpl = WithoutHash(t.pod_template);
  ASSIGN_OR_RETURN(std::string hash, wl::ComputeTemplateHash(tmpl, collisions));
  tmpl["metadata"]["labels"][engine::kPodTemplateHashLabel] = hash;
  Json selector = t.selector;
  selector["matchLabels"][engine::kPodTemplateHashLabel] = hash;
  Json meta = {{"name", absl::StrCat(c.spec.name, "-", t.name)},
               {"labels", tmpl["metadata"]["labels"]},
               {"annotations",
                {{kExperimentNameAnnotation, c.spec.name}, {kTemplateNameAnnotation, t.name}}},
               {"ownerReferences", Json::array({OwnerRef(c.in.experiment)})}};
  if (!c.spec.ns.empty()) meta["namespace"] = c.spec.ns;
  return Json{{"apiVersion", "apps/v1"},
              {"kind", "ReplicaSet"},
              {"metadata", meta},
              {"spec",
               {{"replicas", replicas},
                {"minReadySeconds", t.min_ready_seconds},
                {"selector", selector},
                {"template", tmpl}}}};
}

// Argo's createTemplateService: one port per container port, selecting the template's pods.
std::optional<Json> NewService(Ctx& c, const Template& t, const Json& rs) {
  Json ports = Json::array();
  const Json* containers = wl::FieldPath(rs, {"spec", "template", "spec", "containers"});
  if (containers != nullptr && containers->is_array()) {
    for (const Json& ctr : *containers) {
      const Json* cports = wl::Field(ctr, "ports");
      if (cports == nullptr || !cports->is_array()) continue;
      for (const Json& p : *cports) {
        const Json* port = wl::Field(p, "containerPort");
        if (port == nullptr || !port->is_number_integer()) continue;
        Json sp = {
            {"protocol", wl::StrOr(p, "protocol", "TCP")}, {"port", *port}, {"targetPort", *port}};
        if (const std::string n = wl::StrOr(p, "name"); !n.empty()) sp["name"] = n;
        ports.push_back(std::move(sp));
      }
    }
  }
  if (ports.empty()) return std::nullopt;
  const std::string name =
      t.service_name.empty() ? wl::StrOr(Obj(rs, "metadata"), "name") : t.service_name;
  Json meta = {{"name", name},
               {"annotations",
                {{kExperimentNameAnnotation, c.spec.name}, {kTemplateNameAnnotation, t.name}}},
               {"ownerReferences", Json::array({OwnerRef(c.in.experiment)})}};
  if (!c.spec.ns.empty()) meta["namespace"] = c.spec.ns;
  return Json{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", meta},
      {"spec",
       {{"selector", Obj(rs, "metadata").value("labels", Json::object())}, {"ports", ports}}}};
}

int32_t DesiredReplicas(const Ctx& c, const Template& t, const Json& ts) {
  if (c.terminating || TemplateCompleted(wl::StrOr(ts, "status"))) return 0;
  return t.replicas;
}

absl::Status ReconcileTemplate(Ctx& c, const Template& t) {
  Json* existing = FindNamed(c.prev.status["templateStatuses"], t.name);
  Json ts = existing != nullptr ? *existing : Json{{"name", t.name}};
  const Json before = ts;
  const int32_t desired = DesiredReplicas(c, t, ts);
  const std::string now_text = wl::FormatK8sTime(c.in.now);

  Json rs;
  auto found = c.rss.find(t.name);
  if (found == c.rss.end()) {
    std::optional<int32_t> collisions;
    if (ts.contains("collisionCount") && ts["collisionCount"].is_number_integer()) {
      collisions = ts["collisionCount"].get<int32_t>();
    }
    ASSIGN_OR_RETURN(rs, NewReplicaSet(c, t, desired, collisions));
    c.out.replica_sets_to_create.push_back(rs);
    if (desired > 0) {
      c.Event("Normal", "ScalingReplicaSet",
              absl::StrCat("Created ReplicaSet ", wl::StrOr(rs["metadata"], "name"), " with size ",
                           desired));
    }
    ts["lastTransitionTime"] = now_text;
  } else {
    rs = *found->second;
    // The template's Service lives while the template does; it goes once no pod is left.
    auto svc = c.services.find(t.name);
    const int64_t available = wl::IntOr(Obj(rs, "status"), "availableReplicas", 0);
    if (t.service && desired != 0) {
      if (svc == c.services.end()) {
        if (auto s = NewService(c, t, rs)) {
          ts["serviceName"] = (*s)["metadata"]["name"];
          c.out.services_to_create.push_back(*std::move(s));
        }
      } else {
        ts["serviceName"] = wl::StrOr(Obj(*svc->second, "metadata"), "name");
      }
    } else if (svc != c.services.end() && (!t.service || available == 0)) {
      c.out.services_to_delete.push_back(wl::StrOr(Obj(*svc->second, "metadata"), "name"));
      ts.erase("serviceName");
    }
    const int32_t current = static_cast<int32_t>(wl::IntOr(Obj(rs, "spec"), "replicas", 1));
    Json updated = rs;
    bool changed = false;
    if (desired == 0) {
      // Scale down only after scaleDownDelaySeconds (the scale-down-deadline annotation).
      const std::string deadline_text = Annotation(rs, engine::kScaleDownDeadlineAnnotation);
      if (c.spec.scale_down_delay_seconds == 0) {
        if (!deadline_text.empty()) {
          updated["metadata"]["annotations"].erase(engine::kScaleDownDeadlineAnnotation);
          changed = true;
        }
      } else if (deadline_text.empty() && current != 0) {
        updated["metadata"]["annotations"][engine::kScaleDownDeadlineAnnotation] =
            wl::FormatK8sTime(c.in.now + absl::Seconds(c.spec.scale_down_delay_seconds));
        changed = true;
      }
    }
    if (current != desired) {
      int32_t want = desired;
      if (desired == 0) {
        const std::string deadline_text = Annotation(updated, engine::kScaleDownDeadlineAnnotation);
        auto deadline = wl::ParseK8sTime(deadline_text);
        if (!deadline_text.empty() && deadline.ok() && *deadline > c.in.now) {
          c.Requeue(*deadline - c.in.now);
          want = current;
        }
      }
      if (want != current) {
        updated["spec"]["replicas"] = want;
        changed = true;
        c.Event(
            "Normal", "ScalingReplicaSet",
            absl::StrCat("Scaled ", want > current ? "up" : "down", " ReplicaSet ",
                         wl::StrOr(Obj(rs, "metadata"), "name"), " from ", current, " to ", want));
        ts["lastTransitionTime"] = now_text;
      }
    }
    if (changed) c.out.replica_sets_to_update.push_back(std::move(updated));
  }

  const Json& st = Obj(rs, "status");
  ts["replicas"] = wl::IntOr(st, "replicas", 0);
  ts["updatedReplicas"] = wl::IntOr(st, "replicas", 0);
  ts["readyReplicas"] = wl::IntOr(st, "readyReplicas", 0);
  ts["availableReplicas"] = wl::IntOr(st, "availableReplicas", 0);
  ts["podTemplateHash"] =
      wl::StrOr(Obj(Obj(rs, "metadata"), "labels"), engine::kPodTemplateHashLabel);
  for (const char* k : {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"}) {
    if (before.value(k, Json(0)) != ts[k]) ts["lastTransitionTime"] = now_text;
  }

  const std::string prev_status = wl::StrOr(before, "status");
  if (!TemplateCompleted(prev_status)) {
    const int64_t available = ts["availableReplicas"].get<int64_t>();
    std::string next;
    if (desired == available) {
      next = PassedDuration(c.spec, c.prev.available_at, c.in.now, nullptr) || c.terminating
                 ? "Successful"
                 : "Running";
    } else {
      absl::Time from = c.in.now;
      if (auto t0 = wl::TimeField(ts, "lastTransitionTime")) from = *t0;
      const absl::Time deadline = from + absl::Seconds(c.spec.progress_deadline_seconds);
      if (c.in.now > deadline) {
        next = "Failed";
        ts["message"] =
            absl::StrCat("Template '", t.name, "' exceeded its progressDeadlineSeconds (",
                         c.spec.progress_deadline_seconds, ")");
      } else if (c.terminating) {
        next = "Successful";
      } else {
        next = "Progressing";
      }
    }
    ts["status"] = next;
  }
  const std::string next_status = wl::StrOr(ts, "status");
  if (prev_status != next_status) {
    std::string msg = absl::StrCat("Template '", t.name, "' transitioned from ", prev_status,
                                   " -> ", next_status);
    if (const std::string m = wl::StrOr(ts, "message"); !m.empty()) absl::StrAppend(&msg, ": ", m);
    c.Event(next_status == "Failed" || next_status == "Error" ? "Warning" : "Normal",
            absl::StrCat("Template", next_status), msg);
  }
  Json& list = c.status["templateStatuses"];
  if (Json* slot = FindNamed(list, t.name)) {
    *slot = std::move(ts);
  } else {
    list.push_back(std::move(ts));
  }
  return absl::OkStatus();
}

const Json* ObservedRun(const Ctx& c, std::string_view name) {
  for (const Json& r : c.in.analysis_runs) {
    if (wl::StrOr(Obj(r, "metadata"), "name") == name) return &r;
  }
  return nullptr;
}

void ReconcileAnalysis(Ctx& c, const Analysis& a) {
  const Json* runs = wl::Field(c.prev.status, "analysisRuns");
  const Json* existing = runs == nullptr ? nullptr : FindNamed(*runs, a.name);
  const Json before = existing != nullptr ? *existing : Json{{"name", a.name}};
  Json st = before;
  auto finish = [&]() {
    const std::string p0 = wl::StrOr(before, "phase"), p1 = wl::StrOr(st, "phase");
    if (p0 != p1 && !p1.empty()) {
      std::string msg =
          absl::StrCat("AnalysisRun '", a.name, "' transitioned from ", p0, " -> ", p1);
      if (const std::string m = wl::StrOr(st, "message"); !m.empty()) {
        absl::StrAppend(&msg, ": ", m);
      }
      const bool bad = p1 == "Failed" || p1 == "Error" || p1 == "Inconclusive";
      c.Event(bad ? "Warning" : "Normal", absl::StrCat("AnalysisRun", p1), msg);
    }
    Json& list = c.status["analysisRuns"];
    if (Json* slot = FindNamed(list, a.name)) {
      *slot = st;
    } else {
      list.push_back(st);
    }
  };
  // Runs start once every template is available (the previous pass set availableAt).
  if (!c.prev.available_at.has_value()) return finish();
  const std::string run_name = wl::StrOr(before, "analysisRun");
  if (run_name.empty()) {
    if (c.terminating) return finish();
    ExperimentRunRequest req;
    req.analysis = a.name;
    req.spec = {
        {"templates", Json::array({{{"templateName", wl::StrOr(a.ref, "templateName")},
                                    {"clusterScope", a.ref.value("clusterScope", false)}}})}};
    Json args = Json::array();
    if (const Json* in_args = wl::Field(a.ref, "args"); in_args != nullptr && in_args->is_array()) {
      for (const Json& arg : *in_args) {
        Json out = arg;
        if (const Json* v = wl::Field(arg, "value"); v != nullptr && v->is_string()) {
          auto resolved =
              ResolveExperimentArg(v->get<std::string>(), c.in.experiment, c.in.replica_sets);
          if (!resolved.ok()) {
            st["phase"] = "Error";
            st["message"] = absl::StrCat("Failed to create AnalysisRun for analysis '", a.name,
                                         "': ", resolved.status().message());
            return finish();
          }
          out["value"] = *resolved;
        }
        args.push_back(std::move(out));
      }
    }
    req.spec["args"] = std::move(args);
    const Json& spec = Obj(c.in.experiment, "spec");
    for (const char* k : {"dryRun", "measurementRetention", "analysisRunMetadata"}) {
      if (const Json* v = wl::Field(spec, k)) req.spec[k] = *v;
    }
    // A run of this name from an earlier attempt (a retried experiment) keeps it: number ours.
    const std::string base = absl::StrCat(c.spec.name, "-", a.name);
    std::string name = base;
    for (int n = 1;; ++n) {
      const Json* old = ObservedRun(c, name);
      if (old == nullptr) break;
      const bool finished = PhaseCompleted(wl::StrOr(Obj(*old, "status"), "phase")) ||
                            Obj(*old, "spec").value("terminate", false);
      if (!finished) break;  // ours, created before the status said so
      name = absl::StrCat(base, ".", n);
    }
    req.name = name;
    if (ObservedRun(c, name) == nullptr) {
      c.out.analysis_runs_to_create.push_back(std::move(req));
      c.Event("Normal", "AnalysisRunCreated", absl::StrCat("Created AnalysisRun ", name));
    }
    st["analysisRun"] = name;
    st["phase"] = "Pending";
    st.erase("message");
    return finish();
  }
  if (PhaseCompleted(wl::StrOr(before, "phase"))) return finish();
  const Json* run = ObservedRun(c, run_name);
  if (run == nullptr) {
    st["phase"] = "Error";
    st["message"] = absl::StrCat("analysisruns.argoproj.io \"", run_name, "\" not found");
    return finish();
  }
  const Json& rst = Obj(*run, "status");
  if (c.terminating) {
    if (!PhaseCompleted(wl::StrOr(rst, "phase")) && !Obj(*run, "spec").value("terminate", false)) {
      c.out.analysis_runs_to_terminate.push_back(run_name);
      c.Event("Normal", "AnalysisRunTerminating",
              absl::StrCat("Terminating ", a.name, " (", run_name, ")"));
    }
    return finish();
  }
  const std::string phase = wl::StrOr(rst, "phase");
  st["phase"] = phase.empty() ? "Pending" : phase;
  if (const std::string m = wl::StrOr(rst, "message"); !m.empty()) {
    st["message"] = m;
  } else {
    st.erase("message");
  }
  finish();
}

std::pair<std::string, std::string> AssessTemplates(const Ctx& c) {
  std::string worst = "Successful", message;
  for (const Template& t : c.spec.templates) {
    const Json* ts = FindNamed(c.status["templateStatuses"], t.name);
    const std::string s = ts == nullptr ? "Progressing" : wl::StrOr(*ts, "status");
    if (TemplateRank(s) > TemplateRank(worst)) {
      worst = s;
      message = ts == nullptr ? "" : wl::StrOr(*ts, "message");
    }
  }
  if (worst == "Progressing") return {"Pending", message};
  return {worst, message};  // Running, Successful, Failed, Error share their names
}

std::pair<std::string, std::string> AssessRuns(const Ctx& c) {
  std::string worst = "Successful", message;
  for (const Analysis& a : c.spec.analyses) {
    const Json* st = FindNamed(c.status["analysisRuns"], a.name);
    const std::string p = st == nullptr ? "" : wl::StrOr(*st, "phase");
    if (PhaseRank(p) > PhaseRank(worst)) {
      worst = p;
      message = wl::StrOr(*st, "message");
    }
  }
  if (RequiredRunsSuccessful(c.spec, c.status) && PhaseRank(worst) < PhaseRank("Running")) {
    return {"Successful", "Required AnalysisRuns completed"};
  }
  if (worst == "Pending") worst = "Running";
  return {worst, message};
}

void CalculateStatus(Ctx& c) {
  const std::string phase = c.status.value("phase", "");
  if (phase.empty()) {
    c.status["phase"] = "Pending";
  } else if (phase == "Pending" || phase == "Running") {
    auto [tphase, tmsg] = AssessTemplates(c);
    auto [aphase, amsg] = AssessRuns(c);
    if (tphase == "Running" && !c.status.contains("availableAt")) {
      c.status["availableAt"] = wl::FormatK8sTime(c.in.now);
    }
    bool has_required = false;
    for (const Analysis& a : c.spec.analyses) has_required |= a.required;
    std::string next = tphase, msg = tmsg;
    if (PhaseCompleted(tphase)) {
      if (tphase == "Successful" && (PhaseCompleted(aphase) || has_required)) {
        next = aphase;
        msg = amsg;
      }
    } else if ((PhaseCompleted(aphase) && aphase != "Successful") ||
               RequiredRunsSuccessful(c.spec, c.status)) {
      next = aphase;
      msg = amsg;
    }
    c.status["phase"] = next;
    if (msg.empty()) {
      c.status.erase("message");
    } else {
      c.status["message"] = msg;
    }
  }
  // Conditions: Progressing, as Argo's calculateExperimentConditions sets it.
  Json& conds = c.status["conditions"];
  if (!conds.is_array()) conds = Json::array();
  wl::RemoveCondition(conds, "InvalidSpec");
  const std::string quoted = absl::StrCat("\"", c.spec.name, "\"");
  bool progressed = false;
  const Json* old_ts = wl::Field(c.prev.status, "templateStatuses");
  const size_t old_n = old_ts != nullptr && old_ts->is_array() ? old_ts->size() : 0;
  if (old_n < c.status["templateStatuses"].size()) progressed = true;
  for (const Json& ts : c.status["templateStatuses"]) {
    const Json* o = old_ts == nullptr ? nullptr : FindNamed(*old_ts, wl::StrOr(ts, "name"));
    if (o == nullptr) continue;
    for (const char* k : {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"}) {
      if (o->value(k, Json(0)) != ts.value(k, Json(0))) progressed = true;
    }
  }
  if (c.status["phase"] == "Successful") {
    wl::SetCondition(conds, "Progressing", "False", "ExperimentCompleted",
                     absl::StrCat("Experiment ", quoted, " has successfully ran and completed."),
                     c.in.now, true);
  } else if (progressed) {
    wl::SetCondition(conds, "Progressing", "True", "ReplicaSetUpdated",
                     absl::StrCat("Experiment ", quoted, " is progressing."), c.in.now, true);
  } else if (c.prev.available_at.has_value() &&
             !PassedDuration(c.spec, c.prev.available_at, c.in.now, nullptr)) {
    wl::SetCondition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                     absl::StrCat("Experiment ", quoted, " is running."), c.in.now, true);
  }
  if (conds.empty()) c.status.erase("conditions");
}

// Argo's calculateEnqueueDuration: the end of `duration`, or a template's progress deadline.
void Requeues(Ctx& c) {
  Prev next{.phase = c.status.value("phase", ""), .status = c.status};
  if (auto t = wl::TimeField(c.status, "availableAt")) next.available_at = *t;
  if (IsTerminating(c.spec, next)) return;
  absl::Duration remaining;
  if (next.available_at.has_value() &&
      !PassedDuration(c.spec, next.available_at, c.in.now, &remaining) &&
      c.spec.duration.has_value()) {
    c.Requeue(remaining);
  }
  for (const Template& t : c.spec.templates) {
    const Json* ts = FindNamed(c.status["templateStatuses"], t.name);
    if (ts == nullptr) continue;
    const std::string s = wl::StrOr(*ts, "status");
    if (s != "Progressing" && s != "Running") continue;
    if (wl::IntOr(*ts, "availableReplicas", 0) == t.replicas) continue;
    if (auto from = wl::TimeField(*ts, "lastTransitionTime")) {
      // One second past the deadline: the template fails strictly after it.
      c.Requeue(*from + absl::Seconds(c.spec.progress_deadline_seconds) + absl::Seconds(1) -
                c.in.now);
    }
  }
}

ExperimentOutput InvalidSpecOutput(const ExperimentInput& in, const std::string& message) {
  ExperimentOutput out;
  const Json* prev = wl::Field(in.experiment, "status");
  out.status = prev != nullptr && prev->is_object() ? *prev : Json::object();
  Json& conds = out.status["conditions"];
  if (!conds.is_array()) conds = Json::array();
  wl::SetCondition(conds, "InvalidSpec", "True", "InvalidSpec", message, in.now, true);
  out.status["phase"] = "Error";
  out.status["message"] = absl::StrCat("InvalidSpec: ", message);
  return out;
}

absl::StatusOr<ExperimentOutput> ReconcileUnguarded(const ExperimentInput& in) {
  absl::StatusOr<Spec> spec = ParseSpec(in.experiment);
  if (!spec.ok()) {
    if (!absl::IsInvalidArgument(spec.status())) return spec.status();
    return InvalidSpecOutput(in, std::string(spec.status().message()));
  }
  Ctx c{.in = in, .spec = *spec};
  const Json* prev = wl::Field(in.experiment, "status");
  c.prev.status = prev != nullptr && prev->is_object() ? *prev : Json::object();
  c.prev.phase = wl::StrOr(c.prev.status, "phase");
  if (auto t = wl::TimeField(c.prev.status, "availableAt")) c.prev.available_at = *t;
  if (!c.prev.status["templateStatuses"].is_array()) {
    c.prev.status["templateStatuses"] = Json::array();
  }
  c.terminating = IsTerminating(c.spec, c.prev);
  c.status = c.prev.status;
  c.status.erase("templateStatuses");
  c.status["templateStatuses"] = Json::array();
  // A status written before the spec was fixed may still carry the InvalidSpec phase.
  if (c.prev.phase == "Error" &&
      wl::GetCondition(c.status.value("conditions", Json::array()), "InvalidSpec") != nullptr) {
    c.status.erase("phase");
    c.status.erase("message");
    c.prev.phase.clear();
  }
  for (const Json& rs : in.replica_sets) {
    if (wl::IsTerminating(rs)) continue;
    if (Annotation(rs, kExperimentNameAnnotation) != c.spec.name) continue;
    c.rss.emplace(Annotation(rs, kTemplateNameAnnotation), &rs);
  }
  for (const Json& svc : in.services) {
    if (Annotation(svc, kExperimentNameAnnotation) != c.spec.name) continue;
    c.services.emplace(Annotation(svc, kTemplateNameAnnotation), &svc);
  }
  for (const Template& t : c.spec.templates) RETURN_IF_ERROR(ReconcileTemplate(c, t));
  if (!c.spec.analyses.empty()) {
    c.status["analysisRuns"] = Json::array();
    for (const Analysis& a : c.spec.analyses) ReconcileAnalysis(c, a);
  } else {
    c.status.erase("analysisRuns");
  }
  CalculateStatus(c);
  Requeues(c);
  c.out.requeue_after = c.requeue;
  c.out.status = std::move(c.status);
  return std::move(c.out);
}

}  // namespace

bool PhaseCompleted(std::string_view phase) {
  return phase == "Successful" || phase == "Failed" || phase == "Error" || phase == "Inconclusive";
}

absl::StatusOr<std::string> ResolveExperimentArg(const std::string& value, const Json& experiment,
                                                 const std::vector<Json>& replica_sets) {
  std::map<std::string, std::string> vars;
  const Json& status = Obj(experiment, "status");
  if (auto at = wl::TimeField(status, "availableAt")) {
    vars["experiment.availableAt"] = wl::FormatK8sTime(*at);
    absl::StatusOr<std::optional<absl::Duration>> d = ParseGoDuration(Obj(experiment, "spec"));
    if (!d.ok()) return d.status();
    if (d->has_value()) vars["experiment.finishedAt"] = wl::FormatK8sTime(*at + **d);
  }
  const std::string ex_name = wl::StrOr(Obj(experiment, "metadata"), "name");
  for (const Json& rs : replica_sets) {
    if (Annotation(rs, kExperimentNameAnnotation) != ex_name) continue;
    const std::string t = Annotation(rs, kTemplateNameAnnotation);
    vars[absl::StrCat("templates.", t, ".podTemplateHash")] =
        wl::StrOr(Obj(Obj(rs, "metadata"), "labels"), engine::kPodTemplateHashLabel);
    vars[absl::StrCat("templates.", t, ".replicaset.name")] =
        wl::StrOr(Obj(rs, "metadata"), "name");
  }
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    const size_t open = value.find("{{", i);
    if (open == std::string::npos) break;
    const size_t close = value.find("}}", open + 2);
    if (close == std::string::npos) break;  // fasttemplate leaves an unclosed tag as text
    out.append(value, i, open - i);
    const std::string tag = value.substr(open + 2, close - open - 2);
    auto it = vars.find(std::string(absl::StripAsciiWhitespace(tag)));
    if (it == vars.end()) {
      return absl::InvalidArgumentError(absl::StrCat("failed to resolve {{", tag, "}}"));
    }
    out += it->second;
    i = close + 2;
  }
  out.append(value, i, std::string::npos);
  return out;
}

absl::StatusOr<ExperimentOutput> ReconcileExperiment(const ExperimentInput& in) {
  try {
    return ReconcileUnguarded(in);
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(
        absl::StrCat("experiment reconciler: unexpected object shape: ", e.what()));
  }
}

}  // namespace argonaut::rollout::experiment
