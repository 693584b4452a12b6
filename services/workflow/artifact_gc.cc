#include "services/workflow/artifact_gc.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace argonaut::workflow::artifact_gc {
namespace {

using nlohmann::json;

const json& Field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string Str(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

bool Completed(const json& wf) {
  const std::string phase = Str(Field(wf, "status"), "phase");
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

// Location fields of Argo's ArtifactLocation plus this runtime's `local`.
constexpr const char* kLocations[] = {"local", "s3",          "gcs",  "azure", "oss",
                                      "hdfs",  "artifactory", "http", "git",   "raw"};

bool HasLocation(const json& artifact) {
  for (const char* k : kLocations) {
    if (Field(artifact, k).is_object()) return true;
  }
  return false;
}

bool Active(const std::string& strategy) { return !strategy.empty() && strategy != kNever; }

const json* DeclaredOutput(const json& spec, std::string_view template_name,
                           const std::string& artifact) {
  const json& templates = Field(spec, "templates");
  if (!templates.is_array()) return nullptr;
  for (const json& t : templates) {
    if (Str(t, "name") != template_name) continue;
    const json& outs = Field(Field(t, "outputs"), "artifacts");
    if (!outs.is_array()) return nullptr;
    for (const json& a : outs) {
      if (Str(a, "name") == artifact) return &a;
    }
    return nullptr;
  }
  return nullptr;
}

bool Processed(const json& wf, const std::string& strategy) {
  const json& p = Field(Field(Field(wf, "status"), "artifactGCStatus"), "strategiesProcessed");
  const json& v = Field(p, strategy.c_str());
  return v.is_boolean() && v.get<bool>();
}

// Calls f(node_id, template_name, artifact) for each output artifact of a Pod node.
template <typename F>
void ForEachPodOutput(const json& wf, F f) {
  const json& nodes = Field(Field(wf, "status"), "nodes");
  if (!nodes.is_object()) return;
  for (const auto& [id, node] : nodes.items()) {
    if (Str(node, "type") != "Pod") continue;
    const json& arts = Field(Field(node, "outputs"), "artifacts");
    if (!arts.is_array()) continue;
    for (const json& a : arts) {
      if (a.is_object() && HasLocation(a)) f(id, Str(node, "templateName"), a);
    }
  }
}

}  // namespace

json EffectiveSpec(const json& wf, const json& template_spec) {
  const json& stored = Field(Field(wf, "status"), "storedWorkflowTemplateSpec");
  if (stored.is_object()) return stored;
  const json& own = Field(wf, "spec");
  if (!template_spec.is_object()) return own.is_object() ? own : json::object();
  json spec = template_spec;
  if (!own.is_object()) return spec;
  for (const auto& [k, v] : own.items()) {
    if (k == "workflowTemplateRef") continue;
    if (k == "templates" && v.is_array() && spec["templates"].is_array()) {
      json merged = v;
      for (const json& t : spec["templates"]) merged.push_back(t);
      spec["templates"] = std::move(merged);
      continue;
    }
    spec[k] = v;
  }
  return spec;
}

std::string StrategyOf(const json& artifact, std::string_view template_name, const json& spec) {
  std::string s = Str(Field(artifact, "artifactGC"), "strategy");
  if (!s.empty()) return s;
  if (const json* d = DeclaredOutput(spec, template_name, Str(artifact, "name")); d != nullptr) {
    s = Str(Field(*d, "artifactGC"), "strategy");
    if (!s.empty()) return s;
  }
  return Str(Field(spec, "artifactGC"), "strategy");
}

bool HasArtifactGC(const json& spec) {
  if (Active(Str(Field(spec, "artifactGC"), "strategy"))) return true;
  const json& templates = Field(spec, "templates");
  if (!templates.is_array()) return false;
  for (const json& t : templates) {
    const json& outs = Field(Field(t, "outputs"), "artifacts");
    if (!outs.is_array()) continue;
    for (const json& a : outs) {
      if (Active(Str(Field(a, "artifactGC"), "strategy"))) return true;
    }
  }
  return false;
}

bool HasFinalizer(const json& wf) {
  const json& f = Field(Field(wf, "metadata"), "finalizers");
  if (!f.is_array()) return false;
  for (const json& v : f) {
    if (v == kFinalizer) return true;
  }
  return false;
}

bool Deleting(const json& wf) { return !Str(Field(wf, "metadata"), "deletionTimestamp").empty(); }

bool PrepareWrite(json& wf, const json& spec) {
  if (!wf.is_object() || Deleting(wf) || HasFinalizer(wf)) return false;
  const json& gc = Field(Field(wf, "status"), "artifactGCStatus");
  if (Field(gc, "notSpecified") == true || Field(gc, "strategiesProcessed").is_object()) {
    return false;
  }
  if (!HasArtifactGC(spec)) {
    wf["status"]["artifactGCStatus"]["notSpecified"] = true;
    return true;
  }
  json& meta = wf["metadata"];
  if (!meta["finalizers"].is_array()) meta["finalizers"] = json::array();
  meta["finalizers"].push_back(kFinalizer);
  return true;
}

Plan Decide(const json& wf, const json& spec) {
  Plan plan;
  if (!HasFinalizer(wf)) return plan;
  const bool deleting = Deleting(wf);
  std::set<std::string> ready;
  if ((Completed(wf) || deleting) && !Processed(wf, kOnWorkflowCompletion)) {
    ready.insert(kOnWorkflowCompletion);
  }
  if (deleting && !Processed(wf, kOnWorkflowDeletion)) ready.insert(kOnWorkflowDeletion);
  plan.strategies.assign(ready.begin(), ready.end());
  if (ready.empty()) return plan;
  ForEachPodOutput(wf, [&](const std::string& id, const std::string& tmpl, const json& a) {
    if (Field(a, "deleted") == true) return;
    const std::string s = StrategyOf(a, tmpl, spec);
    if (ready.count(s) > 0) plan.targets.push_back(Target{id, s, a});
  });
  return plan;
}

bool Pending(const json& wf, const json& spec) {
  if (!HasFinalizer(wf)) return false;
  return !Decide(wf, spec).strategies.empty();
}

Outcome Apply(const json& wf, const json& spec, const Plan& plan,
              const std::vector<absl::Status>& results, int attempt, int max_attempts,
              std::string_view now) {
  Outcome out;
  out.status = Field(wf, "status").is_object() ? Field(wf, "status") : json::object();
  std::map<std::string, bool> strategy_failed;
  for (size_t i = 0; i < plan.targets.size(); ++i) {
    const Target& t = plan.targets[i];
    const absl::Status s = i < results.size() ? results[i] : absl::UnknownError("not attempted");
    const std::string name = Str(t.artifact, "name");
    if (!s.ok()) {
      strategy_failed[t.strategy] = true;
      out.failures.push_back(
          absl::StrCat("artifact \"", name, "\" of node ", t.node_id, ": ", s.message()));
      continue;
    }
    json& arts = out.status["nodes"][t.node_id]["outputs"]["artifacts"];
    for (json& a : arts) {
      if (Str(a, "name") == name) a["deleted"] = true;
    }
  }
  const bool exhausted = attempt >= max_attempts;
  out.retry = !out.failures.empty() && !exhausted;
  json& gc = out.status["artifactGCStatus"];
  if (!gc.is_object()) gc = json::object();
  for (const std::string& s : plan.strategies) {
    if (!strategy_failed[s] || exhausted) gc["strategiesProcessed"][s] = true;
  }
  if (!out.failures.empty()) {
    std::string message =
        absl::StrCat("Artifact garbage collection failed (attempt ", attempt, " of ", max_attempts,
                     exhausted ? ", giving up" : "", "): ", absl::StrJoin(out.failures, "; "));
    json cond = {{"type", kConditionType}, {"status", "True"}, {"message", message}};
    if (!now.empty()) cond["lastTransitionTime"] = std::string(now);
    json& conds = out.status["conditions"];
    if (!conds.is_array()) conds = json::array();
    bool replaced = false;
    for (json& c : conds) {
      if (Str(c, "type") == kConditionType) {
        c = cond;
        replaced = true;
      }
    }
    if (!replaced) conds.push_back(std::move(cond));
  }
  // Every artifact with a strategy deleted, judged on the new status.
  json after = wf;
  after["status"] = out.status;
  bool all_deleted = true;
  ForEachPodOutput(after, [&](const std::string&, const std::string& tmpl, const json& a) {
    if (Active(StrategyOf(a, tmpl, spec)) && Field(a, "deleted") != true) all_deleted = false;
  });
  const bool force = Field(Field(spec, "artifactGC"), "forceFinalizerRemoval") == true;
  const bool done_trying = !out.retry && (Completed(wf) || Deleting(wf));
  out.remove_finalizer = all_deleted || (force && done_trying && Deleting(wf));
  return out;
}

}  // namespace argonaut::workflow::artifact_gc
