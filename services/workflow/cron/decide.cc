#include "services/workflow/cron/decide.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/govaluate.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow::cron {
namespace {

using nlohmann::json;

constexpr char kApiVersion[] = "argoproj.io/v1alpha1";
constexpr char kSpecError[] = "SpecError";
constexpr char kSubmissionError[] = "SubmissionError";
constexpr size_t kMaxSchedules = 64;
constexpr size_t kMaxWhenBytes = 64 * 1024;

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

json Object(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_object() ? v : json::object();
}

int64_t Int(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

// Go's time.RFC3339 in the schedule's zone: "Z" for a zero offset.
std::string GoRfc3339(absl::Time t, absl::TimeZone zone) {
  std::string s = absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", t, zone);
  if (s.size() > 6 && s.compare(s.size() - 6, 6, "+00:00") == 0) s.replace(s.size() - 6, 6, "Z");
  return s;
}

bool Completed(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

void RemoveCondition(json& status, std::string_view type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return;
  json kept = json::array();
  for (const json& c : status["conditions"]) {
    if (!c.is_object() || Str(c, "type") != type) kept.push_back(c);
  }
  if (kept.empty()) {
    status.erase("conditions");
  } else {
    status["conditions"] = kept;
  }
}

void UpsertCondition(json& status, std::string_view type, std::string message) {
  RemoveCondition(status, type);
  status["conditions"].push_back(
      {{"type", std::string(type)}, {"status", "True"}, {"message", std::move(message)}});
}

// `cronworkflow.*` as nested values for expr-lang.
json ExprEnv(const json& cron, absl::Time now) {
  const json meta = Object(cron, "metadata");
  const json status = Object(cron, "status");
  json c = {{"name", Str(meta, "name")},        {"namespace", Str(meta, "namespace")},
            {"labels", Object(meta, "labels")}, {"annotations", Object(meta, "annotations")},
            {"failed", Int(status, "failed")},  {"succeeded", Int(status, "succeeded")}};
  const absl::Time last = engine::ParseTimestamp(Field(status, "lastScheduledTime"));
  c["lastScheduledTime"] = last == absl::InfinitePast() ? json(nullptr) : expr::TimeValue(last);
  (void)now;
  return {{"cronworkflow", c}};
}

// `cronworkflow.*` as the flat strings simple tags see.
std::optional<std::string> FlatValue(const json& cron, std::string_view name) {
  const json meta = Object(cron, "metadata");
  const json status = Object(cron, "status");
  constexpr std::string_view kPrefix = "cronworkflow.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  if (name == "name") return Str(meta, "name");
  if (name == "namespace") return Str(meta, "namespace");
  if (name == "failed") return std::to_string(Int(status, "failed"));
  if (name == "succeeded") return std::to_string(Int(status, "succeeded"));
  if (name == "lastScheduledTime") return Str(status, "lastScheduledTime");
  for (const char* kind : {"labels", "annotations"}) {
    const std::string prefix = absl::StrCat(kind, ".");
    if (name.substr(0, prefix.size()) != prefix) continue;
    const std::string key(name.substr(prefix.size()));
    const json m = Object(meta, kind);
    if (key == "json") return m.dump();
    if (m.contains(key) && m[key].is_string()) return m[key].get<std::string>();
  }
  return std::nullopt;
}

expr::FunctionTable NowFunction(absl::Time now) {
  expr::FunctionTable f;
  f.Add("now", [now](std::vector<json>& args) -> absl::StatusOr<json> {
    if (!args.empty()) return absl::InvalidArgumentError("now() takes no arguments");
    return expr::TimeValue(now);
  });
  return f;
}

std::string Fingerprint(const json& spec) {
  std::vector<std::string> parts;
  const std::string tz = Str(spec, "timezone");
  auto add = [&](const std::string& s) {
    parts.push_back(tz.empty() ? s : absl::StrCat("CRON_TZ=", tz, " ", s));
  };
  if (!Str(spec, "schedule").empty()) add(Str(spec, "schedule"));
  const json& list = Field(spec, "schedules");
  if (list.is_array()) {
    for (const json& s : list) add(s.is_string() ? s.get<std::string>() : s.dump());
  }
  return absl::StrJoin(parts, ",");
}

json ObjectRef(const json& workflow) {
  const json meta = Object(workflow, "metadata");
  return {{"kind", "Workflow"},
          {"apiVersion", kApiVersion},
          {"namespace", Str(meta, "namespace")},
          {"name", Str(meta, "name")},
          {"uid", Str(meta, "uid")},
          {"resourceVersion", Str(meta, "resourceVersion")}};
}

json BuildWorkflow(const json& cron, absl::Time scheduled, absl::TimeZone zone) {
  const json meta = Object(cron, "metadata");
  const json spec = Object(cron, "spec");
  const std::string name = Str(meta, "name");
  json labels = json::object();
  json annotations = {{kScheduledTimeAnnotation, GoRfc3339(scheduled, zone)}};
  const json cron_labels = Object(meta, "labels");
  constexpr char kInstanceId[] = "workflows.argoproj.io/controller-instanceid";
  if (cron_labels.contains(kInstanceId)) labels[kInstanceId] = cron_labels[kInstanceId];
  const json wm = Object(spec, "workflowMetadata");
  const json wm_labels = Object(wm, "labels");
  const json wm_annotations = Object(wm, "annotations");
  for (const auto& [k, v] : wm_labels.items()) labels[k] = v;
  for (const auto& [k, v] : wm_annotations.items()) annotations[k] = v;
  // Set last so workflowMetadata cannot detach the child from its cron.
  labels[kCronWorkflowLabel] = name;
  json wf_meta = {{"name", absl::StrCat(name, "-", absl::ToUnixSeconds(scheduled))},
                  {"namespace", Str(meta, "namespace")},
                  {"labels", labels},
                  {"annotations", annotations}};
  json owner = {{"apiVersion", kApiVersion},
                {"kind", "CronWorkflow"},
                {"name", name},
                {"controller", true},
                {"blockOwnerDeletion", true}};
  if (!Str(meta, "uid").empty()) owner["uid"] = Str(meta, "uid");
  wf_meta["ownerReferences"] = json::array({owner});
  return {{"apiVersion", kApiVersion},
          {"kind", "Workflow"},
          {"metadata", wf_meta},
          {"spec", Object(spec, "workflowSpec")}};
}

// Deletes the oldest completed children beyond `keep` (newest finish first).
void EnforceLimit(std::vector<const ChildWorkflow*> list, int64_t keep,
                  std::vector<std::string>& remove) {
  if (keep < 0 || static_cast<size_t>(keep) >= list.size()) return;
  std::stable_sort(list.begin(), list.end(), [](const ChildWorkflow* a, const ChildWorkflow* b) {
    if (a->finished != b->finished) return a->finished > b->finished;
    return a->created > b->created;
  });
  for (size_t i = static_cast<size_t>(keep); i < list.size(); ++i) remove.push_back(list[i]->name);
}

int64_t Limit(const json& spec, const char* key, int64_t def) {
  const json& v = Field(spec, key);
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  return def;
}

}  // namespace

ChildWorkflow ChildWorkflow::FromJson(const json& workflow) {
  const json meta = Object(workflow, "metadata");
  const json status = Object(workflow, "status");
  ChildWorkflow c;
  c.name = Str(meta, "name");
  c.uid = Str(meta, "uid");
  c.resource_version = Str(meta, "resourceVersion");
  c.phase = Str(status, "phase");
  c.created = engine::ParseTimestamp(Field(meta, "creationTimestamp"));
  c.finished = engine::ParseTimestamp(Field(status, "finishedAt"));
  return c;
}

absl::StatusOr<std::vector<Schedule>> ParseSchedules(const json& spec,
                                                     absl::TimeZone default_zone) {
  absl::TimeZone zone = default_zone;
  const std::string tz = Str(spec, "timezone");
  if (!tz.empty() && !absl::LoadTimeZone(tz, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.timezone: unknown time zone \"", tz, "\""));
  }
  std::vector<Schedule> out;
  auto add = [&](const std::string& path, const json& v) -> absl::Status {
    if (!v.is_string())
      return absl::InvalidArgumentError(absl::StrCat(path, ": expected a string"));
    const std::string text = v.get<std::string>();
    if (!tz.empty() && (text.find("CRON_TZ=") != std::string::npos || text.rfind("TZ=", 0) == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a CRON_TZ=/TZ= prefix cannot be combined with spec.timezone"));
    }
    absl::StatusOr<Schedule> s = Schedule::Parse(text, zone);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.status().message()));
    }
    out.push_back(*std::move(s));
    return absl::OkStatus();
  };
  if (!Str(spec, "schedule").empty()) RETURN_IF_ERROR(add("spec.schedule", spec["schedule"]));
  const json& list = Field(spec, "schedules");
  if (!list.is_null() && !list.is_array()) {
    return absl::InvalidArgumentError("spec.schedules: expected a list");
  }
  if (list.is_array()) {
    if (list.size() > kMaxSchedules) {
      return absl::InvalidArgumentError(absl::StrCat("spec.schedules: at most ", kMaxSchedules,
                                                     " schedules (", list.size(), ")"));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      RETURN_IF_ERROR(add(absl::StrCat("spec.schedules[", i, "]"), list[i]));
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("spec.schedules: at least one schedule");
  return out;
}

absl::StatusOr<bool> EvaluateWhen(const json& cron, std::string_view when, absl::Time now) {
  if (when.empty()) return true;
  if (when.size() > kMaxWhenBytes) {
    return absl::InvalidArgumentError(absl::StrCat("longer than ", kMaxWhenBytes, " bytes"));
  }
  const expr::FunctionTable functions = NowFunction(now);
  const json env = ExprEnv(cron, now);
  std::string text;
  size_t pos = 0;
  while (pos < when.size()) {
    const size_t open = when.find("{{", pos);
    if (open == std::string_view::npos) {
      text.append(when.substr(pos));
      break;
    }
    text.append(when.substr(pos, open - pos));
    const size_t close = when.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", open, ": \"{{\" without a closing \"}}\""));
    }
    std::string_view tag = when.substr(open + 2, close - open - 2);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (!tag.empty() && tag.front() == '=') {
      ASSIGN_OR_RETURN(expr::ExprProgram program,
                       expr::ExprProgram::Compile(tag.substr(1), {.extra_functions = &functions}));
      ASSIGN_OR_RETURN(json value, program.Eval(env));
      if (value.is_null()) {
        return absl::InvalidArgumentError(absl::StrCat("{{", AbslView(tag), "}} evaluated to nil"));
      }
      text.append(value.is_string() ? value.get<std::string>() : value.dump());
    } else {
      std::optional<std::string> v = FlatValue(cron, tag);
      if (!v.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unresolved reference {{", AbslView(tag), "}}"));
      }
      text.append(*v);
    }
    pos = close + 2;
  }
  return expr::ShouldExecute(text);
}

absl::StatusOr<bool> EvaluateStop(const json& cron, std::string_view expression, absl::Time now) {
  const expr::FunctionTable functions = NowFunction(now);
  ASSIGN_OR_RETURN(expr::ExprProgram program,
                   expr::ExprProgram::Compile(expression, {.extra_functions = &functions}));
  return program.EvalBool(ExprEnv(cron, now));
}

absl::StatusOr<CronDecision> Decide(const CronInput& in) {
  if (!in.cron.is_object() || Str(Object(in.cron, "metadata"), "name").empty()) {
    return absl::InvalidArgumentError("CronWorkflow: expected an object with metadata.name");
  }
  const json meta = Object(in.cron, "metadata");
  const json spec = Object(in.cron, "spec");
  const std::string name = Str(meta, "name");
  CronDecision d;
  d.status = Object(in.cron, "status");
  d.labels = Object(meta, "labels");
  d.annotations = Object(meta, "annotations");
  json& status = d.status;

  // Stop strategy, re-read against the status being built.
  auto stop_check = [&]() -> absl::Status {
    const json& ss = Field(spec, "stopStrategy");
    std::string expression = Str(ss, "expression");
    if (expression.empty()) expression = Str(ss, "condition");
    if (expression.empty()) return absl::OkStatus();
    json view = in.cron;
    view["status"] = status;
    absl::StatusOr<bool> stop = EvaluateStop(view, expression, in.now);
    if (!stop.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "failed to check CronWorkflow '", name,
          "' stopping condition: spec.stopStrategy.expression: ", stop.status().message()));
    }
    if (*stop && Str(status, "phase") != "Stopped") {
      status["phase"] = "Stopped";
      d.labels[kCronCompletedLabel] = "true";
      d.events.push_back("stop strategy met: no more workflows are scheduled");
    }
    return absl::OkStatus();
  };

  // status.active follows the children: finished ones leave it and count.
  std::map<std::string, const ChildWorkflow*> by_uid;
  for (const ChildWorkflow& c : in.children) by_uid[c.uid] = &c;
  json active = json::array();
  std::set<std::string> active_uids;
  bool counted = false;
  for (const json& ref : Field(status, "active").is_array() ? status["active"] : json::array()) {
    auto it = by_uid.find(Str(ref, "uid"));
    if (it == by_uid.end()) continue;
    if (Completed(it->second->phase)) {
      const char* counter = it->second->phase == "Succeeded" ? "succeeded" : "failed";
      status[counter] = Int(status, counter) + 1;
      counted = true;
      continue;
    }
    active.push_back(ref);
    active_uids.insert(Str(ref, "uid"));
  }
  for (const ChildWorkflow& c : in.children) {
    if (Completed(c.phase) || c.uid.empty() || active_uids.count(c.uid)) continue;
    active.push_back({{"kind", "Workflow"},
                      {"apiVersion", kApiVersion},
                      {"namespace", Str(meta, "namespace")},
                      {"name", c.name},
                      {"uid", c.uid},
                      {"resourceVersion", c.resource_version}});
    active_uids.insert(c.uid);
  }
  if (active.empty()) {
    status.erase("active");
  } else {
    status["active"] = active;
  }

  // History limits (Argo's defaults: 3 succeeded, 1 failed).
  std::vector<const ChildWorkflow*> succeeded, failed;
  for (const ChildWorkflow& c : in.children) {
    if (!Completed(c.phase)) continue;
    (c.phase == "Succeeded" ? succeeded : failed).push_back(&c);
  }
  EnforceLimit(succeeded, Limit(spec, "successfulJobsHistoryLimit", 3), d.remove);
  EnforceLimit(failed, Limit(spec, "failedJobsHistoryLimit", 1), d.remove);

  // Schedules. A bad spec arms nothing until it changes.
  absl::StatusOr<std::vector<Schedule>> schedules = ParseSchedules(spec, in.default_zone);
  absl::Status spec_error = schedules.status();
  const std::string policy = Str(spec, "concurrencyPolicy");
  if (spec_error.ok() && !policy.empty() && policy != "Allow" && policy != "Forbid" &&
      policy != "Replace") {
    spec_error = absl::InvalidArgumentError(absl::StrCat(
        "spec.concurrencyPolicy: \"", policy, "\" is not one of Allow, Forbid, Replace"));
  }
  // A schedule that never fires (30 February) is a spec error too.
  for (size_t i = 0; spec_error.ok() && i < schedules->size(); ++i) {
    absl::StatusOr<absl::Time> next = (*schedules)[i].Next(in.now);
    if (!next.ok()) {
      const bool single = !Str(spec, "schedule").empty();
      const std::string path = single && i == 0
                                   ? std::string("spec.schedule")
                                   : absl::StrCat("spec.schedules[", i - (single ? 1 : 0), "]");
      spec_error = absl::InvalidArgumentError(absl::StrCat(path, ": ", next.status().message()));
    }
  }
  if (!spec_error.ok()) {
    UpsertCondition(status, kSpecError, std::string(spec_error.message()));
    d.events.push_back(absl::StrCat("spec error: ", spec_error.message()));
    return d;
  }
  RemoveCondition(status, kSpecError);
  if (counted) {
    if (absl::Status s = stop_check(); !s.ok()) {
      UpsertCondition(status, kSpecError, std::string(s.message()));
    }
  }

  const std::string fingerprint = Fingerprint(spec);
  const std::string spec_text = spec.dump();
  ArmedSchedules armed;
  if (in.armed.has_value() && in.armed->fingerprint == fingerprint &&
      in.armed->next.size() == schedules->size()) {
    armed = *in.armed;
  } else {
    armed.fingerprint = fingerprint;
    for (const Schedule& s : *schedules) {
      absl::StatusOr<absl::Time> next = s.Next(in.now);
      armed.next.push_back(next.ok() ? *next : absl::InfiniteFuture());
    }
  }

  // Which tick, if any, runs now.
  std::optional<absl::Time> run_at;
  const bool check_missed = !in.armed.has_value() || in.armed->spec != spec_text;
  armed.spec = spec_text;
  const absl::Time last = engine::ParseTimestamp(Field(status, "lastScheduledTime"));
  const json& deadline = Field(spec, "startingDeadlineSeconds");
  if (check_missed && last != absl::InfinitePast() && deadline.is_number_integer() &&
      Str(d.annotations, kLastUsedScheduleAnnotation) == fingerprint) {
    for (const Schedule& s : *schedules) {
      absl::StatusOr<absl::Time> missed = s.Prev(in.now, last);
      if (!missed.ok() || *missed <= last) continue;
      if (in.now < *missed + absl::Seconds(deadline.get<int64_t>())) {
        run_at = std::max(run_at.value_or(absl::InfinitePast()), *missed);
      }
    }
    if (run_at.has_value()) {
      d.events.push_back(absl::StrCat("missed the run at ", engine::FormatTimestamp(*run_at),
                                      ", within startingDeadlineSeconds: running it now"));
    }
  }
  if (!run_at.has_value()) {
    for (size_t i = 0; i < armed.next.size(); ++i) {
      if (armed.next[i] > in.now) continue;
      run_at = std::max(run_at.value_or(absl::InfinitePast()), armed.next[i]);
      absl::StatusOr<absl::Time> next = (*schedules)[i].Next(in.now);
      armed.next[i] = next.ok() ? *next : absl::InfiniteFuture();
    }
  }
  for (const absl::Time t : armed.next) {
    if (t != absl::InfiniteFuture()) d.wake_at = std::min(d.wake_at.value_or(t), t);
  }
  d.armed = armed;
  if (!run_at.has_value()) return d;

  // One run, as Argo's cronWfOperationCtx.run.
  d.annotations[kLastUsedScheduleAnnotation] = fingerprint;
  if (absl::Status s = stop_check(); !s.ok()) {
    UpsertCondition(status, kSpecError, std::string(s.message()));
    return d;
  }
  if (Field(spec, "suspend").is_boolean() && spec["suspend"].get<bool>()) {
    d.events.push_back("suspended: skipping the scheduled run");
    return d;
  }
  if (Str(status, "phase") == "Stopped") {
    d.events.push_back("stopped by its stop strategy: skipping the scheduled run");
    return d;
  }
  json view = in.cron;
  view["status"] = status;
  absl::StatusOr<bool> when = EvaluateWhen(view, Str(spec, "when"), in.now);
  if (!when.ok()) {
    UpsertCondition(status, kSubmissionError,
                    absl::StrCat("run policy error: spec.when: ", when.status().message()));
    status["failed"] = Int(status, "failed") + 1;
    return d;
  }
  if (!*when) {
    d.events.push_back("spec.when is false: skipping the scheduled run");
    return d;
  }
  const json& current = Field(status, "active");
  if (current.is_array() && !current.empty()) {
    if (policy == "Forbid") {
      d.events.push_back("concurrencyPolicy Forbid and a workflow is active: skipping the run");
      return d;
    }
    if (policy == "Replace") {
      for (const json& ref : current) d.terminate.push_back(Str(ref, "name"));
    }
  }
  absl::TimeZone zone = (*schedules)[0].zone();
  d.submit = Submission{*run_at, BuildWorkflow(in.cron, *run_at, zone)};
  return d;
}

void RecordSubmission(CronDecision& d, const absl::StatusOr<json>& created) {
  if (!d.submit.has_value()) return;
  json& status = d.status;
  if (!created.ok()) {
    UpsertCondition(status, kSubmissionError,
                    absl::StrCat("Failed to submit Workflow: ", created.status().message()));
    status["failed"] = Int(status, "failed") + 1;
    d.events.push_back(absl::StrCat("submission failed: ", created.status().message()));
    return;
  }
  json ref = ObjectRef(*created);
  bool present = false;
  if (!status.contains("active") || !status["active"].is_array()) {
    status["active"] = json::array();
  }
  for (const json& r : status["active"]) present = present || Str(r, "uid") == Str(ref, "uid");
  // A child that already finished (an earlier attempt's) is history, not active.
  if (!present && !Completed(Str(Object(*created, "status"), "phase"))) {
    status["active"].push_back(ref);
  }
  if (status["active"].empty()) status.erase("active");
  status["phase"] = "Active";
  status["lastScheduledTime"] = engine::FormatTimestamp(d.submit->scheduled);
  RemoveCondition(status, kSubmissionError);
  d.events.push_back(absl::StrCat("submitted ", Str(ref, "name")));
}

}  // namespace argonaut::workflow::cron
