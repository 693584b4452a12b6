// The rollout's side of analysis: which AnalysisRuns should exist (step, background, pre- and
// post-promotion), their deterministic names and resolved arguments, how their phases steer the
// rollout, and which runs to terminate or delete.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/cluster/workloads/objects.h"
#include "services/rollout/engine/context.h"

namespace argonaut::rollout::engine {
namespace {

namespace wl = ::argonaut::cluster::workloads;

// A downward-API style path over the rollout: metadata.labels['app'],
// spec.template.spec.containers[0].image, metadata.name.
absl::StatusOr<Json> ResolveFieldPath(const Json& root, std::string_view path) {
  const Json* cur = &root;
  size_t i = 0;
  auto fail = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("fieldPath \"", std::string(path), "\" not found in the rollout"));
  };
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string_view::npos) return fail();
      std::string_view inner = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (!inner.empty() && (inner.front() == '\'' || inner.front() == '"')) {
        if (inner.size() < 2 || inner.back() != inner.front()) return fail();
        const std::string key(inner.substr(1, inner.size() - 2));
        if (!cur->is_object() || !cur->contains(key)) return fail();
        cur = &(*cur)[key];
      } else {
        size_t idx = 0;
        if (!absl::SimpleAtoi(std::string(inner), &idx) || !cur->is_array() || idx >= cur->size()) {
          return fail();
        }
        cur = &(*cur)[idx];
      }
      continue;
    }
    size_t end = i;
    while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
    const std::string key(path.substr(i, end - i));
    i = end;
    if (!cur->is_object() || !cur->contains(key)) return fail();
    cur = &(*cur)[key];
  }
  return *cur;
}

}  // namespace

absl::StatusOr<Json> ResolveArgs(const Ctx& c, const Json& analysis) {
  Json out = analysis;
  if (!out.contains("args") || !out["args"].is_array()) return out;
  for (Json& arg : out["args"]) {
    const Json* from = wl::Field(arg, "valueFrom");
    if (from == nullptr) continue;
    const std::string name = wl::StrOr(arg, "name");
    if (const Json* hash = wl::Field(*from, "podTemplateHashValue")) {
      const std::string which = hash->is_string() ? hash->get<std::string>() : "";
      if (which == "Stable") {
        arg["value"] = c.StableHash();
      } else if (which == "Latest") {
        arg["value"] = c.new_hash;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "analysis arg \"", name, "\": podTemplateHashValue must be Stable or Latest"));
      }
      arg.erase("valueFrom");
    } else if (const Json* ref = wl::FieldPath(*from, {"fieldRef", "fieldPath"})) {
      auto v = ResolveFieldPath(c.in.rollout, ref->is_string() ? ref->get<std::string>() : "");
      if (!v.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("analysis arg \"", name, "\": ", std::string(v.status().message())));
      }
      arg["value"] = v->is_string() ? v->get<std::string>() : v->dump();
      arg.erase("valueFrom");
    }
    // secretKeyRef: resolved by the AnalysisRun builder, which reads Secrets.
  }
  return out;
}

namespace {

std::string RunName(const Ctx& c, std::string_view type, int step_index) {
  std::string base = absl::StrCat(c.spec.name, "-", c.new_hash, "-", c.new_revision);
  if (type == "Step") absl::StrAppend(&base, "-", step_index);
  if (type == "PrePromotion") absl::StrAppend(&base, "-pre");
  if (type == "PostPromotion") absl::StrAppend(&base, "-post");
  return base;
}

}  // namespace

Run MakeRunView(const Json& obj) {
  Run r;
  const Json* meta = wl::Field(obj, "metadata");
  static const Json kEmpty = Json::object();
  const Json& m = meta == nullptr ? kEmpty : *meta;
  r.name = wl::StrOr(m, "name");
  if (const Json* labels = wl::Field(m, "labels")) {
    r.type = wl::StrOr(*labels, kRolloutTypeLabel);
    r.hash = wl::StrOr(*labels, kPodTemplateHashLabel);
    int idx = -1;
    if (absl::SimpleAtoi(wl::StrOr(*labels, kStepIndexLabel), &idx)) r.step_index = idx;
  }
  if (auto t = wl::TimeField(m, "creationTimestamp")) r.created = *t;
  if (const Json* st = wl::Field(obj, "status")) {
    r.phase = wl::StrOr(*st, "phase");
    r.message = wl::StrOr(*st, "message");
  }
  if (const Json* spec = wl::Field(obj, "spec")) {
    const Json* t = wl::Field(*spec, "terminate");
    r.terminating = t != nullptr && t->is_boolean() && t->get<bool>();
  }
  return r;
}

bool RunCompleted(std::string_view phase) {
  return phase == "Successful" || phase == "Failed" || phase == "Error" || phase == "Inconclusive";
}

std::string ObserveRun(Ctx& c, const Json::json_pointer& field) {
  if (!c.status.contains(field) || !c.status[field].is_object()) return "";
  Json& st = c.status[field];
  const std::string name = st.value("name", "");
  const Run* run = name.empty() ? nullptr : c.FindRun(name);
  if (run == nullptr) return "";
  const std::string before = st.value("status", "");
  const std::string phase = run->phase.empty() ? "Pending" : run->phase;
  st["status"] = phase;
  if (run->message.empty()) {
    st.erase("message");
  } else {
    st["message"] = run->message;
  }
  if (phase == "Failed" || phase == "Error") {
    c.Abort(run->message.empty() ? absl::StrCat("AnalysisRun \"", name, "\" ",
                                                phase == "Failed" ? "failed" : "errored")
                                 : run->message);
  } else if (phase == "Inconclusive") {
    if (c.HasPause(kPauseInconclusive)) return phase;
    // The user removed the pause this run caused (promote): carry on.
    if (before == "Inconclusive" && c.prev_controller_pause) return "Resumed";
    c.AddPause(kPauseInconclusive);
  }
  return phase;
}

void EnsureRun(Ctx& c, const Json::json_pointer& field, const Json& analysis, std::string_view type,
               int step_index) {
  Json& st = c.status[field];
  std::string name = st.is_object() ? st.value("name", "") : "";
  if (const Run* named = name.empty() ? nullptr : c.FindRun(name);
      named != nullptr && (named->type != type || named->hash != c.new_hash ||
                           (type == "Step" && named->step_index != step_index))) {
    name.clear();  // the status still names the run of another step or revision
  }
  if (!name.empty() && (c.FindRun(name) != nullptr || c.current_runs.count(name) > 0)) {
    c.current_runs.insert(name);
    return;
  }
  bool request = true;
  if (name.empty()) {
    // A run of this kind created before its name reached the status (a crash in between).
    for (const Run& r : c.runs) {
      if (r.type == type && r.hash == c.new_hash &&
          (type != "Step" || r.step_index == step_index) && !r.terminating &&
          !RunCompleted(r.phase) && r.name.rfind(RunName(c, type, step_index), 0) == 0) {
        name = r.name;
        request = false;
        break;
      }
    }
  }
  if (name.empty()) {
    // Earlier attempts (before an abort and retry) keep their names: number the new one.
    const std::string base = RunName(c, type, step_index);
    name = base;
    for (int n = 1; c.FindRun(name) != nullptr; ++n) name = absl::StrCat(base, ".", n);
  }
  st = Json{{"name", name}, {"status", "Pending"}};
  c.current_runs.insert(name);
  if (!request) return;
  auto resolved = ResolveArgs(c, analysis);
  if (!resolved.ok()) {
    c.Abort(std::string(resolved.status().message()));
    return;
  }
  AnalysisRunRequest req;
  req.name = name;
  req.type = std::string(type);
  req.labels = {{kRolloutTypeLabel, std::string(type)}, {kPodTemplateHashLabel, c.new_hash}};
  if (type == "Step") req.labels[kStepIndexLabel] = absl::StrCat(step_index);
  req.analysis = *std::move(resolved);
  // Argo files each run under the revision it analyses (`rollouts get` groups runs by it).
  if (!req.analysis["analysisRunMetadata"].is_object()) {
    req.analysis["analysisRunMetadata"] = Json::object();
  }
  req.analysis["analysisRunMetadata"]["annotations"][kRevisionAnnotation] =
      absl::StrCat(c.new_revision);
  c.out.analysis_runs_to_create.push_back(std::move(req));
  c.Event("Normal", "AnalysisRunCreated",
          absl::StrCat("Created ", std::string(type), " AnalysisRun ", name));
}

void ClearRun(Ctx& c, const Json::json_pointer& field) {
  if (c.status.contains(field)) c.status[field.parent_pointer()].erase(field.back());
}

void CollectRunActions(Ctx& c) {
  std::vector<const Run*> successful, unsuccessful;
  for (const Run& r : c.runs) {
    if (c.current_runs.count(r.name) > 0) continue;
    if (!RunCompleted(r.phase)) {
      if (!r.terminating) c.out.analysis_runs_to_terminate.push_back(r.name);
      continue;
    }
    (r.phase == "Successful" ? successful : unsuccessful).push_back(&r);
  }
  auto trim = [&](std::vector<const Run*>& runs, int32_t limit) {
    std::sort(runs.begin(), runs.end(), [](const Run* a, const Run* b) {
      if (a->created != b->created) return a->created > b->created;
      return a->name > b->name;
    });
    for (size_t i = std::max<int32_t>(limit, 0); i < runs.size(); ++i) {
      c.out.analysis_runs_to_delete.push_back(runs[i]->name);
    }
  };
  trim(successful, c.spec.successful_run_history);
  trim(unsuccessful, c.spec.unsuccessful_run_history);
}

}  // namespace argonaut::rollout::engine
